// Schema upgrades on real SQLite files: a database written at version 3 (before folder byte
// totals, Digest HA1s and shares) opens at the current version with its figures computed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_ID } from '../../src/meta/meta-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/meta/schema.js';
import { renderDdl } from '../../src/meta/sql-driver.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';

/** A new database file with the tables of versions 1–3 and schema_version 3, still open. */
async function schemaV3(): Promise<{ file: string; db: SqliteDriver }> {
  const file = join(mkdtempSync(join(tmpdir(), 'davfs-migrate-')), 'meta.db');
  const db = new SqliteDriver(file);
  for (const m of MIGRATIONS.filter((x) => x.version <= 3)) for (const s of m.statements) await db.run(renderDdl(s, db.dialect));
  await db.run(`INSERT INTO settings (key, value) VALUES ('schema_version', '3')`);
  return { file, db };
}

/** Opens the store at `file` (which migrates it), runs `check`, closes. */
async function withStore(file: string, check: (m: SqlMetaStore) => Promise<void>): Promise<void> {
  const m = new SqlMetaStore(new SqliteDriver(file));
  await m.open();
  try {
    await check(m);
  } finally {
    await m.close();
  }
}

/**
 * A version-3 database as that version's code left it: the tree
 *   /docs/a (100 B, chunked)  /docs/sub/b (40 B)  /docs/sub/deep/c (2 B, inline)  /docs/empty/
 *   /top (7 B)  /copy-of-a (the content of /docs/a, shared)
 * and one user.
 */
async function writeV3(): Promise<string> {
  const { file, db } = await schemaV3();
  const node = async (id: number, parent: number | null, name: string, kind: 'file' | 'dir', content: number | null) =>
    db.run('INSERT INTO nodes (id, parent_id, name, kind, content_id, mtime_ms, birth_ms, ctime_ms) VALUES (?, ?, ?, ?, ?, 1, 1, 1)', [id, parent, name, kind, content]);
  const chunk = async (content: number, seq: number, hash: string, offset: number, length: number) => {
    await db.run('INSERT INTO chunks (hash, size, refcount, zero_since_ms) VALUES (?, ?, 1, NULL)', [hash, length]);
    await db.run('INSERT INTO content_chunks (content_id, seq, chunk_hash, "offset", length) VALUES (?, ?, ?, ?, ?)', [content, seq, hash, offset, length]);
  };
  await db.run(`INSERT INTO contents (id, size, etag, inline_data, refcount) VALUES (1, 100, 'e1', NULL, 2), (2, 40, 'e2', NULL, 1),
    (3, 2, 'e3', X'6869', 1), (4, 7, 'e4', NULL, 1)`);
  await chunk(1, 0, 'h1', 0, 60);
  await chunk(1, 1, 'h2', 60, 40);
  await chunk(2, 0, 'h3', 0, 40);
  await chunk(4, 0, 'h4', 0, 7);
  await node(ROOT_ID, null, '', 'dir', null);
  await node(2, ROOT_ID, 'docs', 'dir', null);
  await node(3, 2, 'a', 'file', 1);
  await node(4, 2, 'sub', 'dir', null);
  await node(5, 4, 'b', 'file', 2);
  await node(6, 4, 'deep', 'dir', null);
  await node(7, 6, 'c', 'file', 3);
  await node(8, 2, 'empty', 'dir', null);
  await node(9, ROOT_ID, 'top', 'file', 4);
  await node(10, ROOT_ID, 'copy-of-a', 'file', 1);
  await db.run(`INSERT INTO users (name, password_hash, home, quota_bytes, read_only, created_ms) VALUES ('alice', 'scrypt$x', '/home/alice', 500, 0, 1)`);
  await db.close();
  return file;
}

describe('metadata schema migrations', () => {
  it('upgrades a version-3 database: folder totals computed, users kept without a Digest HA1, shares usable', async () => {
    const file = await writeV3();
    await withStore(file, async (m) => {
      assert.equal(await m.getSetting('schema_version'), String(SCHEMA_VERSION));
      const bytes: Record<string, number> = {};
      for (const [name, id] of Object.entries({ root: ROOT_ID, docs: 2, a: 3, sub: 4, b: 5, deep: 6, c: 7, empty: 8, top: 9, copy: 10 })) {
        bytes[name] = await m.treeBytes(id);
      }
      assert.deepEqual(bytes, { root: 249, docs: 142, a: 100, sub: 42, b: 40, deep: 2, c: 2, empty: 0, top: 7, copy: 100 });
      assert.equal(await m.usedBytes(), 249);
      assert.deepEqual(await m.checkConsistency(), []);

      const alice = await m.getUser('alice');
      assert.deepEqual([alice?.quotaBytes, alice?.digestHa1], [500, null]);
      await m.createShare('docs', '/docs', 2);
      await m.grantShare('docs', 'alice', 'r');
      assert.deepEqual(await m.sharesOfUser('alice'), [{ name: 'docs', path: '/docs', rights: 'r' }]);

      // The totals are maintained from here on.
      await m.commitFile({ parentId: 6, name: 'd', content: { size: 8, etag: 'e5', inline: Buffer.from('12345678'), chunks: [] }, mtimeMs: 2 });
      assert.deepEqual([await m.treeBytes(6), await m.treeBytes(4), await m.treeBytes(2), await m.usedBytes()], [10, 50, 150, 257]);
    });
    // Reopening runs no migration again and keeps the figures.
    await withStore(file, async (m) => {
      assert.equal(await m.usedBytes(), 257);
      assert.deepEqual(await m.checkConsistency(), []);
    });
  });

  it('upgrades an empty version-3 database', async () => {
    const { file, db } = await schemaV3();
    await db.close();
    await withStore(file, async (m) => {
      assert.equal(await m.usedBytes(), 0);
      assert.deepEqual(await m.checkConsistency(), []);
    });
  });
});
