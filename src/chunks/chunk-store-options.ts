// The options ChunkStore takes and the counters it reports (chunk-store.ts says what it does).
import type { WriteBackOptions } from './write-back.js';

export interface ChunkRef {
  hash: string;
  size: number;
}

export interface UploadOptions {
  /**
   * The metadata already knows this chunk, so the object store holds it (dedup): no PUT, the
   * bytes only go into the cache.
   */
  alreadyStored: boolean;
}

export interface ChunkStoreOptions {
  /** Background downloads of prefetch() at once. Default 2. */
  prefetchConcurrency?: number;
  /**
   * Prefetch requests waiting beyond this many are dropped, oldest first: read-ahead that falls
   * that far behind the reader is stale. Default 32.
   */
  prefetchQueueLimit?: number;
  /**
   * How long a chunk this process PUT counts as stored without the metadata knowing it yet, so a
   * file that repeats a chunk (zeros, images) uploads it once. Must stay well below the garbage
   * collector's grace period, which is what keeps such a not-yet-referenced object alive.
   * Default 60 s; 0 disables.
   */
  recentUploadTtlMs?: number;
  /**
   * Bytes of recently read chunks kept in memory in front of the disk cache (default 64 MiB; 0
   * disables). Reading 1 MiB from the disk cache costs ~0.7 ms here; from memory, nothing.
   */
  memoryCacheBytes?: number;
  /**
   * Write each chunk to the local staging area before its PUT (default true). Needed when a write
   * is acknowledged before the upload (write-back: staging is what a restart replays). In durable
   * mode the acknowledgement waits for the PUT anyway, so the staging copy only costs a disk write
   * on the critical path: upload from memory and fill the cache afterwards instead.
   */
  stageUploads?: boolean;
  /**
   * Check each downloaded chunk's SHA-256 against its name (default true). Off, only its size is
   * checked: a chunk the store corrupted or replaced with bytes of the same length is served and
   * cached as it came (config/default.yaml verify_downloads says when that trade is worth it).
   */
  verifyDownloads?: boolean;
  /** Cache writes allowed to run in the background before callers wait for them. Default 8. */
  cacheFillsInFlight?: number;
  /**
   * Write-back mode: upload() acknowledges a chunk once staged; a WriteBackUploader (started here,
   * stopped by close()) uploads it. The cache must make staging durable (syncStaging: true; the
   * writer calls makeDurable() before each commit): it holds the only copy of acknowledged data.
   * stageUploads does not apply.
   */
  writeBack?: WriteBackOptions;
}

export interface ChunkStoreStats {
  bytesFromStore: number;
  bytesToStore: number;
  /** read() calls served by the disk cache. */
  cacheHits: number;
  /** read() calls that had to wait for the object store. */
  cacheMisses: number;
  /** PUTs made. */
  uploads: number;
  /** upload() calls that needed no PUT (known to the metadata, or PUT moments ago). */
  dedupedUploads: number;
  /** Downloads started by prefetch(). */
  prefetches: number;
  /** Local disk failures (staging, cache writes) that were worked around, not reported. */
  cacheErrors: number;
  /** read() calls served from staging: written in write-back mode, not uploaded yet. */
  stagedReads: number;
}
