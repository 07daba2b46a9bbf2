// SqlMetaStore: the MetaStore contract in portable SQL over a SqlDriver (SQLite or PostgreSQL).
// Every operation that changes more than one row runs in one transaction, so refcounts always
// match references (schema.ts, I2/I3) whatever point a crash hits.
import { FsError } from '../core/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { renderDdl, type SqlDriver, type SqlExecutor } from './sql-driver.js';
import { checkConsistency } from './consistency.js';
import * as lockRows from './lock-rows.js';
import * as leaseRows from './lease-rows.js';
import * as gcRows from './gc-rows.js';
import * as userRows from './user-rows.js';
import {
  ROOT_ID,
  type ChunkExtent,
  type CommitFileRequest,
  type ContentBody,
  type DeadProp,
  type LockRow,
  type MetaStore,
  type NewContent,
  type NewUser,
  type NodeRow,
  type PropPatch,
  type RefcountRepair,
  type TokenRow,
  type UnreferencedChunk,
  type UserChanges,
  type UserRow,
} from './meta-store.js';

interface NodeRecord {
  id: number;
  parent_id: number | null;
  name: string;
  kind: 'file' | 'dir';
  content_id: number | null;
  size: number | null;
  etag: string | null;
  mtime_ms: number;
  birth_ms: number;
  ctime_ms: number;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  content_type: string | null;
}

const NODE_COLUMNS = `n.id, n.parent_id, n.name, n.kind, n.content_id, c.size, c.etag, n.mtime_ms, n.birth_ms,
  n.ctime_ms, n.mode, n.uid, n.gid, n.content_type`;
const NODE_SELECT = `SELECT ${NODE_COLUMNS} FROM nodes n LEFT JOIN contents c ON c.id = n.content_id`;
/** Ids of a node and all its descendants: `?` is the subtree's root. */
const SUBTREE_IDS = `WITH RECURSIVE sub(id) AS (
  SELECT CAST(? AS BIGINT) UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
  SELECT id FROM sub`;

function toNode(r: NodeRecord): NodeRow {
  return {
    id: Number(r.id),
    parentId: r.parent_id === null ? null : Number(r.parent_id),
    name: r.name,
    kind: r.kind,
    contentId: r.content_id === null ? null : Number(r.content_id),
    size: r.size === null ? 0 : Number(r.size),
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

export class SqlMetaStore implements MetaStore {
  constructor(
    private readonly db: SqlDriver,
    private readonly now: () => number = Date.now,
  ) {}

  async open(): Promise<void> {
    let version = 0;
    try {
      const row = await this.db.get<{ value: string }>(`SELECT value FROM settings WHERE key = 'schema_version'`);
      version = row ? Number(row.value) : 0;
    } catch {
      version = 0; // no settings table yet: a new store
    }
    if (version > SCHEMA_VERSION) {
      throw new FsError('EIO', `metadata schema version ${version} is newer than this program (${SCHEMA_VERSION}); upgrade davfs-bridge`);
    }
    for (const m of MIGRATIONS.filter((x) => x.version > version)) {
      await this.db.transaction(async (tx) => {
        for (const s of m.statements) await tx.run(renderDdl(s, this.db.dialect));
        await tx.run(
          `INSERT INTO settings (key, value) VALUES ('schema_version', ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [String(m.version)],
        );
      });
    }
    const t = this.now();
    await this.db.run(
      `INSERT INTO nodes (id, parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms)
       VALUES (?, NULL, '', 'dir', NULL, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [ROOT_ID, t, t, t],
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  initSetting(key: string, value: string): Promise<string> {
    return this.db.transaction(async (tx) => {
      await tx.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value]);
      return (await tx.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))!.value;
    });
  }

  getNode(id: number): Promise<NodeRow | undefined> {
    return nodeById(this.db, id);
  }

  lookup(parentId: number, name: string): Promise<NodeRow | undefined> {
    return lookupIn(this.db, parentId, name);
  }

  async listChildren(parentId: number, afterName: string | null, limit: number): Promise<NodeRow[]> {
    const rows =
      afterName === null
        ? await this.db.all<NodeRecord>(`${NODE_SELECT} WHERE n.parent_id = ? ORDER BY n.name LIMIT ?`, [parentId, limit])
        : await this.db.all<NodeRecord>(`${NODE_SELECT} WHERE n.parent_id = ? AND n.name > ? ORDER BY n.name LIMIT ?`, [
            parentId,
            afterName,
            limit,
          ]);
    return rows.map(toNode);
  }

  async ancestors(id: number): Promise<NodeRow[]> {
    const chain: NodeRow[] = [];
    for (let cur = await nodeById(this.db, id); cur; cur = cur.parentId === null ? undefined : await nodeById(this.db, cur.parentId)) {
      chain.unshift(cur);
    }
    return chain;
  }

  createDir(parentId: number, name: string, timeMs: number): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      await requireDir(tx, parentId);
      if (await lookupIn(tx, parentId, name)) throw new FsError('EEXIST', `"${name}" exists`);
      const row = await tx.get<{ id: number }>(
        `INSERT INTO nodes (parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms)
         VALUES (?, ?, 'dir', NULL, ?, ?, ?) RETURNING id`,
        [parentId, name, timeMs, timeMs, timeMs],
      );
      await touchDir(tx, parentId, timeMs);
      return (await nodeById(tx, Number(row!.id)))!;
    });
  }

  commitFile(req: CommitFileRequest): Promise<{ node: NodeRow; created: boolean }> {
    return this.db.transaction(async (tx) => {
      await requireDir(tx, req.parentId);
      const existing = await lookupIn(tx, req.parentId, req.name);
      if (existing?.kind === 'dir') throw new FsError('EISDIR', `"${req.name}" is a folder`);
      if (req.expectContentId !== undefined && (existing?.contentId ?? null) !== req.expectContentId) {
        throw new FsError('EPRECONDITION', `"${req.name}" changed meanwhile`);
      }
      const t = this.now();
      const contentId = await addContent(tx, req.content);
      if (existing) {
        await tx.run(`UPDATE nodes SET content_id = ?, mtime_ms = ?, ctime_ms = ?, content_type = COALESCE(?, content_type) WHERE id = ?`, [
          contentId,
          req.mtimeMs,
          t,
          req.contentType ?? null,
          existing.id,
        ]);
        if (existing.contentId !== null) await releaseContent(tx, existing.contentId, t);
        return { node: (await nodeById(tx, existing.id))!, created: false };
      }
      const row = await tx.get<{ id: number }>(
        `INSERT INTO nodes (parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms, content_type)
         VALUES (?, ?, 'file', ?, ?, ?, ?, ?) RETURNING id`,
        [req.parentId, req.name, contentId, req.mtimeMs, t, t, req.contentType ?? null],
      );
      await touchDir(tx, req.parentId, t);
      return { node: (await nodeById(tx, Number(row!.id)))!, created: true };
    });
  }

  async readContent(contentId: number): Promise<ContentBody> {
    const c = await this.db.get<{ size: number; etag: string; inline_data: Buffer | null }>(
      'SELECT size, etag, inline_data FROM contents WHERE id = ?',
      [contentId],
    );
    if (!c) throw new FsError('ENOENT', `content ${contentId} is gone`);
    const chunks = c.inline_data
      ? []
      : await this.db.all<ChunkExtent>(
          `SELECT chunk_hash AS hash, "offset" AS "offset", length FROM content_chunks WHERE content_id = ? ORDER BY seq`,
          [contentId],
        );
    return { size: Number(c.size), etag: c.etag, inline: c.inline_data, chunks: chunks.map(numericExtent) };
  }

  async chunksInRange(contentId: number, start: number, end: number): Promise<ChunkExtent[]> {
    const rows = await this.db.all<ChunkExtent>(
      `SELECT chunk_hash AS hash, "offset" AS "offset", length FROM content_chunks
       WHERE content_id = ? AND "offset" <= ? AND "offset" + length > ? ORDER BY seq`,
      [contentId, end, start],
    );
    return rows.map(numericExtent);
  }

  async knownChunks(hashes: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    // Only referenced chunks count: one with refcount 0 may be deleted by GC at any moment, so
    // it is uploaded again (a repeated PUT is harmless; DESIGN.md invariant 4).
    for (let i = 0; i < hashes.length; i += 500) {
      const part = hashes.slice(i, i + 500);
      const rows = await this.db.all<{ hash: string }>(
        `SELECT hash FROM chunks WHERE refcount > 0 AND hash IN (${part.map(() => '?').join(',')})`,
        part,
      );
      for (const r of rows) known.add(r.hash);
    }
    return known;
  }

  remove(id: number, recursive: boolean): Promise<void> {
    return this.db.transaction(async (tx) => {
      if (id === ROOT_ID) throw new FsError('EACCES', 'the root cannot be removed');
      const node = await nodeById(tx, id);
      if (!node) throw new FsError('ENOENT', 'no such file or folder');
      if (!recursive && node.kind === 'dir' && (await tx.get('SELECT id FROM nodes WHERE parent_id = ? LIMIT 1', [id]))) {
        throw new FsError('ENOTEMPTY', `"${node.name}" is not empty`);
      }
      const t = this.now();
      await removeTree(tx, id, t);
      await touchDir(tx, node.parentId!, t);
    });
  }

  move(id: number, newParentId: number, newName: string, overwrite: boolean): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      const node = await nodeById(tx, id);
      if (!node) throw new FsError('ENOENT', 'no such file or folder');
      if (id === ROOT_ID) throw new FsError('EINVAL', 'the root cannot be moved');
      await requireDir(tx, newParentId);
      await refuseInsideItself(tx, id, newParentId);
      const existing = await lookupIn(tx, newParentId, newName);
      if (existing?.id === id) return node;
      const t = this.now();
      if (existing) await replaceTarget(tx, existing, id, newName, overwrite, t);
      await tx.run('UPDATE nodes SET parent_id = ?, name = ?, ctime_ms = ? WHERE id = ?', [newParentId, newName, t, id]);
      await touchDir(tx, node.parentId!, t);
      if (node.parentId !== newParentId) await touchDir(tx, newParentId, t);
      return (await nodeById(tx, id))!;
    });
  }

  copy(id: number, newParentId: number, newName: string, overwrite: boolean, recursive: boolean): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      const node = await nodeById(tx, id);
      if (!node) throw new FsError('ENOENT', 'no such file or folder');
      await requireDir(tx, newParentId);
      if (recursive) await refuseInsideItself(tx, id, newParentId);
      const existing = await lookupIn(tx, newParentId, newName);
      if (existing?.id === id) throw new FsError('EINVAL', 'source and destination are the same');
      const t = this.now();
      if (existing) await replaceTarget(tx, existing, id, newName, overwrite, t);
      const newId = await copyTree(tx, node, newParentId, newName, recursive, t);
      await touchDir(tx, newParentId, t);
      return (await nodeById(tx, newId))!;
    });
  }

  setAttributes(id: number, attrs: { mtimeMs?: number; mode?: number | null; uid?: number | null; gid?: number | null }): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      const node = await nodeById(tx, id);
      if (!node) throw new FsError('ENOENT', 'no such file or folder');
      await tx.run('UPDATE nodes SET mtime_ms = ?, mode = ?, uid = ?, gid = ?, ctime_ms = ? WHERE id = ?', [
        attrs.mtimeMs ?? node.mtimeMs,
        attrs.mode === undefined ? node.mode : attrs.mode,
        attrs.uid === undefined ? node.uid : attrs.uid,
        attrs.gid === undefined ? node.gid : attrs.gid,
        this.now(),
        id,
      ]);
      return (await nodeById(tx, id))!;
    });
  }

  getProps(id: number): Promise<DeadProp[]> {
    return this.db.all<DeadProp>('SELECT ns, name, value FROM props WHERE node_id = ? ORDER BY ns, name', [id]);
  }

  async getPropsMany(ids: number[]): Promise<Map<number, DeadProp[]>> {
    const out = new Map<number, DeadProp[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = await this.db.all<DeadProp & { node_id: number }>(
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

  patchProps(id: number, ops: PropPatch[]): Promise<void> {
    return this.db.transaction(async (tx) => {
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
    });
  }

  async usedBytes(): Promise<number> {
    const row = await this.db.get<{ total: number | null }>(
      'SELECT SUM(c.size) AS total FROM nodes n JOIN contents c ON c.id = n.content_id',
    );
    return Number(row?.total ?? 0);
  }

  // ---- Locks (RFC 4918 §6, §9.10): the SQL is in lock-rows.ts; these only delegate. ----

  createLock(lock: LockRow, conflicts: (existing: LockRow[]) => void): Promise<void> {
    return this.db.transaction((tx) => lockRows.createLock(tx, lock, conflicts));
  }

  getLock(token: string, nowMs: number): Promise<LockRow | undefined> {
    return lockRows.getLock(this.db, token, nowMs);
  }

  refreshLock(token: string, timeoutS: number | null, expiresMs: number | null, nowMs: number): Promise<boolean> {
    return lockRows.refreshLock(this.db, token, timeoutS, expiresMs, nowMs);
  }

  deleteLock(token: string): Promise<boolean> {
    return lockRows.deleteLock(this.db, token);
  }

  locksCovering(path: string, nowMs: number): Promise<LockRow[]> {
    return lockRows.locksCovering(this.db, path, nowMs);
  }

  locksBelow(path: string, nowMs: number): Promise<LockRow[]> {
    return lockRows.locksBelow(this.db, path, nowMs);
  }

  deleteLocksWithin(path: string): Promise<number> {
    return lockRows.deleteLocksWithin(this.db, path);
  }

  deleteExpiredLocks(nowMs: number): Promise<number> {
    return lockRows.deleteExpiredLocks(this.db, nowMs);
  }

  // ---- end of locks ----

  checkConsistency(): Promise<string[]> {
    return checkConsistency(this.db);
  }

  snapshotTo(file: string, onProgress?: (done: number, total: number) => void): Promise<void> {
    return this.db.snapshotTo(file, onProgress);
  }

  async *listChunks(): AsyncIterable<{ hash: string; size: number; refcount: number }> {
    let after = '';
    for (;;) {
      const rows = await this.db.all<{ hash: string; size: number; refcount: number }>(
        'SELECT hash, size, refcount FROM chunks WHERE hash > ? ORDER BY hash LIMIT 1000',
        [after],
      );
      for (const r of rows) yield { hash: r.hash, size: Number(r.size), refcount: Number(r.refcount) };
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.hash;
    }
  }

  // ---- Jobs and maintenance: the SQL is in lease-rows.ts and gc-rows.ts; these only delegate. ----

  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean> {
    return this.db.transaction((tx) => leaseRows.acquireLease(tx, name, holder, ttlMs, nowMs));
  }

  releaseLease(name: string, holder: string): Promise<boolean> {
    return leaseRows.releaseLease(this.db, name, holder);
  }

  unreferencedChunks(olderThanMs: number, after: string, limit: number): Promise<UnreferencedChunk[]> {
    return gcRows.unreferencedChunks(this.db, olderThanMs, after, limit);
  }

  deleteChunkIfUnreferenced(hash: string, olderThanMs: number): Promise<boolean> {
    return this.db.transaction((tx) => gcRows.deleteChunkIfUnreferenced(tx, hash, olderThanMs));
  }

  hasChunks(hashes: string[]): Promise<Set<string>> {
    return gcRows.hasChunks(this.db, hashes);
  }

  filesUsingChunk(hash: string, limit: number): Promise<number[]> {
    return gcRows.filesUsingChunk(this.db, hash, limit);
  }

  repairRefcounts(nowMs: number): Promise<RefcountRepair> {
    return this.db.transaction((tx) => gcRows.repairRefcounts(tx, nowMs));
  }

  // ---- Users and tokens: the SQL is in user-rows.ts; these only delegate. ----

  createUser(user: NewUser): Promise<UserRow> {
    return this.db.transaction((tx) => userRows.createUser(tx, user));
  }

  getUser(name: string): Promise<UserRow | undefined> {
    return userRows.getUser(this.db, name);
  }

  listUsers(): Promise<UserRow[]> {
    return userRows.listUsers(this.db);
  }

  setPassword(name: string, passwordHash: string): Promise<void> {
    return userRows.setPassword(this.db, name, passwordHash);
  }

  updateUser(name: string, changes: UserChanges): Promise<UserRow> {
    return this.db.transaction((tx) => userRows.updateUser(tx, name, changes));
  }

  deleteUser(name: string): Promise<void> {
    return this.db.transaction((tx) => userRows.deleteUser(tx, name));
  }

  createToken(userName: string, tokenHash: string, label: string | null, nowMs: number): Promise<TokenRow> {
    return this.db.transaction((tx) => userRows.createToken(tx, userName, tokenHash, label, nowMs));
  }

  listTokens(userName: string): Promise<TokenRow[]> {
    return this.db.transaction((tx) => userRows.listTokens(tx, userName));
  }

  userByTokenHash(tokenHash: string): Promise<UserRow | undefined> {
    return userRows.userByTokenHash(this.db, tokenHash);
  }

  touchToken(tokenHash: string, nowMs: number): Promise<boolean> {
    return userRows.touchToken(this.db, tokenHash, nowMs);
  }

  revokeToken(userName: string, tokenHash: string): Promise<boolean> {
    return userRows.revokeToken(this.db, userName, tokenHash);
  }
}

function numericExtent(e: ChunkExtent): ChunkExtent {
  return { hash: e.hash, offset: Number(e.offset), length: Number(e.length) };
}

async function nodeById(db: SqlExecutor, id: number): Promise<NodeRow | undefined> {
  const r = await db.get<NodeRecord>(`${NODE_SELECT} WHERE n.id = ?`, [id]);
  return r && toNode(r);
}

async function lookupIn(db: SqlExecutor, parentId: number, name: string): Promise<NodeRow | undefined> {
  const r = await db.get<NodeRecord>(`${NODE_SELECT} WHERE n.parent_id = ? AND n.name = ?`, [parentId, name]);
  return r && toNode(r);
}

async function requireDir(db: SqlExecutor, id: number): Promise<NodeRow> {
  const node = await nodeById(db, id);
  if (!node) throw new FsError('ENOENT', 'parent folder does not exist');
  if (node.kind !== 'dir') throw new FsError('ENOTDIR', `"${node.name}" is not a folder`);
  return node;
}

/** A folder's mtime follows its entries (POSIX; clients poll it to notice changes). */
async function touchDir(db: SqlExecutor, id: number, t: number): Promise<void> {
  await db.run('UPDATE nodes SET mtime_ms = ?, ctime_ms = ? WHERE id = ?', [t, t, id]);
}

/**
 * Clears the way for MOVE/COPY onto an existing name: EEXIST without overwrite; EINVAL when the
 * target contains the source (replacing /a with /a/b would delete the source itself).
 */
async function replaceTarget(db: SqlExecutor, existing: NodeRow, sourceId: number, name: string, overwrite: boolean, t: number): Promise<void> {
  if (!overwrite) throw new FsError('EEXIST', `"${name}" exists`);
  if (existing.kind === 'dir' && (await isSameOrBelow(db, sourceId, existing.id))) {
    throw new FsError('EINVAL', 'cannot replace a folder that contains the source');
  }
  await removeTree(db, existing.id, t);
}

async function refuseInsideItself(db: SqlExecutor, id: number, newParentId: number): Promise<void> {
  if (await isSameOrBelow(db, newParentId, id)) throw new FsError('EINVAL', 'cannot move or copy a folder into itself');
}

/** True if node `id` is `ancestorId` or lies below it (walks parent edges up to the root). */
async function isSameOrBelow(db: SqlExecutor, id: number, ancestorId: number): Promise<boolean> {
  for (let cur: number | null = id; cur !== null; ) {
    if (cur === ancestorId) return true;
    const row: { parent_id: number | null } | undefined = await db.get('SELECT parent_id FROM nodes WHERE id = ?', [cur]);
    cur = row?.parent_id ?? null;
  }
  return false;
}

/** Inserts a content (or reuses an identical one: same ETag means same bytes) and takes a ref. */
async function addContent(db: SqlExecutor, c: NewContent): Promise<number> {
  const same = await db.get<{ id: number }>('SELECT id FROM contents WHERE etag = ? AND size = ? LIMIT 1', [c.etag, c.size]);
  if (same) {
    await db.run('UPDATE contents SET refcount = refcount + 1 WHERE id = ?', [same.id]);
    return Number(same.id);
  }
  const row = await db.get<{ id: number }>(
    'INSERT INTO contents (size, etag, inline_data, refcount) VALUES (?, ?, ?, 1) RETURNING id',
    [c.size, c.etag, c.inline],
  );
  const id = Number(row!.id);
  let offset = 0;
  for (let seq = 0; seq < c.chunks.length; seq++) {
    const ch = c.chunks[seq]!;
    await db.run(
      `INSERT INTO chunks (hash, size, refcount, zero_since_ms) VALUES (?, ?, 1, NULL)
       ON CONFLICT (hash) DO UPDATE SET refcount = chunks.refcount + 1, zero_since_ms = NULL`,
      [ch.hash, ch.length],
    );
    await db.run('INSERT INTO content_chunks (content_id, seq, chunk_hash, "offset", length) VALUES (?, ?, ?, ?, ?)', [
      id,
      seq,
      ch.hash,
      offset,
      ch.length,
    ]);
    offset += ch.length;
  }
  if (offset !== c.size && c.inline === null) throw new FsError('EINVAL', `chunk sizes add to ${offset}, not ${c.size}`);
  return id;
}

/** Drops one ref to a content; the last ref deletes it and releases its chunks (I2, I3). */
async function releaseContent(db: SqlExecutor, contentId: number, t: number, count = 1): Promise<void> {
  await db.run('UPDATE contents SET refcount = refcount - ? WHERE id = ?', [count, contentId]);
  const left = await db.get<{ refcount: number }>('SELECT refcount FROM contents WHERE id = ?', [contentId]);
  if (!left || Number(left.refcount) > 0) return;
  const uses = await db.all<{ chunk_hash: string; n: number }>(
    'SELECT chunk_hash, COUNT(*) AS n FROM content_chunks WHERE content_id = ? GROUP BY chunk_hash',
    [contentId],
  );
  for (const u of uses) {
    await db.run(
      `UPDATE chunks SET refcount = refcount - ?,
         zero_since_ms = CASE WHEN refcount - ? = 0 THEN ? ELSE zero_since_ms END
       WHERE hash = ?`,
      [u.n, u.n, t, u.chunk_hash],
    );
  }
  await db.run('DELETE FROM content_chunks WHERE content_id = ?', [contentId]);
  await db.run('DELETE FROM contents WHERE id = ?', [contentId]);
}

async function removeTree(db: SqlExecutor, id: number, t: number): Promise<void> {
  const contents = await db.all<{ content_id: number; n: number }>(
    `SELECT content_id, COUNT(*) AS n FROM nodes WHERE content_id IS NOT NULL AND id IN (${SUBTREE_IDS}) GROUP BY content_id`,
    [id],
  );
  await db.run(`DELETE FROM props WHERE node_id IN (${SUBTREE_IDS})`, [id]);
  await db.run(`DELETE FROM nodes WHERE id IN (${SUBTREE_IDS})`, [id]);
  for (const c of contents) await releaseContent(db, Number(c.content_id), t, Number(c.n));
}

async function copyTree(db: SqlExecutor, src: NodeRow, parentId: number, name: string, recursive: boolean, t: number): Promise<number> {
  const row = await db.get<{ id: number }>(
    `INSERT INTO nodes (parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms, mode, uid, gid, content_type)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [parentId, name, src.kind, src.contentId, src.mtimeMs, t, t, src.mode, src.uid, src.gid, src.contentType],
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
