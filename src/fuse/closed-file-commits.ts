// Commits after close (write_mode writeback), for FuseFs: a close notes the file in the journal
// (its bytes are in its spool file) and returns; the commit follows from the DeferredCommits
// queue, retried with backoff when it fails. Small files held in memory are the exception: they
// commit at their close (commitsAtClose). FuseFs owns the open-file table and the commit itself;
// this owns what is noted, what waits, and what failed.
import type { CommitJournal } from './commit-journal.js';
import { DeferredCommits, type DeferredCommitOptions } from './deferred-commits.js';
import { isUnlinkedOpenFile } from './open-files.js';
import type { OpenFile } from './open-file.js';
import type { LockLog } from './write-locks.js';

export type SpoolOptions = DeferredCommitOptions & {
  journal: CommitJournal;
  /**
   * Files whose writes end within this many bytes are held in memory and committed at their
   * close instead (undefined: every written file is spooled). Meant for inline_max with no
   * commit delay: such a commit is one metadata row, no object store request, cheaper than the
   * spool file it saves (create, read back, unlink).
   */
  commitAtCloseUpTo?: number;
};

/** What the commits need of FuseFs. */
export interface CommitHooks {
  /** Commits what `f` holds (under its lock). */
  commit(f: OpenFile): Promise<void>;
  /** `f` was committed: forget it unless it was opened or written again meanwhile. */
  settled(f: OpenFile): Promise<void>;
  log?: LockLog;
}

export class ClosedFileCommits {
  private readonly queue: DeferredCommits<OpenFile>;
  /** Failed attempts of a deferred commit (spaces its retries). */
  private readonly failures = new WeakMap<OpenFile, number>();
  /** OpenFile.changes when the file was last noted in the journal. */
  private readonly noted = new WeakMap<OpenFile, number>();

  constructor(
    private readonly o: SpoolOptions,
    private readonly hooks: CommitHooks,
  ) {
    this.queue = new DeferredCommits<OpenFile>(o, (f) => this.commitClosed(f));
  }

  get journal(): CommitJournal {
    return this.o.journal;
  }

  /** The bytes up to which a new file's writes are held in memory (OpenFileDeps.spoolInMemoryUpTo). */
  get inMemoryUpTo(): number | undefined {
    return this.o.commitAtCloseUpTo;
  }

  /** True when `f` commits after its close (not a file unlinked while open: nothing could name it). */
  applies(f: OpenFile): boolean {
    return !isUnlinkedOpenFile(f.path);
  }

  /** A file still held in memory and no larger than commitAtCloseUpTo: committed at its close. */
  commitsAtClose(f: OpenFile): boolean {
    const upTo = this.o.commitAtCloseUpTo;
    return upTo !== undefined && f.isHeldInMemory() && f.size <= upTo;
  }

  /** A close (or truncate) of a written file: waits for room in the backlog, then notes it. */
  async noteClosed(f: OpenFile): Promise<void> {
    await this.queue.room(f);
    await this.note(f);
  }

  /** Notes in the journal what a commit of `f` (dirty) would commit now. */
  async note(f: OpenFile): Promise<void> {
    await f.lock.run(async () => {
      if (f.isClean()) return;
      // The record names the spool file: writes still in memory go there first.
      await f.spill();
      this.noted.set(f, f.changes);
      await this.o.journal.record(f.spoolRecord());
    });
  }

  /** The last release of a dirty file: writes after its last flush are noted, and its commit queued. */
  async released(f: OpenFile): Promise<void> {
    // A shared mapping's pages are written back at munmap, after the last flush: noted here, so
    // that a replay does not miss them.
    if (this.noted.get(f) !== f.changes) await this.note(f);
    this.queue.schedule(f);
  }

  /** Queues the commit of `f` (after the delay, or `delayMs`). */
  schedule(f: OpenFile, delayMs?: number): void {
    this.queue.schedule(f, delayMs);
  }

  /** Whether `f` waits in the queue. */
  has(f: OpenFile): boolean {
    return this.queue.has(f);
  }

  /** Commits everything queued now (unmount); failures are left to the next mount's replay. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  /** The deferred commit of a closed file; a failure is retried later, or left to the next mount. */
  private async commitClosed(f: OpenFile): Promise<void> {
    // Opened again meanwhile: its last release schedules it again.
    if (f.handles > 0) return;
    try {
      await this.hooks.commit(f);
    } catch (err) {
      const attempt = (this.failures.get(f) ?? 0) + 1;
      this.failures.set(f, attempt);
      const retry = !this.queue.draining;
      this.hooks.log?.warn(
        { path: f.path, attempt, err: (err as Error)?.message ?? String(err) },
        retry ? 'could not commit a closed file; retrying' : 'could not commit a closed file; the next mount replays it',
      );
      if (retry) this.queue.schedule(f, Math.min(1000 * 2 ** attempt, 60_000), true);
      return;
    }
    await this.hooks.settled(f);
  }
}
