// The metadata schema: every table, column and invariant of the SQL store, and its migrations.
//
// The DDL is written once for every dialect; `{{id}}`, `{{bigint}}` and `{{blob}}` are replaced by
// the dialect (SQLite: INTEGER PRIMARY KEY / INTEGER / BLOB; PostgreSQL: BIGINT GENERATED … IDENTITY
// / BIGINT / BYTEA). Keep the SQL portable: ANSI types, `ON CONFLICT … DO UPDATE`, `RETURNING`,
// `WITH RECURSIVE`; nothing SQLite- or PostgreSQL-only.
//
// Invariants (checked by SqlMetaStore.checkConsistency and, later, `davfs-bridge fsck`):
//  I1  A chunk is durable in the object store before any committed row refers to it
//      (the Vfs uploads, then commits).
//  I2  chunks.refcount = number of content_chunks rows naming that hash; changed in the same
//      transaction as those rows.
//  I3  contents.refcount = number of nodes whose content_id names that content; a content whose
//      refcount drops to 0 is deleted in the same transaction (its content_chunks with it).
//  I4  Every node but the root has a parent that exists and is a directory; (parent_id, name) is
//      unique; there are no cycles (MOVE refuses to move a folder into itself).
//  I5  A file node has exactly one content; a directory node has none.
//  I6  contents.etag is derived from the chunk list (or the inline bytes) alone, so it is strong and
//      equal on every node without reading data (DESIGN.md invariant 5).
//  I7  A folder's nodes.tree_bytes = the sum over its children of a file's contents.size or a
//      folder's tree_bytes (so the logical bytes of every file below it); a file's tree_bytes is 0.
//      Changed in the same transaction as the tree (v4).

export interface Migration {
  version: number;
  description: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'tree, contents, chunks, properties, locks, settings',
    statements: [
      // settings: key/value facts about this store that must never drift between nodes, e.g.
      // `schema_version`, `chunking` (JSON of the FastCDC parameters and gear-table id),
      // `hash_algorithm`. Written once at creation; a node whose code disagrees refuses to start.
      `CREATE TABLE settings (
         key   VARCHAR(200) PRIMARY KEY,
         value TEXT NOT NULL
       )`,

      // chunks: one row per content-addressed object at chunks/<h[0..2]>/<hash> in the bucket.
      //  hash      hex digest of the chunk bytes (algorithm in settings.hash_algorithm)
      //  size      bytes in the chunk
      //  refcount  number of content_chunks rows naming this hash (I2)
      //  zero_since_ms  when refcount last dropped to 0 (NULL while referenced): garbage collection
      //            deletes only chunks unreferenced for longer than its grace period.
      `CREATE TABLE chunks (
         hash          VARCHAR(128) PRIMARY KEY,
         size          {{bigint}} NOT NULL,
         refcount      {{bigint}} NOT NULL,
         zero_since_ms {{bigint}}
       )`,
      `CREATE INDEX chunks_zero_since ON chunks (zero_since_ms)`,

      // contents: an immutable byte sequence, the body of one or more files (COPY shares it).
      //  size        total bytes
      //  etag        strong ETag (I6): hash over the chunk hashes, or over the inline bytes
      //  inline_data the bytes themselves for small files (no object-store round trip); NULL when
      //              the content is made of chunks
      //  refcount    number of nodes using it (I3)
      `CREATE TABLE contents (
         id          {{id}},
         size        {{bigint}} NOT NULL,
         etag        VARCHAR(128) NOT NULL,
         inline_data {{blob}},
         refcount    {{bigint}} NOT NULL
       )`,
      `CREATE INDEX contents_etag ON contents (etag)`,

      // content_chunks: the ordered chunk list of a content.
      //  seq     0-based position; offsets are increasing with seq and contiguous
      //  offset  byte offset of the chunk within the content (so a range read finds its chunks by
      //          index, without summing sizes)
      `CREATE TABLE content_chunks (
         content_id {{bigint}} NOT NULL REFERENCES contents (id),
         seq        {{bigint}} NOT NULL,
         chunk_hash VARCHAR(128) NOT NULL REFERENCES chunks (hash),
         "offset"   {{bigint}} NOT NULL,
         length     {{bigint}} NOT NULL,
         PRIMARY KEY (content_id, seq)
       )`,
      `CREATE INDEX content_chunks_offset ON content_chunks (content_id, "offset")`,
      `CREATE INDEX content_chunks_hash ON content_chunks (chunk_hash)`,

      // nodes: the tree as edges (I4). The root has id 1, parent_id NULL and name ''.
      //  kind        'file' or 'dir'
      //  content_id  the file's current content (I5); NULL for directories
      //  mtime_ms    last modification (getlastmodified, st_mtime), settable by clients
      //  birth_ms    creation time (creationdate)
      //  ctime_ms    last metadata change (st_ctime)
      //  mode, uid, gid  POSIX attributes stored for the FUSE front (NULL = defaults)
      //  content_type    MIME type given at upload (NULL = guess from the name)
      `CREATE TABLE nodes (
         id           {{id}},
         parent_id    {{bigint}} REFERENCES nodes (id),
         name         VARCHAR(1024) NOT NULL,
         kind         VARCHAR(8) NOT NULL,
         content_id   {{bigint}} REFERENCES contents (id),
         mtime_ms     {{bigint}} NOT NULL,
         birth_ms     {{bigint}} NOT NULL,
         ctime_ms     {{bigint}} NOT NULL,
         mode         INTEGER,
         uid          INTEGER,
         gid          INTEGER,
         content_type VARCHAR(255)
       )`,
      `CREATE UNIQUE INDEX nodes_parent_name ON nodes (parent_id, name)`,
      `CREATE INDEX nodes_content ON nodes (content_id)`,

      // props: WebDAV dead properties (RFC 4918 §4), by node, so they travel with MOVE and COPY.
      //  ns, name  the property's expanded XML name
      //  value     the property's inner XML, serialised with its namespace declarations
      `CREATE TABLE props (
         node_id {{bigint}} NOT NULL REFERENCES nodes (id),
         ns      VARCHAR(1024) NOT NULL,
         name    VARCHAR(1024) NOT NULL,
         value   TEXT NOT NULL,
         PRIMARY KEY (node_id, ns, name)
       )`,

      // locks: WebDAV locks (RFC 4918 §6, §9.10), keyed by path since a lock may cover an unmapped
      // URL and does not move with MOVE (§7.4 / §9.9.4). Durable across restarts and shared by
      // every node over one database.
      //  token       the opaquelocktoken/urn:uuid URI
      //  path        the lock root, normalised
      //  depth       0 or -1 (infinity)
      //  scope       'exclusive' or 'shared'
      //  owner_xml   the client's <owner> element, returned verbatim in lockdiscovery
      //  principal   the authenticated user who took it (only they may use the token, §6.4)
      //  timeout_s   the granted timeout in seconds (NULL = infinite)
      //  expires_ms  when it lapses unless refreshed (NULL = never)
      `CREATE TABLE locks (
         token      VARCHAR(200) PRIMARY KEY,
         path       VARCHAR(4096) NOT NULL,
         depth      INTEGER NOT NULL,
         scope      VARCHAR(16) NOT NULL,
         owner_xml  TEXT,
         principal  VARCHAR(255),
         timeout_s  {{bigint}},
         expires_ms {{bigint}},
         created_ms {{bigint}} NOT NULL
       )`,
      `CREATE INDEX locks_path ON locks (path)`,
    ],
  },
  {
    version: 2,
    description: 'job leases',
    statements: [
      // job_leases: who runs a job that must run on one node at a time (garbage collection,
      // DESIGN.md invariant 4 and "Several nodes"). A lease is a row, not a session-bound advisory
      // lock, so it works the same on SQLite and PostgreSQL and a crashed holder's lease lapses by
      // itself. Taken and renewed in one transaction (MetaStore.acquireLease); the holder renews it
      // well before expiry while it works and deletes it when done.
      //  name        the job, e.g. 'gc'
      //  holder      who holds it: host, process id and a random part, unique per run
      //  expires_ms  when it lapses unless renewed; a lapsed lease may be taken by anyone
      `CREATE TABLE job_leases (
         name       VARCHAR(200) PRIMARY KEY,
         holder     VARCHAR(255) NOT NULL,
         expires_ms {{bigint}} NOT NULL
       )`,
    ],
  },
  {
    version: 3,
    description: 'users and access tokens',
    statements: [
      // users: who may log in (DESIGN.md "Auth and tenancy"), managed by `davfs-bridge user …`.
      // No secret is stored, only its slow hash (auth/password.ts).
      //  name           the login name, unique and case-sensitive; 1–64 of [A-Za-z0-9._-], not
      //                 starting with '.' (auth/user-name.ts checks it before any insert)
      //  password_hash  `scrypt$N$r$p$saltB64$hashB64`: the parameters travel with the hash, so
      //                 they can be raised later without invalidating stored passwords
      //  home           the user's root in the tree, a normalised path (core/paths.ts); it need
      //                 not exist yet
      //  quota_bytes    limit on the logical bytes under the home (NULL = no limit; RFC 4331)
      //  read_only      1: every write method is refused (403); 0: read-write
      //  created_ms     when the user was added
      `CREATE TABLE users (
         id            {{id}},
         name          VARCHAR(255) UNIQUE NOT NULL,
         password_hash TEXT NOT NULL,
         home          VARCHAR(4096) NOT NULL,
         quota_bytes   {{bigint}} NULL,
         read_only     INTEGER NOT NULL,
         created_ms    {{bigint}} NOT NULL
       )`,

      // tokens: bearer tokens for scripts, each acting as its user. Only the SHA-256 of the token
      // is stored; a token is 32 random bytes, so (unlike a password) it cannot be guessed and a
      // fast hash is enough, which lets a request find its row by an indexed equality lookup.
      // Deleting a user deletes their tokens in the same transaction.
      //  user_id       the user it acts as
      //  token_hash    hex SHA-256 of the whole token string; its first 12 characters are the
      //                token's public id (shown by `token list`, accepted by `token revoke`)
      //  label         what the token is for, free text (NULL = none)
      //  created_ms    when it was created
      //  last_used_ms  last successful use (NULL = never); written at most occasionally
      `CREATE TABLE tokens (
         id           {{id}},
         user_id      {{bigint}} NOT NULL REFERENCES users (id),
         token_hash   VARCHAR(128) UNIQUE NOT NULL,
         label        VARCHAR(255),
         created_ms   {{bigint}} NOT NULL,
         last_used_ms {{bigint}}
       )`,
      `CREATE INDEX tokens_user ON tokens (user_id)`,
    ],
  },
  {
    version: 4,
    description: 'folder byte totals, Digest HA1, shares and grants',
    statements: [
      // nodes.tree_bytes (I7): for a folder, the logical bytes of every file below it, at any
      // depth; 0 for a file (its size is contents.size). It makes a quota check or an RFC 4331
      // quota-used-bytes one row read instead of a walk of the subtree. Every change to the tree
      // adds its byte delta to the changed node's ancestors (parent up to the root) in the same
      // transaction, with one UPDATE over the parent chain (tree-bytes.ts): commitFile adds the
      // size change, remove subtracts the subtree's bytes, move subtracts them from the old
      // ancestors and adds them to the new ones, copy adds the copy's bytes. A consequence: every
      // write updates the root row; that serialises commits, which SQLite does anyway and which on
      // PostgreSQL costs a row lock held for one short transaction.
      `ALTER TABLE nodes ADD COLUMN tree_bytes {{bigint}} NOT NULL DEFAULT 0`,
      // Existing trees: each file's size is credited to every folder above it (the recursive part
      // climbs one parent per step), then summed per folder. Portable: WITH … UPDATE … FROM runs
      // on SQLite (3.33+) and PostgreSQL.
      `WITH RECURSIVE up (folder_id, bytes) AS (
         SELECT n.parent_id, c.size FROM nodes n JOIN contents c ON c.id = n.content_id
          WHERE n.kind = 'file' AND n.parent_id IS NOT NULL
         UNION ALL
         SELECT p.parent_id, up.bytes FROM up JOIN nodes p ON p.id = up.folder_id
          WHERE p.parent_id IS NOT NULL
       )
       UPDATE nodes SET tree_bytes = totals.bytes
         FROM (SELECT folder_id, SUM(bytes) AS bytes FROM up GROUP BY folder_id) totals
        WHERE nodes.id = totals.folder_id`,

      // users.digest_ha1: MD5(name ":" realm ":" password) in hex, the HA1 of HTTP Digest
      // (RFC 7616 §3.4.2), which lets the server check a Digest response without the password.
      // It is password-equivalent for that realm (anyone holding it can answer Digest
      // challenges), so it is stored only while Digest is enabled and the auth layer computes it
      // when the password is set; NULL = this user cannot log in with Digest (Basic and tokens
      // still work). A change of realm makes every stored HA1 useless until passwords are set again.
      `ALTER TABLE users ADD COLUMN digest_ha1 TEXT`,

      // shares: folders of the tree that users other than their owner may see, each mounted in a
      // grantee's view under its name (DESIGN.md "Auth and tenancy": shared folders with read or
      // read-write rights).
      //  name        unique; the same rules as user names (core/account-name.ts): it becomes a
      //              path segment in each grantee's view
      //  path        the shared folder, a normalised path (core/paths.ts); it need not exist yet
      //  created_ms  when the share was made
      `CREATE TABLE shares (
         id         {{id}},
         name       VARCHAR(255) UNIQUE NOT NULL,
         path       VARCHAR(4096) NOT NULL,
         created_ms {{bigint}} NOT NULL
       )`,

      // grants: who may use a share, and how. One row per (share, user). Deleting a share deletes
      // its grants, and deleting a user deletes their grants (and tokens), in the same
      // transaction, so no grant outlives either side.
      //  rights  'r' (read only) or 'rw' (read and write)
      `CREATE TABLE grants (
         share_id {{bigint}} NOT NULL REFERENCES shares (id),
         user_id  {{bigint}} NOT NULL REFERENCES users (id),
         rights   VARCHAR(2) NOT NULL,
         PRIMARY KEY (share_id, user_id)
       )`,
      `CREATE INDEX grants_user ON grants (user_id)`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
