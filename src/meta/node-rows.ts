// The SQL of single rows of the `nodes` table (schema.ts): reading nodes with their content's size
// and ETag, and the small checks every tree change makes. Shared by SqlMetaStore and tree-rows.ts.
import { FsError } from '../core/errors.js';
import type { NodeRow } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

export interface NodeRecord {
  id: number;
  parent_id: number | null;
  name: string;
  kind: 'file' | 'dir';
  content_id: number | null;
  size: number | null;
  tree_bytes: number | null;
  etag: string | null;
  mtime_ms: number;
  birth_ms: number;
  ctime_ms: number;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  content_type: string | null;
}

const NODE_COLUMNS = `n.id, n.parent_id, n.name, n.kind, n.content_id, c.size, n.tree_bytes, c.etag, n.mtime_ms, n.birth_ms,
  n.ctime_ms, n.mode, n.uid, n.gid, n.content_type`;
export const NODE_SELECT = `SELECT ${NODE_COLUMNS} FROM nodes n LEFT JOIN contents c ON c.id = n.content_id`;

export function toNode(r: NodeRecord): NodeRow {
  return {
    id: Number(r.id),
    parentId: r.parent_id === null ? null : Number(r.parent_id),
    name: r.name,
    kind: r.kind,
    contentId: r.content_id === null ? null : Number(r.content_id),
    size: r.size === null ? 0 : Number(r.size),
    // A file's own tree_bytes is 0 (I7): its bytes are its size.
    treeBytes: r.kind === 'dir' ? Number(r.tree_bytes ?? 0) : r.size === null ? 0 : Number(r.size),
    etag: r.etag,
    mtimeMs: Number(r.mtime_ms),
    birthMs: Number(r.birth_ms),
    ctimeMs: Number(r.ctime_ms),
    mode: r.mode,
    uid: r.uid,
    gid: r.gid,
    contentType: r.content_type,
  };
}

export async function nodeById(db: SqlExecutor, id: number): Promise<NodeRow | undefined> {
  const r = await db.get<NodeRecord>(`${NODE_SELECT} WHERE n.id = ?`, [id]);
  return r && toNode(r);
}

export async function lookupIn(db: SqlExecutor, parentId: number, name: string): Promise<NodeRow | undefined> {
  const r = await db.get<NodeRecord>(`${NODE_SELECT} WHERE n.parent_id = ? AND n.name = ?`, [parentId, name]);
  return r && toNode(r);
}

export async function requireNode(db: SqlExecutor, id: number): Promise<NodeRow> {
  const node = await nodeById(db, id);
  if (!node) throw new FsError('ENOENT', 'no such file or folder');
  return node;
}

export async function requireDir(db: SqlExecutor, id: number): Promise<NodeRow> {
  const node = await nodeById(db, id);
  if (!node) throw new FsError('ENOENT', 'parent folder does not exist');
  if (node.kind !== 'dir') throw new FsError('ENOTDIR', `"${node.name}" is not a folder`);
  return node;
}

/** A folder's mtime follows its entries (POSIX; clients poll it to notice changes). */
export async function touchDir(db: SqlExecutor, id: number, t: number): Promise<void> {
  await db.run('UPDATE nodes SET mtime_ms = ?, ctime_ms = ? WHERE id = ?', [t, t, id]);
}

/** True if node `id` is `ancestorId` or lies below it (walks parent edges up to the root). */
export async function isSameOrBelow(db: SqlExecutor, id: number, ancestorId: number): Promise<boolean> {
  for (let cur: number | null = id; cur !== null; ) {
    if (cur === ancestorId) return true;
    const row: { parent_id: number | string | null } | undefined = await db.get('SELECT parent_id FROM nodes WHERE id = ?', [cur]);
    cur = row?.parent_id == null ? null : Number(row.parent_id);
  }
  return false;
}
