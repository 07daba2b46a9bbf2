// The metadata contract: the tree (with each folder's byte total), file contents as chunk lists,
// dead properties, chunk refcounts, WebDAV lock rows, job leases, users, bearer tokens and shares. SqlMetaStore implements it for
// SQLite (and PostgreSQL through the same SQL); test/contract/meta-store.contract.ts runs against
// every implementation.

export type NodeKind = 'file' | 'dir';

export const ROOT_ID = 1;

export interface NodeRow {
  id: number;
  parentId: number | null;
  name: string;
  kind: NodeKind;
  contentId: number | null;
  /** Logical size in bytes (0 for folders). */
  size: number;
  /** Logical bytes at the node: a file's size, the sum of every file below a folder (schema.ts I7). */
  treeBytes: number;
  /** Strong ETag of the content (null for folders). */
  etag: string | null;
  mtimeMs: number;
  birthMs: number;
  ctimeMs: number;
  mode: number | null;
  uid: number | null;
  gid: number | null;
  contentType: string | null;
}

/** One chunk of a content, where it sits. */
export interface ChunkExtent {
  hash: string;
  offset: number;
  length: number;
}

export interface ContentBody {
  size: number;
  etag: string;
  /** Bytes of a small file stored in the row itself. */
  inline: Buffer | null;
  chunks: ChunkExtent[];
}

/** A new content to commit: either inline bytes or a chunk list (already durable, I1). */
export interface NewContent {
  size: number;
  etag: string;
  inline: Buffer | null;
  chunks: { hash: string; length: number }[];
}

export interface CommitFileRequest {
  parentId: number;
  name: string;
  content: NewContent;
  mtimeMs: number;
  contentType?: string | null;
  /**
   * Commit only if the file's current content is this one (null: only if the file does not exist
   * yet; undefined: unconditionally). Used by partial updates and If-Match.
   */
  expectContentId?: number | null;
  /** Quotas the commit must respect (see QuotaLimit). */
  limits?: QuotaLimit[];
}

/**
 * A byte limit on a subtree, checked inside the transaction of a change: when the change made
 * the tree_bytes of `nodeId` (MetaStore.treeBytes) grow and it now exceeds `maxBytes`, the whole
 * change is rolled back and FsError('ENOSPC') thrown. A change that shrinks or keeps the usage is
 * always allowed, even above the limit (an administrator may lower a quota below current use, and
 * the user must still be able to delete or overwrite with something smaller).
 */
export interface QuotaLimit {
  nodeId: number;
  maxBytes: number;
}

export interface DeadProp {
  ns: string;
  name: string;
  /** Inner XML, with the namespace declarations it needs. */
  value: string;
}

export type PropPatch = { op: 'set'; prop: DeadProp } | { op: 'remove'; ns: string; name: string };

/** A WebDAV lock as stored (schema.ts, table `locks`); RFC 4918 semantics live in locks/. */
export interface LockRow {
  /** The lock token URI (`urn:uuid:…`). */
  token: string;
  /** The lock root, a normalised path (core/paths.ts); it may be unmapped (RFC 4918 §7.3). */
  path: string;
  /** 0, or -1 for infinity. */
  depth: 0 | -1;
  scope: 'exclusive' | 'shared';
  /** The client's `<D:owner>` element, verbatim. */
  ownerXml: string | null;
  /** The user who took the lock; only they may use its token (RFC 4918 §6.4). */
  principal: string | null;
  /** Granted timeout in seconds (null: infinite). */
  timeoutS: number | null;
  /** When the lock lapses unless refreshed (null: never). */
  expiresMs: number | null;
  createdMs: number;
}

/** A chunk row with no references (refcount 0), as garbage collection sees it. */
export interface UnreferencedChunk {
  hash: string;
  size: number;
  /** When its refcount dropped to 0. */
  zeroSinceMs: number;
}

/** What MetaStore.repairRefcounts changed. */
export interface RefcountRepair {
  /** Contents whose refcount was set to the number of nodes using them (I3). */
  contentsFixed: number;
  /** Contents no node uses, deleted with their chunk lists (I3). */
  contentsDropped: number;
  /** Chunks whose refcount was set to the number of references (I2). */
  chunksFixed: number;
  /** Chunks whose zero_since_ms disagreed with their refcount. */
  zeroSinceFixed: number;
}

/** A user as stored (schema.ts, table `users`); only a hash of the password, never the password. */
export interface UserRow {
  id: number;
  /** The login name (unique, case-sensitive; auth/user-name.ts says what is allowed). */
  name: string;
  /** `scrypt$N$r$p$saltB64$hashB64` (auth/password.ts). */
  passwordHash: string;
  /** The user's root, a normalised path (core/paths.ts). */
  home: string;
  /** Limit on logical bytes under the home (null: none). */
  quotaBytes: number | null;
  readOnly: boolean;
  createdMs: number;
  /** HTTP Digest HA1, hex MD5(name:realm:password), kept only while Digest is enabled (null: none). */
  digestHa1: string | null;
}

/** A user to add; `digestHa1` defaults to null. */
export type NewUser = Omit<UserRow, 'id' | 'digestHa1'> & { digestHa1?: string | null };

/** What MetaStore.updateUser may change; an absent field is left as it is. */
export interface UserChanges {
  home?: string;
  quotaBytes?: number | null;
  readOnly?: boolean;
}

/** A bearer token as stored (schema.ts, table `tokens`): its hash, never the token itself. */
export interface TokenRow {
  id: number;
  userName: string;
  /** Hex SHA-256 of the token (auth/password.ts hashToken). */
  tokenHash: string;
  label: string | null;
  createdMs: number;
  lastUsedMs: number | null;
}

/** What a share grants: read only, or read and write. */
export type ShareRights = 'r' | 'rw';

/** A share as stored (schema.ts, tables `shares` and `grants`), with its grants in user-name order. */
export interface ShareRow {
  /** Unique; the rules of user names (core/account-name.ts). */
  name: string;
  /** The shared folder, a normalised path (core/paths.ts); it need not exist. */
  path: string;
  createdMs: number;
  grants: { userName: string; rights: ShareRights }[];
}

/** A share as one grantee sees it. */
export interface UserShare {
  name: string;
  path: string;
  rights: ShareRights;
}

export interface MetaStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Makes every change committed so far durable (see SqliteDriverOptions.durableCommits). */
  sync(): Promise<void>;

  getSetting(key: string): Promise<string | undefined>;
  /** Stores a setting unless it is already set; returns the value in force. */
  initSetting(key: string, value: string): Promise<string>;

  getNode(id: number): Promise<NodeRow | undefined>;
  lookup(parentId: number, name: string): Promise<NodeRow | undefined>;
  /** Children in name order, from after `afterName` (keyset paging for huge folders). */
  listChildren(parentId: number, afterName: string | null, limit: number): Promise<NodeRow[]>;
  /** Nodes from the root down to `id` (root first). */
  ancestors(id: number): Promise<NodeRow[]>;

  /** ENOENT parent missing, ENOTDIR parent is a file, EEXIST name taken. */
  createDir(parentId: number, name: string, timeMs: number): Promise<NodeRow>;
  /**
   * Points (parentId, name) at a new content in one transaction: replaces the old content of an
   * existing file (atomically; its chunk refs are released), or creates the file. EISDIR when the
   * name is a folder, EPRECONDITION when `expectContentId` does not hold, ENOSPC when it would
   * break one of `limits` (then nothing changes, not even refcounts).
   */
  commitFile(req: CommitFileRequest): Promise<{ node: NodeRow; created: boolean }>;
  readContent(contentId: number): Promise<ContentBody>;
  /** The chunks that overlap bytes [start, end] (inclusive) of a content, in order. */
  chunksInRange(contentId: number, start: number, end: number): Promise<ChunkExtent[]>;
  /** Which of these chunk hashes are stored and referenced (so need no upload: dedup). */
  knownChunks(hashes: string[]): Promise<Set<string>>;

  /** Deletes a node and everything below it; ENOTEMPTY for a non-empty folder unless recursive. */
  remove(id: number, recursive: boolean): Promise<void>;
  /**
   * Renames/moves a node. When the target name exists: EEXIST unless `overwrite`, in which case
   * it is removed first (in the same transaction). EINVAL moving a folder into itself. ENOSPC
   * when the move would break one of `limits` (moving bytes into a limited subtree from outside).
   */
  move(id: number, newParentId: number, newName: string, overwrite: boolean, limits?: QuotaLimit[]): Promise<NodeRow>;
  /**
   * Copies a node (a folder with its subtree when `recursive`), sharing contents: no data moves.
   * The copy's bytes count in full towards `limits`, shared contents or not: ENOSPC beyond them.
   */
  copy(id: number, newParentId: number, newName: string, overwrite: boolean, recursive: boolean, limits?: QuotaLimit[]): Promise<NodeRow>;
  setAttributes(id: number, attrs: { mtimeMs?: number; mode?: number | null; uid?: number | null; gid?: number | null }): Promise<NodeRow>;

  getProps(id: number): Promise<DeadProp[]>;
  /** Dead properties of many nodes in one query (PROPFIND over a large folder). */
  getPropsMany(ids: number[]): Promise<Map<number, DeadProp[]>>;
  /** Applies every operation or none (RFC 4918 §9.2: PROPPATCH is atomic). */
  patchProps(id: number, ops: PropPatch[]): Promise<void>;

  /** Logical bytes of every file in the store (the root's tree_bytes: one row read). */
  usedBytes(): Promise<number>;
  /** Logical bytes at a node: a file's size, or the sum of every file below a folder. ENOENT when missing. */
  treeBytes(id: number): Promise<number>;

  // Locks. Every `nowMs` is the caller's clock: a lock whose expiresMs <= nowMs has lapsed and
  // counts nowhere (lookups skip it; createLock and deleteExpiredLocks delete it).

  /**
   * Takes a lock in one transaction, so that the conflict check and the insert are atomic across
   * every process sharing the database: deletes lapsed locks (now = `lock.createdMs`), loads the
   * unexpired locks that may conflict — those rooted at `lock.path`, depth-infinity locks rooted at
   * an ancestor, and for a depth-infinity lock those rooted below it — and calls `conflicts` with
   * them, which throws to refuse (the error propagates and nothing is inserted); then inserts.
   */
  createLock(lock: LockRow, conflicts: (existing: LockRow[]) => void): Promise<void>;
  /** The unexpired lock with this token. */
  getLock(token: string, nowMs: number): Promise<LockRow | undefined>;
  /** Sets a new timeout on an unexpired lock; false when there is none with this token. */
  refreshLock(token: string, timeoutS: number | null, expiresMs: number | null, nowMs: number): Promise<boolean>;
  /** Removes a lock; false when there was none with this token. */
  deleteLock(token: string): Promise<boolean>;
  /** Unexpired locks covering `path`: rooted at it, or depth infinity and rooted at an ancestor. */
  locksCovering(path: string, nowMs: number): Promise<LockRow[]>;
  /** Unexpired locks rooted strictly below `path`. */
  locksBelow(path: string, nowMs: number): Promise<LockRow[]>;
  /** Removes every lock rooted at `path` or below it (after DELETE, or at a MOVE's source); returns how many. */
  deleteLocksWithin(path: string): Promise<number>;
  /** Removes lapsed locks; returns how many. */
  deleteExpiredLocks(nowMs: number): Promise<number>;

  /** Violations of the schema's invariants; empty when consistent. */
  checkConsistency(): Promise<string[]>;
  /** Every chunk row (for checks that every referenced chunk exists in the object store). */
  listChunks(): AsyncIterable<{ hash: string; size: number; refcount: number }>;

  /**
   * Writes a consistent copy of the metadata to `file`, a new database file, while the store stays
   * in use (DESIGN.md "Durability of metadata"). SQLite only: FsError('EINVAL') elsewhere.
   */
  snapshotTo(file: string, onProgress?: (done: number, total: number) => void): Promise<void>;

  // Jobs and maintenance (maintenance/gc.ts, maintenance/fsck.ts). The SQL is in lease-rows.ts
  // and gc-rows.ts.

  /**
   * Takes the lease on job `name` for `holder` until nowMs + ttlMs, in one transaction: when no
   * one holds it, when the holder's lease has lapsed (expires <= nowMs), or when `holder` already
   * holds it (which renews it). False when another holder's lease is still running.
   */
  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it; false when it does not (lapsed and taken over). */
  releaseLease(name: string, holder: string): Promise<boolean>;
  /**
   * Chunk rows with refcount 0 whose zero_since_ms is before `olderThanMs`, in hash order from
   * after `after` ('' for the start), at most `limit` (keyset paging).
   */
  unreferencedChunks(olderThanMs: number, after: string, limit: number): Promise<UnreferencedChunk[]>;
  /**
   * Deletes a chunk row in one transaction if it is still unreferenced since before `olderThanMs`
   * and no content lists it; false when a commit re-referenced it meanwhile (then GC keeps the
   * object). The caller deletes the object afterwards, never before.
   */
  deleteChunkIfUnreferenced(hash: string, olderThanMs: number): Promise<boolean>;
  /** Which of these hashes have a chunk row, referenced or not (an object without one is an orphan). */
  hasChunks(hashes: string[]): Promise<Set<string>>;
  /** Ids of up to `limit` file nodes whose current content lists this chunk (fsck names the damaged files). */
  filesUsingChunk(hash: string, limit: number): Promise<number[]>;
  /**
   * Recomputes every content refcount from the nodes and every chunk refcount from the chunk lists,
   * in one transaction; contents no node uses are deleted, chunks left unreferenced get
   * zero_since_ms = nowMs (fsck --repair).
   */
  repairRefcounts(nowMs: number): Promise<RefcountRepair>;
  /** Recomputes folder byte totals where they disagree with the files below (I7); returns how many were fixed. */
  repairTreeBytes(): Promise<number>;

  // Users and bearer tokens (DESIGN.md "Auth and tenancy"). The SQL is in user-rows.ts; hashing
  // is the caller's job (auth/password.ts): these methods only ever see hashes.

  /** Adds a user; EEXIST when the name is taken. */
  createUser(user: NewUser): Promise<UserRow>;
  getUser(name: string): Promise<UserRow | undefined>;
  /** Every user, in name order. */
  listUsers(): Promise<UserRow[]>;
  /** Replaces a user's password hash and Digest HA1 (null: none); ENOENT when there is no such user. */
  setPassword(name: string, passwordHash: string, digestHa1: string | null): Promise<void>;
  /** Changes a user's home, quota or read-only flag; ENOENT when there is no such user. */
  updateUser(name: string, changes: UserChanges): Promise<UserRow>;
  /** Deletes a user with all their tokens and grants in one transaction; ENOENT when there is no such user. */
  deleteUser(name: string): Promise<void>;
  /** Stores a token's hash for a user; ENOENT when there is no such user, EEXIST for a known hash. */
  createToken(userName: string, tokenHash: string, label: string | null, nowMs: number): Promise<TokenRow>;
  /** A user's tokens, oldest first; ENOENT when there is no such user. */
  listTokens(userName: string): Promise<TokenRow[]>;
  /** The user a token (given by its hash) acts as; undefined for an unknown or revoked token. */
  userByTokenHash(tokenHash: string): Promise<UserRow | undefined>;
  /** Records a token's use at nowMs; false for an unknown token. */
  touchToken(tokenHash: string, nowMs: number): Promise<boolean>;
  /** Deletes one of `userName`'s tokens; false when that user has no token with this hash. */
  revokeToken(userName: string, tokenHash: string): Promise<boolean>;

  // Shares and grants (DESIGN.md "Auth and tenancy": shared folders with read or read-write
  // rights). The SQL is in share-rows.ts. Every unknown share or user name is FsError('ENOENT').

  /**
   * Adds a share of the folder at `path` (normalised here; it need not exist yet). EINVAL for a
   * name that breaks the user-name rules or a bad path, EEXIST when the name is taken.
   */
  createShare(name: string, path: string, nowMs: number): Promise<ShareRow>;
  /** Deletes a share and all its grants in one transaction. */
  deleteShare(name: string): Promise<void>;
  /** Every share with its grants, in name order. */
  listShares(): Promise<ShareRow[]>;
  /** Gives a user rights on a share, replacing any rights they had there. EINVAL for other rights than 'r'/'rw'. */
  grantShare(shareName: string, userName: string, rights: ShareRights): Promise<void>;
  /** Takes a user's grant away; false when they had none on this share. */
  revokeShare(shareName: string, userName: string): Promise<boolean>;
  /** The shares a user was granted, in name order. */
  sharesOfUser(userName: string): Promise<UserShare[]>;
}
