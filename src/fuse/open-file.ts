// One open file, shared by every handle on it (as the kernel's page cache is shared by every fd):
// the writes not yet committed and how they will be committed. Nothing reaches the FileSystem per
// write request; flush (every close), fsync and release commit, each through the atomic write path.
//
// Two ways of holding writes, chosen by the first write:
//   - stream: the file is empty (new, O_TRUNC, truncated to 0) and the first write is at offset 0,
//     as for cp, dd and every "save": the bytes go straight into one FileSystem.write through a
//     PushSource, chunked, hashed and uploaded while the kernel sends the next requests. A write
//     elsewhere, a read of written bytes or a rename ends the stream (it commits what it has) and
//     the file carries on staged.
//   - staged: anything else (overwrites, appends to existing files, holes). Bytes go to a sparse
//     local file (StagedWrites); a commit writes each dirty extent with FileSystem.writeRange, which
//     re-chunks only the chunks around it (a 4 KiB edit of 1 GiB uploads ~2 MiB), unless the file
//     is small or the extents many: then one FileSystem.write of the whole file (the store dedups
//     unchanged chunks, so only changed ones are uploaded) is cheaper and a single commit.
//
// Spooled (write_mode writeback): every write is staged, in a spool file that keeps its name, so
// that a close can return before the commit (deferred-commits.ts) and the next mount can replay a
// commit a crash cut off (spoolRecord, restore).
//
// Every method except `view` and `isClean` runs under `lock` (the caller takes it), except that a
// spooled file's `read` may run under `gate` instead: beside a commit (which may take seconds for
// a large file), not beside the end of one, when the staged bytes are dropped.
import { FsError } from '../core/errors.js';
import { Mutex } from '../core/mutex.js';
import { SharedGate } from '../core/shared-gate.js';
import { baseName } from '../core/paths.js';
import type { FileSystem } from '../vfs/file-system.js';
import type { Stat, WriteResult } from '../vfs/types.js';
import type { SpoolRecord } from './commit-journal.js';
import { overlay } from './overlay.js';
import { PushSource } from './push-source.js';
import type { ReadAhead } from './read-ahead.js';
import { StagedWrites, splitByExtents } from './staged-writes.js';

/** Files up to this size are committed whole: one commit, and the rewrite costs little. */
const REWRITE_MAX = 8 << 20;
/** More dirty extents than this are committed as one rewrite rather than a writeRange each. */
const MAX_RANGE_COMMITS = 16;

export interface OpenFileDeps {
  fs: FileSystem;
  /** Folder of the local files holding staged writes. */
  stagingDir: string;
  /** Bytes a streaming write buffers before write requests wait for the store. */
  streamBuffer: number;
  /** Stage every write in a named spool file (a commit may come after the close); no streaming. */
  spool: boolean;
  /**
   * Spooled: hold a file's writes in memory while they end at or before this many bytes, and
   * make the spool file only past that or when spill() is called (StagedWrites.inMemory).
   */
  spoolInMemoryUpTo?: number;
  /** Called after each commit with the new Stat (the attribute cache keeps it). */
  committed(st: Stat): void;
  now(): number;
}

interface Stream {
  source: PushSource;
  /** Bytes pushed: the next sequential write starts here. */
  pos: number;
  done: Promise<WriteResult>;
}

let counter = 0;

export class OpenFile {
  readonly lock = new Mutex();
  /** Spooled reads hold it shared; the end of a commit and dispose hold it exclusive. */
  readonly gate = new SharedGate();
  /** Names the spool file and the journal records of this file (unique across mounts). */
  readonly id = `${process.pid}-${Date.now().toString(36)}-${++counter}`;
  /** Handles open on this file; the table forgets the file when the last one is released. */
  handles = 0;
  /** Bumped by every commit, so read streams of an older version are not reused. */
  version = 0;
  /** Bumped by every write and truncation: a journal record older than it is out of date. */
  changes = 0;
  /** Size as the kernel sees it (writes and truncations included). */
  size: number;
  private mtimeMs: number;
  /** Committed bytes still valid: below the committed size when the file was truncated since. */
  private baseLimit: number;
  private stream: Stream | undefined;
  private staged: StagedWrites | undefined;

  /**
   * `committed`: the file in the FileSystem, or undefined for a create not committed yet.
   * `createMode`: permission bits asked at create, stored after the first commit when not default.
   */
  constructor(
    public path: string,
    private committedStat: Stat | undefined,
    private readonly deps: OpenFileDeps,
    private createMode?: number,
  ) {
    this.size = committedStat?.size ?? 0;
    this.baseLimit = this.size;
    this.mtimeMs = committedStat?.mtimeMs ?? deps.now();
  }

  /** What getattr reports while the file is open: the live size and time over the committed Stat. */
  view(): { stat: Stat; size: number; mtimeMs: number } {
    const t = this.mtimeMs;
    const stat: Stat = this.committedStat ?? {
      path: this.path,
      name: baseName(this.path),
      kind: 'file',
      id: 0,
      size: 0,
      etag: null,
      mtimeMs: t,
      birthMs: t,
      ctimeMs: t,
      contentType: null,
      mode: this.createMode ?? null,
      uid: null,
      gid: null,
    };
    return { stat, size: this.size, mtimeMs: this.isClean() ? stat.mtimeMs : t };
  }

  /** Nothing to commit: reads can go straight to the committed content. */
  isClean(): boolean {
    const c = this.committedStat;
    return !this.stream && (this.staged?.isEmpty ?? true) && c !== undefined && this.size === c.size && this.baseLimit === c.size;
  }

  /** True while a streaming write is open (another handle's flush must not end it). */
  isStreaming(): boolean {
    return this.stream !== undefined;
  }

  /** True when the file exists in the FileSystem (a create is committed at its first flush). */
  isCommitted(): boolean {
    return this.committedStat !== undefined;
  }

  private async newStaged(): Promise<StagedWrites> {
    const upTo = this.deps.spoolInMemoryUpTo;
    if (this.deps.spool && upTo !== undefined) return StagedWrites.inMemory(this.deps.stagingDir, this.id, upTo);
    return StagedWrites.create(this.deps.stagingDir, this.deps.spool ? this.id : undefined);
  }

  /** True while the file's writes sit in memory only (spoolInMemoryUpTo): no spool file yet. */
  isHeldInMemory(): boolean {
    return this.staged?.isInMemory === true;
  }

  /** Puts writes held in memory into the spool file, as a journal record of the file needs. */
  async spill(): Promise<void> {
    await this.staged?.spill();
  }

  /** What a replay needs to commit this file as it is now (after a close of it). */
  spoolRecord(): SpoolRecord {
    return {
      id: this.id,
      path: this.path,
      base: this.committedStat?.etag ?? null,
      baseLimit: this.committedStat ? this.baseLimit : 0,
      size: this.size,
      extents: (this.staged?.extents ?? []).map((e) => ({ start: e.start, end: e.end })),
      ...(this.createMode === undefined ? {} : { mode: this.createMode }),
    };
  }

  /** A file closed by an earlier mount and not committed: `rec` over `base` (its current Stat). */
  static restore(rec: SpoolRecord, base: Stat | undefined, staged: StagedWrites | undefined, deps: OpenFileDeps): OpenFile {
    const f = new OpenFile(rec.path, base, deps, rec.mode);
    f.size = rec.size;
    f.baseLimit = Math.min(rec.baseLimit, base?.size ?? 0);
    f.staged = staged;
    return f;
  }

  /**
   * A fresh Stat, from open(): a clean file changed elsewhere (a PUT over WebDAV) shows the new
   * version to every handle from now on; a file with writes held keeps its own view.
   */
  refresh(st: Stat): void {
    const c = this.committedStat;
    if (!c || !this.isClean()) return;
    if (st.etag !== c.etag || st.size !== c.size) this.version++;
    this.committedStat = { ...st, path: this.path, name: baseName(this.path) };
    this.size = st.size;
    this.baseLimit = st.size;
    this.mtimeMs = st.mtimeMs;
  }

  /** chmod, chown or utimens went through (after a sync): take the attributes, not the content. */
  attributesChanged(st: Stat): void {
    const c = this.committedStat;
    if (!c) return;
    this.committedStat = { ...c, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    this.mtimeMs = st.mtimeMs;
  }

  /** The file was renamed (after a sync, so the committed node moved with it). */
  moved(path: string): void {
    this.path = path;
    if (this.committedStat) this.committedStat = { ...this.committedStat, path, name: baseName(path) };
  }

  /** Takes the bytes of one write request. `data` is only borrowed (FUSE reuses the buffer). */
  async write(offset: number, data: Buffer): Promise<void> {
    if (this.stream && offset !== this.stream.pos) await this.endStream();
    if (!this.stream && !this.deps.spool && offset === 0 && this.size === 0 && this.baseLimit === 0 && (this.staged?.isEmpty ?? true)) this.startStream();
    const end = offset + data.length;
    if (this.stream) {
      this.stream.pos = end;
      this.changed(Math.max(this.size, end));
      await this.stream.source.push(data);
      return;
    }
    this.staged ??= await this.newStaged();
    if (!this.staged.fits(end)) await this.staged.spill();
    this.staged.write(offset, data);
    this.changed(Math.max(this.size, end));
  }

  async truncate(size: number): Promise<void> {
    if (this.stream) {
      if (size === this.stream.pos) return;
      await this.endStream();
    }
    if (size < this.size) {
      await this.staged?.truncate(size);
      this.baseLimit = Math.min(this.baseLimit, size);
    }
    this.changed(size);
  }

  /**
   * Reads what the handle sees into `buf`. Bytes a running stream has taken are committed first
   * (a program reading back what it wrote); bytes past them do not exist yet.
   */
  async read(reader: ReadAhead, buf: Buffer, len: number, pos: number): Promise<number> {
    if (this.stream) {
      if (pos >= this.stream.pos) return 0;
      await this.endStream();
    }
    const end = Math.min(pos + len, this.size);
    if (end <= pos) return 0;
    for (const piece of splitByExtents(this.staged?.extents ?? [], pos, end)) {
      const at = piece.start - pos;
      const n = piece.end - piece.start;
      if (piece.dirty) {
        await this.staged!.readInto(buf, at, piece.start, n);
        continue;
      }
      const fromBase = Math.max(Math.min(piece.end, this.baseLimit) - piece.start, 0);
      const got = fromBase > 0 ? await reader.readInto(this.path, this.version, this.baseLimit, buf, at, piece.start, fromBase) : 0;
      buf.fill(0, at + got, at + n);
    }
    return end - pos;
  }

  /**
   * Commits everything held (flush, fsync, release, and before a rename or attribute change).
   * `afterCommit` runs once the commit is in, before the staged bytes are dropped (a journal notes
   * there that the spool need not be replayed: in the other order a crash between the two would
   * replay an emptied spool).
   */
  async sync(afterCommit?: () => Promise<void>): Promise<void> {
    if (this.stream) await this.endStream();
    const c = this.committedStat;
    if (c && this.isClean()) return;
    const extents = this.staged?.extents ?? [];
    let st: Stat;
    if (!c || this.size <= REWRITE_MAX || extents.length > MAX_RANGE_COMMITS) {
      st = (await this.deps.fs.write(this.path, await this.overlaySource(), { expectedSize: this.size })).stat;
    } else {
      st = c;
      if (this.baseLimit < c.size) st = await this.deps.fs.truncate(this.path, this.baseLimit);
      for (const e of extents) {
        st = (await this.deps.fs.writeRange(this.path, e.start, e.end - e.start, this.staged!.bytes(e.start, e.end))).stat;
      }
      if (st.size !== this.size) st = await this.deps.fs.truncate(this.path, this.size);
    }
    await this.gate.exclusive(async () => {
      await this.committedNow(st);
      await afterCommit?.();
      await this.staged?.clear();
    });
  }

  /** The last handle is gone: closes the local file (the caller synced first, or gave up). */
  async dispose(): Promise<void> {
    if (this.stream) {
      this.stream.source.fail(new FsError('ECANCELED', 'file closed'));
      await this.stream.done.catch(() => undefined);
      this.stream = undefined;
    }
    await this.gate.exclusive(async () => {
      await this.staged?.close();
      this.staged = undefined;
    });
  }

  /** A write or truncation went through: the new size, the modification time, one change more. */
  private changed(size: number): void {
    this.size = size;
    this.mtimeMs = this.deps.now();
    this.changes++;
  }

  private startStream(): void {
    const source = new PushSource(this.deps.streamBuffer);
    const done = this.deps.fs.write(this.path, source);
    // A failed write stops taking bytes: fail the source so waiting write requests return the error.
    done.catch((err: unknown) => source.fail(err instanceof Error ? err : new Error(String(err))));
    this.stream = { source, pos: 0, done };
  }

  /** Ends the stream and waits for its commit; on failure the old version stays and so does the error. */
  private async endStream(): Promise<void> {
    const s = this.stream!;
    this.stream = undefined;
    s.source.end();
    try {
      await this.committedNow((await s.done).stat);
    } catch (err) {
      // Nothing was committed: the handle sees the committed file again.
      this.size = this.committedStat?.size ?? 0;
      this.baseLimit = this.size;
      throw err;
    }
  }

  private async committedNow(st: Stat): Promise<void> {
    // A stream's write resolved its path when it started; the file may have moved with its folder.
    st = { ...st, path: this.path, name: baseName(this.path) };
    if (this.createMode !== undefined) {
      const mode = this.createMode;
      this.createMode = undefined;
      st = await this.deps.fs.setAttributes(this.path, { mode });
    }
    this.committedStat = st;
    this.size = st.size;
    this.baseLimit = st.size;
    this.mtimeMs = st.mtimeMs;
    this.version++;
    this.deps.committed(st);
  }

  private async overlaySource(): Promise<AsyncIterable<Uint8Array>> {
    const baseLength = this.committedStat ? Math.min(this.baseLimit, this.size) : 0;
    const base = baseLength > 0 ? (await this.deps.fs.read(this.path, { start: 0, end: baseLength - 1 })).body : undefined;
    const staged = this.staged;
    return overlay({
      size: this.size,
      baseLength,
      base,
      extents: staged?.extents ?? [],
      dirty: (start, end) => staged!.bytes(start, end),
    });
  }
}
