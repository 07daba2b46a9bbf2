// Chunks as the core uses them: durable uploads (stage → PUT → cache) and verified reads through the
// disk cache; the downloads themselves (single-flight, verified, read-ahead) are chunk-fetcher.ts.
//
// Contracts the rest of the core relies on:
// - upload() resolves only once the chunk is durable in the object store (DESIGN.md invariant 1:
//   a committed row may then refer to it), unless the caller says the store already has it.
//   In write-back mode (option writeBack) it resolves once the chunk is written to the staging
//   area instead, makeDurable() fsyncs the new content's chunks before its commit, and
//   write-back.ts uploads them later: invariant 1 then reads "durable locally before the
//   commit, durable in the store eventually", and the chunks still to upload are
//   exactly the staged ones (pendingUploads(), isPending()), which read() serves from staging.
// - read() never returns bytes whose hash or size differ from what was asked for: corrupt data
//   from the store is an FsError('EIO'), corrupt data in the cache is dropped and fetched again.
// - Each hash has at most one upload and one download in flight in this process (single-flight);
//   callers that ask concurrently share the result. Returned buffers may therefore be shared:
//   callers must not modify them.
import { LRUCache } from 'lru-cache';
import { FsError } from '../core/errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { ChunkFetcher, storeError } from './chunk-fetcher.js';
import { chunkKey, chunkPutOptions } from './chunk-hash.js';
import type { DiskChunkCache } from './disk-cache.js';
import type { ChunkRef, ChunkStoreOptions, ChunkStoreStats, UploadOptions } from './chunk-store-options.js';
import { WriteBackUploader } from './write-back.js';

// What other modules and tests import from here; the types live in chunk-store-options.ts.
export type { ChunkRef, ChunkStoreOptions, ChunkStoreStats, UploadOptions } from './chunk-store-options.js';

export class ChunkStore {
  private readonly uploads = new Map<string, Promise<void>>();
  private readonly downloads: ChunkFetcher;
  /** Disk-cache reads started by prefetch() into the memory cache; read() joins them. */
  private readonly warming = new Map<string, Promise<Buffer | undefined>>();
  private readonly recentUploads: LRUCache<string, true> | undefined;
  private readonly prefetchConcurrency: number;
  private readonly prefetchQueueLimit: number;
  private readonly prefetchQueue: ChunkRef[] = [];
  private readonly prefetchActive = new Set<Promise<void>>();
  private readonly stageUploads: boolean;
  private readonly memory: LRUCache<string, Buffer> | undefined;
  private readonly cacheFillLimit: number;
  /** Chunks being written to the cache in the background; read() serves them from memory. */
  private readonly cacheFills = new Map<string, { done: Promise<void>; data: Buffer }>();
  /** The background uploader in write-back mode (its stats() feed the status endpoint). */
  readonly writeBack: WriteBackUploader | undefined;
  private readonly counts: ChunkStoreStats = {
    bytesFromStore: 0,
    bytesToStore: 0,
    cacheHits: 0,
    cacheMisses: 0,
    uploads: 0,
    dedupedUploads: 0,
    prefetches: 0,
    cacheErrors: 0,
    stagedReads: 0,
  };

  constructor(
    readonly objects: ObjectStore,
    readonly cache: DiskChunkCache,
    options: ChunkStoreOptions = {},
  ) {
    this.prefetchConcurrency = Math.max(1, options.prefetchConcurrency ?? 2);
    this.prefetchQueueLimit = Math.max(1, options.prefetchQueueLimit ?? 32);
    const ttl = options.recentUploadTtlMs ?? 60_000;
    this.recentUploads = ttl > 0 ? new LRUCache<string, true>({ max: 4096, ttl }) : undefined;
    this.stageUploads = options.stageUploads ?? true;
    const memoryBytes = options.memoryCacheBytes ?? 64 * 1024 * 1024;
    this.memory = memoryBytes > 0 ? new LRUCache<string, Buffer>({ maxSize: memoryBytes, sizeCalculation: (b) => Math.max(1, b.length) }) : undefined;
    this.cacheFillLimit = Math.max(1, options.cacheFillsInFlight ?? 8);
    this.downloads = new ChunkFetcher(
      objects,
      cache,
      {
        fillCache: (hash, data) => this.fillCache(hash, data),
        cachePut: (hash, data) => this.cachePut(hash, data),
        remember: (hash, data) => this.memory?.set(hash, data),
        received: (bytes) => (this.counts.bytesFromStore += bytes),
      },
      { sparesKept: this.prefetchConcurrency + 1, verify: options.verifyDownloads ?? true },
    );
    if (options.writeBack !== undefined) {
      const { onUploaded } = options.writeBack;
      this.writeBack = new WriteBackUploader(objects, cache, {
        ...options.writeBack,
        onUploaded: (hash, bytes) => {
          this.counts.uploads++;
          this.counts.bytesToStore += bytes;
          this.recentUploads?.set(hash, true);
          onUploaded?.(hash, bytes);
        },
      });
      this.writeBack.start();
    }
  }

  // ---- writing ----

  /**
   * Makes the chunk durable in the object store under chunkKey(hash), then caches it. The caller
   * vouches that `data` hashes to `hash`. Rejects with FsError('EIO') when the PUT fails; local
   * disk trouble (staging, cache) never fails an upload.
   */
  upload(hash: string, data: Uint8Array, options: UploadOptions): Promise<void> {
    if (options.alreadyStored || this.recentUploads?.has(hash)) {
      this.counts.dedupedUploads++;
      return this.uploads.get(hash) ?? this.cachePut(hash, data);
    }
    let flight = this.uploads.get(hash);
    if (flight === undefined) {
      const put = this.writeBack ? this.stageForWriteBack(this.writeBack, hash, data) : this.putDurably(hash, data);
      flight = put.finally(() => this.uploads.delete(hash));
      this.uploads.set(hash, flight);
    }
    return flight;
  }

  private async putDurably(hash: string, data: Uint8Array): Promise<void> {
    if (!this.stageUploads) return this.putFromMemory(hash, data);
    // Staging keeps the bytes on local disk, out of eviction's reach, while the PUT runs; promote()
    // then turns the staged file into the cache entry with a rename.
    const staged = await this.cache.stage(hash, data).then(
      () => true,
      () => {
        this.counts.cacheErrors++;
        return false;
      },
    );
    try {
      await this.objects.put(chunkKey(hash), asBuffer(data), chunkPutOptions(hash));
    } catch (err) {
      if (staged) await this.cache.unstage(hash).catch(() => this.counts.cacheErrors++);
      throw storeError(err, `uploading chunk ${hash}`);
    }
    this.counts.uploads++;
    this.counts.bytesToStore += data.length;
    this.recentUploads?.set(hash, true);
    if (staged) await this.cache.promote(hash).catch(() => this.counts.cacheErrors++);
    else await this.cachePut(hash, data);
  }

  private async putFromMemory(hash: string, data: Uint8Array): Promise<void> {
    await this.objects.put(chunkKey(hash), asBuffer(data), chunkPutOptions(hash)).catch((err: unknown) => {
      throw storeError(err, `uploading chunk ${hash}`);
    });
    this.counts.uploads++;
    this.counts.bytesToStore += data.length;
    this.recentUploads?.set(hash, true);
    await this.fillCache(hash, data);
  }

  /**
   * Write-back: acknowledged once written to staging (at once if already staged: dedup);
   * makeDurable() fsyncs it before a commit names it. Should the local disk refuse (full,
   * read-only), fall back to a durable PUT, which fails if the store is down.
   */
  private async stageForWriteBack(writeBack: WriteBackUploader, hash: string, data: Uint8Array): Promise<void> {
    try {
      await this.cache.stage(hash, data);
    } catch {
      this.counts.cacheErrors++;
      return this.putFromMemory(hash, data);
    }
    writeBack.enqueue(hash, asBuffer(data));
  }

  /**
   * Resolves once the chunks upload() took for a new content survive a power loss, so the commit
   * that names them may run: in write-back mode their staged files are fsynced (one pass for the
   * whole content, not one fsync per chunk as it is staged); in durable mode they are in the
   * object store already.
   */
  async makeDurable(hashes: Iterable<string>): Promise<void> {
    if (this.writeBack === undefined) return;
    try {
      await this.cache.syncStaged(hashes);
    } catch (err) {
      throw new FsError('EIO', `making staged chunks durable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Uploads what a previous run left in staging (chunks whose upload had not finished), for a
   * deployment that acknowledged writes once staged. Returns how many were uploaded; staged files
   * with the wrong content are dropped by readStaged().
   *
   * In write-back mode they are queued for the uploader instead (returns how many) and the node
   * serves meanwhile. Staged chunks no committed row refers to (a write killed before its commit,
   * a file deleted before its upload) are uploaded too: harmless, as GC removes an unreferenced
   * object after its grace period, and telling them apart would need the metadata.
   */
  async replayStaged(): Promise<number> {
    if (this.writeBack !== undefined) {
      const staged = this.cache.listStaged();
      for (const hash of staged) this.writeBack.enqueue(hash);
      return staged.length;
    }
    let uploaded = 0;
    for (const hash of this.cache.listStaged()) {
      const data = await this.cache.readStaged(hash);
      if (data === undefined) continue;
      await this.objects.put(chunkKey(hash), data, chunkPutOptions(hash)).catch((err: unknown) => {
        throw storeError(err, `replaying staged chunk ${hash}`);
      });
      this.counts.uploads++;
      this.counts.bytesToStore += data.length;
      await this.cache.promote(hash).catch(() => this.counts.cacheErrors++);
      uploaded++;
    }
    return uploaded;
  }

  // ---- reading ----

  /**
   * The chunk's bytes, from the disk cache or else the object store. Rejects with FsError('EIO')
   * when the store lacks the chunk or returns bytes of the wrong size or hash.
   */
  async read(hash: string, size: number): Promise<Buffer> {
    const inMemory = this.fromMemory(hash, size);
    if (inMemory !== undefined) return inMemory;
    const cached = await (this.warming.get(hash) ?? this.cache.get(hash, size));
    if (cached?.length === size) {
      this.counts.cacheHits++;
      this.memory?.set(hash, cached);
      return cached;
    }
    const pending = await this.readPending(hash, size);
    if (pending !== undefined) {
      this.counts.stagedReads++;
      return pending;
    }
    this.counts.cacheMisses++;
    const data = await this.downloads.download(hash, size);
    if (data.length !== size) {
      // Another caller's download of the same hash with another expected size (the size check
      // inside download() is against the first caller's size).
      throw new FsError('EIO', `chunk ${hash} is ${data.length} bytes, metadata says ${size}`);
    }
    this.memory?.set(hash, data);
    return data;
  }

  /**
   * The chunk's bytes without a new buffer when it can: a chunk on the local disk is read into
   * `target` (at least `size` bytes, owned by the caller) and `target.subarray(0, size)` returned;
   * one in memory, staged or downloaded comes back as read() has it (shared: never written to).
   * Why: a buffer per chunk read from disk cost a garbage collection every few MiB (external
   * memory pressure), a third of the mount's CPU reading 1 GiB from the local cache.
   */
  async readInto(hash: string, size: number, target: Buffer): Promise<Buffer> {
    const inMemory = this.fromMemory(hash, size);
    if (inMemory !== undefined) return inMemory;
    // A prefetch of it in flight copies it into `target` as it arrives, or (if it landed in the
    // disk cache first) leaves it there to read into `target`.
    const prefetched = await this.downloads.waitForPrefetch(hash, target.length >= size ? target : undefined);
    if (prefetched === 'copied') return target.subarray(0, size);
    if (prefetched === false) return this.read(hash, size);
    if (!this.warming.has(hash) && (await this.cache.readInto(hash, size, target))) {
      this.counts.cacheHits++;
      return target.subarray(0, size);
    }
    return this.read(hash, size);
  }

  /** The chunk from the memory cache or a cache fill in progress (a hit), if it is there. */
  private fromMemory(hash: string, size: number): Buffer | undefined {
    const inMemory = this.memory?.get(hash) ?? this.cacheFills.get(hash)?.data;
    if (inMemory?.length !== size) return undefined;
    this.counts.cacheHits++;
    return inMemory;
  }

  /** Whether read() would find the chunk in memory, on the local disk or staged (no I/O). */
  isLocal(hash: string): boolean {
    return this.memory?.has(hash) === true || this.cacheFills.has(hash) || this.cache.has(hash) || this.cache.isStaged(hash);
  }

  /**
   * Bytes [start, end) of a chunk. The whole chunk is read (from the store it must be, to verify
   * its hash) and kept in the memory cache, so the next slices of it — FUSE reads 128 KiB at a
   * time, players seek around the same spot — cost no disk read.
   */
  async readRange(hash: string, size: number, start: number, end: number): Promise<Buffer> {
    return (await this.read(hash, size)).subarray(start, end);
  }

  /**
   * Starts background downloads of chunks that are not cached (read-ahead of a sequential read).
   * At most prefetchConcurrency run at once; errors are swallowed, since the real read() retries
   * and reports them.
   */
  prefetch(refs: readonly ChunkRef[]): void {
    for (const ref of refs) {
      // A staged chunk may not be in the store yet (write-back); read() serves it from staging.
      if (this.downloads.has(ref.hash) || this.warming.has(ref.hash) || this.cache.isStaged(ref.hash)) continue;
      // Chunks on the local disk are read ahead into memory: after the page cache was dropped, one
      // 1 MiB read at a time waits on the disk for each (local-cache dd read of 1 GiB, issue 5 note).
      if (this.memory === undefined ? this.cache.has(ref.hash) : this.memory.has(ref.hash)) continue;
      if (this.prefetchQueue.some((queued) => queued.hash === ref.hash)) continue;
      this.prefetchQueue.push(ref);
    }
    if (this.prefetchQueue.length > this.prefetchQueueLimit) {
      this.prefetchQueue.splice(0, this.prefetchQueue.length - this.prefetchQueueLimit);
    }
    this.pumpPrefetch();
  }

  /** Waits until no prefetch is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.prefetchActive.size > 0) await Promise.all([...this.prefetchActive]);
    while (this.cacheFills.size > 0) await Promise.all([...this.cacheFills.values()].map((f) => f.done));
    await Promise.all([...this.uploads.values()].map((p) => p.catch(() => undefined)));
  }

  stats(): ChunkStoreStats {
    return { ...this.counts };
  }

  // ---- write-back ----

  /**
   * Chunks not (known to be) in the object store yet: the staged ones. Committed rows may refer to
   * them (write-back), so invariant-1 checks (fsck, tests) count them as present and GC deletes
   * neither their rows nor objects. Ask isPending() before the store: the other order races an upload.
   */
  pendingUploads(): string[] {
    return this.cache.listStaged();
  }

  isPending(hash: string): boolean {
    return this.cache.isStaged(hash);
  }

  /**
   * Waits at most `timeoutMs` for every write-back upload: true when done (what is left stays
   * staged and is replayed at the next start). Durable mode has nothing to flush.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    return this.writeBack === undefined || this.writeBack.flush(timeoutMs);
  }

  /** Stops the write-back uploader (PUTs in flight are abandoned; their chunks stay staged). */
  async close(): Promise<void> {
    await this.writeBack?.stop();
  }

  /**
   * A write-back chunk not uploaded yet, from the uploader's memory or (hash-checked) staging.
   * Undefined when not staged, e.g. promoted meanwhile: read() then finds it in the store.
   */
  private async readPending(hash: string, size: number): Promise<Buffer | undefined> {
    if (this.writeBack === undefined || !this.cache.isStaged(hash)) return undefined;
    const data = this.writeBack.peek(hash) ?? (await this.cache.readStaged(hash));
    return data?.length === size ? data : undefined;
  }

  private pumpPrefetch(): void {
    while (this.prefetchActive.size < this.prefetchConcurrency && this.prefetchQueue.length > 0) {
      const ref = this.prefetchQueue.shift()!;
      if (this.downloads.has(ref.hash) || this.warming.has(ref.hash) || this.memory?.has(ref.hash)) continue;
      let job: Promise<unknown>;
      if (this.cache.has(ref.hash)) {
        if (this.memory === undefined) continue;
        job = this.warm(ref.hash, ref.size);
      } else {
        this.counts.prefetches++;
        job = this.downloads.prefetch(ref.hash, ref.size);
      }
      const run: Promise<void> = job
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => {
          this.prefetchActive.delete(run);
          this.pumpPrefetch();
        });
      this.prefetchActive.add(run);
    }
  }

  /** Reads a disk-cached chunk into the memory cache (read-ahead); a miss is left to read(). */
  private warm(hash: string, size: number): Promise<Buffer | undefined> {
    const job = this.cache
      .get(hash, size)
      .then((data) => {
        if (data !== undefined) this.memory?.set(hash, data);
        return data;
      })
      .finally(() => this.warming.delete(hash));
    this.warming.set(hash, job);
    return job;
  }

  /**
   * Caches a chunk off the caller's critical path: up to cacheFillLimit writes run in the
   * background; beyond that the caller waits (backpressure, so memory stays bounded).
   */
  private async fillCache(hash: string, data: Uint8Array): Promise<void> {
    if (this.cacheFills.has(hash)) return;
    if (this.cacheFills.size >= this.cacheFillLimit) {
      await this.cachePut(hash, data);
      return;
    }
    const done = this.cachePut(hash, data).finally(() => this.cacheFills.delete(hash));
    this.cacheFills.set(hash, { done, data: asBuffer(data) });
  }

  /** Caches a chunk; a local disk failure only costs a later re-download. */
  private async cachePut(hash: string, data: Uint8Array): Promise<void> {
    await this.cache.put(hash, data).catch(() => this.counts.cacheErrors++);
  }
}


function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
