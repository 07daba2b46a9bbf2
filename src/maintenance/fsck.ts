// The store checker: metadata invariants (schema.ts I2–I5), every chunk row against its object
// (present, right size, and with `deep` the right hash), orphan objects; with `repair`, fixes what
// can be fixed from the metadata alone and names the files whose data is lost.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetaStore } from '../meta/meta-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { FsError } from '../core/errors.js';
import { HASH_ALGORITHM, chunkKey, hashChunk, isChunkHash } from '../chunks/chunk-hash.js';
import { deleteOrphans, orphanBatches, type ChunkObject } from './chunk-objects.js';
import { GC_LEASE, GC_LEASE_TTL_MS, leaseHolder } from './gc.js';

/** Orphans listed in the report; beyond this only counted. */
const ORPHANS_LISTED = 1000;
/** Files named per damaged chunk. */
const FILES_PER_CHUNK = 100;
/** HEADs (or GETs with `deep`) in flight at once. */
const CONCURRENCY = 8;

export interface FsckProgress {
  phase: 'metadata' | 'chunks' | 'orphans';
  done: number;
  total?: number;
}

export interface FsckOptions {
  meta: MetaStore;
  objects: ObjectStore;
  /** Also GET every chunk and check its hash (reads the whole store). */
  deep: boolean;
  /** Fix refcounts, delete orphans older than the grace period. */
  repair: boolean;
  /** Orphans younger than this may be uploads in progress (see gc.ts); never deleted, not problems. */
  graceMs: number;
  now: () => number;
  /** Lease holder for the repair (default: a fresh leaseHolder()). */
  holder?: string;
  /**
   * Chunks waiting in this node's write-back staging area: referenced but not uploaded yet, which
   * is expected (the write was acknowledged from staging), so not reported missing.
   */
  isPending?: (hash: string) => boolean;
  onProgress?: (p: FsckProgress) => void;
}

export interface DamagedChunk {
  hash: string;
  problem: 'missing' | 'size' | 'hash';
  detail: string;
  /** Paths of the files whose current content uses the chunk (at most FILES_PER_CHUNK). */
  files: string[];
}

export interface FsckReport {
  /** Metadata invariant violations found (before any repair). */
  metadataProblems: string[];
  /** Chunk rows whose object was checked. */
  chunksChecked: number;
  /** Bytes read and hashed (`deep` only). */
  bytesVerified: number;
  /** Chunks in use whose object is missing, of the wrong size or (with `deep`) corrupt. */
  damaged: DamagedChunk[];
  /** Objects with no chunk row, older than the grace period (the first ORPHANS_LISTED). */
  orphans: ChunkObject[];
  orphanCount: number;
  /** Objects with no chunk row younger than the grace period: possibly uploads in progress. */
  youngOrphans: number;
  /** Keys under chunks/ that are not chunk keys. */
  foreignKeys: string[];
  /** What repair did. */
  repairs: string[];
  /** Problems still there at the end: a non-empty list means exit code 1. */
  unrepaired: string[];
  durationMs: number;
}

export async function runFsck(opts: FsckOptions): Promise<FsckReport> {
  const { meta } = opts;
  const started = opts.now();
  const report: FsckReport = {
    metadataProblems: [],
    chunksChecked: 0,
    bytesVerified: 0,
    damaged: [],
    orphans: [],
    orphanCount: 0,
    youngOrphans: 0,
    foreignKeys: [],
    repairs: [],
    unrepaired: [],
    durationMs: 0,
  };
  const algorithm = await meta.getSetting('hash_algorithm');
  if (algorithm !== undefined && algorithm !== HASH_ALGORITHM) {
    throw new FsError('EINVAL', `store uses hash ${algorithm}, this program ${HASH_ALGORITHM}`);
  }
  const lease = new RepairLease(opts);
  try {
    await checkMetadata(opts, report, lease);
    await checkChunks(opts, report);
    await checkOrphans(opts, report, lease, started - opts.graceMs);
  } finally {
    await lease.release();
  }
  if (lease.refused) {
    report.unrepaired.unshift('another node holds the gc lease (GC or fsck --repair is running): repair stopped; try again later');
  }
  return { ...report, durationMs: Math.max(0, opts.now() - started) };
}

/**
 * A repair changes refcounts and deletes objects, so GC must not run meanwhile (its decisions
 * read both): every repair step first takes, or renews, GC's lease. It is not held during the
 * checks themselves, which with `deep` may read the whole store for hours.
 */
class RepairLease {
  private readonly holder: string;
  private held = false;
  /** Another node had the lease when a repair step wanted it: no further repair is attempted. */
  refused = false;

  constructor(private readonly opts: FsckOptions) {
    this.holder = opts.holder ?? leaseHolder();
  }

  /** True when the caller may repair now. */
  async take(): Promise<boolean> {
    if (!this.opts.repair || this.refused) return false;
    this.held = await this.opts.meta.acquireLease(GC_LEASE, this.holder, GC_LEASE_TTL_MS, this.opts.now());
    this.refused = !this.held;
    return this.held;
  }

  async release(): Promise<void> {
    if (this.held) await this.opts.meta.releaseLease(GC_LEASE, this.holder).catch(() => undefined);
    this.held = false;
  }
}

async function checkMetadata(opts: FsckOptions, report: FsckReport, lease: RepairLease): Promise<void> {
  opts.onProgress?.({ phase: 'metadata', done: 0 });
  report.metadataProblems = await opts.meta.checkConsistency();
  if (report.metadataProblems.length === 0) return;
  if (!(await lease.take())) {
    report.unrepaired.push(...report.metadataProblems);
    return;
  }
  const fixed = await opts.meta.repairRefcounts(opts.now());
  report.repairs.push(
    `recomputed refcounts: ${fixed.contentsFixed} contents fixed, ${fixed.contentsDropped} unused contents dropped, ` +
      `${fixed.chunksFixed} chunks fixed, ${fixed.zeroSinceFixed} unreferenced-since times fixed`,
  );
  const totals = await opts.meta.repairTreeBytes();
  if (totals > 0) report.repairs.push(`recomputed folder byte totals: ${totals} folders fixed`);
  // What a recount cannot fix (a broken tree, a content whose chunk list has gaps) needs a person.
  for (const p of await opts.meta.checkConsistency()) report.unrepaired.push(`${p} (cannot be repaired automatically)`);
}

/**
 * Every chunk row against its object. A row nothing uses whose object is gone is not damage (GC
 * deletes rows before objects and may be midway); a chunk some file uses is, and cannot be
 * repaired: its bytes exist nowhere else the store knows of.
 */
async function checkChunks(opts: FsckOptions, report: FsckReport): Promise<void> {
  let pending: { hash: string; size: number; refcount: number }[] = [];
  const flush = async (): Promise<void> => {
    const found = await Promise.all(pending.map((c) => checkChunk(opts, report, c)));
    for (const [i, damage] of found.entries()) {
      if (damage === undefined) continue;
      const c = pending[i]!;
      const files = await filesUsing(opts.meta, c.hash);
      if (files.length === 0 && c.refcount === 0) continue;
      report.damaged.push({ hash: c.hash, ...damage, files });
    }
    report.chunksChecked += pending.length;
    opts.onProgress?.({ phase: 'chunks', done: report.chunksChecked });
    pending = [];
  };
  for await (const c of opts.meta.listChunks()) {
    pending.push(c);
    if (pending.length >= CONCURRENCY) await flush();
  }
  await flush();
  for (const d of report.damaged) {
    const where = d.files.length > 0 ? `affected files: ${d.files.join(', ')}` : 'no file uses it now';
    report.unrepaired.push(`chunk ${d.hash} ${d.detail}; cannot be repaired (restore the files from a copy); ${where}`);
  }
}

async function checkChunk(opts: FsckOptions, report: FsckReport, c: { hash: string; size: number }): Promise<Omit<DamagedChunk, 'hash' | 'files'> | undefined> {
  const key = chunkKey(c.hash);
  const info = await opts.objects.head(key);
  if (info === undefined) {
    if (opts.isPending?.(c.hash)) return undefined;
    return { problem: 'missing', detail: 'is missing from the object store' };
  }
  if (info.size !== c.size) return { problem: 'size', detail: `is ${info.size} bytes in the object store, ${c.size} in the metadata` };
  if (!opts.deep) return undefined;
  let data: Buffer;
  try {
    data = await opts.objects.get(key);
  } catch (err) {
    if (err instanceof FsError && err.code === 'ENOENT') return { problem: 'missing', detail: 'is missing from the object store' };
    throw err;
  }
  report.bytesVerified += data.length;
  const actual = hashChunk(data);
  if (actual !== c.hash) return { problem: 'hash', detail: `has content hashing to ${actual}: corrupt` };
  return undefined;
}

/** Paths of the files using a chunk (a path per node, built from its ancestors). */
async function filesUsing(meta: MetaStore, hash: string): Promise<string[]> {
  const paths: string[] = [];
  for (const id of await meta.filesUsingChunk(hash, FILES_PER_CHUNK)) {
    const chain = await meta.ancestors(id);
    paths.push('/' + chain.slice(1).map((n) => n.name).join('/'));
  }
  return paths;
}

async function checkOrphans(opts: FsckOptions, report: FsckReport, lease: RepairLease, cutoff: number): Promise<void> {
  let done = 0;
  let deleted = 0;
  let kept = 0;
  let deletedBytes = 0;
  for await (const batch of orphanBatches(opts.meta, opts.objects)) {
    for (const key of batch.foreign) if (report.foreignKeys.length < ORPHANS_LISTED) report.foreignKeys.push(key);
    const old = batch.orphans.filter((o) => o.mtimeMs < cutoff);
    report.youngOrphans += batch.orphans.length - old.length;
    report.orphanCount += old.length;
    report.orphans.push(...old.slice(0, Math.max(0, ORPHANS_LISTED - report.orphans.length)));
    if (old.length > 0 && (await lease.take())) {
      const result = await deleteOrphans(opts.meta, opts.objects, old, cutoff);
      deleted += result.deleted.length;
      // Young again, claimed by a commit or gone since the listing: not orphans any more.
      kept += result.young.length + result.claimed.length + result.gone;
      deletedBytes += result.deleted.reduce((n, o) => n + o.size, 0);
    }
    done += batch.listed;
    opts.onProgress?.({ phase: 'orphans', done });
  }
  if (deleted > 0) report.repairs.push(`deleted ${deleted} orphan objects older than the grace period (${deletedBytes} bytes)`);
  const left = report.orphanCount - deleted - kept;
  if (left > 0) report.unrepaired.push(`${left} orphan objects older than the grace period (fsck --repair or gc deletes them)`);
}

/**
 * Hashes in this node's write-back staging area (<cache>/staging/), read without opening the
 * cache (which would clear the temp folder of a server running beside us).
 */
export async function stagedHashes(cacheDir: string): Promise<Set<string>> {
  try {
    return new Set((await readdir(join(cacheDir, 'staging'))).filter(isChunkHash));
  } catch {
    return new Set();
  }
}
