// Starts `davfs-bridge serve` as a real child process (from the TypeScript sources) and waits for
// the URL it prints; stop() sends SIGTERM and waits for a clean exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TUNED_MALLOC_ENV } from '../../src/cli/malloc-tuning.js';

export const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
/**
 * The environment of the CLI's children: with the malloc settings serve and mount would start
 * themselves again with (src/cli/malloc-tuning.ts), so the process a test signals or kills is
 * the one doing the work, not a parent waiting on it.
 */
export const CLI_ENV = { ...process.env, ...TUNED_MALLOC_ENV };

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** Everything the server printed, standard output (its JSON log) and error. */
  output: () => string;
  /** The admin the first start created (name and the password it printed once); undefined when users existed or auth is off. */
  admin: { user: string; password: string } | undefined;
  /** `Authorization` header value of the admin (Basic), or undefined. */
  authorization: string | undefined;
  /** fetch with the admin's credentials; `path` is resolved against the server's URL. */
  fetch(path: string | URL, init?: RequestInit): Promise<Response>;
  stop(): Promise<number | null>;
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** `reuse`: a server started before on the same data, whose admin this one keeps (only a first start prints one). */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}, reuse?: Pick<ServerProcess, 'admin'>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...CLI_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (b: Buffer) => ((err += b.toString()), (out += b.toString())));
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let admin: ServerProcess['admin'] = reuse?.admin;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20_000);
    exited.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      // serve prints the first start's admin password before the line with its URL.
      const pw = /created user (\S+) .*: (\S+)$/.exec(line);
      if (pw) admin = { user: pw[1]!, password: pw[2]! };
      const m = /serving (https?:\/\/\S+)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      const url = m[1]!;
      const authorization = admin && basicAuth(admin.user, admin.password);
      resolve({
        url,
        child,
        stderr: () => err,
        output: () => out,
        admin,
        authorization,
        fetch: (path, init = {}) => {
          const headers = new Headers(init.headers);
          if (authorization && !headers.has('Authorization')) headers.set('Authorization', authorization);
          return fetch(new URL(path, url), { ...init, headers });
        },
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

/** Runs the CLI to completion; resolves with its exit code and output. `stdin`, when given, is its whole standard input. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { stdin?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...CLI_ENV, ...env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    // A CLI that fails before reading its stdin closes the pipe: that is its answer, not an error here.
    if (options.stdin !== undefined) child.stdin!.on('error', () => undefined).end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    // 'close', not 'exit': it comes after the output pipes are drained, so no last line is lost.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
