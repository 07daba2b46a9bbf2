// Chunk downloads for ChunkStore: one GET per hash at a time, its size and hash checked, and
// read-ahead downloads that go straight to the disk cache through buffers reused from one to the next.
import { FsError } from '../core/errors.js';
import { sharedBuffer } from '../core/shared-memory.js';
import type { ObjectStore } from '../store/object-store.js';
import { chunkBufferSize } from './chunk-buffer.js';
import { chunkKey, hashChunkAsync } from './chunk-hash.js';
import type { DiskChunkCache } from './disk-cache.js';

/** What the fetcher asks of the ChunkStore around it. */
export interface FetcherHooks {
  /** Caches a chunk a read downloaded (off the reader's critical path). */
  fillCache(hash: string, data: Buffer): Promise<void>;
  /** Writes a prefetched chunk to the disk cache; resolves once written or failed (never rejects). */
  cachePut(hash: string, data: Buffer): Promise<void>;
  /** Keeps a prefetched chunk that the disk cache did not take in memory instead. */
  remember(hash: string, data: Buffer): void;
  /** Bytes received from the object store. */
  received(bytes: number): void;
}

/**
 * A download in flight. A prefetch's resolves to undefined once the chunk is in the disk cache
 * (read it from there); a reader that joined one retries on failure instead of reporting it.
 */
type Flight = { prefetch: false; promise: Promise<Buffer> } | { prefetch: true; promise: Promise<Buffer | undefined> };

export class ChunkFetcher {
  private readonly flights = new Map<string, Flight>();
  /**
   * Buffers prefetches download into, reused: their chunk goes to the disk cache and the buffer
   * back here. Gathering each body into a new shared buffer took 1.36 s of the event loop in the
   * CPU profile of a cold 1 GiB read through the mount; new shared memory is slow to get here (a
   * micro-benchmark: 0.45-2.1 s per GiB of 1 MiB SharedArrayBuffers, 0.13-0.19 s of Buffer.alloc).
   * Shared memory still, so the hash worker reads the bytes in place.
   */
  private readonly spareBuffers: Buffer[] = [];
  /**
   * Readers waiting for a prefetch in flight, by hash, with the buffer each reads into: the
   * verified bytes are copied there as soon as they arrive, before the disk cache write, instead
   * of being read back from the cache file (a pread and a thread-pool hop per chunk, and the
   * wait for the write).
   */
  private readonly handoffs = new Map<string, { target: Buffer; copied: () => void }[]>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly cache: DiskChunkCache,
    private readonly hooks: FetcherHooks,
    private readonly options: {
      /** Spare buffers kept: one per concurrent prefetch, and one more. */
      sparesKept: number;
      /** Whether a download's SHA-256 is checked against its name (its size always is). */
      verify: boolean;
    },
  ) {}

  /** Whether a download of the chunk is in flight. */
  has(hash: string): boolean {
    return this.flights.has(hash);
  }

  /**
   * Waits for a prefetch of the chunk in flight: true once it is in the disk cache, false when
   * the prefetch failed or kept it in memory instead; undefined when none was in flight.
   * 'copied': the chunk's bytes were put in `target` (the caller's, at least the chunk's size).
   */
  async waitForPrefetch(hash: string, target?: Buffer): Promise<boolean | 'copied' | undefined> {
    const flight = this.flights.get(hash);
    if (flight?.prefetch !== true) return undefined;
    const landed = flight.promise.then(
      (kept) => kept === undefined,
      () => false,
    );
    if (target === undefined) return landed;
    const waiter = { target, copied: () => undefined as void };
    const copied = new Promise<'copied'>((resolve) => (waiter.copied = () => resolve('copied')));
    const list = this.handoffs.get(hash) ?? [];
    list.push(waiter);
    this.handoffs.set(hash, list);
    return Promise.race([copied, landed]);
  }

  /**
   * The chunk from the object store; concurrent callers share one GET. A prefetch of the chunk in
   * flight is waited for, and the chunk then read from where it put it (the disk cache).
   */
  async download(hash: string, size: number): Promise<Buffer> {
    const existing = this.flights.get(hash);
    if (existing?.prefetch === true) {
      const landed = await existing.promise.catch(() => null);
      const bytes = landed === null ? undefined : (landed ?? (await this.cache.get(hash, size)));
      // A failed prefetch is retried by this read, which reports what goes wrong.
      return bytes?.length === size ? bytes : this.download(hash, size);
    }
    if (existing !== undefined) return existing.promise;
    const promise = this.fetchVerified(hash, size)
      .then(async (data) => {
        await this.hooks.fillCache(hash, data);
        return data;
      })
      .finally(() => this.flights.delete(hash));
    this.flights.set(hash, { promise, prefetch: false });
    return promise;
  }

  /** A prefetch: downloads into a spare buffer, caches the chunk on disk, gives the buffer back. */
  prefetch(hash: string, size: number): Promise<Buffer | undefined> {
    const promise = (async () => {
      const spare = this.takeSpare(size);
      try {
        const data = await this.fetchVerified(hash, size, spare);
        for (const w of this.takeHandoffs(hash)) {
          data.copy(w.target);
          w.copied();
        }
        await this.hooks.cachePut(hash, data);
        if (this.cache.has(hash)) return undefined;
        // The disk refused it (full, failing, a chunk larger than the cache): keep a copy in memory.
        const copy = Buffer.from(data);
        this.hooks.remember(hash, copy);
        return copy;
      } finally {
        this.giveSpare(spare);
      }
    })().finally(() => {
      this.flights.delete(hash);
      // A failed prefetch copied nothing: its waiters see it fail and read the chunk themselves.
      this.takeHandoffs(hash);
    });
    this.flights.set(hash, { promise, prefetch: true });
    return promise;
  }

  private takeHandoffs(hash: string): { target: Buffer; copied: () => void }[] {
    const list = this.handoffs.get(hash) ?? [];
    this.handoffs.delete(hash);
    return list;
  }

  private takeSpare(size: number): Buffer {
    const i = this.spareBuffers.findIndex((b) => b.length >= size);
    if (i >= 0) return this.spareBuffers.splice(i, 1)[0]!;
    return sharedBuffer(chunkBufferSize(size));
  }

  /** Keeps the largest few. */
  private giveSpare(buffer: Buffer): void {
    this.spareBuffers.push(buffer);
    this.spareBuffers.sort((a, b) => b.length - a.length);
    this.spareBuffers.length = Math.min(this.spareBuffers.length, this.options.sparesKept);
  }

  /** The chunk from the object store, its size (and unless told not to, hash) checked; into `into` when it fits. */
  private async fetchVerified(hash: string, size: number, into?: Buffer): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await this.objects.get(chunkKey(hash), into === undefined ? undefined : { into });
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') {
        // Metadata refers to it, so its absence is data loss, not "no such file".
        throw new FsError('EIO', `chunk ${hash} is missing from the object store`, { cause: err });
      }
      throw storeError(err, `reading chunk ${hash}`);
    }
    this.hooks.received(data.length);
    if (data.length !== size) {
      throw new FsError('EIO', `chunk ${hash} from the object store is ${data.length} bytes, expected ${size}`);
    }
    if (!this.options.verify) return data;
    // Hashed on the thread pool: a long read would otherwise hold the event loop ~0.8 ms per MiB.
    const actual = await hashChunkAsync(data);
    if (actual !== hash) {
      throw new FsError('EIO', `chunk ${hash} from the object store has hash ${actual}: corrupt`);
    }
    return data;
  }
}

/** An object store failure as the core reports it: EIO (or ECANCELED), naming what failed. */
export function storeError(err: unknown, what: string): FsError {
  if (err instanceof FsError && (err.code === 'EIO' || err.code === 'ECANCELED')) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FsError('EIO', `${what}: ${message}`, { cause: err });
}
