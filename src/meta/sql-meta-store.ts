// SqlMetaStore: the MetaStore contract in portable SQL over a SqlDriver (SQLite or PostgreSQL).
// Every operation that changes more than one row runs in one transaction, so refcounts always
// match references and folder byte totals match the files below them (schema.ts, I2/I3/I7)
// whatever point a crash hits. The SQL lives in the *-rows.ts modules and tree-bytes.ts.
import { FsError } from '../core/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { renderDdl, type SqlDriver, type SqlExecutor } from './sql-driver.js';
import { checkConsistency } from './consistency.js';
import * as contentRows from './content-rows.js';
import * as propRows from './prop-rows.js';
import * as lockRows from './lock-rows.js';
import * as leaseRows from './lease-rows.js';
import * as gcRows from './gc-rows.js';
import * as userRows from './user-rows.js';
import * as shareRows from './share-rows.js';
import { lookupIn, NODE_SELECT, nodeById, requireDir, requireNode, toNode, touchDir, type NodeRecord } from './node-rows.js';
import { copyTree, refuseInsideItself, removeTree, replaceTarget } from './tree-rows.js';
import { addToAncestors, recomputeTreeBytes, treeBytesOf, withinLimits } from './tree-bytes.js';
import {
  ROOT_ID,
  type ChunkExtent,
  type CommitFileRequest,
  type ContentBody,
  type DeadProp,
  type LockRow,
  type MetaStore,
  type NewUser,
  type NodeRow,
  type PropPatch,
  type QuotaLimit,
  type RefcountRepair,
  type ShareRights,
  type ShareRow,
  type TokenRow,
  type UnreferencedChunk,
  type UserChanges,
  type UserRow,
  type UserShare,
} from './meta-store.js';

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

  sync(): Promise<void> {
    return this.db.sync();
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
      return withinLimits(tx, req.limits, () => this.commitInTx(tx, req, existing));
    });
  }

  /**
   * The rows a commit writes are known in full, so the returned node is built rather than read
   * back: with the parent's touch folded into the ancestors' byte update, this keeps the hottest
   * write path at the number of statements it had before folder byte totals.
   */
  private async commitInTx(tx: SqlExecutor, req: CommitFileRequest, existing: NodeRow | undefined): Promise<{ node: NodeRow; created: boolean }> {
    const t = this.now();
    const { size, etag } = req.content;
    const contentId = await contentRows.addContent(tx, req.content);
    if (existing) {
      await addToAncestors(tx, req.parentId, size - existing.size);
      const contentType = req.contentType ?? existing.contentType;
      await tx.run(`UPDATE nodes SET content_id = ?, mtime_ms = ?, ctime_ms = ?, content_type = ? WHERE id = ?`, [contentId, req.mtimeMs, t, contentType, existing.id]);
      if (existing.contentId !== null) await contentRows.releaseContent(tx, existing.contentId, t);
      return { node: { ...existing, contentId, size, treeBytes: size, etag, mtimeMs: req.mtimeMs, ctimeMs: t, contentType }, created: false };
    }
    const contentType = req.contentType ?? null;
    const row = await tx.get<{ id: number }>(
      `INSERT INTO nodes (parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms, content_type)
       VALUES (?, ?, 'file', ?, ?, ?, ?, ?) RETURNING id`,
      [req.parentId, req.name, contentId, req.mtimeMs, t, t, contentType],
    );
    await addToAncestors(tx, req.parentId, size, t);
    const node: NodeRow = {
      id: Number(row!.id),
      parentId: req.parentId,
      name: req.name,
      kind: 'file',
      contentId,
      size,
      treeBytes: size,
      etag,
      mtimeMs: req.mtimeMs,
      birthMs: t,
      ctimeMs: t,
      mode: null,
      uid: null,
      gid: null,
      contentType,
    };
    return { node, created: true };
  }

  readContent(contentId: number): Promise<ContentBody> {
    return contentRows.readContent(this.db, contentId);
  }

  chunksInRange(contentId: number, start: number, end: number): Promise<ChunkExtent[]> {
    return contentRows.chunksInRange(this.db, contentId, start, end);
  }

  knownChunks(hashes: string[]): Promise<Set<string>> {
    return contentRows.knownChunks(this.db, hashes);
  }

  remove(id: number, recursive: boolean): Promise<void> {
    return this.db.transaction(async (tx) => {
      if (id === ROOT_ID) throw new FsError('EACCES', 'the root cannot be removed');
      const node = await requireNode(tx, id);
      if (!recursive && node.kind === 'dir' && (await tx.get('SELECT id FROM nodes WHERE parent_id = ? LIMIT 1', [id]))) {
        throw new FsError('ENOTEMPTY', `"${node.name}" is not empty`);
      }
      const t = this.now();
      await removeTree(tx, node, t);
      await touchDir(tx, node.parentId!, t);
    });
  }

  move(id: number, newParentId: number, newName: string, overwrite: boolean, limits?: QuotaLimit[]): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      const node = await requireNode(tx, id);
      if (id === ROOT_ID) throw new FsError('EINVAL', 'the root cannot be moved');
      await requireDir(tx, newParentId);
      await refuseInsideItself(tx, id, newParentId);
      const existing = await lookupIn(tx, newParentId, newName);
      if (existing?.id === id) return node;
      const t = this.now();
      return withinLimits(tx, limits, async () => {
        if (existing) await replaceTarget(tx, existing, id, newName, overwrite, t);
        await tx.run('UPDATE nodes SET parent_id = ?, name = ?, ctime_ms = ? WHERE id = ?', [newParentId, newName, t, id]);
        await touchDir(tx, node.parentId!, t);
        if (node.parentId !== newParentId) {
          await touchDir(tx, newParentId, t);
          // Common ancestors get both updates, which cancel: simpler than finding where the chains meet.
          const bytes = (await treeBytesOf(tx, id)) ?? 0;
          await addToAncestors(tx, node.parentId!, -bytes);
          await addToAncestors(tx, newParentId, bytes);
        }
        return (await nodeById(tx, id))!;
      });
    });
  }

  copy(id: number, newParentId: number, newName: string, overwrite: boolean, recursive: boolean, limits?: QuotaLimit[]): Promise<NodeRow> {
    return this.db.transaction(async (tx) => {
      const node = await requireNode(tx, id);
      await requireDir(tx, newParentId);
      if (recursive) await refuseInsideItself(tx, id, newParentId);
      const existing = await lookupIn(tx, newParentId, newName);
      if (existing?.id === id) throw new FsError('EINVAL', 'source and destination are the same');
      const t = this.now();
      return withinLimits(tx, limits, async () => {
        if (existing) await replaceTarget(tx, existing, id, newName, overwrite, t);
        const newId = await copyTree(tx, node, newParentId, newName, recursive, t);
        await addToAncestors(tx, newParentId, (await treeBytesOf(tx, newId)) ?? 0);
        await touchDir(tx, newParentId, t);
        return (await nodeById(tx, newId))!;
      });
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
    return propRows.getProps(this.db, id);
  }

  getPropsMany(ids: number[]): Promise<Map<number, DeadProp[]>> {
    return propRows.getPropsMany(this.db, ids);
  }

  patchProps(id: number, ops: PropPatch[]): Promise<void> {
    return this.db.transaction((tx) => propRows.patchProps(tx, id, ops));
  }

  async usedBytes(): Promise<number> {
    return (await treeBytesOf(this.db, ROOT_ID)) ?? 0;
  }

  async treeBytes(id: number): Promise<number> {
    const bytes = await treeBytesOf(this.db, id);
    if (bytes === undefined) throw new FsError('ENOENT', 'no such file or folder');
    return bytes;
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

  listChunks(): AsyncIterable<{ hash: string; size: number; refcount: number }> {
    return contentRows.listChunks(this.db);
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

  repairTreeBytes(): Promise<number> {
    return this.db.transaction((tx) => recomputeTreeBytes(tx));
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

  setPassword(name: string, passwordHash: string, digestHa1: string | null): Promise<void> {
    return userRows.setPassword(this.db, name, passwordHash, digestHa1);
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

  // ---- Shares and grants: the SQL is in share-rows.ts; these only delegate. ----

  createShare(name: string, path: string, nowMs: number): Promise<ShareRow> {
    return this.db.transaction((tx) => shareRows.createShare(tx, name, path, nowMs));
  }

  deleteShare(name: string): Promise<void> {
    return this.db.transaction((tx) => shareRows.deleteShare(tx, name));
  }

  listShares(): Promise<ShareRow[]> {
    return this.db.transaction((tx) => shareRows.listShares(tx));
  }

  grantShare(shareName: string, userName: string, rights: ShareRights): Promise<void> {
    return this.db.transaction((tx) => shareRows.grantShare(tx, shareName, userName, rights));
  }

  revokeShare(shareName: string, userName: string): Promise<boolean> {
    return this.db.transaction((tx) => shareRows.revokeShare(tx, shareName, userName));
  }

  sharesOfUser(userName: string): Promise<UserShare[]> {
    return this.db.transaction((tx) => shareRows.sharesOfUser(tx, userName));
  }
}
