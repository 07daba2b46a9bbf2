// The SQL of the `props` table (schema.ts): WebDAV dead properties by node. SqlMetaStore
// delegates its property methods here.
import { FsError } from '../core/errors.js';
import type { DeadProp, PropPatch } from './meta-store.js';
import { nodeById } from './node-rows.js';
import type { SqlExecutor } from './sql-driver.js';

export function getProps(db: SqlExecutor, id: number): Promise<DeadProp[]> {
  return db.all<DeadProp>('SELECT ns, name, value FROM props WHERE node_id = ? ORDER BY ns, name', [id]);
}

/** Properties of many nodes, 500 ids per query (PROPFIND over a large folder). */
export async function getPropsMany(db: SqlExecutor, ids: number[]): Promise<Map<number, DeadProp[]>> {
  const out = new Map<number, DeadProp[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows = await db.all<DeadProp & { node_id: number }>(
      `SELECT node_id, ns, name, value FROM props WHERE node_id IN (${part.map(() => '?').join(',')}) ORDER BY node_id, ns, name`,
      part,
    );
    for (const r of rows) {
      const id = Number(r.node_id);
      const list = out.get(id) ?? [];
      list.push({ ns: r.ns, name: r.name, value: r.value });
      out.set(id, list);
    }
  }
  return out;
}

/** See MetaStore.patchProps; run inside one transaction (RFC 4918 §9.2: all or nothing). */
export async function patchProps(tx: SqlExecutor, id: number, ops: PropPatch[]): Promise<void> {
  if (!(await nodeById(tx, id))) throw new FsError('ENOENT', 'no such file or folder');
  for (const op of ops) {
    if (op.op === 'set') {
      await tx.run(
        `INSERT INTO props (node_id, ns, name, value) VALUES (?, ?, ?, ?)
         ON CONFLICT (node_id, ns, name) DO UPDATE SET value = excluded.value`,
        [id, op.prop.ns, op.prop.name, op.prop.value],
      );
    } else {
      await tx.run('DELETE FROM props WHERE node_id = ? AND ns = ? AND name = ?', [id, op.ns, op.name]);
    }
  }
}
