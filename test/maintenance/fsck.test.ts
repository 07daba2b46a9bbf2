// fsck over the real stack: it finds a deleted object, a corrupted one (same size, wrong bytes:
// only with `deep`), wrong refcounts and orphans; repair fixes the refcounts and removes old
// orphans, and names the files whose chunks are lost.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chunkKey } from '../../src/chunks/chunk-hash.js';
import { runFsck, type FsckOptions } from '../../src/maintenance/fsck.js';
import { GC_LEASE } from '../../src/maintenance/gc.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';

const GRACE = 60 * 60_000;

function fsckOptions(core: TestCore, extra: Partial<FsckOptions> = {}): FsckOptions {
  return { meta: core.meta, objects: core.objects, deep: false, repair: false, graceMs: GRACE, now: Date.now, ...extra };
}

async function chunksOf(core: TestCore, path: string): Promise<string[]> {
  const node = await core.meta.getNode((await core.vfs.stat(path)).id);
  return (await core.meta.readContent(node!.contentId!)).chunks.map((c) => c.hash);
}

/** Tampering goes through a second connection to the SQLite file, as another process would. */
async function tamper(core: TestCore, sql: string, params: (string | number)[]): Promise<void> {
  const db = new SqliteDriver(join(core.dir, 'meta.db'));
  try {
    assert.equal((await db.run(sql, params)).changes, 1);
  } finally {
    await db.close();
  }
}

/** Chunks uploaded by a write whose source failed: objects with no row. */
async function leaveOrphans(core: TestCore, seed: number): Promise<void> {
  async function* broken(): AsyncGenerator<Buffer> {
    yield* bytesOf(pseudoRandomBytes(200_000, seed));
    throw new Error('client went away');
  }
  await assert.rejects(core.vfs.write('/aborted', broken()), /client went away/);
}

describe('fsck', () => {
  it('does not report a chunk still waiting in write-back staging as missing', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/w', bytesOf(pseudoRandomBytes(100_000, 9)));
      const [hash] = await chunksOf(core, '/w');
      await core.objects.delete([chunkKey(hash!)]);
      const pending = await runFsck(fsckOptions(core, { isPending: (h) => h === hash }));
      assert.deepEqual(pending.damaged, []);
      assert.deepEqual(pending.unrepaired, []);
      const elsewhere = await runFsck(fsckOptions(core));
      assert.deepEqual(elsewhere.damaged.map((d) => [d.hash, d.problem, d.files]), [[hash, 'missing', ['/w']]]);
    } finally {
      await core.close();
    }
  });

  it('finds nothing wrong with a healthy store', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(100_000, 1)));
      await core.vfs.mkdir('/d');
      await core.vfs.write('/d/b', bytesOf(pseudoRandomBytes(100_000, 2)));
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(50_000, 3))); // leaves garbage: not a problem
      await leaveOrphans(core, 4); // young orphans: maybe an upload in progress, not a problem
      const report = await runFsck(fsckOptions(core, { deep: true }));
      assert.deepEqual(report.unrepaired, []);
      assert.deepEqual(report.damaged, []);
      assert.deepEqual(report.metadataProblems, []);
      assert.equal(report.orphanCount, 0);
      assert.ok(report.youngOrphans > 0);
      let rows = 0;
      let bytes = 0;
      for await (const c of core.meta.listChunks()) {
        rows++;
        bytes += c.size;
      }
      assert.equal(report.chunksChecked, rows);
      assert.equal(report.bytesVerified, bytes);
    } finally {
      await core.close();
    }
  });

  it('detects a deleted object, a corrupted one (deep only), wrong refcounts and old orphans, and repairs what can be repaired', async () => {
    const core = await makeTestCore();
    try {
      const intact = pseudoRandomBytes(90_000, 13);
      await core.vfs.mkdir('/docs');
      await core.vfs.write('/docs/lost.bin', bytesOf(pseudoRandomBytes(90_000, 10)));
      await core.vfs.write('/corrupt.bin', bytesOf(pseudoRandomBytes(90_000, 11)));
      await core.vfs.write('/counted.bin', bytesOf(pseudoRandomBytes(90_000, 12)));
      await core.vfs.write('/intact.bin', bytesOf(intact));
      await core.vfs.copy('/docs/lost.bin', '/docs/lost-copy.bin');
      // Garbage whose object is already gone (as GC leaves it midway): not damage.
      await core.vfs.write('/garbage.bin', bytesOf(pseudoRandomBytes(30_000, 14)));
      const garbageChunk = (await chunksOf(core, '/garbage.bin'))[0]!;
      await core.vfs.remove('/garbage.bin');
      await core.objects.delete([chunkKey(garbageChunk)]);
      await leaveOrphans(core, 15);

      const missing = (await chunksOf(core, '/docs/lost.bin'))[1]!;
      await core.objects.delete([chunkKey(missing)]);
      const corrupt = (await chunksOf(core, '/corrupt.bin'))[2]!;
      const bad = await core.objects.get(chunkKey(corrupt));
      bad[100] = bad[100]! ^ 0xff;
      await core.objects.put(chunkKey(corrupt), bad); // same size, wrong bytes
      const counted = (await chunksOf(core, '/counted.bin'))[0]!;
      await tamper(core, 'UPDATE chunks SET refcount = refcount + 3 WHERE hash = ?', [counted]);
      const contentId = (await core.meta.getNode((await core.vfs.stat('/intact.bin')).id))!.contentId!;
      await tamper(core, 'UPDATE contents SET refcount = 5 WHERE id = ?', [contentId]);

      // The orphans are old once the clock is past the grace period.
      const later = () => Date.now() + GRACE + 1000;
      const quick = await runFsck(fsckOptions(core, { now: later }));
      assert.deepEqual(
        quick.damaged.map((d) => [d.hash, d.problem, d.files]),
        [[missing, 'missing', ['/docs/lost.bin', '/docs/lost-copy.bin']]],
      );
      assert.ok(quick.metadataProblems.some((p) => p.includes(counted)));
      assert.ok(quick.metadataProblems.some((p) => p.includes(`content ${contentId} has refcount 5`)));
      assert.ok(quick.orphanCount > 0);
      assert.equal(quick.orphans.length, quick.orphanCount);
      assert.deepEqual(quick.repairs, []);
      assert.equal(quick.unrepaired.length, quick.metadataProblems.length + 1 + 1); // + missing chunk + orphans line

      const deep = await runFsck(fsckOptions(core, { now: later, deep: true }));
      assert.deepEqual(
        deep.damaged.map((d) => [d.hash, d.problem, d.files]).sort(),
        [
          [missing, 'missing', ['/docs/lost.bin', '/docs/lost-copy.bin']],
          [corrupt, 'hash', ['/corrupt.bin']],
        ].sort(),
      );

      const repaired = await runFsck(fsckOptions(core, { now: later, deep: true, repair: true }));
      assert.equal(repaired.repairs.length, 2, repaired.repairs.join('\n'));
      assert.match(repaired.repairs[0]!, /1 contents fixed, 0 unused contents dropped, 1 chunks fixed/);
      assert.match(repaired.repairs[1]!, new RegExp(`deleted ${quick.orphanCount} orphan objects`));
      // What is left: the two chunks whose bytes are gone, each with the files it breaks.
      assert.equal(repaired.unrepaired.length, 2, repaired.unrepaired.join('\n'));
      const lostLine = repaired.unrepaired.find((l) => l.includes(missing))!;
      assert.match(lostLine, /missing from the object store; cannot be repaired .*affected files: \/docs\/lost\.bin, \/docs\/lost-copy\.bin/);
      assert.match(repaired.unrepaired.find((l) => l.includes(corrupt))!, /corrupt; cannot be repaired .*affected files: \/corrupt\.bin/);
      assert.deepEqual(await storeProblems(core), [`referenced chunk ${missing} is missing from the object store`]);

      // Nothing else changed: the intact files read back, and a second repair has nothing to do.
      assert.ok((await readAll((await core.vfs.read('/intact.bin')).body)).equals(intact));
      const again = await runFsck(fsckOptions(core, { now: later, deep: true, repair: true }));
      assert.deepEqual(again.repairs, []);
      assert.deepEqual(again.metadataProblems, []);
      assert.equal(again.unrepaired.length, 2);
    } finally {
      await core.close();
    }
  });

  it('repairs nothing while another node holds the gc lease, and says so', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(50_000, 1)));
      const hash = (await chunksOf(core, '/a'))[0]!;
      await tamper(core, 'UPDATE chunks SET refcount = 7 WHERE hash = ?', [hash]);
      assert.equal(await core.meta.acquireLease(GC_LEASE, 'gc-on-another-node', GRACE, Date.now()), true);
      const blocked = await runFsck(fsckOptions(core, { repair: true }));
      assert.deepEqual(blocked.repairs, []);
      assert.match(blocked.unrepaired[0]!, /another node holds the gc lease/);
      assert.ok(blocked.unrepaired.some((l) => l.includes(hash)));
      await core.meta.releaseLease(GC_LEASE, 'gc-on-another-node');
      const done = await runFsck(fsckOptions(core, { repair: true }));
      assert.deepEqual(done.unrepaired, []);
      assert.deepEqual(await storeProblems(core), []);
      // fsck gave the lease back.
      assert.equal(await core.meta.acquireLease(GC_LEASE, 'someone', 1000, Date.now()), true);
    } finally {
      await core.close();
    }
  });

  it("recomputes folder byte totals that disagree with the files below them (I7), so quotas count right again", async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.mkdir('/home/u/docs', { parents: true });
      await core.vfs.write('/home/u/docs/a', bytesOf(pseudoRandomBytes(40_000, 2)));
      await core.vfs.write('/home/u/b', bytesOf(pseudoRandomBytes(1_000, 3)));
      await core.vfs.mkdir('/empty');
      const docs = (await core.vfs.stat('/home/u/docs')).id;
      const empty = (await core.vfs.stat('/empty')).id;
      await tamper(core, 'UPDATE nodes SET tree_bytes = 5 WHERE id = ?', [docs]);
      await tamper(core, 'UPDATE nodes SET tree_bytes = 99 WHERE id = ?', [empty]);
      const found = await runFsck(fsckOptions(core));
      assert.ok(found.metadataProblems.some((p) => p.includes('I7')), found.metadataProblems.join('; '));
      const fixed = await runFsck(fsckOptions(core, { repair: true }));
      assert.ok(fixed.repairs.includes('recomputed folder byte totals: 2 folders fixed'), fixed.repairs.join('; '));
      assert.deepEqual(fixed.unrepaired, []);
      assert.equal(await core.vfs.treeBytes('/home/u/docs'), 40_000);
      assert.equal(await core.vfs.treeBytes('/home/u'), 41_000);
      assert.equal(await core.vfs.treeBytes('/empty'), 0);
      assert.deepEqual(await core.meta.checkConsistency(), []);
    } finally {
      await core.close();
    }
  });
});
