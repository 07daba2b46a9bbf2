// The journal of files closed and not committed yet (write_mode writeback: a close returns once
// the bytes are in the file's spool, deferred-commits.ts commits them after). One JSON line per
// event in <spool dir>/journal.jsonl: `pending` (at every close of a dirty file: where it goes,
// which version it was written over, which bytes of the spool are its) and `done` (committed, or
// nothing left to commit). The next mount replays what is pending (replay-spool.ts), so a crash
// or kill -9 of the mount process loses nothing a close returned for.
//
// Not fsynced: the spool files are not either. Like a local disk's page cache, what close returned
// for survives the process, not a power loss; fsync(2) commits (and so makes durable) at once.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Mutex } from '../core/mutex.js';
import type { Extent } from './staged-writes.js';

/** What a commit of one closed file needs, as OpenFile.spoolRecord gives it. */
export interface SpoolRecord {
  /** The OpenFile's id: its spool file is SPOOL_PREFIX + id, when it has one. */
  id: string;
  path: string;
  /** ETag of the version written over; null for a file created by this mount. */
  base: string | null;
  /** Bytes of that version still valid (it was truncated below its size since). */
  baseLimit: number;
  size: number;
  /** Bytes of the spool file that are the file's (the rest comes from the base, or is a hole). */
  extents: Extent[];
  /** Permission bits asked at create, not stored yet. */
  mode?: number;
}

type Line = { pending: SpoolRecord } | { done: string };

export const JOURNAL_NAME = 'journal.jsonl';

export class CommitJournal {
  private readonly lock = new Mutex();

  private constructor(
    private readonly file: FileHandle,
    /** Records pending, by id: what a replay would commit. */
    private readonly live: Map<string, SpoolRecord>,
  ) {}

  /** Opens (or creates) the journal in `dir`; `pending()` lists what an earlier mount left. */
  static async open(dir: string): Promise<CommitJournal> {
    const path = join(dir, JOURNAL_NAME);
    const live = new Map<string, SpoolRecord>();
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    for (const raw of text.split('\n')) {
      const line = parseLine(raw);
      if (!line) continue;
      if ('pending' in line) live.set(line.pending.id, line.pending);
      else live.delete(line.done);
    }
    return new CommitJournal(await open(path, 'a'), live);
  }

  /** Records left pending (by an earlier mount, until replayed). */
  pending(): SpoolRecord[] {
    return [...this.live.values()];
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  /** Notes that the file `rec.id` is closed with these bytes to commit (replacing an earlier note). */
  record(rec: SpoolRecord): Promise<void> {
    return this.lock.run(async () => {
      this.live.set(rec.id, rec);
      await this.file.write(JSON.stringify({ pending: rec }) + '\n');
    });
  }

  /** Notes that `id` needs no commit any more. The journal starts over once nothing is pending. */
  done(id: string): Promise<void> {
    if (!this.live.has(id)) return Promise.resolve();
    return this.lock.run(async () => {
      if (!this.live.delete(id)) return;
      if (this.live.size === 0) await this.file.truncate(0);
      else await this.file.write(JSON.stringify({ done: id }) + '\n');
    });
  }

  async close(): Promise<void> {
    await this.lock.run(() => this.file.close());
  }
}

/** A journal line, or undefined for a torn last line (the process died writing it) or garbage. */
function parseLine(raw: string): Line | undefined {
  if (raw.trim() === '') return undefined;
  try {
    const v = JSON.parse(raw) as Partial<{ pending: SpoolRecord; done: string }>;
    if (typeof v.done === 'string') return { done: v.done };
    const p = v.pending;
    if (p && typeof p.id === 'string' && typeof p.path === 'string' && Array.isArray(p.extents)) return { pending: p };
  } catch {
    // A line cut short by a crash: the close it was written for never returned.
  }
  return undefined;
}
