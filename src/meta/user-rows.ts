// The SQL of the `users` and `tokens` tables (schema.ts). SqlMetaStore delegates its user and token
// methods here. Only hashes pass through (password hashes, Digest HA1s, token hashes):
// auth/password.ts makes them, auth/ (later) checks them.
import { FsError } from '../core/errors.js';
import type { NewUser, TokenRow, UserChanges, UserRow } from './meta-store.js';
import type { SqlExecutor } from './sql-driver.js';

interface UserRecord {
  id: number | string;
  name: string;
  password_hash: string;
  home: string;
  quota_bytes: number | string | null;
  read_only: number | string;
  created_ms: number | string;
  digest_ha1: string | null;
}

interface TokenRecord {
  id: number | string;
  user_name: string;
  token_hash: string;
  label: string | null;
  created_ms: number | string;
  last_used_ms: number | string | null;
}

const USER_COLUMNS = 'u.id, u.name, u.password_hash, u.home, u.quota_bytes, u.read_only, u.created_ms, u.digest_ha1';
const TOKEN_SELECT = `SELECT t.id, u.name AS user_name, t.token_hash, t.label, t.created_ms, t.last_used_ms
  FROM tokens t JOIN users u ON u.id = t.user_id`;

function toUser(r: UserRecord): UserRow {
  return {
    id: Number(r.id),
    name: r.name,
    passwordHash: r.password_hash,
    home: r.home,
    quotaBytes: r.quota_bytes === null ? null : Number(r.quota_bytes),
    readOnly: Number(r.read_only) !== 0,
    createdMs: Number(r.created_ms),
    digestHa1: r.digest_ha1,
  };
}

function toToken(r: TokenRecord): TokenRow {
  return {
    id: Number(r.id),
    userName: r.user_name,
    tokenHash: r.token_hash,
    label: r.label,
    createdMs: Number(r.created_ms),
    lastUsedMs: r.last_used_ms === null ? null : Number(r.last_used_ms),
  };
}

export async function getUser(db: SqlExecutor, name: string): Promise<UserRow | undefined> {
  const r = await db.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.name = ?`, [name]);
  return r && toUser(r);
}

async function requireUser(db: SqlExecutor, name: string): Promise<UserRow> {
  const user = await getUser(db, name);
  if (!user) throw new FsError('ENOENT', `no user "${name}"`);
  return user;
}

/** See MetaStore.createUser; run inside one transaction (the check and the insert together). */
export async function createUser(tx: SqlExecutor, user: NewUser): Promise<UserRow> {
  if (await getUser(tx, user.name)) throw new FsError('EEXIST', `user "${user.name}" exists`);
  await tx.run('INSERT INTO users (name, password_hash, home, quota_bytes, read_only, created_ms, digest_ha1) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    user.name,
    user.passwordHash,
    user.home,
    user.quotaBytes,
    user.readOnly ? 1 : 0,
    user.createdMs,
    user.digestHa1 ?? null,
  ]);
  return (await getUser(tx, user.name))!;
}

export async function listUsers(db: SqlExecutor): Promise<UserRow[]> {
  return (await db.all<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u ORDER BY u.name`)).map(toUser);
}

/** Both secrets change together, so a Digest login never checks an HA1 of an old password. */
export async function setPassword(db: SqlExecutor, name: string, passwordHash: string, digestHa1: string | null): Promise<void> {
  const r = await db.run('UPDATE users SET password_hash = ?, digest_ha1 = ? WHERE name = ?', [passwordHash, digestHa1, name]);
  if (r.changes === 0) throw new FsError('ENOENT', `no user "${name}"`);
}

/** See MetaStore.updateUser; run inside one transaction. */
export async function updateUser(tx: SqlExecutor, name: string, changes: UserChanges): Promise<UserRow> {
  const user = await requireUser(tx, name);
  await tx.run('UPDATE users SET home = ?, quota_bytes = ?, read_only = ? WHERE id = ?', [
    changes.home ?? user.home,
    changes.quotaBytes === undefined ? user.quotaBytes : changes.quotaBytes,
    (changes.readOnly ?? user.readOnly) ? 1 : 0,
    user.id,
  ]);
  return (await getUser(tx, name))!;
}

/** See MetaStore.deleteUser; run inside one transaction (tokens and grants first: they reference the user). */
export async function deleteUser(tx: SqlExecutor, name: string): Promise<void> {
  const user = await requireUser(tx, name);
  await tx.run('DELETE FROM tokens WHERE user_id = ?', [user.id]);
  await tx.run('DELETE FROM grants WHERE user_id = ?', [user.id]);
  await tx.run('DELETE FROM users WHERE id = ?', [user.id]);
}

/** See MetaStore.createToken; run inside one transaction. */
export async function createToken(tx: SqlExecutor, userName: string, tokenHash: string, label: string | null, nowMs: number): Promise<TokenRow> {
  const user = await requireUser(tx, userName);
  if (await tx.get('SELECT id FROM tokens WHERE token_hash = ?', [tokenHash])) throw new FsError('EEXIST', 'this token is already stored');
  await tx.run('INSERT INTO tokens (user_id, token_hash, label, created_ms, last_used_ms) VALUES (?, ?, ?, ?, NULL)', [
    user.id,
    tokenHash,
    label,
    nowMs,
  ]);
  return toToken((await tx.get<TokenRecord>(`${TOKEN_SELECT} WHERE t.token_hash = ?`, [tokenHash]))!);
}

/** See MetaStore.listTokens; run inside one transaction (ENOENT and the listing agree). */
export async function listTokens(tx: SqlExecutor, userName: string): Promise<TokenRow[]> {
  const user = await requireUser(tx, userName);
  return (await tx.all<TokenRecord>(`${TOKEN_SELECT} WHERE t.user_id = ? ORDER BY t.created_ms, t.id`, [user.id])).map(toToken);
}

export async function userByTokenHash(db: SqlExecutor, tokenHash: string): Promise<UserRow | undefined> {
  const r = await db.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, [tokenHash]);
  return r && toUser(r);
}

export async function touchToken(db: SqlExecutor, tokenHash: string, nowMs: number): Promise<boolean> {
  return (await db.run('UPDATE tokens SET last_used_ms = ? WHERE token_hash = ?', [nowMs, tokenHash])).changes > 0;
}

export async function revokeToken(db: SqlExecutor, userName: string, tokenHash: string): Promise<boolean> {
  const r = await db.run('DELETE FROM tokens WHERE token_hash = ? AND user_id IN (SELECT id FROM users WHERE name = ?)', [tokenHash, userName]);
  return r.changes > 0;
}
