// The SQL that garbage collection and fsck need over `chunks`, `contents` and `content_chunks`
// (schema.ts): finding and deleting unreferenced chunk rows, telling which hashes have rows, which
// files use a chunk, and recomputing refcounts from the references. SqlMetaStore delegates here.
import type { RefcountRepair, UnreferencedChunk } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

/** See MetaStore.unreferencedChunks. */
export async function unreferencedChunks(db: SqlExecutor, olderThanMs: number, after: string, limit: number): Promise<UnreferencedChunk[]> {
  const rows = await db.all<{ hash: string; size: number | string; zero_since_ms: number | string }>(
    `SELECT hash, size, zero_since_ms FROM chunks
     WHERE refcount = 0 AND zero_since_ms < ? AND hash > ? ORDER BY hash LIMIT ?`,
    [olderThanMs, after, limit],
  );
  return rows.map((r) => ({ hash: r.hash, size: Number(r.size), zeroSinceMs: Number(r.zero_since_ms) }));
}

/**
 * See MetaStore.deleteChunkIfUnreferenced; run inside one transaction. The conditions are checked
 * by the DELETE itself, so a commit that re-referenced the chunk a moment ago (refcount back above
 * 0, zero_since_ms cleared) wins. The NOT EXISTS makes a wrong refcount harmless: a chunk that
 * some content lists is never deleted, whatever its counter says.
 */
export async function deleteChunkIfUnreferenced(tx: SqlExecutor, hash: string, olderThanMs: number): Promise<boolean> {
  const r = await tx.run(
    `DELETE FROM chunks WHERE hash = ? AND refcount = 0 AND zero_since_ms < ?
     AND NOT EXISTS (SELECT 1 FROM content_chunks WHERE chunk_hash = ?)`,
    [hash, olderThanMs, hash],
  );
  return r.changes > 0;
}

/** See MetaStore.hasChunks. */
export async function hasChunks(db: SqlExecutor, hashes: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < hashes.length; i += 500) {
    const part = hashes.slice(i, i + 500);
    const rows = await db.all<{ hash: string }>(`SELECT hash FROM chunks WHERE hash IN (${part.map(() => '?').join(',')})`, part);
    for (const r of rows) found.add(r.hash);
  }
  return found;
}

/** See MetaStore.filesUsingChunk. */
export async function filesUsingChunk(db: SqlExecutor, hash: string, limit: number): Promise<number[]> {
  const rows = await db.all<{ id: number }>(
    `SELECT DISTINCT n.id FROM nodes n JOIN content_chunks cc ON cc.content_id = n.content_id
     WHERE cc.chunk_hash = ? ORDER BY n.id LIMIT ?`,
    [hash, limit],
  );
  return rows.map((r) => Number(r.id));
}

const NODES_USING = 'SELECT COUNT(*) FROM nodes n WHERE n.content_id = contents.id';
const REFERENCES = 'SELECT COUNT(*) FROM content_chunks cc WHERE cc.chunk_hash = chunks.hash';

/**
 * See MetaStore.repairRefcounts; run inside one transaction. The references are the truth: the
 * tree (nodes.content_id) and the chunk lists (content_chunks); the counters are recomputed from
 * them, contents first, since dropping an unused content removes chunk references.
 */
export async function repairRefcounts(tx: SqlExecutor, nowMs: number): Promise<RefcountRepair> {
  const contentsFixed = (await tx.run(`UPDATE contents SET refcount = (${NODES_USING}) WHERE refcount <> (${NODES_USING})`)).changes;
  await tx.run('DELETE FROM content_chunks WHERE content_id IN (SELECT id FROM contents WHERE refcount = 0)');
  const contentsDropped = (await tx.run('DELETE FROM contents WHERE refcount = 0')).changes;
  const chunksFixed = (await tx.run(`UPDATE chunks SET refcount = (${REFERENCES}) WHERE refcount <> (${REFERENCES})`)).changes;
  // A chunk found unreferenced only now starts its grace period now: a reference that a wrong
  // counter hid may belong to a PUT that is about to commit.
  const zeroed = (await tx.run('UPDATE chunks SET zero_since_ms = ? WHERE refcount = 0 AND zero_since_ms IS NULL', [nowMs])).changes;
  const revived = (await tx.run('UPDATE chunks SET zero_since_ms = NULL WHERE refcount > 0 AND zero_since_ms IS NOT NULL')).changes;
  return { contentsFixed, contentsDropped, chunksFixed, zeroSinceFixed: zeroed + revived };
}
