// Real WebDAV servers for the remote client's tests: `davfs-bridge serve` as a child process (with
// the credentials it prints when authentication is on) and `rclone serve webdav`, a class 2
// server without partial updates, dead properties or conditional PUTs.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type ServerProcess } from './server-process.js';

export interface RemoteTarget {
  url: string;
  user?: string;
  password?: string;
  stop(): Promise<void>;
}

/** `davfs-bridge serve` on a fresh data folder; `user`/`password` are its admin's when it has one. */
export async function startServeTarget(args: string[] = []): Promise<RemoteTarget & { server: ServerProcess; data: string }> {
  const data = mkdtempSync(join(tmpdir(), 'davfs-remote-serve-'));
  const server = await startServe(['--data', data, ...args]);
  // A first start with authentication prints its admin; without authentication there is none.
  const admin = server.admin;
  return {
    url: server.url,
    user: admin?.user,
    password: admin?.password,
    server,
    data,
    stop: async () => {
      const code = await server.stop();
      if (code !== 0) throw new Error(`serve exited with ${code}: ${server.stderr()}`);
    },
  };
}

/** `rclone serve webdav DIR` on a free port, optionally with Basic authentication and more flags (e.g. --baseurl). */
export function startRclone(dir: string, auth?: { user: string; password: string }, extraArgs: string[] = []): Promise<RemoteTarget> {
  const env = { ...process.env };
  // rclone 1.60 fails while AWS_CA_BUNDLE is set (shared/README.md pitfall).
  delete env.AWS_CA_BUNDLE;
  const args = ['serve', 'webdav', dir, '--addr', '127.0.0.1:0', '--config', '/dev/null'];
  if (auth) args.push('--user', auth.user, '--pass', auth.password);
  args.push(...extraArgs);
  const child = spawn('rclone', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rclone did not start: ${err}`)), 15_000);
    child.on('error', reject);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /started on (http:\/\/[^\s\]]+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!.endsWith('/') ? m[1]! : `${m[1]!}/`,
        ...auth,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
