// Commits that run after the close (write_mode writeback), as rclone's --vfs-cache-mode full
// uploads after it: close(2) returns once the bytes are in the file's spool and its journal
// record is written, and the file is committed here, `delayMs` after its last release, a few at a
// time. Until then the file stays in the open-file table, so this mount shows it as written
// (getattr, readdir, read); other clients see it once committed.
//
// A backlog bound keeps the spool from growing without limit: a close waits while the files
// waiting here (other than its own) hold more than `maxBytes`, or are more than `maxFiles` (each
// keeps its spool file open).

export interface DeferredCommitOptions {
  /** From a file's last release to its commit, in ms. */
  delayMs: number;
  /** Commits running at once. */
  concurrency: number;
  maxFiles: number;
  maxBytes: number;
}

/** What the queue needs of a file: its size counts against the backlog bound. */
export interface Deferrable {
  readonly size: number;
}

export class DeferredCommits<F extends Deferrable> {
  private readonly timers = new Map<F, NodeJS.Timeout>();
  private readonly queue: F[] = [];
  private readonly running = new Set<F>();
  /** Files waiting to retry a failed commit. */
  private readonly retrying = new Set<F>();
  private waiters: (() => void)[] = [];
  /** Set by drain(). */
  draining = false;

  /** `commit` commits one file (and retries or reschedules it itself when that fails). */
  constructor(
    private readonly o: DeferredCommitOptions,
    private readonly commit: (f: F) => Promise<void>,
  ) {}

  /**
   * Commits `f` after `delayMs` (again if it was waiting: a close restarts its delay). `retry`:
   * after a failed commit; a full backlog does not hurry it (the store may be down).
   */
  schedule(f: F, delayMs = this.o.delayMs, retry = false): void {
    clearTimeout(this.timers.get(f));
    this.timers.delete(f);
    if (retry) this.retrying.add(f);
    else this.retrying.delete(f);
    if (this.queue.includes(f)) return;
    if (delayMs === 0) return this.enqueue(f);
    const timer = setTimeout(() => {
      this.timers.delete(f);
      this.retrying.delete(f);
      this.enqueue(f);
    }, delayMs);
    // The mount keeps the process alive; a waiting commit alone must not (drain() runs it first).
    timer.unref();
    this.timers.set(f, timer);
  }

  /** True while `f` waits or is being committed here. */
  has(f: F): boolean {
    return this.timers.has(f) || this.queue.includes(f) || this.running.has(f);
  }

  /** Resolves once the files waiting, not counting `self`, are within the backlog bound. */
  async room(self: F): Promise<void> {
    for (;;) {
      let files = 0;
      let bytes = 0;
      for (const f of this.waiting()) {
        if (f === self) continue;
        files++;
        bytes += f.size;
      }
      if (files < this.o.maxFiles && bytes < this.o.maxBytes) return;
      // Waiting files commit now rather than after their delay: the bound is reached.
      this.startAll(false);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /**
   * Commits everything waiting at once and resolves when no commit runs (unmount). From now on
   * `draining` is true: a failed commit is left to the next mount's replay, not retried.
   */
  async drain(): Promise<void> {
    this.draining = true;
    for (;;) {
      this.startAll(true);
      if (this.queue.length === 0 && this.running.size === 0) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Files waiting for their delay are queued now; those waiting to retry only with `retries`. */
  private startAll(retries: boolean): void {
    for (const [f, timer] of [...this.timers]) {
      if (!retries && this.retrying.has(f)) continue;
      this.retrying.delete(f);
      clearTimeout(timer);
      this.timers.delete(f);
      this.enqueue(f);
    }
  }

  private *waiting(): Iterable<F> {
    yield* this.timers.keys();
    yield* this.queue;
    yield* this.running;
  }

  private enqueue(f: F): void {
    if (!this.queue.includes(f)) this.queue.push(f);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.o.concurrency && this.queue.length > 0) {
      const f = this.queue.shift()!;
      this.running.add(f);
      void this.commit(f)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(f);
          this.pump();
          for (const w of this.waiters.splice(0)) w();
        });
    }
  }
}
