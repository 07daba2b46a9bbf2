// SqliteDriver's commit durability: with durableCommits (serve) a write resolves only after an
// fsync of the WAL that began after it committed, one fsync shared by concurrent commits; without
// (the FUSE mount) it resolves at commit and the fsync follows within syncIntervalMs, or at sync().
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
  it('durable commits wait for an fsync of the WAL, which concurrent commits share', async () => {
    const t = driverWithFsyncs();
    try {
      const ddl = t.db.exec('CREATE TABLE t (v INTEGER)');
      await new Promise((r) => setImmediate(r));
      t.finishAll();
      await ddl;
      const first = t.db.run('INSERT INTO t (v) VALUES (1)');
      assert.equal(await settlesSoon(first), false, 'the write waits for its fsync');
      assert.equal(t.fsyncs.length, 1);
      assert.equal(t.fsyncs[0]!.file, join(t.dir, 'meta.db-wal'));
      // Committed meanwhile, though not acknowledged: another reader sees the row.
      assert.equal((await t.db.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n, 1);
      const others = [2, 3, 4].map((v) => t.db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (?)', [v])));
      await new Promise((r) => setImmediate(r));
      assert.equal(t.fsyncs.length, 1, 'commits arriving during an fsync wait for the next one');
      t.fsyncs[0]!.finish();
      await first;
      await new Promise((r) => setImmediate(r));
      assert.equal(t.fsyncs.length, 2, 'one fsync for the three that came during the first');
      assert.equal(await settlesSoon(Promise.all(others)), false);
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
