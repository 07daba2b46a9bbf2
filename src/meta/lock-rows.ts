// The SQL of the `locks` table (schema.ts): WebDAV lock rows keyed by path. SqlMetaStore delegates
// its lock methods here; the RFC 4918 rules over these rows live in locks/lock-manager.ts.
//
// Path matching is exact and portable. "Rooted at an ancestor" is `path IN (…ancestors)`, computed
// from the path itself. "Rooted below" is `path LIKE '<prefix>/%' ESCAPE '\'` with the prefix's
// `\`, `%` and `_` escaped (so `/a_b` never matches `/axb`), which PostgreSQL can answer from an
// index; and because SQLite's LIKE ignores ASCII case (`/A/x` LIKE `/a/%` is true there), it is
// paired with `substr(path, 1, n) = '<prefix>/'`, an exact comparison in both databases (both count
// n in code points, as `[...s].length` does).
import { isSameOrInside, splitPath } from '../core/paths.js';
import type { LockRow } from './meta-store.js';
import type { SqlExecutor, SqlValue } from './sql-driver.js';

interface LockRecord {
  token: string;
  path: string;
  depth: number;
  scope: string;
  owner_xml: string | null;
  principal: string | null;
  timeout_s: number | string | null;
  expires_ms: number | string | null;
  created_ms: number | string;
}

const COLUMNS = 'token, path, depth, scope, owner_xml, principal, timeout_s, expires_ms, created_ms';
/** A lock lapses at its expiry instant: alive while expires_ms > now. `?` is now. */
const UNEXPIRED = '(expires_ms IS NULL OR expires_ms > ?)';
const ORDER = 'ORDER BY created_ms, token';

function toLock(r: LockRecord): LockRow {
  return {
    token: r.token,
    path: r.path,
    depth: Number(r.depth) === -1 ? -1 : 0,
    scope: r.scope === 'shared' ? 'shared' : 'exclusive',
    ownerXml: r.owner_xml,
    principal: r.principal,
    timeoutS: r.timeout_s === null ? null : Number(r.timeout_s),
    expiresMs: r.expires_ms === null ? null : Number(r.expires_ms),
    createdMs: Number(r.created_ms),
  };
}

/** Escapes LIKE's special characters with `\` (the queries say `ESCAPE '\'`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Strict ancestors of a normalised path, root first: `/a/b/c` → `/`, `/a`, `/a/b`. */
export function ancestorPaths(path: string): string[] {
  const parts = splitPath(path);
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/** SQL (and its parameters) true for rows rooted strictly below `path`. */
function below(path: string): { sql: string; params: SqlValue[] } {
  const prefix = path === '/' ? '/' : `${path}/`;
  return {
    sql: `(path <> ? AND path LIKE ? ESCAPE '\\' AND substr(path, 1, ?) = ?)`,
    params: [path, `${escapeLike(prefix)}%`, [...prefix].length, prefix],
  };
}

/** SQL (and its parameters) true for rows whose lock covers `path` (RFC 4918 §9.10.3). */
function covering(path: string): { sql: string; params: SqlValue[] } {
  const ancestors = ancestorPaths(path);
  if (ancestors.length === 0) return { sql: '(path = ?)', params: [path] };
  return {
    sql: `(path = ? OR (depth = -1 AND path IN (${ancestors.map(() => '?').join(', ')})))`,
    params: [path, ...ancestors],
  };
}

/** See MetaStore.createLock; run inside one transaction. */
export async function createLock(tx: SqlExecutor, lock: LockRow, conflicts: (existing: LockRow[]) => void): Promise<void> {
  await deleteExpiredLocks(tx, lock.createdMs);
  const cover = covering(lock.path);
  const parts = [cover];
  if (lock.depth === -1) parts.push(below(lock.path));
  const rows = await tx.all<LockRecord>(
    `SELECT ${COLUMNS} FROM locks WHERE ${parts.map((p) => p.sql).join(' OR ')} ${ORDER}`,
    parts.flatMap((p) => p.params),
  );
  // Defensive: every row returned must really overlap (the SQL above is exact; this keeps the
  // contract true whatever the dialect's LIKE does).
  const existing = rows.map(toLock).filter((r) => overlaps(r, lock));
  conflicts(existing);
  await tx.run(`INSERT INTO locks (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    lock.token,
    lock.path,
    lock.depth,
    lock.scope,
    lock.ownerXml,
    lock.principal,
    lock.timeoutS,
    lock.expiresMs,
    lock.createdMs,
  ]);
}

/** True if the two locks' scopes share a resource (either one's root is covered by the other). */
function overlaps(a: LockRow, b: LockRow): boolean {
  return a.path === b.path || (a.depth === -1 && isSameOrInside(b.path, a.path)) || (b.depth === -1 && isSameOrInside(a.path, b.path));
}

export async function getLock(db: SqlExecutor, token: string, nowMs: number): Promise<LockRow | undefined> {
  const r = await db.get<LockRecord>(`SELECT ${COLUMNS} FROM locks WHERE token = ? AND ${UNEXPIRED}`, [token, nowMs]);
  return r && toLock(r);
}

export async function refreshLock(db: SqlExecutor, token: string, timeoutS: number | null, expiresMs: number | null, nowMs: number): Promise<boolean> {
  const r = await db.run(`UPDATE locks SET timeout_s = ?, expires_ms = ? WHERE token = ? AND ${UNEXPIRED}`, [timeoutS, expiresMs, token, nowMs]);
  return r.changes > 0;
}

export async function deleteLock(db: SqlExecutor, token: string): Promise<boolean> {
  return (await db.run('DELETE FROM locks WHERE token = ?', [token])).changes > 0;
}

export async function locksCovering(db: SqlExecutor, path: string, nowMs: number): Promise<LockRow[]> {
  const c = covering(path);
  const rows = await db.all<LockRecord>(`SELECT ${COLUMNS} FROM locks WHERE ${c.sql} AND ${UNEXPIRED} ${ORDER}`, [...c.params, nowMs]);
  return rows.map(toLock);
}

export async function locksBelow(db: SqlExecutor, path: string, nowMs: number): Promise<LockRow[]> {
  const b = below(path);
  const rows = await db.all<LockRecord>(`SELECT ${COLUMNS} FROM locks WHERE ${b.sql} AND ${UNEXPIRED} ${ORDER}`, [...b.params, nowMs]);
  return rows.map(toLock);
}

export async function deleteLocksWithin(db: SqlExecutor, path: string): Promise<number> {
  const b = below(path);
  return (await db.run(`DELETE FROM locks WHERE path = ? OR ${b.sql}`, [path, ...b.params])).changes;
}

export async function deleteExpiredLocks(db: SqlExecutor, nowMs: number): Promise<number> {
  return (await db.run('DELETE FROM locks WHERE expires_ms IS NOT NULL AND expires_ms <= ?', [nowMs])).changes;
}
