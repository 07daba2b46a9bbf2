// Per-handle reader of committed bytes. The kernel reads a file in requests of at most 128 KiB
// (max_read, FUSE's 32-page limit) with one or two in flight (its own read-ahead window is
// 128 KiB); opening a new FileSystem.read range for each would resolve the path and look up the
// chunk index 8,192 times per GiB. A sequential reader instead keeps one open stream and serves
// request after request from it (the core fetches the next chunks ahead of it); a reader that
// jumps around gets exact range reads, which fetch only the chunk parts they cover.
//
// Where the FileSystem offers openReader (the local core), none of that is needed: one reader per
// file version copies each request's bytes straight into the kernel's buffer, keeping the chunk
// index and a few chunk buffers of its own (src/vfs/content-file-reader.ts). The stream path
// serves the rest (the remote mode's WebDAV client).
import { isFsError } from '../core/errors.js';
import type { FileReader, FileSystem } from '../vfs/file-system.js';

/** Past the stream's position by more than this, a request starts a new stream rather than skipping. */
const MAX_SKIP = 4 << 20;
/** Bytes kept behind the last request: two kernel requests in flight may arrive out of order. */
const KEEP_BEHIND = 1 << 20;
/**
 * Bytes pulled from the stream ahead of the last request, in the background: the kernel has at
 * most two requests in flight, so without this each one would wait for the next chunk's read.
 */
const AHEAD = 8 << 20;

export class ReadAhead {
  private body: AsyncGenerator<Buffer> | undefined;
  /** What the stream reads: a path at a content version (a commit through this mount bumps it). */
  private key = '';
  /** Offset of the next byte the stream yields. */
  private bodyPos = 0;
  private bodyDone = false;
  /** Bytes pulled from the stream and kept, contiguous, ending at bodyPos. */
  private window: { start: number; data: Buffer }[] = [];
  /** End of the previous request: a request starting there is sequential. */
  private lastEnd = 0;
  /** The one pull from the stream in progress, and the error of a background pull. */
  private pulling: Promise<void> | undefined;
  private pullError: unknown;
  /** The openReader path's reader, for the file version `key` names. */
  private direct: { key: string; reader: FileReader } | undefined;
  /** Stream (re)starts and exact range reads, for tests and benchmarks. */
  readonly counts = { streams: 0, rangeReads: 0 };

  constructor(private readonly fs: FileSystem) {}

  /**
   * Copies committed bytes [pos, pos+len) of `path`, a file of `size` bytes, into `buf` at `at`.
   * Returns the count copied: short at the end of the file, 0 when the file is shorter than
   * expected (it changed elsewhere; the kernel treats a short read as its end).
   */
  async readInto(path: string, version: number, size: number, buf: Buffer, at: number, pos: number, len: number): Promise<number> {
    const end = Math.min(pos + len, size);
    if (end <= pos) return 0;
    const key = `${version}:${path}`;
    if (this.fs.openReader) return this.readDirect(path, key, buf, at, pos, end);
    if (this.body && (key !== this.key || pos < this.windowStart() || pos > this.bodyPos + MAX_SKIP)) await this.drop();
    const sequential = pos === this.lastEnd || pos === 0 || this.body !== undefined;
    this.lastEnd = end;
    try {
      if (!sequential) return await this.rangeRead(path, buf, at, pos, end);
      if (!this.body) await this.start(path, key, pos, size);
      // Checked here rather than in fill(): most requests find their bytes pulled already, and
      // at 8,192 requests per GiB the promises of a needless call show in the profile.
      if (this.bodyPos < end) await this.fill(end);
      const n = this.copy(buf, at, pos, Math.min(end, this.bodyPos));
      this.trim(pos - KEEP_BEHIND);
      if (!this.pulling && !this.bodyDone && this.bodyPos < end + AHEAD) void this.fill(end + AHEAD).catch(() => undefined);
      return n;
    } catch (err) {
      await this.drop();
      if (isFsError(err, 'EINVAL') || isFsError(err, 'ENOENT')) return 0;
      throw err;
    }
  }

  private async readDirect(path: string, key: string, buf: Buffer, at: number, pos: number, end: number): Promise<number> {
    try {
      if (this.direct?.key !== key) this.direct = { key, reader: await this.fs.openReader!(path) };
      return await this.direct.reader.readInto(buf, at, pos, end - pos);
    } catch (err) {
      this.direct = undefined;
      // The file is gone or another kind of node now (changed elsewhere): the end of the file.
      if (isFsError(err, 'ENOENT') || isFsError(err, 'EISDIR')) return 0;
      throw err;
    }
  }

  /** Closes the open stream (the handle was released, or the file changed). */
  async drop(): Promise<void> {
    this.direct = undefined;
    const body = this.body;
    this.body = undefined;
    this.window = [];
    this.bodyDone = false;
    this.pullError = undefined;
    // An async generator queues return() behind a next() in progress.
    if (body) await body.return(undefined).catch(() => undefined);
  }

  private async start(path: string, key: string, pos: number, size: number): Promise<void> {
    this.counts.streams++;
    const { body } = await this.fs.read(path, { start: pos, end: size - 1 });
    this.body = body;
    this.key = key;
    this.bodyPos = pos;
    this.bodyDone = false;
    this.window = [];
  }

  /** Pulls until the stream has passed `target` (or ended); throws what a pull failed with. */
  private async fill(target: number): Promise<void> {
    while (this.body && this.bodyPos < target && !this.bodyDone && this.pullError === undefined) await this.pull();
    // Bytes already pulled are still good; only a request that needs the missing ones fails.
    if (this.bodyPos < target && this.pullError !== undefined) throw this.pullError;
  }

  /** One next() of the stream at a time, shared by a request and the background read-ahead. */
  private pull(): Promise<void> {
    const body = this.body!;
    this.pulling ??= body
      .next()
      .then(
        (r) => {
          if (body !== this.body) return;
          if (r.done) this.bodyDone = true;
          else {
            this.window.push({ start: this.bodyPos, data: r.value });
            this.bodyPos += r.value.length;
          }
        },
        (err: unknown) => {
          if (body === this.body) this.pullError = err;
        },
      )
      .finally(() => (this.pulling = undefined));
    return this.pulling;
  }

  private async rangeRead(path: string, buf: Buffer, at: number, pos: number, end: number): Promise<number> {
    this.counts.rangeReads++;
    const { body } = await this.fs.read(path, { start: pos, end: end - 1 });
    let n = 0;
    for await (const piece of body) {
      const take = Math.min(piece.length, end - pos - n);
      piece.copy(buf, at + n, 0, take);
      n += take;
    }
    return n;
  }

  private windowStart(): number {
    return this.window.length > 0 ? this.window[0]!.start : this.bodyPos;
  }

  /** Copies [from, to) out of the window. */
  private copy(buf: Buffer, at: number, from: number, to: number): number {
    for (const seg of this.window) {
      const segEnd = seg.start + seg.data.length;
      if (segEnd <= from || seg.start >= to) continue;
      const s = Math.max(from, seg.start);
      const e = Math.min(to, segEnd);
      seg.data.copy(buf, at + (s - from), s - seg.start, e - seg.start);
    }
    return Math.max(to - from, 0);
  }

  private trim(before: number): void {
    while (this.window.length > 1 && this.window[0]!.start + this.window[0]!.data.length <= before) this.window.shift();
  }
}
