// Write-back: uploads staged chunks to the object store in the background, retrying until it succeeds.
//
// In write-back mode a write is acknowledged once its chunks are fsynced in the cache's staging
// area and the metadata is committed, so DESIGN.md invariant 1 reads: "a chunk is durable locally
// (fsynced in staging) before any committed row refers to it, and durable in the object store
// eventually". This class is the "eventually":
// - The pending set is exactly the staging directory. A chunk leaves staging only after its PUT
//   succeeded (promote() turns the staged file into a cache entry), so a crash at any point leaves
//   every not-yet-uploaded chunk staged, and the next start replays it (ChunkStore.replayStaged()).
// - A staged chunk is never dropped while the store is down: retries are unbounded, with
//   exponential backoff and jitter (store/retry.ts backoffMs) so a long outage costs a few
//   requests a minute, not a busy loop. Eviction never touches staging (DiskChunkCache).
// - Workers take hashes in FIFO order; a hash is queued at most once. A hash enqueued while a
//   worker uploads it is run again afterwards: the worker may already be past the staged file
//   that the new enqueue refers to.
// - Queued chunks keep their bytes in memory up to `memoryBytes`, so the usual upload does not read
//   staging back; beyond that budget (a long outage) only the staged file holds them.
// - Uploads wait for a quiet period (option quietMs): none starts until no chunk has been queued
//   for that long, as rclone's --vfs-write-back waits 5 s after a close. A writer on this node
//   then has both cores to itself instead of sharing them with the uploads (measured: a 1 GiB
//   FUSE write with uploads alongside ran at 84 MiB/s; see the issue 5 note). Past eagerBytes
//   queued (a long copy) uploads start anyway, so staging does not grow without bound; flush()
//   and chunks queued without bytes (the replay at start) do not wait.
// - stop() abandons PUTs in flight instead of waiting for them (a hung store must not hang
//   shutdown): an abandoned chunk stays staged and is uploaded again at the next start. PUTs are
//   idempotent (ObjectStore.put), so uploading a chunk twice is harmless.
import { chunkKey, chunkPutOptions } from './chunk-hash.js';
import type { DiskChunkCache } from './disk-cache.js';
import type { ObjectStore } from '../store/object-store.js';
import { backoffMs } from '../store/retry.js';

export interface WriteBackOptions {
  /** PUTs in flight at once. Default 4. */
  concurrency?: number;
  /** Backoff after a chunk's first failed PUT; it doubles with each further failure. Default 500 ms. */
  retryBaseMs?: number;
  /** Ceiling of one backoff. Default 30 s. */
  retryMaxMs?: number;
  /** Bytes of queued chunks held in memory (the rest is read back from staging). Default 64 MiB. */
  memoryBytes?: number;
  /** Uploads start once no chunk was queued for this long. Default 0: at once. */
  quietMs?: number;
  /** Queued bytes beyond which uploads start during a write all the same. Default 1 GiB. */
  eagerBytes?: number;
  /** Told after each successful PUT. */
  onUploaded?: (hash: string, bytes: number) => void;
  /** Told before each backoff, e.g. for a log line. */
  onRetry?: (hash: string, err: unknown, attempt: number, delayMs: number) => void;
  /**
   * Told when a staged file is unreadable or its bytes no longer hash to its name (the disk failed
   * under an fsynced file): that chunk's data is gone, and fsck will report the files using it.
   */
  onLost?: (hash: string) => void;
}

export interface WriteBackStats {
  /** Chunks waiting for a worker. */
  queued: number;
  /** Chunks a worker holds: uploading, or waiting to retry. */
  active: number;
  /** Chunks uploaded since start. */
  uploaded: number;
  bytesUploaded: number;
  /** Failed PUTs (each one retried). */
  failedAttempts: number;
  /** Staged chunks found unreadable or corrupt (see onLost). */
  lost: number;
  /** Local file errors after a successful PUT (the chunk then stays staged until the next start). */
  localErrors: number;
  /** The last PUT failure's message, cleared by the next success. */
  lastError: string | undefined;
}

interface Run {
  stopped: boolean;
  /** Rejecters of the PUTs in flight, so stop() need not wait for them. */
  abandon: Set<(err: Error) => void>;
}

export class WriteBackUploader {
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly memoryLimit: number;
  private readonly quietMs: number;
  private readonly eagerBytes: number;
  /** When the last chunk with bytes was queued, and the sizes of queued chunks that wait out the quiet period. */
  private lastQueuedAt = 0;
  private readonly waiting = new Map<string, number>();
  private waitingBytes = 0;
  /** flush() calls in progress: the quiet period is skipped while one waits. */
  private flushing = 0;
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Enqueued again while a worker held them: requeued when that worker is done. */
  private readonly again = new Set<string>();
  private readonly memory = new Map<string, Buffer>();
  private memoryBytes = 0;
  private readonly workers = new Set<Promise<void>>();
  /** Workers waiting for the queue to fill. */
  private readonly idleWorkers: (() => void)[] = [];
  /** Workers in a backoff, and how to cut it short. */
  private readonly sleepers = new Set<() => void>();
  /** Workers waiting out the quiet period. */
  private readonly quietSleepers = new Set<() => void>();
  /** flush() calls waiting for the queue to empty. */
  private readonly drainWaiters = new Set<() => void>();
  /** The current run of workers; stop() sets `stopped` and fails the PUTs in `abandon`. */
  private run: Run | undefined;
  private readonly counts = { uploaded: 0, bytesUploaded: 0, failedAttempts: 0, lost: 0, localErrors: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly objects: ObjectStore,
    private readonly cache: DiskChunkCache,
    private readonly options: WriteBackOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError(`write-back concurrency must be a positive integer, got ${this.concurrency}`);
    }
    this.retryBaseMs = Math.max(1, options.retryBaseMs ?? 500);
    this.retryMaxMs = Math.max(this.retryBaseMs, options.retryMaxMs ?? 30_000);
    this.memoryLimit = Math.max(0, options.memoryBytes ?? 64 << 20);
    this.quietMs = Math.max(0, options.quietMs ?? 0);
    this.eagerBytes = Math.max(0, options.eagerBytes ?? 1 << 30);
  }

  /** Starts the workers. Chunks enqueued before start() wait for it. */
  start(): void {
    if (this.run !== undefined && !this.run.stopped) return;
    const run: Run = { stopped: false, abandon: new Set() };
    this.run = run;
    for (let i = 0; i < this.concurrency; i++) {
      const worker: Promise<void> = this.work(run).finally(() => this.workers.delete(worker));
      this.workers.add(worker);
    }
  }

  /**
   * Stops the workers and resolves once they have exited, without waiting for PUTs in flight:
   * their chunks stay staged (and queued, should start() be called again).
   */
  async stop(): Promise<void> {
    const run = this.run;
    if (run === undefined || run.stopped) return;
    run.stopped = true;
    for (const abandon of run.abandon) abandon(new Error('write-back stopped'));
    for (const wake of this.idleWorkers.splice(0)) wake();
    for (const wake of [...this.sleepers, ...this.quietSleepers]) wake();
    await Promise.all([...this.workers]);
  }

  /**
   * Queues a staged chunk for upload. `data`, when given, must be the chunk's bytes (the caller
   * vouches for the hash); it spares reading the staged file back while memory allows.
   */
  enqueue(hash: string, data?: Buffer): void {
    if (this.active.has(hash)) {
      this.again.add(hash);
      return;
    }
    if (this.queued.has(hash)) return;
    if (data !== undefined && this.memoryBytes + data.length <= this.memoryLimit) {
      this.memory.set(hash, data);
      this.memoryBytes += data.length;
    }
    if (data !== undefined && this.quietMs > 0) {
      this.lastQueuedAt = Date.now();
      this.waiting.set(hash, data.length);
      this.waitingBytes += data.length;
      if (this.waitingBytes >= this.eagerBytes) for (const wake of this.quietSleepers) wake();
    }
    this.queued.add(hash);
    this.queue.push(hash);
    this.idleWorkers.shift()?.();
    // A chunk that does not wait wakes a worker waiting out the quiet period.
    if (!this.waiting.has(hash)) this.quietSleepers.values().next().value?.();
  }

  /** The bytes of a queued chunk if they are still held in memory (reads of pending chunks). */
  peek(hash: string): Buffer | undefined {
    return this.memory.get(hash);
  }

  /** Whether the chunk is queued or being uploaded. */
  has(hash: string): boolean {
    return this.queued.has(hash) || this.active.has(hash);
  }

  /**
   * Waits until every queued chunk is uploaded: true when that happened within `timeoutMs`, false
   * otherwise (the rest stays staged and is replayed at the next start). Workers in a backoff retry
   * at once, so a shutdown right after the store came back does not wait out a long backoff.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.isDrained()) return true;
    this.flushing++;
    for (const wake of [...this.sleepers, ...this.quietSleepers]) wake();
    let timer: NodeJS.Timeout | undefined;
    let done!: () => void;
    const drained = new Promise<boolean>((resolve) => {
      done = () => resolve(true);
      this.drainWaiters.add(done);
    });
    // Not unref'd: flush is an explicit wait, e.g. at shutdown, and must keep the process up.
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      clearTimeout(timer);
      this.drainWaiters.delete(done);
      this.flushing--;
    }
  }

  stats(): WriteBackStats {
    return { queued: this.queue.length, active: this.active.size, ...this.counts, lastError: this.lastError };
  }

  // ---- workers ----

  private isDrained(): boolean {
    return this.queue.length === 0 && this.active.size === 0;
  }

  private async work(run: Run): Promise<void> {
    while (!run.stopped) {
      const head = this.queue[0];
      if (head === undefined) {
        await new Promise<void>((resolve) => this.idleWorkers.push(resolve));
        continue;
      }
      let at = 0;
      const wait = this.quietLeft(head);
      if (wait > 0) {
        // Chunks that do not wait (replayed, queued again) need not queue behind those that do.
        at = this.queue.findIndex((h) => !this.waiting.has(h));
        if (at < 0) {
          await this.sleep(wait, this.quietSleepers);
          continue;
        }
      }
      const hash = this.queue.splice(at, 1)[0]!;
      this.untime(hash);
      this.queued.delete(hash);
      this.active.add(hash);
      let finished = false;
      try {
        finished = await this.uploadUntilDone(hash, run);
      } finally {
        this.active.delete(hash);
        // Abandoned by stop(): keep it at the head of the queue for a later start().
        if (!finished) this.requeueFirst(hash);
        else if (this.again.delete(hash)) this.enqueue(hash);
        if (this.isDrained()) for (const done of this.drainWaiters) done();
      }
    }
  }

  /** Uploads one chunk, retrying without limit. False when stop() interrupted it. */
  private async uploadUntilDone(hash: string, run: Run): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.uploadOnce(hash, run);
        return true;
      } catch (err) {
        if (run.stopped) return false;
        this.counts.failedAttempts++;
        this.lastError = err instanceof Error ? err.message : String(err);
        const delay = backoffMs(attempt, this.retryBaseMs, this.retryMaxMs);
        this.options.onRetry?.(hash, err, attempt, delay);
        await this.sleep(delay);
        if (run.stopped) return false;
      }
    }
  }

  private async uploadOnce(hash: string, run: Run): Promise<void> {
    // Not staged any more: an earlier run of this hash uploaded and promoted it.
    if (!this.cache.isStaged(hash)) {
      this.forget(hash);
      return;
    }
    const data = this.memory.get(hash) ?? (await this.cache.readStaged(hash));
    if (data === undefined) {
      // readStaged() found the file unreadable or torn and removed it: nothing is left to upload.
      this.counts.lost++;
      this.forget(hash);
      this.options.onLost?.(hash);
      return;
    }
    await this.putAbandonable(hash, data, run);
    this.counts.uploaded++;
    this.counts.bytesUploaded += data.length;
    this.lastError = undefined;
    this.options.onUploaded?.(hash, data.length);
    if (run.stopped) return; // the cache may be closing: the chunk is replayed (harmlessly) at next start
    // Durable in the store now: the staged file becomes a cache entry (a rename), so reads keep
    // hitting local disk. Should that fail, drop the staged copy; if even that fails it stays
    // staged and the next start uploads it again.
    await this.cache.promote(hash).catch(async () => {
      this.counts.localErrors++;
      await this.cache.unstage(hash).catch(() => undefined);
    });
    this.forget(hash);
  }

  /** The PUT, or a rejection as soon as stop() is called (the PUT itself runs on, unobserved). */
  private async putAbandonable(hash: string, data: Buffer, run: Run): Promise<void> {
    let abandon!: (err: Error) => void;
    const abandoned = new Promise<never>((_, reject) => (abandon = reject));
    run.abandon.add(abandon);
    const put = this.objects.put(chunkKey(hash), data, chunkPutOptions(hash));
    put.catch(() => undefined); // its failure after stop() is nobody's business
    try {
      await Promise.race([put, abandoned]);
    } finally {
      run.abandon.delete(abandon);
    }
  }

  /** Milliseconds the head of the queue still waits before its upload may start (0: now). */
  private quietLeft(hash: string): number {
    if (this.flushing > 0 || !this.waiting.has(hash) || this.waitingBytes >= this.eagerBytes) return 0;
    return Math.max(0, this.lastQueuedAt + this.quietMs - Date.now());
  }

  private untime(hash: string): void {
    const size = this.waiting.get(hash);
    if (size === undefined) return;
    this.waiting.delete(hash);
    this.waitingBytes -= size;
  }

  private forget(hash: string): void {
    const data = this.memory.get(hash);
    if (data === undefined) return;
    this.memory.delete(hash);
    this.memoryBytes -= data.length;
  }

  private requeueFirst(hash: string): void {
    this.again.delete(hash);
    if (this.queued.has(hash)) return;
    this.queued.add(hash);
    this.queue.unshift(hash);
  }

  /** A backoff that stop() and flush() can cut short. Unref'd: it alone must not keep a process up. */
  private sleep(ms: number, sleepers = this.sleepers): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      sleepers.add(wake);
    });
  }
}
