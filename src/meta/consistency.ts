// Checks the metadata invariants of schema.ts (I2–I5, I7) with plain SQL; used by tests after every
// step of the model-based test and, later, by `davfs-bridge fsck`.
import { ROOT_ID } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

interface Check {
  invariant: string;
  sql: string;
  describe: (row: Record<string, unknown>) => string;
}

const CHECKS: Check[] = [
  {
    invariant: 'I2 chunk refcount = references',
    sql: `SELECT c.hash, c.refcount, COUNT(cc.chunk_hash) AS n FROM chunks c
          LEFT JOIN content_chunks cc ON cc.chunk_hash = c.hash
          GROUP BY c.hash, c.refcount HAVING c.refcount <> COUNT(cc.chunk_hash)`,
    describe: (r) => `chunk ${r.hash} has refcount ${r.refcount} but ${r.n} references`,
  },
  {
    invariant: 'I2 unreferenced chunks carry zero_since_ms',
    sql: `SELECT hash, refcount, zero_since_ms FROM chunks
          WHERE (refcount = 0 AND zero_since_ms IS NULL) OR (refcount > 0 AND zero_since_ms IS NOT NULL) OR refcount < 0`,
    describe: (r) => `chunk ${r.hash} refcount ${r.refcount} with zero_since_ms ${r.zero_since_ms}`,
  },
  {
    invariant: 'I2 references name existing chunks',
    sql: `SELECT cc.content_id, cc.chunk_hash FROM content_chunks cc LEFT JOIN chunks c ON c.hash = cc.chunk_hash WHERE c.hash IS NULL`,
    describe: (r) => `content ${r.content_id} refers to missing chunk row ${r.chunk_hash}`,
  },
  {
    invariant: 'I3 content refcount = nodes using it',
    sql: `SELECT c.id, c.refcount, COUNT(n.id) AS n FROM contents c LEFT JOIN nodes n ON n.content_id = c.id
          GROUP BY c.id, c.refcount HAVING c.refcount <> COUNT(n.id) OR c.refcount <= 0`,
    describe: (r) => `content ${r.id} has refcount ${r.refcount} but ${r.n} nodes`,
  },
  {
    invariant: 'content size = sum of chunk lengths, chunks contiguous',
    sql: `SELECT c.id, c.size, COALESCE(SUM(cc.length), 0) AS total FROM contents c
          LEFT JOIN content_chunks cc ON cc.content_id = c.id WHERE c.inline_data IS NULL
          GROUP BY c.id, c.size HAVING c.size <> COALESCE(SUM(cc.length), 0)`,
    describe: (r) => `content ${r.id} has size ${r.size} but its chunks add up to ${r.total}`,
  },
  {
    invariant: 'chunk offsets contiguous',
    sql: `SELECT a.content_id, a.seq FROM content_chunks a JOIN content_chunks b
          ON b.content_id = a.content_id AND b.seq = a.seq + 1 WHERE b."offset" <> a."offset" + a.length`,
    describe: (r) => `content ${r.content_id} has a gap or overlap after chunk ${r.seq}`,
  },
  {
    invariant: 'inline contents hold their size',
    sql: `SELECT id, size FROM contents WHERE inline_data IS NOT NULL AND LENGTH(inline_data) <> size`,
    describe: (r) => `inline content ${r.id} is not ${r.size} bytes long`,
  },
  {
    invariant: 'I4 every node but the root has a folder as parent',
    sql: `SELECT n.id, n.parent_id FROM nodes n LEFT JOIN nodes p ON p.id = n.parent_id
          WHERE n.id <> ${ROOT_ID} AND (p.id IS NULL OR p.kind <> 'dir')`,
    describe: (r) => `node ${r.id} has missing or non-folder parent ${r.parent_id}`,
  },
  {
    invariant: 'I5 files have content, folders none',
    sql: `SELECT id, kind, content_id FROM nodes WHERE (kind = 'file' AND content_id IS NULL) OR (kind = 'dir' AND content_id IS NOT NULL)
          OR kind NOT IN ('file', 'dir')`,
    describe: (r) => `node ${r.id} (${r.kind}) has content ${r.content_id}`,
  },
  {
    invariant: 'I7 folder tree_bytes = sum of its children, files 0',
    // One pass: each node with its children's bytes (a file's size, a folder's tree_bytes).
    sql: `SELECT p.id, p.kind, p.tree_bytes,
                 COALESCE(SUM(CASE WHEN ch.kind = 'dir' THEN ch.tree_bytes ELSE c.size END), 0) AS total
            FROM nodes p LEFT JOIN nodes ch ON ch.parent_id = p.id LEFT JOIN contents c ON c.id = ch.content_id
           GROUP BY p.id, p.kind, p.tree_bytes
          HAVING p.tree_bytes <> CASE WHEN p.kind = 'dir' THEN COALESCE(SUM(CASE WHEN ch.kind = 'dir' THEN ch.tree_bytes ELSE c.size END), 0) ELSE 0 END`,
    describe: (r) =>
      r.kind === 'dir' ? `folder ${r.id} has tree_bytes ${r.tree_bytes} but its children hold ${r.total}` : `file ${r.id} has tree_bytes ${r.tree_bytes}, not 0`,
  },
  {
    invariant: 'properties belong to existing nodes',
    sql: `SELECT p.node_id, p.name FROM props p LEFT JOIN nodes n ON n.id = p.node_id WHERE n.id IS NULL`,
    describe: (r) => `property ${r.name} of missing node ${r.node_id}`,
  },
];

export async function checkConsistency(db: SqlExecutor): Promise<string[]> {
  const problems: string[] = [];
  for (const check of CHECKS) {
    const rows = await db.all<Record<string, unknown>>(check.sql);
    for (const r of rows.slice(0, 20)) problems.push(`${check.invariant}: ${check.describe(r)}`);
  }
  return problems;
}
