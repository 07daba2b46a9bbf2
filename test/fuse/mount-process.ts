// Runs `davfs-bridge mount` in a child process (a hung FUSE request can then only hang that
// child, never the test runner) and shell commands against the mount with timeouts. Every mount
// gets its own data folder and mountpoint, and is unmounted in `after` (fusermount -uz if the
// process does not exit).
import { after, before } from 'node:test';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, CLI_ENV } from '../helpers/server-process.js';

export interface MountProcess {
  mountpoint: string;
  child: ChildProcess;
  /** Everything the process printed (its JSON log and error output). */
  output(): string;
  /** SIGTERM (clean unmount) and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: leaves a stale mount behind, as a crash would. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** A fresh temp folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `davfs-fuse-${prefix}-`));
}

/** Starts `mount ARGS MOUNTPOINT` and resolves once it printed that it is mounted. */
export function startMount(mountpoint: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<MountProcess> {
  try {
    mkdirSync(mountpoint, { recursive: true });
  } catch (err) {
    // A stale mount left by a killed mount process: the mount command must clear it itself.
    if ((err as NodeJS.ErrnoException).code !== 'ENOTCONN') throw err;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'mount', ...args, mountpoint], {
    env: { ...CLI_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    // A mount that never starts is killed, so it cannot outlive the test and hold the runner.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mount did not start within 60 s:\n${out}`));
    }, 60_000);
    void exited.then((code) => reject(new Error(`mount exited with ${code}:\n${out}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out += line + '\n';
      if (!/^davfs-bridge mounted /.test(line)) return;
      clearTimeout(timer);
      resolve({
        mountpoint,
        child,
        exited,
        output: () => out,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
          const code = await exited;
          clearTimeout(timeout);
          return code;
        },
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
  });
}

/**
 * A write-back mount's folders and arguments whose commits wait 10 minutes after the close: in a
 * test, only an unmount or the next mount's replay commits them.
 */
export function delayedCommitMount(prefix: string): { root: string; mnt: string; data: string; args: string[]; env: NodeJS.ProcessEnv } {
  const root = tempDir(prefix);
  const data = join(root, 'data');
  return { root, mnt: join(root, 'mnt'), data, args: ['--data', data, '--commit-delay', '600'], env: { DAVFS_WRITE_MODE: 'writeback' } };
}

/** Lazy unmount whatever is left (a killed mount process leaves a stale mount). */
export function forceUnmount(mountpoint: string): void {
  spawnSync('fusermount', ['-uz', mountpoint], { stdio: 'ignore' });
}

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` in bash (cwd `cwd`), killing it after `timeoutMs`. Never rejects. */
export function sh(script: string, cwd?: string, timeoutMs = 120_000): Promise<ShellResult> {
  return new Promise((resolve) => {
    execFile('bash', ['-eo', 'pipefail', '-c', script], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Like sh(), but fails with the output when the script fails. */
export async function shOk(script: string, cwd?: string, timeoutMs?: number): Promise<string> {
  const r = await sh(script, cwd, timeoutMs);
  if (r.code !== 0) throw new Error(`script failed (${r.code}): ${script}\n${r.stderr}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

export interface MountedTest {
  /** The mountpoint. */
  mnt: string;
  /** The data folder (objects, metadata, caches) of the store. */
  data: string;
  /** A scratch folder outside the mount. */
  work: string;
  process(): MountProcess;
}

/** One mount for a test file: started in `before`, stopped (and force-unmounted) in `after`. */
export function useMount(args: string[] = [], env: NodeJS.ProcessEnv = {}): MountedTest {
  const root = tempDir('mount');
  const t: MountedTest = {
    mnt: join(root, 'mnt'),
    data: join(root, 'data'),
    work: join(root, 'work'),
    process: () => proc,
  };
  let proc: MountProcess;
  before(async () => {
    mkdirSync(t.work, { recursive: true });
    proc = await startMount(t.mnt, ['--data', t.data, ...args], env);
  });
  after(async () => {
    try {
      if (proc) await proc.stop();
    } finally {
      forceUnmount(t.mnt);
    }
    // The large-file test leaves a GiB of chunks behind.
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // A mount that could not be cleared: leave the folder to the next boot's tmp cleaning.
    }
  });
  return t;
}
