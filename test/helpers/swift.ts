// Test helper: makes sure OpenStack Swift's S3 API runs (scripts/swift-s3.sh) and gives each test run a fresh bucket.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { s3StoreOptions } from './s3rver.js';
import type { S3TestServer } from './s3rver.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/swift-s3.sh', import.meta.url));
const SWIFT_DIR = process.env.SWIFT_DIR ?? '/tmp/davfs-swift-s3';
/** Test processes using Swift right now, one file per pid; the last one out stops what tests started. */
const USERS_DIR = join(SWIFT_DIR, 'test-users');
/** Present when a test (not a developer or CI) started Swift: only then do tests stop it again. */
const STARTED_BY_TESTS = join(SWIFT_DIR, 'started-by-tests');
const LOCK_DIR = join(SWIFT_DIR, 'test-lock');

const run = promisify(execFile);

/**
 * Starts Swift if it is not running and creates a bucket for this run. Swift left running by a
 * developer (`scripts/swift-s3.sh start`) or CI is reused and never stopped here; Swift started here
 * is stopped by the last test process to call stop(), unless DAVFS_SWIFT_KEEP=1.
 * Fails (never skips) when the Debian packages are missing: the contract must run against Swift.
 */
export async function startSwift(): Promise<S3TestServer> {
  for (const program of ['swift-proxy-server', 'memcached']) {
    if (!onPath(program)) {
      throw new Error(
        `OpenStack Swift is not installed (${program} is not on PATH): run the install step of .ci/run ` +
          '(apt-get install -y --no-install-recommends swift swift-proxy swift-object swift-container swift-account memcached)',
      );
    }
  }
  await withLock(async () => {
    await mkdir(USERS_DIR, { recursive: true });
    await writeFile(join(USERS_DIR, String(process.pid)), '');
    if (!(await healthy())) {
      await writeFile(STARTED_BY_TESTS, '');
      try {
        await run('bash', [SCRIPT, 'start'], { env: { ...process.env, SWIFT_DIR }, timeout: 60_000 });
      } catch (err) {
        await rm(join(USERS_DIR, String(process.pid)), { force: true });
        const out = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : String(err);
        throw new Error(`scripts/swift-s3.sh start failed: ${out}`, { cause: err });
      }
    }
  });

  const server: S3TestServer = {
    endpoint: 'http://127.0.0.1:8090',
    bucket: `davfs-test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    stop: async () => undefined,
  };
  const admin = new S3ObjectStore(s3StoreOptions(server));
  await admin.createBucket();
  let stopped = false;
  server.stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await admin.deleteBucket();
    } finally {
      await admin.close();
      await release();
    }
  };
  return server;
}

async function release(): Promise<void> {
  await withLock(async () => {
    await rm(join(USERS_DIR, String(process.pid)), { force: true });
    const others = (await readdir(USERS_DIR).catch(() => [])).filter((pid) => {
      if (isAlive(Number(pid))) return true;
      void unlink(join(USERS_DIR, pid)).catch(() => undefined); // a test process that crashed
      return false;
    });
    if (others.length > 0 || !existsSync(STARTED_BY_TESTS) || process.env.DAVFS_SWIFT_KEEP === '1') return;
    await run('bash', [SCRIPT, 'stop'], { env: { ...process.env, SWIFT_DIR }, timeout: 30_000 });
    await rm(STARTED_BY_TESTS, { force: true });
  });
}

async function healthy(): Promise<boolean> {
  try {
    await run('bash', [SCRIPT, 'status'], { env: { ...process.env, SWIFT_DIR }, timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** A lock between test processes (node --test runs files in parallel): mkdir is atomic. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(SWIFT_DIR, { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST')) throw err;
      const holder = Number(await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => ''));
      if (holder > 0 && !isAlive(holder)) {
        await rm(LOCK_DIR, { recursive: true, force: true }); // its holder died
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(join(LOCK_DIR, 'pid'), { force: true });
    await rmdir(LOCK_DIR);
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EPERM';
  }
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, program)));
}
