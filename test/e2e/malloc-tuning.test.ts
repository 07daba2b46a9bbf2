// serve and mount start themselves again with tuned glibc malloc settings (src/cli/malloc-tuning.ts):
// when they do, and that the restarted process gets the settings and stops once, and cleanly, on
// a terminal's Ctrl-C (which reaches both processes) and on a SIGTERM sent to the first one alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { TUNED_MALLOC_ENV, runsOnGlibc, wantsTunedMalloc } from '../../src/cli/malloc-tuning.js';
import { CLI } from '../helpers/server-process.js';

describe('wantsTunedMalloc', () => {
  const argv = (...args: string[]) => ['node', 'main.js', ...args];
  const yes = () => true;
  const cases: [string, string[], NodeJS.ProcessEnv, boolean][] = [
    ['serve', argv('serve', '--data', 'x'), {}, true],
    ['mount', argv('mount', '/mnt/cloud'), {}, true],
    ['a short-lived verb', argv('user', 'add', 'alice'), {}, false],
    ['no verb', argv('--version'), {}, false],
    ['the restarted process', argv('serve'), { ...TUNED_MALLOC_ENV }, false],
    ["the user's own threshold", argv('serve'), { MALLOC_TRIM_THRESHOLD_: '0' }, false],
    ["the user's arena limit", argv('mount', '/m'), { MALLOC_ARENA_MAX: '2' }, false],
    ["the user's glibc tunables", argv('serve'), { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, false],
    ['other glibc tunables', argv('serve'), { GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }, true],
  ];
  for (const [what, args, env, expected] of cases) {
    it(`${what} → ${expected ? 'start again' : 'run as is'}`, () => assert.equal(wantsTunedMalloc(args, env, yes), expected));
  }
  it('never on a C library other than glibc', () => assert.equal(wantsTunedMalloc(argv('serve'), {}, () => false), false));
  it('knows this machine runs glibc (Debian)', () => assert.equal(runsOnGlibc(), true));
});

/** Node processes whose parent is `pid` (from /proc; tsx also runs an esbuild process). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return stat.includes('(node)') && Number(stat.split(') ')[1]!.split(' ')[1]) === pid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

describe('serve started again with tuned malloc settings', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts serve as a user would (no malloc settings), leader of its own process group like a shell job. */
  async function start(): Promise<{ pid: number; server: number; url: string; output: () => string; exit: Promise<{ code: number | null; signal: string | null }> }> {
    const data = mkdtempSync(join(tmpdir(), 'davfs-malloc-'));
    dirs.push(data);
    const env = { ...process.env };
    for (const name of Object.keys(TUNED_MALLOC_ENV)) delete env[name];
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data', data, '--listen', '127.0.0.1:0'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const url = await new Promise<string>((resolve, reject) => {
      void exit.then(() => reject(new Error(`serve exited: ${output}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        output += `${line}\n`;
        const m = /serving (http:\/\/\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
    });
    const [server, ...others] = childrenOf(child.pid!);
    assert.ok(server !== undefined && others.length === 0, 'one process serves, started by the command');
    return { pid: child.pid!, server, url, output: () => output, exit };
  }

  it('serves from a child process that has the settings; a Ctrl-C to the group stops it once', async () => {
    const s = await start();
    const env = environOf(s.server);
    for (const [name, value] of Object.entries(TUNED_MALLOC_ENV)) assert.equal(env[name], value, name);
    assert.equal((await fetch(new URL('/healthz', s.url))).status, 200);
    // A terminal's Ctrl-C: SIGINT to every process of the foreground group.
    process.kill(-s.pid, 'SIGINT');
    assert.deepEqual(await s.exit, { code: 0, signal: null });
    assert.doesNotMatch(s.output(), /second signal/, 'the server got the signal once');
    assert.deepEqual(childrenOf(s.pid), []);
  });

  it('passes a SIGTERM sent to the command alone on to the server, and exits with its status', async () => {
    const s = await start();
    process.kill(s.pid, 'SIGTERM');
    assert.deepEqual(await s.exit, { code: 0, signal: null });
    assert.match(s.output(), /"signal":"SIGTERM".*stopping/);
    assert.throws(() => process.kill(s.server, 0), /ESRCH/, 'the server is gone');
  });
});
