// `--daemon` for long-running verbs (mount): the command starts itself again detached, with an IPC
// channel over which the child says "ready" (or why it failed); the parent then exits. The child
// keeps running without a terminal, its output appended to a log file.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';

const CHILD_ENV = 'DAVFS_DAEMON_CHILD';

type Report = { ready: true } | { error: string };

/** True in the detached child (it must not detach again). */
export function inDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/** In the daemon child: tells the waiting parent and closes the channel; elsewhere nothing. */
export async function reportToParent(report: Report): Promise<void> {
  if (!inDaemonChild()) return;
  await new Promise<void>((resolve) => process.send!(report, undefined, {}, () => resolve()));
  process.disconnect?.();
}

/**
 * Starts `node <execArgv> <args>` detached and resolves with its pid once it reported ready;
 * rejects with its error when it failed or exited first.
 */
export function startDaemon(args: string[], logFile: string | undefined): Promise<number> {
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(process.execPath, [...process.execArgv, ...args], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (m: Report) => {
      settled = true;
      if ('error' in m) return reject(new Error(m.error));
      child.disconnect();
      child.unref();
      resolve(child.pid!);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`the daemon exited with code ${code} before it was ready${logFile ? ` (see ${logFile})` : ''}`));
    });
  });
}
