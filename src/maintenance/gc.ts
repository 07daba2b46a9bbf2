// Garbage collection of chunks: deletes chunks unreferenced for longer than a grace period, and
// chunk objects that no committed row ever named, on one node at a time (DESIGN.md invariant 4).
//
// Why the grace period must be long (default DEFAULT_GC_GRACE_MS, 1 hour). A write uploads its
// chunks first and commits the rows that name them last (invariant 1), so for as long as a write
// runs, the object store holds chunks that the metadata does not know or counts as unreferenced:
//  - a chunk new to the store has no row until the commit: phase 2 sees an orphan;
//  - a chunk whose row has refcount 0 is not "known" to the writer (MetaStore.knownChunks), so the
//    writer PUTs it again, and its commit will take a reference to it: phase 1 sees garbage;
//  - a chunk that *was* known when the writer looked may lose its last reference before the commit.
// GC tells these apart from real garbage only by age: an object younger than the grace period, or
// a row unreferenced for less than it, is left alone. So the grace period must exceed
//  - the longest upload (the time from a write's first chunk PUT to its commit; a multi-GiB PUT
//    over a slow link takes many minutes), and on top of that
//  - ChunkStore's recentUploadTtlMs (60 s): for that long after a PUT the same process treats the
//    chunk as stored without PUTting it again, so a write that starts then still relies on the
//    object written by the earlier PUT, whose age keeps growing.
// A grace period shorter than their sum lets GC delete a chunk that a commit is about to name: a
// committed file with missing data. The CLI refuses less than MIN_GC_GRACE_MS. (config/default.yaml
// also keeps `jobs.gc.grace` above the metadata snapshot interval, so that a restore from the last
// snapshot finds every chunk it names.)
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { MetaStore } from '../meta/meta-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { chunkKey } from '../chunks/chunk-hash.js';
import { deleteOrphans, orphanBatches } from './chunk-objects.js';

export const DEFAULT_GC_GRACE_MS = 60 * 60_000;
/** Well above ChunkStore's recentUploadTtlMs (60 s) plus a quick upload; see the file comment. */
export const MIN_GC_GRACE_MS = 5 * 60_000;
/** The lease GC takes (MetaStore.acquireLease); fsck --repair takes it too. */
export const GC_LEASE = 'gc';
/** How long a lease lasts unless renewed; GC renews it after every batch, far more often. */
export const GC_LEASE_TTL_MS = 10 * 60_000;

const BATCH = 200;

export interface GcProgress {
  phase: 'unreferenced' | 'orphans';
  /** Chunk rows (phase 1) or objects (phase 2) looked at so far. */
  done: number;
}

export interface GcOptions {
  meta: MetaStore;
  objects: ObjectStore;
  /** Minimum age of garbage, in ms; see the file comment. */
  graceMs: number;
  /** Report what would be deleted, delete nothing. */
  dryRun: boolean;
  /** The clock (ms since the epoch); the same clock as the object store's modification times. */
  now: () => number;
  /** Who runs this GC, unique per run (see leaseHolder()). */
  holder: string;
  onProgress?: (p: GcProgress) => void;
}

export interface GcReport {
  /** Set when GC did not run, or stopped early: why. */
  skipped?: string;
  dryRun: boolean;
  /** Unreferenced chunks past the grace period deleted, row and object (or that would be). */
  chunksDeleted: number;
  /** Bytes of those chunks and of the orphans deleted. */
  bytesFreed: number;
  /** Objects with no chunk row and older than the grace period deleted (or that would be). */
  orphansDeleted: number;
  /** Objects no committed row names that were kept because they are younger than the grace period. */
  keptYoung: number;
  /** Keys under chunks/ that are not chunk keys, left alone. */
  foreignKeys: number;
  durationMs: number;
}

/** A lease holder name unique to this run: host, process and a random part. */
export function leaseHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}

class LeaseLost extends Error {}

/** Runs one garbage collection; see the file comment for why it is safe against writes in progress. */
export async function runGc(opts: GcOptions): Promise<GcReport> {
  const { meta, dryRun, holder } = opts;
  const started = opts.now();
  const report: GcReport = { dryRun, chunksDeleted: 0, bytesFreed: 0, orphansDeleted: 0, keptYoung: 0, foreignKeys: 0, durationMs: 0 };
  const finish = (): GcReport => ({ ...report, durationMs: Math.max(0, opts.now() - started) });
  if (!(await meta.acquireLease(GC_LEASE, holder, GC_LEASE_TTL_MS, started))) {
    return { ...finish(), skipped: 'another node holds the lease' };
  }
  const renew = async (): Promise<void> => {
    if (!(await meta.acquireLease(GC_LEASE, holder, GC_LEASE_TTL_MS, opts.now()))) throw new LeaseLost();
  };
  // One cutoff for the whole run: anything that becomes garbage meanwhile waits for the next run.
  const cutoff = started - opts.graceMs;
  try {
    const keptInPhase1 = await deleteUnreferenced(opts, cutoff, report, renew);
    await deleteOrphanObjects(opts, cutoff, report, renew, keptInPhase1);
  } catch (err) {
    if (!(err instanceof LeaseLost)) throw err;
    return { ...finish(), skipped: 'lost the lease to another node midway; stopped' };
  } finally {
    await meta.releaseLease(GC_LEASE, holder).catch(() => undefined);
  }
  return finish();
}

/**
 * Phase 1: chunk rows with refcount 0 since before the cutoff. Each row is deleted in its own
 * transaction that checks again that nothing references it (a commit that took a reference since
 * the listing wins), and only then its object, unless that object was written after the cutoff:
 * a PUT in progress uploaded the chunk again and will commit a new row for it. That object is
 * left as an orphan, which phase 2 of a later run judges by its own age. Returns those hashes.
 */
async function deleteUnreferenced(opts: GcOptions, cutoff: number, report: GcReport, renew: () => Promise<void>): Promise<Set<string>> {
  const { meta, objects } = opts;
  const kept = new Set<string>();
  let after = '';
  let done = 0;
  for (;;) {
    const batch = await meta.unreferencedChunks(cutoff, after, BATCH);
    if (batch.length === 0) return kept;
    after = batch[batch.length - 1]!.hash;
    for (const chunk of batch) {
      const key = chunkKey(chunk.hash);
      if (!opts.dryRun && !(await meta.deleteChunkIfUnreferenced(chunk.hash, cutoff))) continue;
      const info = await objects.head(key);
      if (info !== undefined && info.mtimeMs >= cutoff) {
        report.keptYoung++;
        kept.add(chunk.hash);
        continue;
      }
      // One DELETE right after its HEAD rather than a batch at the end: the window in which a new
      // PUT of the same chunk could land between the two stays as short as it can be.
      if (!opts.dryRun && info !== undefined) await objects.delete([key]);
      report.chunksDeleted++;
      report.bytesFreed += chunk.size;
    }
    done += batch.length;
    opts.onProgress?.({ phase: 'unreferenced', done });
    await renew();
    if (batch.length < BATCH) return kept;
  }
}

/**
 * Phase 2: objects under chunks/ with no chunk row: uploads whose write failed, was aborted or
 * crashed before its commit, and objects phase 1 kept. Those older than the cutoff are deleted;
 * younger ones may belong to a PUT in progress and are never touched.
 */
async function deleteOrphanObjects(opts: GcOptions, cutoff: number, report: GcReport, renew: () => Promise<void>, keptInPhase1: Set<string>): Promise<void> {
  let done = 0;
  for await (const batch of orphanBatches(opts.meta, opts.objects)) {
    report.foreignKeys += batch.foreign.length;
    // Phase 1 counted these already (in a dry run they still have their row and are not listed).
    const orphans = batch.orphans.filter((o) => !keptInPhase1.has(o.hash));
    if (opts.dryRun) {
      for (const o of orphans) {
        if (o.mtimeMs < cutoff) {
          report.orphansDeleted++;
          report.bytesFreed += o.size;
        } else {
          report.keptYoung++;
        }
      }
    } else {
      const result = await deleteOrphans(opts.meta, opts.objects, orphans, cutoff);
      report.orphansDeleted += result.deleted.length;
      report.bytesFreed += result.deleted.reduce((n, o) => n + o.size, 0);
      report.keptYoung += result.young.length;
    }
    done += batch.listed;
    opts.onProgress?.({ phase: 'orphans', done });
    await renew();
  }
}
