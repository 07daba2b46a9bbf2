// The mount and unmount commands as an operator uses them: SIGTERM commits what open files hold
// before unmounting, `davfs-bridge unmount` ends the mount process, a busy mount is refused unless
// --lazy, --daemon detaches with a pid file, and bad mountpoints fail with one clear line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runCli } from '../helpers/server-process.js';
import { delayedCommitMount, forceUnmount, shOk, startMount, tempDir } from './mount-process.js';

/** Runs `script` in bash in the background until it prints `ready`; resolves with a kill function. */
async function holdOpen(script: string): Promise<() => void> {
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve());
  });
  return () => child.kill('SIGKILL');
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('fuse mount: commands', () => {
  it('SIGTERM commits writes held by open files, then unmounts; a new mount finds them', { timeout: 120_000 }, async () => {
    const root = tempDir('sigterm');
    const mnt = join(root, 'mnt');
    const args = ['--data', join(root, 'data')];
    let mount = await startMount(mnt, args);
    try {
      await shOk(`printf 'base ' > ${mnt}/appended`);
      // Two descriptors stay open: an append (staged) and a new file (streaming).
      const release = await holdOpen(`exec 3>>${mnt}/appended 4>${mnt}/created; printf 'held data' >&3; printf 'new file' >&4; echo ready; sleep 60`);
      assert.equal(await mount.stop(), 0);
      release();
      assert.match(mount.output(), /"unmounted"/);
      mount = await startMount(mnt, args);
      assert.equal(await shOk(`cat ${mnt}/appended; echo; cat ${mnt}/created`), 'base held data\nnew file');
    } finally {
      await mount.stop();
      forceUnmount(mnt);
    }
  });

  it('`unmount` ends the mount process; a busy mount is refused unless --lazy', { timeout: 120_000 }, async () => {
    const root = tempDir('unmount');
    const mnt = join(root, 'mnt');
    const mount = await startMount(mnt, ['--data', join(root, 'data')]);
    try {
      const release = await holdOpen(`cd ${mnt} && echo ready && sleep 60`);
      const busy = await runCli(['unmount', mnt]);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /busy/i);
      const lazy = await runCli(['unmount', '--lazy', mnt]);
      assert.equal(lazy.code, 0, lazy.stderr);
      release();
      assert.equal(await mount.exited, 0);
      assert.match(mount.output(), /unmounted from outside/);
      const again = await runCli(['unmount', mnt]);
      assert.match(again.stderr, /not mounted/);
    } finally {
      await mount.stop();
      forceUnmount(mnt);
    }
  });

  it('write-back: `unmount` ends the mount at once and commits the closed files waiting for their commit', { timeout: 120_000 }, async () => {
    // Commits wait 10 minutes: only the unmount can commit them.
    const { mnt, args, env } = delayedCommitMount('unmount-wb');
    let mount = await startMount(mnt, args, env);
    try {
      await shOk(`echo waiting > ${mnt}/closed`);
      assert.equal((await runCli(['unmount', mnt])).code, 0);
      assert.equal(await mount.exited, 0);
      // Committed by the unmount, not replayed by the next mount.
      assert.doesNotMatch(mount.output(), /could not commit/);
      mount = await startMount(mnt, args, env);
      assert.doesNotMatch(mount.output(), /had closed and not committed/);
      assert.equal(await shOk(`cat ${mnt}/closed`), 'waiting\n');
    } finally {
      await mount.stop();
      forceUnmount(mnt);
    }
  });

  it('a mountpoint whose name has a space (escaped in the mount table) stays mounted and unmounts', { timeout: 120_000 }, async () => {
    const root = tempDir('space');
    const mnt = join(root, 'my drive');
    const mount = await startMount(mnt, ['--data', join(root, 'data')]);
    try {
      // The process watches the mount table every second and would stop if it missed its entry.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(mount.child.exitCode, null);
      assert.equal(await shOk(`echo ok > '${mnt}/f'; cat '${mnt}/f'`), 'ok\n');
      assert.equal((await runCli(['unmount', mnt])).code, 0);
      assert.equal(await mount.exited, 0);
    } finally {
      await mount.stop();
      forceUnmount(mnt);
    }
  });

  it('--daemon detaches once mounted and writes --pid-file; unmount stops it', { timeout: 120_000 }, async () => {
    const root = tempDir('daemon');
    const mnt = join(root, 'mnt');
    const pidFile = join(root, 'mount.pid');
    const logFile = join(root, 'mount.log');
    await shOk(`mkdir -p ${mnt}`);
    try {
      const r = await runCli(['mount', '--daemon', '--pid-file', pidFile, '--log-file', logFile, '--data', join(root, 'data'), mnt]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /mounted at/);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(alive(pid), 'the daemon runs');
      assert.equal(await shOk(`echo hi > ${mnt}/f; cat ${mnt}/f`), 'hi\n');
      assert.equal((await runCli(['unmount', mnt])).code, 0);
      await waitUntil(() => !alive(pid), 'the daemon to exit');
      assert.equal(existsSync(pidFile), false, 'pid file removed');
      assert.match(readFileSync(logFile, 'utf8'), /"unmounted"/);
    } finally {
      forceUnmount(mnt);
    }
  });

  it('refuses a missing mountpoint and one already mounted, with one line each (also as a daemon)', { timeout: 120_000 }, async () => {
    const root = tempDir('refuse');
    const missing = await runCli(['mount', '--data', join(root, 'data'), join(root, 'nowhere')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    const daemonMissing = await runCli(['mount', '--daemon', '--data', join(root, 'data'), join(root, 'nowhere')]);
    assert.equal(daemonMissing.code, 1);
    assert.match(daemonMissing.stderr, /does not exist/);

    const mnt = join(root, 'mnt');
    const mount = await startMount(mnt, ['--data', join(root, 'data')]);
    try {
      const twice = await runCli(['mount', '--data', join(root, 'other'), mnt]);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /already mounted/);
    } finally {
      await mount.stop();
      forceUnmount(mnt);
    }
  });
});
