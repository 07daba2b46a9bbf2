// The figures a node reports on its status endpoint (GET /.well-known/davfs-bridge/status): cache,
// traffic to and from the object store, and each job's last run. Shaped for the metrics issue to
// export as they are.
import type { ChunkStore, ChunkStoreStats } from '../chunks/chunk-store.js';
import type { DiskChunkCache, DiskChunkCacheStats } from '../chunks/disk-cache.js';
import type { JobScheduler, JobStatus } from './scheduler.js';

export interface NodeStatus {
  time: string;
  uptimeS: number;
  cache: DiskChunkCacheStats & {
    limitBytes: number;
    /** Share of chunk reads served without waiting for the object store (null before any read). */
    hitRatio: number | null;
  };
  chunks: ChunkStoreStats;
  jobs: JobStatus[];
}

export function nodeStatus(parts: { cache: DiskChunkCache; chunks: ChunkStore; scheduler?: JobScheduler; startedMs: number }): NodeStatus {
  const chunks = parts.chunks.stats();
  // Counted by the chunk store rather than the disk cache: a chunk still being written to the
  // cache is served from memory, which the disk cache alone would count as a miss.
  const reads = chunks.cacheHits + chunks.cacheMisses;
  const now = Date.now();
  return {
    time: new Date(now).toISOString(),
    uptimeS: Math.round((now - parts.startedMs) / 1000),
    cache: { ...parts.cache.stats(), limitBytes: parts.cache.maxBytes, hitRatio: reads === 0 ? null : chunks.cacheHits / reads },
    chunks,
    jobs: parts.scheduler?.status() ?? [],
  };
}
