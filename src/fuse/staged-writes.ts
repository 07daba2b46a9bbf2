// Random writes of one open file, kept until the next flush/fsync/release commits them: the bytes
// in a sparse local file at their own offsets, which bytes are dirty in a sorted list of extents.
// Committed at close, the local file is unlinked as soon as it is open, so a crash leaves nothing
// behind (its bytes were never acknowledged: only fsync and close acknowledge, and both commit
// first). Committed after close (deferred-commits.ts), it keeps its name: the next mount replays it.
// A spool may start in memory instead (inMemory): a small file that is committed at its close
// then never costs a local file (create, read back, unlink: thread-pool round trips each); it is
// spilled to its named file once it grows past the limit or must outlive the close.
import { writeSync } from 'node:fs';
import { open, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { handOver } from '../core/shared-memory.js';

/** Half-open byte interval [start, end). */
export interface Extent {
  start: number;
  end: number;
}

const PIECE = 1 << 20;
/** Names of the local files (a spool directory holds them and the commit journal). */
export const SPOOL_PREFIX = 'spool-';
let counter = 0;

/** The spool file of the file `id` (OpenFile.id) in the spool folder `dir`. */
export function spoolFilePath(dir: string, id: string): string {
  return join(dir, SPOOL_PREFIX + id);
}

/** Where the bytes of an in-memory spool go once it spills. */
interface SpillTarget {
  dir: string;
  keepAs: string;
  /** Bytes held in memory at most. */
  limit: number;
}

export class StagedWrites {
  /** Dirty intervals: sorted, disjoint, never touching (touching ones are merged). */
  private list: Extent[] = [];
  /** The bytes while in memory (no file yet), at their offsets; grown as writes need. */
  private memory: Buffer | undefined;

  /** `path`: the local file's name while it is kept (a spool), else undefined. */
  private constructor(
    private file: FileHandle | undefined,
    private keptPath: string | undefined,
    private readonly spillTo?: SpillTarget,
  ) {
    if (file === undefined) this.memory = Buffer.alloc(0);
  }

  /** The local file's name while it is kept (a spool); undefined for an unlinked or in-memory one. */
  get path(): string | undefined {
    return this.keptPath;
  }

  /**
   * A spool held in memory until it holds bytes past `limit` or spill() is called: then it becomes
   * the local file SPOOL_PREFIX + keepAs in `dir`, as create(dir, keepAs) makes.
   */
  static inMemory(dir: string, keepAs: string, limit: number): StagedWrites {
    return new StagedWrites(undefined, undefined, { dir, keepAs, limit });
  }

  /** Whether the bytes are in memory, with no local file yet. */
  get isInMemory(): boolean {
    return this.file === undefined;
  }

  /** Whether a write ending at `end` can be taken without spill() first. */
  fits(end: number): boolean {
    return this.file !== undefined || end <= this.spillTo!.limit;
  }

  /** Moves in-memory bytes to the named local file (nothing to do once there). */
  async spill(): Promise<void> {
    if (this.file !== undefined) return;
    const target = this.spillTo!;
    const path = spoolFilePath(target.dir, target.keepAs);
    const file = await open(path, 'wx+');
    try {
      for (const e of this.list) await file.write(this.memory!, e.start, e.end - e.start, e.start);
    } catch (err) {
      await file.close();
      await rm(path, { force: true });
      throw err;
    }
    this.file = file;
    this.keptPath = path;
    this.memory = undefined;
  }

  /**
   * An empty local file in `dir`. `keepAs`: leave it named SPOOL_PREFIX + keepAs (a spool file the
   * next mount can replay); otherwise it is unlinked at once.
   */
  static async create(dir: string, keepAs?: string): Promise<StagedWrites> {
    const path = keepAs === undefined ? join(dir, `${process.pid}-${++counter}`) : spoolFilePath(dir, keepAs);
    const file = await open(path, 'wx+');
    if (keepAs !== undefined) return new StagedWrites(file, path);
    await unlink(path);
    return new StagedWrites(file, undefined);
  }

  /** A spool file left by an earlier mount, with the dirty extents its journal recorded. */
  static async reopen(path: string, extents: readonly Extent[]): Promise<StagedWrites> {
    const w = new StagedWrites(await open(path, 'r+'), path);
    for (const e of extents) w.list = addExtent(w.list, { start: e.start, end: e.end });
    return w;
  }

  get extents(): readonly Extent[] {
    return this.list;
  }

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  /** Bytes of dirty data. */
  get dirtyBytes(): number {
    return this.list.reduce((n, e) => n + e.end - e.start, 0);
  }

  /**
   * A synchronous pwrite: the kernel sends a file's write requests one at a time, each waiting for
   * the reply, so a hop to the thread pool and back adds to every 128 KiB. A 1 GiB dd into a
   * write-back mount (commit delayed, local store, 5 interleaved runs): 311-603 MiB/s (median 555)
   * with FileHandle.write, 635-731 (median 658) with writeSync. A write into the page cache blocks
   * the event loop for tens of microseconds, longer only when the kernel throttles dirty pages,
   * when the thread pool would be held as long.
   */
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (this.file === undefined) {
      if (!this.fits(end)) throw new RangeError(`in-memory staged writes: byte ${end} is past the limit; spill() first`);
      if (end > this.memory!.length) {
        const grown = Buffer.alloc(Math.min(this.spillTo!.limit, Math.max(end, this.memory!.length * 2)));
        this.memory!.copy(grown);
        this.memory = grown;
      }
      this.memory!.set(data, offset);
    } else {
      let done = 0;
      while (done < data.length) done += writeSync(this.file.fd, data, done, data.length - done, offset + done);
    }
    this.list = addExtent(this.list, { start: offset, end });
  }

  /** Forgets dirty bytes at or past `size` (the file was truncated). */
  async truncate(size: number): Promise<void> {
    this.list = this.list.filter((e) => e.start < size).map((e) => ({ start: e.start, end: Math.min(e.end, size) }));
    if (this.file === undefined) this.memory!.fill(0, Math.min(size, this.memory!.length));
    else await this.file.truncate(size);
  }

  /** Reads dirty bytes [pos, pos+len) into `buf` at `at` (the caller knows they are dirty). */
  async readInto(buf: Buffer, at: number, pos: number, len: number): Promise<void> {
    if (this.file === undefined) {
      const n = Math.max(0, Math.min(len, this.memory!.length - pos));
      if (n > 0) this.memory!.copy(buf, at, pos, pos + n);
      buf.fill(0, at + n, at + len);
      return;
    }
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.file.read(buf, at + done, len - done, pos + done);
      if (bytesRead === 0) {
        buf.fill(0, at + done, at + len);
        return;
      }
      done += bytesRead;
    }
  }

  /**
   * The dirty bytes [start, end) as a stream, for a commit. Each piece is memory of its own,
   * handed over: the chunker transfers it to its worker instead of copying it into a slab.
   */
  async *bytes(start: number, end: number): AsyncGenerator<Buffer> {
    for (let pos = start; pos < end; pos += PIECE) {
      const len = Math.min(PIECE, end - pos);
      const buf = Buffer.allocUnsafeSlow(len);
      await this.readInto(buf, 0, pos, len);
      yield handOver(buf) as Buffer;
    }
  }

  /** Everything was committed: start over with an empty file. */
  async clear(): Promise<void> {
    this.list = [];
    if (this.file === undefined) this.memory = Buffer.alloc(0);
    else await this.file.truncate(0);
  }

  /** Closes the local file; a kept one is removed too (its bytes were committed or given up). */
  async close(): Promise<void> {
    if (this.file === undefined) return;
    await this.file.close();
    if (this.keptPath !== undefined) await rm(this.keptPath, { force: true });
  }
}

/**
 * Adds `e` to the sorted, disjoint `list` in place, merging what overlaps or touches it. Binary
 * search, so a database's thousands of scattered 4 KiB writes do not each walk the whole list.
 */
export function addExtent(list: Extent[], e: Extent): Extent[] {
  if (e.end <= e.start) return list;
  // First extent that ends at or after e.start (it may touch or overlap e).
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.end < e.start) lo = mid + 1;
    else hi = mid;
  }
  let last = lo;
  let start = e.start;
  let end = e.end;
  while (last < list.length && list[last]!.start <= end) {
    start = Math.min(start, list[last]!.start);
    end = Math.max(end, list[last]!.end);
    last++;
  }
  list.splice(lo, last - lo, { start, end });
  return list;
}

/**
 * Splits [start, end) into pieces that are dirty (covered by `list`) or clean, in order; the
 * FUSE read path fills the first kind from the local file and the second from the store.
 */
export function splitByExtents(list: readonly Extent[], start: number, end: number): { start: number; end: number; dirty: boolean }[] {
  const out: { start: number; end: number; dirty: boolean }[] = [];
  let pos = start;
  for (const x of list) {
    if (x.end <= pos) continue;
    if (x.start >= end) break;
    if (x.start > pos) out.push({ start: pos, end: x.start, dirty: false });
    const to = Math.min(x.end, end);
    out.push({ start: Math.max(x.start, pos), end: to, dirty: true });
    pos = to;
  }
  if (pos < end) out.push({ start: pos, end, dirty: false });
  return out;
}
