// Metadata snapshots: backup → restore brings back every file, folder and property; the copy is
// consistent while writes go on; old snapshots are pruned; a bad or missing snapshot never
// replaces a database.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { backupMetadata, listSnapshots, restoreMetadata, snapshotKey, SNAPSHOT_PREFIX } from '../../src/maintenance/snapshot.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'davfs-snapshot-'));
const openMeta = (file: string) => new SqlMetaStore(new SqliteDriver(file));
const PROP = { ns: 'urn:test', name: 'colour', value: '<x:colour xmlns:x="urn:test">blue</x:colour>' };

/** A small tree: nested folders, an inline file, chunked files, a copy, a property. */
async function populate(core: TestCore): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>([
    ['/docs/a.bin', pseudoRandomBytes(150_000, 1)],
    ['/docs/deep/b.bin', pseudoRandomBytes(70_000, 2)],
    ['/tiny.txt', Buffer.from('hello')],
    ['/empty', Buffer.alloc(0)],
  ]);
  await core.vfs.mkdir('/docs/deep', { parents: true });
  await core.vfs.mkdir('/empty-folder');
  for (const [path, data] of files) await core.vfs.write(path, bytesOf(data));
  await core.vfs.copy('/docs/a.bin', '/copy.bin');
  files.set('/copy.bin', files.get('/docs/a.bin')!);
  await core.vfs.patchProps('/docs/deep/b.bin', [{ op: 'set', prop: PROP }]);
  return files;
}

async function assertTree(core: TestCore, files: Map<string, Buffer>): Promise<void> {
  for (const [path, data] of files) {
    const got = data.length ? await readAll((await core.vfs.read(path)).body) : Buffer.alloc(0);
    assert.ok(got.equals(data), `${path} byte-identical`);
  }
  assert.equal((await core.vfs.stat('/empty-folder')).kind, 'dir');
  assert.equal((await core.vfs.stat('/docs/deep')).kind, 'dir');
  assert.deepEqual(await core.vfs.getProps('/docs/deep/b.bin'), [PROP]);
  assert.deepEqual(await storeProblems(core), []);
}

describe('metadata snapshots', () => {
  it('backup → restore into a fresh node rebuilds the tree byte for byte', async () => {
    const objects = new MemoryObjectStore();
    const a = await makeTestCore({ objects });
    const files = await populate(a);
    const progress = new Set<string>();
    const report = await backupMetadata({ meta: a.meta, objects, now: () => Date.parse('2030-01-02T03:04:05.678Z'), onProgress: (p) => progress.add(p.phase) });
    assert.equal(report.key, 'meta/snapshots/2030-01-02T03:04:05.678Z.db.gz');
    assert.ok(report.compressedBytes > 0 && report.compressedBytes < report.dbBytes);
    assert.deepEqual([...progress].sort(), ['compress', 'copy', 'upload']);
    const etag = (await a.vfs.stat('/docs/a.bin')).etag;
    await a.meta.close();

    // A new node: nothing local, only the (shared) object store.
    const dir = tmp();
    const metaFile = join(dir, 'restored', 'meta.db');
    const r = await restoreMetadata({ objects, metaFile, force: false, openMeta });
    assert.equal(r.key, report.key);
    assert.equal(r.dbBytes, report.dbBytes);
    assert.match(r.schemaVersion, /^\d+$/);
    const b = await makeTestCore({ objects, dir, metaFile });
    try {
      await assertTree(b, files);
      assert.equal((await b.vfs.stat('/docs/a.bin')).etag, etag);
    } finally {
      await b.close();
    }
  });

  it('makes a consistent copy while writes go on', async () => {
    const objects = new MemoryObjectStore();
    const a = await makeTestCore({ objects });
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await a.vfs.write(`/w/${i % 40}`, bytesOf(pseudoRandomBytes(5000 + (i % 7) * 3000, i + 1)), {}).catch(async (err: unknown) => {
          if ((err as { code?: string }).code !== 'ENOENT') throw err;
          await a.vfs.mkdir('/w');
        });
        written++;
      }
    })();
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push((await backupMetadata({ meta: a.meta, objects, now: () => Date.now() + i })).key);
    writing = false;
    await writer;
    assert.ok(written > 5, 'writes ran during the backups');
    for (const key of keys) {
      const dir = tmp();
      const metaFile = join(dir, 'meta.db');
      await restoreMetadata({ objects, metaFile, force: false, openMeta, key });
      const b = await makeTestCore({ objects, dir, metaFile });
      try {
        assert.deepEqual(await storeProblems(b), [], key);
      } finally {
        await b.close();
      }
    }
    await a.close();
  });

  it('keeps the newest `keep` snapshots and leaves foreign keys alone', async () => {
    const objects = new MemoryObjectStore();
    const a = await makeTestCore({ objects });
    await objects.put(`${SNAPSHOT_PREFIX}README`, Buffer.from('not a snapshot'));
    const t0 = Date.parse('2030-01-01T00:00:00.000Z');
    const reports = [];
    for (let i = 0; i < 5; i++) reports.push(await backupMetadata({ meta: a.meta, objects, now: () => t0 + i * 60_000, keep: 3 }));
    assert.deepEqual(
      (await listSnapshots(objects)).map((s) => s.key),
      [2, 3, 4].map((i) => snapshotKey(t0 + i * 60_000)),
    );
    assert.deepEqual(reports[3]!.deleted, [snapshotKey(t0)]);
    assert.ok(await objects.head(`${SNAPSHOT_PREFIX}README`));
    // A node whose clock runs behind never deletes the snapshot it just wrote.
    const behind = await backupMetadata({ meta: a.meta, objects, now: () => t0 - 86_400_000, keep: 3 });
    assert.ok(await objects.head(behind.key));
    await a.close();
  });

  it('refuses to replace a database without force, and replaces it (and its stale WAL) with force', async () => {
    const objects = new MemoryObjectStore();
    const a = await makeTestCore({ objects });
    const files = await populate(a);
    await backupMetadata({ meta: a.meta, objects, now: Date.now });
    await a.meta.close();

    const dir = tmp();
    const metaFile = join(dir, 'meta.db');
    writeFileSync(metaFile, 'old database');
    writeFileSync(`${metaFile}-wal`, 'a WAL of the old database');
    await assert.rejects(restoreMetadata({ objects, metaFile, force: false, openMeta }), (err: Error) => err.message.includes('EEXIST'));
    assert.equal(readFileSync(metaFile, 'utf8'), 'old database');
    await restoreMetadata({ objects, metaFile, force: true, openMeta });
    assert.equal(existsSync(`${metaFile}-wal`), false);
    const b = await makeTestCore({ objects, dir, metaFile });
    try {
      await assertTree(b, files);
    } finally {
      await b.close();
    }
  });

  it('never replaces a database with a missing or broken snapshot', async () => {
    const objects = new MemoryObjectStore();
    const dir = tmp();
    const metaFile = join(dir, 'meta.db');
    await assert.rejects(restoreMetadata({ objects, metaFile, force: true, openMeta }), /ENOENT: no metadata snapshot/);
    writeFileSync(metaFile, 'precious');

    const bad = async (body: Buffer, why: RegExp) => {
      const key = snapshotKey(Date.now());
      await objects.put(key, body);
      await assert.rejects(restoreMetadata({ objects, metaFile, force: true, openMeta }), why);
      await objects.delete([key]);
      assert.equal(readFileSync(metaFile, 'utf8'), 'precious');
      assert.equal(existsSync(`${metaFile}.restore-${process.pid}`), false, 'no temp file left');
    };
    await bad(Buffer.from('not gzip at all'), /EIO: cannot download snapshot/);
    await bad(gzipSync(Buffer.from('gzip of something that is not SQLite')), /EIO: snapshot .* is not a readable database/);
    // A valid SQLite database that is not ours.
    const foreign = join(dir, 'foreign.db');
    const driver = new SqliteDriver(foreign);
    await driver.exec('CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)');
    await driver.close();
    await bad(gzipSync(readFileSync(foreign)), /no schema_version/);
  });
});
