// The chunk objects in the bucket as GC and fsck see them: listing `chunks/` against the metadata
// to find orphans (objects with no chunk row), and deleting orphans without racing an upload.
import type { MetaStore } from '../meta/meta-store.js';
import type { ObjectInfo, ObjectStore } from '../store/object-store.js';
import { chunkKey, isChunkHash } from '../chunks/chunk-hash.js';

export const CHUNK_PREFIX = 'chunks/';

/** An object under chunks/ with the hash its key names. */
export interface ChunkObject extends ObjectInfo {
  hash: string;
}

export interface ListedBatch {
  /** Objects listed in this batch (chunk keys or not). */
  listed: number;
  /** Chunk objects that have no chunk row at the time of the check. */
  orphans: ChunkObject[];
  /** Keys under chunks/ that are not chunk keys: never ours to delete, only reported. */
  foreign: string[];
}

/** The hash a chunk key names, or undefined for any other key (chunk-hash.ts chunkKey). */
export function hashOfKey(key: string): string | undefined {
  const hash = key.slice(key.lastIndexOf('/') + 1);
  return isChunkHash(hash) && chunkKey(hash) === key ? hash : undefined;
}

/**
 * Lists chunks/ in batches and asks the metadata which hashes have rows. A row with refcount 0
 * makes its object not an orphan: deleting those is the first phase of GC, which goes by the
 * row's zero_since_ms.
 */
export async function* orphanBatches(meta: MetaStore, objects: ObjectStore, batchSize = 500): AsyncGenerator<ListedBatch> {
  let batch: ObjectInfo[] = [];
  const flush = async (): Promise<ListedBatch> => {
    const foreign: string[] = [];
    const chunkObjects: ChunkObject[] = [];
    for (const info of batch) {
      const hash = hashOfKey(info.key);
      if (hash === undefined) foreign.push(info.key);
      else chunkObjects.push({ ...info, hash });
    }
    const known = await meta.hasChunks(chunkObjects.map((c) => c.hash));
    const result = { listed: batch.length, orphans: chunkObjects.filter((c) => !known.has(c.hash)), foreign };
    batch = [];
    return result;
  };
  for await (const info of objects.list(CHUNK_PREFIX)) {
    batch.push(info);
    if (batch.length >= batchSize) yield await flush();
  }
  if (batch.length > 0) yield await flush();
}

export interface OrphanDeletion {
  deleted: ChunkObject[];
  /** Left alone: written after `cutoffMs` (possibly by an upload in progress; its commit is coming). */
  young: ChunkObject[];
  /** Left alone: a commit gave them a chunk row since the listing. */
  claimed: ChunkObject[];
  /** Deleted by someone else since the listing. */
  gone: number;
}

/**
 * Deletes orphans last modified before `cutoffMs`, checking each again just before: the listing
 * may be minutes old, and meanwhile a PUT may have written the same chunk again (its object is
 * then young: the PUT's commit is coming) or committed a row for it. What remains is the moment
 * between the HEAD and the DELETE, which no object store lets us close (S3 has no conditional
 * DELETE on modification time): only a PUT of a chunk that has been garbage for the whole grace
 * period, landing in those milliseconds, could be lost.
 */
export async function deleteOrphans(meta: MetaStore, objects: ObjectStore, orphans: ChunkObject[], cutoffMs: number): Promise<OrphanDeletion> {
  const result: OrphanDeletion = { deleted: [], young: orphans.filter((o) => o.mtimeMs >= cutoffMs), claimed: [], gone: 0 };
  const candidates = orphans.filter((o) => o.mtimeMs < cutoffMs);
  const known = await meta.hasChunks(candidates.map((o) => o.hash));
  for (const o of candidates) {
    if (known.has(o.hash)) {
      result.claimed.push(o);
      continue;
    }
    const now = await objects.head(o.key);
    if (now === undefined) {
      result.gone++; // another GC, or a manual clean-up
      continue;
    }
    if (now.mtimeMs >= cutoffMs) {
      result.young.push({ ...now, hash: o.hash });
      continue;
    }
    await objects.delete([o.key]);
    result.deleted.push({ ...now, hash: o.hash });
  }
  return result;
}
