// The jobs a serving node runs, built from the `jobs` section of the configuration: cache purge
// (DESIGN.md "Cache"), expired-lock sweep, chunk garbage collection (invariant 4) and metadata
// snapshots ("Durability of metadata").
import { FsError } from '../core/errors.js';
import type { DiskChunkCache } from '../chunks/disk-cache.js';
import type { LockManager } from '../locks/lock-manager.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { MIN_GC_GRACE_MS, leaseHolder, runGc } from '../maintenance/gc.js';
import { backupMetadata } from '../maintenance/snapshot.js';
import type { Job } from './scheduler.js';

export const CACHE_PURGE = 'cache-purge';
export const LOCK_SWEEP = 'lock-sweep';
export const GC = 'gc';
export const SNAPSHOT = 'snapshot';

interface Schedule {
  enabled: boolean;
  cron: string;
}

/** The shape of Config['jobs'] (config/config.ts). */
export interface JobSettings {
  cachePurge: Schedule & { highWater: number; lowWater: number };
  lockSweep: Schedule;
  gc: Schedule & { graceMs: number };
  snapshot: Schedule & { keep: number };
}

export interface JobServices {
  meta: MetaStore;
  objects: ObjectStore;
  cache: DiskChunkCache;
  locks: LockManager;
}

export interface StandardJobOptions {
  /** Working folder of snapshots (default: the OS temp folder). */
  tmpDir?: string;
  now?: () => number;
}

/** Byte figures of the purge job's water marks for a cache of `maxBytes`. */
export function waterMarks(maxBytes: number, settings: JobSettings['cachePurge']): { high: number; low: number } {
  return { high: Math.floor(maxBytes * settings.highWater), low: Math.floor(maxBytes * settings.lowWater) };
}

/** The four jobs; throws FsError('EINVAL') on settings that would be unsafe. */
export function standardJobs(services: JobServices, settings: JobSettings, options: StandardJobOptions = {}): Job[] {
  const { meta, objects, cache, locks } = services;
  const now = options.now ?? Date.now;
  if (settings.gc.graceMs < MIN_GC_GRACE_MS) {
    // A shorter grace period lets GC delete chunks of an upload that has not committed yet.
    throw new FsError('EINVAL', `jobs.gc.grace must be at least ${MIN_GC_GRACE_MS / 60_000} minutes (maintenance/gc.ts explains why)`);
  }
  const marks = waterMarks(cache.maxBytes, settings.cachePurge);
  return [
    {
      name: CACHE_PURGE,
      ...schedule(settings.cachePurge),
      // Writes already keep the cache under its limit (the LRU evicts before each new file); this
      // job keeps room free between the marks so that reads rarely have to evict on their path.
      run: async () => {
        const before = cache.stats();
        if (before.bytes <= marks.high) return { purged: false, bytes: before.bytes, highWater: marks.high };
        const evicted = await cache.purgeTo(marks.low);
        return { purged: true, before: before.bytes, after: cache.stats().bytes, evictedEntries: evicted.entries, evictedBytes: evicted.bytes };
      },
    },
    {
      name: LOCK_SWEEP,
      ...schedule(settings.lockSweep),
      // Lapsed locks already count nowhere (lookups skip them); this only keeps the table small.
      run: async () => ({ removed: await locks.purgeExpired() }),
    },
    {
      name: GC,
      ...schedule(settings.gc),
      // Safe on every node at once: runGc takes a lease in the metadata store, so one runs.
      run: () => runGc({ meta, objects, graceMs: settings.gc.graceMs, dryRun: false, now, holder: leaseHolder() }),
    },
    {
      name: SNAPSHOT,
      ...schedule(settings.snapshot),
      run: () => backupMetadata({ meta, objects, now, keep: settings.snapshot.keep, tmpDir: options.tmpDir }),
    },
  ];
}

function schedule(s: Schedule): Schedule {
  return { enabled: s.enabled, cron: s.cron };
}
