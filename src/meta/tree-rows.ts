// The SQL of whole-subtree changes (schema.ts `nodes`, `props`): removing and copying subtrees and
// clearing the target of MOVE/COPY, each keeping refcounts (I2, I3) and folder byte totals (I7)
// in step. Run inside the caller's transaction.
import { FsError } from '../core/errors.js';
import type { NodeRow } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';
import { releaseContent } from './content-rows.js';
import { isSameOrBelow, NODE_SELECT, toNode, type NodeRecord } from './node-rows.js';
import { addToAncestors, treeBytesOf } from './tree-bytes.js';

/** Ids of a node and all its descendants: `?` is the subtree's root. */
const SUBTREE_IDS = `WITH RECURSIVE sub(id) AS (
  SELECT CAST(? AS BIGINT) UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
  SELECT id FROM sub`;

/** Deletes a node and everything below it, releasing contents and taking its bytes off its ancestors. */
export async function removeTree(db: SqlExecutor, node: NodeRow, t: number): Promise<void> {
  const bytes = (await treeBytesOf(db, node.id)) ?? 0;
  const contents = await db.all<{ content_id: number; n: number }>(
    `SELECT content_id, COUNT(*) AS n FROM nodes WHERE content_id IS NOT NULL AND id IN (${SUBTREE_IDS}) GROUP BY content_id`,
    [node.id],
  );
  await db.run(`DELETE FROM props WHERE node_id IN (${SUBTREE_IDS})`, [node.id]);
  await db.run(`DELETE FROM nodes WHERE id IN (${SUBTREE_IDS})`, [node.id]);
  for (const c of contents) await releaseContent(db, Number(c.content_id), t, Number(c.n));
  if (node.parentId !== null) await addToAncestors(db, node.parentId, -bytes);
}

/**
 * Clears the way for MOVE/COPY onto an existing name: EEXIST without overwrite; EINVAL when the
 * target contains the source (replacing /a with /a/b would delete the source itself).
 */
export async function replaceTarget(db: SqlExecutor, existing: NodeRow, sourceId: number, name: string, overwrite: boolean, t: number): Promise<void> {
  if (!overwrite) throw new FsError('EEXIST', `"${name}" exists`);
  if (existing.kind === 'dir' && (await isSameOrBelow(db, sourceId, existing.id))) {
    throw new FsError('EINVAL', 'cannot replace a folder that contains the source');
  }
  await removeTree(db, existing, t);
}

export async function refuseInsideItself(db: SqlExecutor, id: number, newParentId: number): Promise<void> {
  if (await isSameOrBelow(db, newParentId, id)) throw new FsError('EINVAL', 'cannot move or copy a folder into itself');
}

/**
 * Copies `src` (and, when `recursive`, its subtree) under `parentId` as `name`, sharing contents.
 * Each copied folder takes its source's tree_bytes when its whole subtree comes along, 0 when
 * not; the caller adds the copy's bytes to the new ancestors.
 */
export async function copyTree(db: SqlExecutor, src: NodeRow, parentId: number, name: string, recursive: boolean, t: number): Promise<number> {
  const row = await db.get<{ id: number }>(
    `INSERT INTO nodes (parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms, mode, uid, gid, content_type, tree_bytes)
     SELECT ?, ?, kind, content_id, mtime_ms, ?, ?, mode, uid, gid, content_type, CASE WHEN ? = 1 THEN tree_bytes ELSE 0 END
       FROM nodes WHERE id = ? RETURNING id`,
    [parentId, name, t, t, recursive ? 1 : 0, src.id],
  );
  const newId = Number(row!.id);
  if (src.contentId !== null) await db.run('UPDATE contents SET refcount = refcount + 1 WHERE id = ?', [src.contentId]);
  // RFC 4918 §9.8.2: dead properties are copied with the resource.
  await db.run('INSERT INTO props (node_id, ns, name, value) SELECT ?, ns, name, value FROM props WHERE node_id = ?', [newId, src.id]);
  if (recursive && src.kind === 'dir') {
    const children = (await db.all<NodeRecord>(`${NODE_SELECT} WHERE n.parent_id = ? ORDER BY n.name`, [src.id])).map(toNode);
    for (const child of children) await copyTree(db, child, newId, child.name, true, t);
  }
  return newId;
}
