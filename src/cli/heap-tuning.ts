// V8 heap tuning, applied by the command line before any command runs.
//
// Why: a mount or server moves GiBs through external buffers (socket reads, FUSE requests, chunk
// buffers) while its JS heap stays near 30 MB, and V8 sets the old generation's next limit only a
// little above the live heap after each mark-compact. The objects of requests that outlive two
// scavenges (a 4 MiB GET takes tens of ms) then set off a mark-compact every ~1.5 MB promoted:
// 69-99 in a cold 1 GiB read through the FUSE mount (--trace-gc). A growing factor of 9 (800%)
// instead of the one V8 derives from its GC speed left 0-3 (two traced runs); 3 interleaved pairs
// without / with it: cold read 150-159 / 184-198 MiB/s, mount CPU 6.9-7.1 / 4.1-4.6 s, peak RSS
// 266-271 / 269-274 MiB. V8 reads this flag at each collection, so setting it at run time holds.
// An initial old-space size set here did not (V8 reads that once, at startup), and putting it on
// the shebang line needs an `env -S`, which BusyBox lacks. The maximum heap size still bounds the
// growth.
import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/** Whether the user gave the flag themselves (command line or NODE_OPTIONS): theirs wins. */
export function growingPercentGiven(options: readonly string[]): boolean {
  return options.some((o) => o.split('=')[0]!.replace(/_/g, '-') === FLAG);
}

export function tuneHeap(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (!growingPercentGiven(given)) setFlagsFromString(`${FLAG}=800`);
}
