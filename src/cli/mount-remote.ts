// `mount --remote URL`: the FUSE drive over a WebDAV server (davfs-bridge or any class 2 server)
// instead of the local core. Credentials: --user with the password from --password-file, the
// DAVFS_PASSWORD environment variable, or a prompt on the terminal (never a command-line
// argument, which every user of the machine can read in the process list); or a bearer token
// from DAVFS_TOKEN. Files open for writing hold a WebDAV lock when the server offers class 2.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../config/config.js';
import { FsError } from '../core/errors.js';
import { redactUrl, type Logger } from '../core/log.js';
import { RemoteFileSystem } from '../remote/remote-file-system.js';
import type { FileLocker } from '../fuse/write-locks.js';
import type { FileSystem } from '../vfs/file-system.js';

export interface RemoteFlags {
  remote?: string;
  user?: string;
  passwordFile?: string;
  cacheDir?: string;
}

export interface RemoteTarget {
  fs: FileSystem;
  locker: FileLocker | undefined;
  description: string;
  close(): Promise<void>;
}

/** Connects to the server; `cacheDir` holds its block cache (claimed by the caller). */
export async function openRemote(flags: RemoteFlags & { remote: string }, cacheDir: string, config: Config, log: Logger): Promise<RemoteTarget> {
  const token = process.env.DAVFS_TOKEN || undefined;
  const password = token || !flags.user ? undefined : await obtainPassword(flags);
  const fs = await RemoteFileSystem.connect({
    url: flags.remote,
    user: flags.user,
    password,
    token,
    cacheDir: join(cacheDir, 'blocks'),
    cacheBytes: config.cache.size,
    log,
  });
  return {
    fs,
    // Class 2 (RFC 4918 §18.2) is what makes LOCK available.
    locker: fs.capabilities.dav.includes('2') ? fs : undefined,
    description: redactUrl(flags.remote),
    close: () => fs.close(),
  };
}

async function obtainPassword(flags: RemoteFlags): Promise<string> {
  if (flags.passwordFile) {
    try {
      return (await readFile(flags.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new FsError('EINVAL', `cannot read --password-file ${flags.passwordFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (process.env.DAVFS_PASSWORD) return process.env.DAVFS_PASSWORD;
  if (!process.stdin.isTTY) throw new FsError('EINVAL', `a password for ${flags.user} is needed: --password-file, DAVFS_PASSWORD or a terminal to ask on`);
  return promptHidden(`password for ${flags.user}: `);
}

/** Asks on the terminal without echoing what is typed. */
function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write(question);
  // readline echoes through _writeToOutput; silence it for the answer.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  return new Promise((resolve) =>
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    }),
  );
}
