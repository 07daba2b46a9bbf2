// Progress display for long maintenance commands (gc, fsck): a cli-progress line on a terminal's
// stderr, nothing when stderr is a file or pipe (scripts and tests read only the summary).
import cliProgress from 'cli-progress';

export interface JobProgress {
  /** Shows `done` items of the current phase (`total` when known). */
  update(phase: string, done: number, total?: number): void;
  stop(): void;
}

export function jobProgress(): JobProgress {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  // The totals of GC and fsck are mostly unknown (they list as they go): a counter, not a bar.
  const bar = new cliProgress.SingleBar(
    { format: '{phase}: {value}{ofTotal} | {duration_formatted}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(phase, done, total) {
      const payload = { phase, ofTotal: total === undefined ? '' : ` of ${total}` };
      if (!started) {
        bar.start(total ?? 0, done, payload);
        started = true;
      } else {
        if (total !== undefined) bar.setTotal(total);
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
