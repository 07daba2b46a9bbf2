// The SQL of the `shares` and `grants` tables (schema.ts). SqlMetaStore delegates its share
// methods here; tenancy/ (later) mounts each granted share in its user's view.
import { checkAccountName } from '../core/account-name.js';
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import type { ShareRights, ShareRow, UserShare } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

interface ShareRecord {
  id: number | string;
  name: string;
  path: string;
  created_ms: number | string;
}

async function findShare(db: SqlExecutor, name: string): Promise<ShareRecord | undefined> {
  return db.get<ShareRecord>('SELECT id, name, path, created_ms FROM shares WHERE name = ?', [name]);
}

async function requireShare(db: SqlExecutor, name: string): Promise<ShareRecord> {
  const share = await findShare(db, name);
  if (!share) throw new FsError('ENOENT', `no share "${name}"`);
  return share;
}

async function requireUserId(db: SqlExecutor, name: string): Promise<number> {
  const row = await db.get<{ id: number | string }>('SELECT id FROM users WHERE name = ?', [name]);
  if (!row) throw new FsError('ENOENT', `no user "${name}"`);
  return Number(row.id);
}

function checkRights(rights: string): ShareRights {
  if (rights !== 'r' && rights !== 'rw') throw new FsError('EINVAL', `rights must be "r" or "rw", not ${JSON.stringify(rights)}`);
  return rights;
}

/** See MetaStore.createShare; run inside one transaction (the check and the insert together). */
export async function createShare(tx: SqlExecutor, name: string, path: string, nowMs: number): Promise<ShareRow> {
  checkAccountName(name, 'share');
  const normal = normalizePath(path);
  if (await findShare(tx, name)) throw new FsError('EEXIST', `share "${name}" exists`);
  await tx.run('INSERT INTO shares (name, path, created_ms) VALUES (?, ?, ?)', [name, normal, nowMs]);
  return { name, path: normal, createdMs: nowMs, grants: [] };
}

/** See MetaStore.deleteShare; run inside one transaction (grants first: they reference the share). */
export async function deleteShare(tx: SqlExecutor, name: string): Promise<void> {
  const share = await requireShare(tx, name);
  await tx.run('DELETE FROM grants WHERE share_id = ?', [share.id]);
  await tx.run('DELETE FROM shares WHERE id = ?', [share.id]);
}

/** See MetaStore.listShares; run inside one transaction so shares and grants agree. */
export async function listShares(tx: SqlExecutor): Promise<ShareRow[]> {
  const shares = await tx.all<ShareRecord>('SELECT id, name, path, created_ms FROM shares ORDER BY name');
  const grants = await tx.all<{ share_id: number | string; user_name: string; rights: ShareRights }>(
    'SELECT g.share_id, u.name AS user_name, g.rights FROM grants g JOIN users u ON u.id = g.user_id ORDER BY u.name',
  );
  const byShare = new Map<number, ShareRow['grants']>();
  for (const g of grants) {
    const list = byShare.get(Number(g.share_id)) ?? [];
    list.push({ userName: g.user_name, rights: g.rights });
    byShare.set(Number(g.share_id), list);
  }
  return shares.map((s) => ({ name: s.name, path: s.path, createdMs: Number(s.created_ms), grants: byShare.get(Number(s.id)) ?? [] }));
}

/** See MetaStore.grantShare; run inside one transaction. */
export async function grantShare(tx: SqlExecutor, shareName: string, userName: string, rights: ShareRights): Promise<void> {
  checkRights(rights);
  const share = await requireShare(tx, shareName);
  const userId = await requireUserId(tx, userName);
  await tx.run(
    `INSERT INTO grants (share_id, user_id, rights) VALUES (?, ?, ?)
     ON CONFLICT (share_id, user_id) DO UPDATE SET rights = excluded.rights`,
    [share.id, userId, rights],
  );
}

/** See MetaStore.revokeShare; run inside one transaction. */
export async function revokeShare(tx: SqlExecutor, shareName: string, userName: string): Promise<boolean> {
  const share = await requireShare(tx, shareName);
  const userId = await requireUserId(tx, userName);
  return (await tx.run('DELETE FROM grants WHERE share_id = ? AND user_id = ?', [share.id, userId])).changes > 0;
}

/** See MetaStore.sharesOfUser; run inside one transaction (ENOENT and the listing agree). */
export async function sharesOfUser(tx: SqlExecutor, userName: string): Promise<UserShare[]> {
  const userId = await requireUserId(tx, userName);
  return tx.all<UserShare>(
    'SELECT s.name, s.path, g.rights FROM grants g JOIN shares s ON s.id = g.share_id WHERE g.user_id = ? ORDER BY s.name',
    [userId],
  );
}
