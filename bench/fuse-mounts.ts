// The two mounts bench/fuse.ts compares over one S3 server: ours (`davfs-bridge mount` on an
// s3:// store) and `rclone mount --vfs-cache-mode full`. Each runs as a child process; `stored`
// tells how long after a close the data took to reach the object store.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { S3TestServer } from '../test/helpers/s3rver.js';
import { CLI, CLI_ENV } from '../test/helpers/server-process.js';

export interface MountUnderTest {
  name: string;
  mnt: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The mount's process while it runs (its CPU time is measured). */
  pid(): number | undefined;
  /** Empties the mount's local caches (mount stopped). */
  clearCache(): void;
  /** Waits until `path` (relative to the mount) is in the object store with `size` bytes, or until `count` files are under it. */
  stored(path: string, expect: { size?: number; count?: number }): Promise<void>;
}

function isMounted(mnt: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mnt);
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 600_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function stopChild(child: ChildProcess | undefined, mnt: string): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await exited;
  clearTimeout(timer);
  spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
}

/**
 * Ours, durable (a close returns once the chunks are in the store), or with `write_mode:
 * writeback` (a close returns once the file is in its local spool; committed and uploaded after);
 * `verify: false` sets verify_downloads false (chunks read from the store are not hashed, as
 * rclone does not hash its chunked reads).
 */
export function ourMount(s3: S3TestServer, root: string, { writeBack = false, verify = true } = {}): MountUnderTest {
  const tag = `ours${writeBack ? '-wb' : ''}${verify ? '' : '-unverified'}`;
  const mnt = join(root, `mnt-${tag}`);
  const cache = join(root, `${tag}-cache`);
  const store = `s3://${s3.bucket}/${tag}?endpoint=${encodeURIComponent(s3.endpoint)}&path_style=true&region=us-east-1&access_key=${s3.accessKeyId}&secret_key=${s3.secretAccessKey}`;
  let child: ChildProcess | undefined;
  return {
    name: `davfs-bridge mount${writeBack ? ', write_mode writeback' : ''}${verify ? '' : ', verify_downloads false'}`,
    mnt,
    async start() {
      spawnSync('mkdir', ['-p', mnt]);
      const args = ['--import', 'tsx', CLI, 'mount', '--store', store, '--meta', `sqlite://${join(root, `${tag}-meta.db`)}`, '--cache-dir', cache, '--cache-size', '4GiB', '--log-level', 'warn', mnt];
      // CLI_ENV carries the malloc settings the command would start itself again with, so that the
      // pid measured and signalled is the mount itself, not a parent waiting on it.
      const env = { ...CLI_ENV, DAVFS_WRITE_MODE: writeBack ? 'writeback' : 'durable', DAVFS_VERIFY_DOWNLOADS: String(verify) };
      child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child!.once('exit', (code) => reject(new Error(`our mount exited with ${code}`)));
        createInterface({ input: child!.stdout! }).on('line', (line) => line.startsWith('davfs-bridge mounted') && resolve());
      });
    },
    stop: () => stopChild(child, mnt),
    pid: () => child?.pid,
    clearCache: () => rmSync(cache, { recursive: true, force: true }),
    // Durable: a close returned once the chunks were in the store. Write-back: a close returned
    // once the file was spooled; committed, its spool file leaves open-files/ (fuse-mount.ts), and
    // uploaded chunks leave the cache's staging folder (src/chunks/disk-cache.ts).
    stored: () =>
      until(
        () => !writeBack || (readdirSync(join(cache, 'open-files')).every((n) => !n.startsWith('spool-')) && readdirSync(join(cache, 'staging')).length === 0),
        'spooled files to commit and staged chunks to upload',
        1_200_000,
        200,
      ),
  };
}

export function rcloneMount(s3: S3TestServer, root: string): MountUnderTest {
  const mnt = join(root, 'mnt-rclone');
  const cache = join(root, 'rclone-cache');
  const remote = `:s3:${s3.bucket}/rclone`;
  const s3Flags = ['--s3-provider', 'Other', '--s3-endpoint', s3.endpoint, '--s3-access-key-id', s3.accessKeyId, '--s3-secret-access-key', s3.secretAccessKey, '--s3-force-path-style', '--s3-region', 'us-east-1'];
  // rclone 1.60's S3 backend fails with LoadCustomCABundleError while AWS_CA_BUNDLE is set.
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  let child: ChildProcess | undefined;
  const rclone = (args: string[]) => spawnSync('rclone', [...args, ...s3Flags], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  return {
    name: 'rclone mount --vfs-cache-mode full',
    mnt,
    async start() {
      spawnSync('mkdir', ['-p', mnt]);
      child = spawn('rclone', ['mount', remote, mnt, '--vfs-cache-mode', 'full', '--cache-dir', cache, '--vfs-cache-max-size', '4G', ...s3Flags], { env, stdio: 'inherit' });
      const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`rclone mount exited with ${code}`))));
      await Promise.race([until(() => isMounted(mnt), 'rclone to mount', 60_000), exited]);
    },
    stop: () => stopChild(child, mnt),
    pid: () => child?.pid,
    clearCache: () => rmSync(cache, { recursive: true, force: true }),
    // --vfs-cache-mode full acknowledges a close once the file is in its cache and uploads after
    // --vfs-write-back (5 s): poll the bucket until the upload is there.
    async stored(path, expect) {
      await until(
        () => {
          const r = rclone(['lsjson', '-R', `${remote}/${path}`]);
          if (r.status !== 0) return false;
          const items = (JSON.parse(r.stdout || '[]') as { Size: number; IsDir: boolean }[]).filter((x) => !x.IsDir);
          if (expect.count !== undefined) return items.length >= expect.count;
          return items.length === 1 && items[0]!.Size === expect.size;
        },
        `rclone to upload ${path}`,
        1_200_000,
        500,
      );
    },
  };
}
