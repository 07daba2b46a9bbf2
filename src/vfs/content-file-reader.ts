// Reads one version of a file into the caller's buffers: FileSystem.openReader, the FUSE front's
// read path. The kernel asks for 128 KiB at a time (8,192 requests per GiB), so the reader keeps
// what a request needs for the next one: the file's chunk list, loaded at open (so the version
// stays readable after the file is replaced: its chunks outlive it by the GC grace period), and
// the last few chunks in buffers of its own that it reuses. A chunk on the local disk is read into
// such a buffer (no allocation per chunk; a new buffer per chunk cost a garbage collection every
// few MiB); the next chunk is read ahead into another one, and chunks not on this machine are
// downloaded ahead by the chunk store as for any read.
import { chunkBufferSize } from '../chunks/chunk-buffer.js';
import { FsError } from '../core/errors.js';
import type { ChunkExtent } from '../meta/meta-store.js';
import { readAheadWindow, type ContentReaderDeps } from './content-reader.js';
import type { FileReader } from './file-system.js';
import type { Stat } from './types.js';

/** Chunk buffers kept per reader: the chunk being read, the one read ahead, one for a request out of order. */
const SLOTS = 3;
interface Slot {
  hash: string;
  storage: Buffer;
  /** The chunk's bytes: `storage` filled, or a shared buffer of the chunk store. */
  data: Promise<Buffer>;
  /** Requests using the slot, and a read into it in progress: a pinned slot is never reused. */
  pins: number;
}

export class ContentFileReader implements FileReader {
  private slots: Slot[] = [];
  /** The chunk the last request ended in: read-ahead starts when a request enters a new one. */
  private lastChunk: string | undefined;
  /** Index of that chunk, and how many chunks in a row were entered in order (chunk 0 follows "-1"). */
  private lastIndex = -1;
  private inOrder = 0;

  private constructor(
    private readonly deps: ContentReaderDeps,
    readonly stat: Stat,
    private readonly extents: ChunkExtent[],
    private readonly inline: Buffer,
  ) {}

  /** Reads the chunk list (or the inline bytes) of content `contentId`, the file `stat` describes. */
  static async open(deps: ContentReaderDeps, contentId: number | null, stat: Stat): Promise<ContentFileReader> {
    if (contentId === null || stat.size === 0) return new ContentFileReader(deps, stat, [], Buffer.alloc(0));
    const extents = await deps.meta.chunksInRange(contentId, 0, stat.size - 1);
    const inline = extents.length === 0 ? ((await deps.meta.readContent(contentId)).inline ?? Buffer.alloc(0)) : Buffer.alloc(0);
    return new ContentFileReader(deps, stat, extents, inline);
  }

  async readInto(buf: Buffer, at: number, pos: number, len: number): Promise<number> {
    const end = Math.min(pos + len, this.stat.size);
    if (end <= pos) return 0;
    if (this.extents.length === 0) return this.inline.copy(buf, at, pos, end);
    let p = pos;
    while (p < end) {
      const i = this.find(p);
      if (i < 0) throw new FsError('EIO', `${this.stat.path}: no chunk holds byte ${p}`);
      const e = this.extents[i]!;
      const from = p - e.offset;
      const to = Math.min(end - e.offset, e.length);
      await this.withChunk(e, (data) => data.copy(buf, at + (p - pos), from, to));
      p = e.offset + to;
      if (this.lastChunk !== e.hash) {
        this.inOrder = i === this.lastIndex + 1 ? this.inOrder + 1 : 0;
        this.lastChunk = e.hash;
        this.lastIndex = i;
        this.readAhead(i);
      }
    }
    return end - pos;
  }

  private find(p: number): number {
    let lo = 0;
    let hi = this.extents.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.extents[mid]!;
      if (p < e.offset) hi = mid - 1;
      else if (p >= e.offset + e.length) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Runs `use` on the chunk's bytes; the slot holding them stays pinned until it returns. */
  private async withChunk<T>(e: ChunkExtent, use: (data: Buffer) => T): Promise<T> {
    const slot = this.slotFor(e);
    slot.pins++;
    try {
      return use(await slot.data);
    } finally {
      slot.pins--;
    }
  }

  /** The slot holding the chunk, or one it is being read into (reusing the oldest unpinned buffer). */
  private slotFor(e: ChunkExtent): Slot {
    const found = this.slots.findIndex((s) => s.hash === e.hash);
    if (found >= 0) {
      const slot = this.slots[found]!;
      this.slots.splice(found, 1);
      this.slots.push(slot); // most recently used last
      return slot;
    }
    let storage: Buffer | undefined;
    if (this.slots.length >= SLOTS) {
      const free = this.slots.findIndex((s) => s.pins === 0);
      if (free >= 0) storage = this.slots.splice(free, 1)[0]!.storage;
    }
    if (storage === undefined || storage.length < e.length) storage = Buffer.allocUnsafeSlow(chunkBufferSize(e.length));
    const slot: Slot = { hash: e.hash, storage, data: Promise.resolve(storage), pins: 1 };
    slot.data = this.deps.chunks.readInto(e.hash, e.length, storage).finally(() => slot.pins--);
    // A failed read leaves no slot behind: the next request for the chunk tries again.
    slot.data.catch(() => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
    });
    this.slots.push(slot);
    // Slots beyond SLOTS were made while all were pinned; drop the oldest free ones again.
    while (this.slots.length > SLOTS) {
      const free = this.slots.findIndex((s) => s.pins === 0);
      if (free < 0) break;
      this.slots.splice(free, 1);
    }
    return slot;
  }

  /** After chunk i: read the next local chunk into a slot; have the store download the next remote ones. */
  private readAhead(i: number): void {
    const next = this.extents[i + 1];
    if (next === undefined) return;
    if (this.deps.chunks.isLocal(next.hash)) this.slotFor(next);
    // Up to twice read_ahead: a queue this deep keeps every download slot busy while the kernel
    // is still inside chunk i (a cold 1 GiB read through the mount: 157-160 MiB/s against 129-135
    // with read_ahead alone, when 2 ran at once). Ramped by the chunks entered in order (2 after a
    // jump; the first chunk of the file counts as in order: 4, 8, 16): with read_ahead 8 and
    // 4 MiB chunks a full window is 64 MiB, too much to fetch for every seek of a player or a
    // database.
    const remote = this.extents
      .slice(i + 1, i + 1 + readAheadWindow(this.deps.readAhead * 2, this.inOrder))
      .filter((e) => !this.deps.chunks.isLocal(e.hash))
      .map((e) => ({ hash: e.hash, size: e.length }));
    if (remote.length > 0) this.deps.chunks.prefetch(remote);
  }
}
