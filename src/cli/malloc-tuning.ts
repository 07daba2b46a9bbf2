// glibc malloc settings for the long-running verbs (serve, mount), which the command line applies
// by starting itself again with them: glibc reads them from the environment at process start only,
// and Node has no way to call mallopt().
//
// Why: these processes move GiBs through buffers of 64 KiB to 16 MiB (socket reads, FUSE write
// slabs, chunks), freed in bursts by the garbage collector. With glibc's defaults the heap is
// trimmed whenever 128 KiB or more lie free at its top, and blocks above the mmap threshold are
// mapped and unmapped each time, so the next allocations fault their pages in again. On the VMs
// measured here (Firecracker, where a page fault exits to the hypervisor) that was most of the
// FUSE mount's CPU when writing: a 1 GiB dd through the write-back mount, 2 interleaved pairs
// default / tuned: 153-226 / 223-246 MiB/s, mount CPU 7.1-9.0 / 4.4-4.7 s, 230,000 / 135,000
// page faults. The price is memory: freed heap memory (up to the trim threshold) stays with the
// process instead of going back to the system.
import { spawn } from 'node:child_process';

/** MALLOC_MMAP_THRESHOLD_ is capped at 32 MiB by glibc; blocks below it come from the heap. */
export const TUNED_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 << 20),
  MALLOC_TRIM_THRESHOLD_: String(256 << 20),
};

/** Settings a user may have made already: any of them means "leave malloc alone". */
const USER_SETTINGS = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_ARENA_MAX'];
const LONG_RUNNING = new Set(['serve', 'mount']);

/** The verb of a command line (`node main.js [options] VERB …`): its first argument that is not an option. */
function verbOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}

/**
 * Whether to start again with TUNED_MALLOC_ENV: a long-running verb, on glibc, and no malloc
 * setting of the user's (environment or GLIBC_TUNABLES) in the way.
 */
export function wantsTunedMalloc(argv: readonly string[], env: NodeJS.ProcessEnv, glibc: () => boolean): boolean {
  if (!LONG_RUNNING.has(verbOf(argv) ?? '')) return false;
  if (USER_SETTINGS.some((name) => env[name] !== undefined)) return false;
  if ((env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.')) return false;
  return glibc();
}

/** True on glibc (Debian, Ubuntu, Node's bookworm images); false on musl (Alpine), macOS, Windows. Takes ~10 ms. */
export function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return typeof header?.glibcVersionRuntime === 'string';
}

/**
 * Runs this command again with the tuned environment and ends with its exit status. The child
 * shares the terminal and process group, so a Ctrl-C or hang-up from the terminal reaches it
 * directly: this process ignores those rather than deliver them twice (a second signal makes a
 * mount quit before it has unmounted). SIGTERM, which service managers send to this pid alone,
 * is passed on. Where SIGINT comes to this pid alone (docker's PID 1), set the variables instead:
 * the Dockerfile does.
 */
export function relaunchWithTunedMalloc(): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...TUNED_MALLOC_ENV },
  });
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGHUP', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (signal === null) process.exit(code ?? 1);
      // Die of the same signal, so whoever waits on this process sees what happened.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    });
  });
}
