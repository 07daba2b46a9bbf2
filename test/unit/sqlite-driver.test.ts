// SqliteDriver's commit durability: with durableCommits (serve) SQLite fsyncs inside each COMMIT;
// without (the FUSE mount) a write resolves at commit and an fsync of the WAL, shared by the
// callers waiting at once, follows within syncIntervalMs or at sync().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDriver, type SqliteDriverOptions } from '../../src/meta/sqlite-driver.js';

/** A driver on a temporary file whose WAL fsyncs are recorded and finish when the test says. */
function driverWithFsyncs(opts: SqliteDriverOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'davfs-sqlite-driver-'));
  const fsyncs: { file: string; finish: () => void }[] = [];
  const db = new SqliteDriver(join(dir, 'meta.db'), {
    ...opts,
    fsyncWal: (file) => new Promise<void>((finish) => fsyncs.push({ file, finish })),
  });
  const finishAll = () => fsyncs.splice(0).forEach((f) => f.finish());
  const close = async () => {
    finishAll();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { db, fsyncs, finishAll, close, dir };
}

/** Resolves to true when `p` settles within a few event-loop turns. */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe('SqliteDriver commit durability', () => {
  it('durable commits leave the fsync to SQLite (synchronous=FULL): sync() has nothing to do', async () => {
    const t = driverWithFsyncs();
    try {
      await t.db.exec('CREATE TABLE t (v INTEGER)');
      await t.db.run('INSERT INTO t (v) VALUES (1)');
      await t.db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (2)'));
      assert.equal((await t.db.get<{ synchronous: number }>('PRAGMA synchronous'))!.synchronous, 2, 'FULL');
      await t.db.sync();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(t.fsyncs.length, 0);
    } finally {
      await t.close();
    }
  });

  it('deferred commits run with synchronous=NORMAL, and concurrent sync() calls share an fsync', async () => {
    const t = driverWithFsyncs({ durableCommits: false, syncIntervalMs: 60_000 });
    try {
      await t.db.exec('CREATE TABLE t (v INTEGER)');
      assert.equal((await t.db.get<{ synchronous: number }>('PRAGMA synchronous'))!.synchronous, 1, 'NORMAL');
      await t.db.run('INSERT INTO t (v) VALUES (1)');
      const first = t.db.sync();
      assert.equal(t.fsyncs.length, 1);
      assert.equal(t.fsyncs[0]!.file, join(t.dir, 'meta.db-wal'));
      await t.db.run('INSERT INTO t (v) VALUES (2)');
      const others = [t.db.sync(), t.db.sync(), t.db.sync()];
      await new Promise((r) => setImmediate(r));
      assert.equal(t.fsyncs.length, 1, 'callers during an fsync wait for the next one');
      t.fsyncs[0]!.finish();
      await first;
      await new Promise((r) => setImmediate(r));
      assert.equal(t.fsyncs.length, 2, 'one fsync for the three that asked during the first');
      assert.equal(await settlesSoon(Promise.all(others)), false, 'they wait for an fsync that began after they asked');
      t.fsyncs[1]!.finish();
      await Promise.all(others);
    } finally {
      await t.close();
    }
  });

  it('deferred commits resolve at once; sync() and the interval make them durable', async () => {
    const t = driverWithFsyncs({ durableCommits: false, syncIntervalMs: 30 });
    try {
      await t.db.exec('CREATE TABLE t (v INTEGER)');
      await t.db.run('INSERT INTO t (v) VALUES (1)');
      assert.equal(t.fsyncs.length, 0, 'nothing waited for an fsync');
      const synced = t.db.sync();
      assert.equal(t.fsyncs.length, 1);
      assert.equal(await settlesSoon(synced), false, 'sync() waits for the fsync');
      t.finishAll();
      await synced;
      await t.db.sync();
      assert.equal(t.fsyncs.length, 0, 'sync() with no commit since the last fsync does none');
      await t.db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (2)'));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(t.fsyncs.length, 1, 'the interval fsyncs a commit nobody synced');
    } finally {
      await t.close();
    }
  });

  it('fsyncs the real WAL file, and finds nothing to do before any write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-sqlite-driver-'));
    const db = new SqliteDriver(join(dir, 'meta.db'));
    try {
      await db.sync();
      await db.exec('CREATE TABLE t (v INTEGER)');
      await db.run('INSERT INTO t (v) VALUES (1)');
      await db.sync();
      assert.equal((await db.get<{ v: number }>('SELECT v FROM t'))!.v, 1);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
