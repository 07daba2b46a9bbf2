// The node-local disk cache of chunks (DESIGN.md "Cache") and the staging area of chunks being uploaded.
//
// Layout under `dir` (one process per directory):
//   chunks/<h[0..2]>/<hash>   cached chunks: evictable, indexed in memory by an LRU bounded in bytes
//   staging/<hash>            chunks not yet durable in the object store: never evicted
//   tmp/                      files being written; emptied on open
// Every file appears under its final name by rename(2), so a name never shows a half-written file
// while the process runs. A crash can still leave a renamed cache file short (its data was not
// flushed: cache writes skip fsync for speed), so reads check the size, and optionally the hash,
// and drop a bad file instead of serving it. Chunks never change (DESIGN.md invariant 2), which is
// why a cached file is correct as long as its bytes are intact, on every node and after restarts.
//
// Ordering rules: operations that create or remove files of one hash (put, stage, unstage,
// promote) run one after another per hash (see `serial`). Eviction unlinks are started
// synchronously by the LRU and are not queued behind those operations; an install awaits a pending
// unlink of its own hash before renaming, so an eviction can never delete a newer file.
import { LRUCache } from 'lru-cache';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { hashChunkAsync, isChunkHash } from './chunk-hash.js';
import { GroupSync } from '../core/group-sync.js';
import { fsyncPath } from '../core/fsync.js';

export interface DiskChunkCacheOptions {
  /** The cache directory; created when missing. */
  dir: string;
  /** Byte limit of the cached chunks (staging is not counted: it must never be dropped). */
  maxBytes: number;
  /** Hash every chunk read from the cache, not only check its size. Costs ~1 ms per MiB. */
  verifyHash?: boolean;
  /**
   * Staged chunks must survive a power loss (write-back acknowledges writes once staged):
   * syncStaged() then fsyncs the ones stage() wrote, before a commit names them. Default false: a
   * write is acknowledged only once its chunks are in the object store, so staging needs no
   * durability of its own (and readStaged() hash-checks what a crash left).
   */
  syncStaging?: boolean;
}

export interface DiskChunkCacheStats {
  /** Bytes of cached chunks (the LRU's accounting; staging excluded). */
  bytes: number;
  entries: number;
  hits: number;
  misses: number;
  /** Cache files found short, missing or (with verifyHash) with the wrong content, and dropped. */
  corrupt: number;
  stagedBytes: number;
  stagedEntries: number;
}

export interface PurgeResult {
  entries: number;
  bytes: number;
}

type FileOp<T> = () => Promise<T>;

export class DiskChunkCache {
  readonly dir: string;
  readonly maxBytes: number;
  /** Bytes promised by makeRoom() to writes not yet in the index. */
  private reserved = 0;
  private readonly verifyHash: boolean;
  private readonly syncStaging: boolean;
  private readonly chunksDir: string;
  private readonly stagingDir: string;
  /** fsyncs of the staging folder after renames into it, shared by concurrent syncStaged() calls. */
  private readonly stagingSync: GroupSync;
  /** Staged chunks written but not fsynced yet (syncStaging only). */
  private readonly unsynced = new Set<string>();
  private readonly tmpDir: string;
  /** hash → size of the cached file. Disposal (eviction, delete) unlinks the file. */
  private readonly index: LRUCache<string, number>;
  private readonly staged = new Map<string, number>();
  /** Unlinks started by disposal and not yet finished, by hash. */
  private readonly unlinks = new Map<string, Promise<void>>();
  /** Tail of the per-hash queue of file operations. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Unlinks started during the current synchronous index operation, for the caller to await. */
  private disposed: Promise<void>[] = [];
  private tmpCounter = 0;
  private hits = 0;
  private misses = 0;
  private corrupt = 0;

  /** Call open() before anything else. */
  constructor(options: DiskChunkCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`cache maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.verifyHash = options.verifyHash ?? false;
    this.syncStaging = options.syncStaging ?? false;
    this.chunksDir = path.join(this.dir, 'chunks');
    this.stagingDir = path.join(this.dir, 'staging');
    this.stagingSync = new GroupSync(() => fsyncPath(this.stagingDir));
    this.tmpDir = path.join(this.dir, 'tmp');
    this.index = new LRUCache<string, number>({
      maxSize: this.maxBytes,
      // lru-cache wants positive sizes; an empty chunk still costs a file.
      sizeCalculation: (size) => Math.max(1, size),
      dispose: (_size, hash, reason) => {
        // 'set' would mean the same hash was stored again over itself: the file is the new one.
        if (reason !== 'set') this.disposed.push(this.unlinkCached(hash));
      },
    });
  }

  /**
   * Opens (creating) the cache directory: empties tmp/, indexes the cached files that are there
   * (oldest modification first, so the LRU order survives a restart approximately), drops anything
   * that is not a well-named chunk, and lists the staging area for replay.
   */
  async open(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.stagingDir, { recursive: true });
    await mkdir(this.chunksDir, { recursive: true });
    // All 256 fan-out directories up front: installs then never need a mkdir. A plain mkdir with
    // EEXIST ignored (their parent exists): once in three CI runs a start hung with one promise of
    // 256 concurrent recursive mkdirs never settled, though every directory had been created.
    await Promise.all(
      Array.from({ length: 256 }, (_, i) =>
        mkdir(path.join(this.chunksDir, i.toString(16).padStart(2, '0'))).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }),
      ),
    );

    const found: { hash: string; size: number; mtimeMs: number }[] = [];
    for (const sub of await readdir(this.chunksDir, { withFileTypes: true })) {
      const subPath = path.join(this.chunksDir, sub.name);
      if (!sub.isDirectory() || !/^[0-9a-f]{2}$/.test(sub.name)) {
        await rm(subPath, { recursive: true, force: true });
        continue;
      }
      for (const entry of await readdir(subPath, { withFileTypes: true })) {
        const filePath = path.join(subPath, entry.name);
        if (!entry.isFile() || !isChunkHash(entry.name) || !entry.name.startsWith(sub.name)) {
          await rm(filePath, { recursive: true, force: true });
          continue;
        }
        const info = await stat(filePath);
        found.push({ hash: entry.name, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { hash, size } of found) {
      if (size > this.maxBytes) {
        await unlink(this.cachePath(hash));
        continue;
      }
      // Over the limit (e.g. the limit was lowered)? set() evicts the oldest as it goes.
      this.index.set(hash, size);
    }
    await this.settleDisposed();

    for (const entry of await readdir(this.stagingDir, { withFileTypes: true })) {
      const filePath = path.join(this.stagingDir, entry.name);
      if (!entry.isFile() || !isChunkHash(entry.name)) {
        await rm(filePath, { recursive: true, force: true });
        continue;
      }
      this.staged.set(entry.name, (await stat(filePath)).size);
      // A run that stopped before its commit left these unsynced: a new write naming one of them
      // (dedup finds it staged) must fsync it before its own commit.
      if (this.syncStaging) this.unsynced.add(entry.name);
    }
  }

  // ---- the cache ----

  /**
   * The cached chunk, or undefined on a miss. A file whose size differs from the size it was
   * indexed with or from `expectedSize` (the size the metadata records), or whose hash differs
   * when verifyHash is on, is deleted and reported as a miss: corrupt bytes are never returned.
   */
  async get(hash: string, expectedSize?: number): Promise<Buffer | undefined> {
    const indexed = this.index.peek(hash);
    if (indexed === undefined) {
      this.misses++;
      return undefined;
    }
    const size = expectedSize ?? indexed;
    // One byte over: readInto tells a longer file by it.
    const data = Buffer.allocUnsafeSlow(size + 1);
    return (await this.readInto(hash, size, data)) ? data.subarray(0, size) : undefined;
  }

  /**
   * Reads the cached chunk into `target` instead of a new buffer, with get()'s checks: a reader
   * that reuses its buffers allocates nothing per chunk. False on a miss. With room for one byte
   * more than `size` in `target`, a file longer than indexed is caught too.
   */
  async readInto(hash: string, size: number, target: Buffer): Promise<boolean> {
    const indexed = this.index.get(hash); // also marks it most recently used
    if (indexed === undefined) {
      this.misses++;
      return false;
    }
    let bytesRead = -1;
    try {
      const fh = await open(this.cachePath(hash), 'r');
      try {
        bytesRead = (await fh.read(target, 0, Math.min(size + 1, target.length), 0)).bytesRead;
      } finally {
        await fh.close();
      }
    } catch {
      // Missing (removed behind our back) or unreadable: forget it; the caller fetches it again.
    }
    const bad =
      bytesRead !== size || indexed !== size || (this.verifyHash && (await hashChunkAsync(target.subarray(0, size))) !== hash);
    if (bad) {
      this.dropCorrupt(hash, indexed);
      this.misses++;
      return false;
    }
    this.hits++;
    return true;
  }

  /** Whether the chunk is indexed (does not count as a use, does not read the file). */
  has(hash: string): boolean {
    return this.index.has(hash);
  }

  /**
   * Caches a chunk. The caller vouches that `data` hashes to `hash`. A chunk larger than the whole
   * cache is not kept. Room is made before the file is written, so sequential puts never take the
   * disk over the limit, and concurrent ones by at most the chunks in flight.
   */
  async put(hash: string, data: Uint8Array): Promise<void> {
    checkHash(hash);
    return this.serial(hash, async () => {
      if (this.index.get(hash) !== undefined) return; // already cached: the get() refreshed it
      if (data.length > this.maxBytes) return;
      const release = await this.makeRoom(data.length);
      try {
        const tmp = await this.writeTemp(hash, data);
        await this.install(hash, data.length, tmp);
      } finally {
        release();
      }
    });
  }

  /** Removes a chunk from the cache (not from staging). */
  async delete(hash: string): Promise<void> {
    this.index.delete(hash);
    await this.settleDisposed();
  }

  /**
   * Evicts least recently used chunks until the cache holds at most `lowWaterBytes` (the purge
   * job's low-water mark; DESIGN.md "Cache").
   */
  async purgeTo(lowWaterBytes: number): Promise<PurgeResult> {
    const before = { entries: this.index.size, bytes: this.index.calculatedSize };
    while (this.index.size > 0 && this.index.calculatedSize > lowWaterBytes) this.index.pop();
    await this.settleDisposed();
    return { entries: before.entries - this.index.size, bytes: before.bytes - this.index.calculatedSize };
  }

  stats(): DiskChunkCacheStats {
    let stagedBytes = 0;
    for (const size of this.staged.values()) stagedBytes += size;
    return {
      bytes: this.index.calculatedSize,
      entries: this.index.size,
      hits: this.hits,
      misses: this.misses,
      corrupt: this.corrupt,
      stagedBytes,
      stagedEntries: this.staged.size,
    };
  }

  // ---- the staging area ----

  /**
   * Writes a chunk into staging, where eviction never reaches it, until unstage() or promote().
   * With syncStaging, syncStaged() makes it durable: no fsync here.
   *
   * Why not fsync each chunk as it is staged: each fsync of a new file commits the ext4 journal,
   * where one pass of fsyncs before the commit finds most inodes committed by the first. A 1 GiB
   * write-back dd write, source read from disk, new bytes every run, 8 interleaved runs each:
   * mount CPU 4.5-5.3 s with an fsync per chunk against 3.95-4.2 s with one pass; the speed did
   * not change beyond the noise (211-320 against 223-295 MiB/s).
   */
  async stage(hash: string, data: Uint8Array): Promise<void> {
    checkHash(hash);
    return this.serial(hash, async () => {
      if (this.staged.has(hash)) return;
      const tmp = await this.writeTemp(hash, data);
      await rename(tmp, this.stagingPath(hash));
      this.staged.set(hash, data.length);
      if (this.syncStaging) this.unsynced.add(hash);
    });
  }

  /**
   * fsyncs the staged files among `hashes` that stage() wrote and nobody synced yet, then the
   * staging folder (their renames): once this resolves they survive a power loss, so a commit may
   * name them (DESIGN.md invariant 1 in write-back mode). Chunks no longer staged (uploaded and
   * promoted) need nothing. Rejects when an fsync fails; those chunks stay unsynced.
   */
  async syncStaged(hashes: Iterable<string>): Promise<void> {
    const runs: Promise<void>[] = [];
    for (const hash of hashes) if (this.unsynced.has(hash)) runs.push(this.syncOne(hash));
    if (runs.length === 0) return;
    // Every fsync settles before this does, failed or not, so none runs on behind a rejection.
    const failed = (await Promise.allSettled(runs)).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await this.stagingSync.sync();
  }

  /** Staged chunks that syncStaged() has not made durable yet (tests, stats). */
  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  private syncOne(hash: string): Promise<void> {
    // serial(): a promote() or unstage() of the same hash waits, so the file is where staged says;
    // a second commit asking while the fsync runs waits for it too, then finds the chunk synced.
    return this.serial(hash, async () => {
      if (!this.unsynced.has(hash) || !this.staged.has(hash)) return;
      await fsyncPath(this.stagingPath(hash));
      this.unsynced.delete(hash);
    });
  }

  /** Whether the chunk sits in staging. */
  isStaged(hash: string): boolean {
    return this.staged.has(hash);
  }

  /** Deletes a staged chunk (e.g. its upload failed and was reported). Missing is not an error. */
  async unstage(hash: string): Promise<void> {
    checkHash(hash);
    return this.serial(hash, async () => {
      this.staged.delete(hash);
      this.unsynced.delete(hash);
      await unlinkQuiet(this.stagingPath(hash));
    });
  }

  /**
   * Moves a staged chunk into the cache once it is durable in the object store: a rename, no copy,
   * so a read right after the write hits the cache. Dropped instead when it is already cached or
   * larger than the cache. Nothing happens when the chunk is not staged.
   */
  async promote(hash: string): Promise<void> {
    checkHash(hash);
    return this.serial(hash, async () => {
      const size = this.staged.get(hash);
      if (size === undefined) return;
      this.staged.delete(hash);
      // In the object store now: durable without a local fsync.
      this.unsynced.delete(hash);
      if (this.index.get(hash) !== undefined || size > this.maxBytes) {
        await unlinkQuiet(this.stagingPath(hash));
        return;
      }
      const release = await this.makeRoom(size);
      try {
        await this.install(hash, size, this.stagingPath(hash));
      } finally {
        release();
      }
    });
  }

  /** Hashes of the staged chunks, e.g. to replay or drop their uploads after a restart. */
  listStaged(): string[] {
    return [...this.staged.keys()];
  }

  /**
   * A staged chunk's bytes, hash-checked (staging is read rarely: on replay). A staged file with the
   * wrong content (torn by a crash without syncStaging) is deleted and undefined returned.
   */
  async readStaged(hash: string): Promise<Buffer | undefined> {
    if (!this.staged.has(hash)) return undefined;
    let data: Buffer;
    try {
      data = await readFile(this.stagingPath(hash));
    } catch (err) {
      // Only a file that is gone is forgotten: a transient error (EMFILE, EIO) must not drop a
      // staged chunk that may not be in the object store yet (write-back).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') await this.unstage(hash);
      return undefined;
    }
    if ((await hashChunkAsync(data)) !== hash) {
      await this.unstage(hash);
      return undefined;
    }
    return data;
  }

  /** Waits for file operations in progress. The cache must not be used afterwards. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()]);
    await Promise.all([...this.unlinks.values()]);
  }

  // ---- internals ----

  private cachePath(hash: string): string {
    return path.join(this.chunksDir, hash.slice(0, 2), hash);
  }

  private stagingPath(hash: string): string {
    return path.join(this.stagingDir, hash);
  }

  /** Runs `op` after every earlier operation on the same hash has settled. */
  private serial<T>(hash: string, op: FileOp<T>): Promise<T> {
    const previous = this.queues.get(hash) ?? Promise.resolve();
    const result = previous.then(op);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(hash, tail);
    void tail.then(() => {
      if (this.queues.get(hash) === tail) this.queues.delete(hash);
    });
    return result;
  }

  /** Writes `data` to a new file in tmp/ (not fsynced: stage() says why) and returns its path. */
  private async writeTemp(hash: string, data: Uint8Array): Promise<string> {
    const tmp = path.join(this.tmpDir, `${hash}.${++this.tmpCounter}`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlinkQuiet(tmp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    return tmp;
  }

  /** Renames `from` to the chunk's cache path and indexes it. Room must have been made. */
  private async install(hash: string, size: number, from: string): Promise<void> {
    // An eviction of an older copy of this hash may still be unlinking its path.
    await this.unlinks.get(hash);
    try {
      await rename(from, this.cachePath(hash));
    } catch (err) {
      await unlinkQuiet(from);
      throw err;
    }
    this.index.set(hash, size);
    await this.settleDisposed(); // concurrent installs may have filled the room made for this one
  }

  /**
   * Evicts least recently used chunks until `size` more bytes fit under the limit, counting the
   * room already promised to other writes in flight, and promises this room until `release()`:
   * concurrent puts (read-ahead, background fills) then cannot all fit into the same free space,
   * so the files on disk stay within the limit, not only the index.
   */
  private async makeRoom(size: number): Promise<() => void> {
    const needed = Math.max(1, size);
    while (this.index.size > 0 && this.index.calculatedSize + this.reserved + needed > this.maxBytes) this.index.pop();
    this.reserved += needed;
    let released = false;
    const release = () => {
      if (!released) this.reserved -= needed;
      released = true;
    };
    try {
      await this.settleDisposed();
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  private dropCorrupt(hash: string, size: number): void {
    this.corrupt++;
    // Only drop the entry we looked at: a concurrent put may have replaced it meanwhile.
    if (this.index.peek(hash) === size) this.index.delete(hash);
    void this.settleDisposed();
  }

  private unlinkCached(hash: string): Promise<void> {
    // A failed unlink only leaves an unindexed file, which the next open() indexes again.
    const done = unlinkQuiet(this.cachePath(hash))
      .catch(() => undefined)
      .finally(() => {
        if (this.unlinks.get(hash) === done) this.unlinks.delete(hash);
      });
    this.unlinks.set(hash, done);
    return done;
  }

  private async settleDisposed(): Promise<void> {
    const pending = this.disposed;
    this.disposed = [];
    await Promise.all(pending);
  }
}

function checkHash(hash: string): void {
  if (!isChunkHash(hash)) throw new RangeError(`not a chunk hash: ${JSON.stringify(hash)}`);
}

/** unlink(2) that ignores a missing file: cache files may already be gone, and that is fine. */
async function unlinkQuiet(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

