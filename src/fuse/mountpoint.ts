// Mountpoint housekeeping around fusermount(1) (Debian package `fuse`): is a folder mounted, is a
// mount stale, unmount it. A mount whose process was killed stays in the mount table and every
// access fails with ENOTCONN ("Transport endpoint is not connected") until it is unmounted.
import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FsError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** The absolute path the mount table would show (symlinks resolved where the path is readable). */
export async function canonicalMountpoint(mountpoint: string): Promise<string> {
  const abs = resolve(mountpoint);
  return realpath(abs).catch(() => abs);
}

/** True when `mountpoint` (canonical) is a mount point of this mount namespace. */
export async function isMounted(mountpoint: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with space, tab, newline and backslash written as octal escapes.
  return table.split('\n').some((line) => decodeMountField(line.split(' ')[4] ?? '') === mountpoint);
}

function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** True when the mount at `mountpoint` has no process behind it any more. */
export async function isStale(mountpoint: string): Promise<boolean> {
  try {
    await stat(mountpoint);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

export function fusermount(args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile('fusermount', args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return done();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return fail(new FsError('EIO', 'fusermount not found: install the Debian package `fuse` (libfuse2 for the library)'));
      }
      const text = String(stderr).trim() || err.message;
      fail(new FsError(/busy/i.test(text) ? 'EBUSY' : 'EIO', `fusermount ${args.join(' ')}: ${text}`, { cause: err }));
    });
  });
}

/**
 * Checks that `mountpoint` can be mounted on: an existing folder that is not mounted already. A
 * stale mount left by a killed mount process is unmounted (lazily, `fusermount -uz`) first.
 */
export async function prepareMountpoint(mountpoint: string, log: Logger): Promise<void> {
  if (await isStale(mountpoint)) {
    log.warn({ mountpoint }, 'stale mount left by a process that died (ENOTCONN): unmounting it with fusermount -uz');
    await fusermount(['-uz', mountpoint]);
  }
  let st;
  try {
    st = await stat(mountpoint);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FsError('ENOENT', `mountpoint ${mountpoint} does not exist`);
    throw err;
  }
  if (!st.isDirectory()) throw new FsError('ENOTDIR', `mountpoint ${mountpoint} is not a folder`);
  if (await isMounted(mountpoint)) throw new FsError('EBUSY', `${mountpoint} is already mounted`);
  // libfuse 2 refuses a non-empty mountpoint with only "fuse failed" for an answer.
  if ((await readdir(mountpoint)).length > 0) throw new FsError('ENOTEMPTY', `mountpoint ${mountpoint} is not empty`);
}

/** `davfs-bridge unmount`: unmounts (refusing while files are open, unless `lazy`); a stale mount always lazily. */
export async function unmountMountpoint(mountpoint: string, lazy: boolean): Promise<void> {
  const stale = await isStale(mountpoint);
  if (!stale && !(await isMounted(mountpoint))) throw new FsError('EINVAL', `${mountpoint} is not mounted`);
  await fusermount([lazy || stale ? '-uz' : '-u', mountpoint]);
}
