// Starts `davfs-bridge serve` as a real child process (from the TypeScript sources) and waits for
// the URL it prints; stop() sends SIGTERM and waits for a clean exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

export function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20_000);
    exited.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /serving (http:\/\/\S+)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        child,
        stderr: () => err,
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
      env: { ...process.env, ...env },
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
