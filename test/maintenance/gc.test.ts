// Garbage collection over the real stack: it deletes exactly the chunks unreferenced for longer
// than the grace period and the old orphans, never a referenced chunk, never a chunk of a PUT in
// progress, and one node at a time.
//
// Time: rows and objects carry real timestamps; GC gets a clock set an hour (the grace period)
// past a boundary instant, so everything before the boundary is old garbage and everything after
// it is young, without waiting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkStore } from '../../src/chunks/chunk-store.js';
import { chunkKey } from '../../src/chunks/chunk-hash.js';
import { runGc, GC_LEASE, type GcOptions } from '../../src/maintenance/gc.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { SMALL_CHUNKING, bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';

const GRACE = 60 * 60_000;

async function unreferenced(core: TestCore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const c of core.meta.listChunks()) if (c.refcount === 0) out.set(c.hash, c.size);
  return out;
}

async function chunkObjects(core: TestCore): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const o of core.objects.list('chunks/')) keys.add(o.key);
  return keys;
}

async function referencedKeys(core: TestCore): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const c of core.meta.listChunks()) if (c.refcount > 0) keys.add(chunkKey(c.hash));
  return keys;
}

/** A write whose source fails after `bytes`: its chunks are uploaded, never committed (orphans). */
async function abortedWrite(core: TestCore, path: string, bytes: number, seed: number): Promise<void> {
  async function* broken(): AsyncGenerator<Buffer> {
    yield* bytesOf(pseudoRandomBytes(bytes, seed));
    throw new Error('client went away');
  }
  await assert.rejects(core.vfs.write(path, broken()), /client went away/);
}

/** Ends the "old" era: what happened before the returned instant is old once GC's clock is an hour past it. */
async function boundary(): Promise<number> {
  await sleep(5);
  const t = Date.now();
  await sleep(5);
  return t;
}

function gcOptions(core: TestCore, nowMs: number, extra: Partial<GcOptions> = {}): GcOptions {
  return { meta: core.meta, objects: core.objects, graceMs: GRACE, dryRun: false, now: () => nowMs, holder: 'test', ...extra };
}

async function expectFiles(core: TestCore, files: Map<string, Buffer>): Promise<void> {
  for (const [path, data] of files) {
    assert.ok((await readAll((await core.vfs.read(path)).body)).equals(data), `${path} reads back byte-identical`);
  }
}

describe('garbage collection', () => {
  it('deletes exactly the unreferenced chunks and orphans past the grace period, never a referenced one', async () => {
    const core = await makeTestCore();
    try {
      const files = new Map<string, Buffer>();
      const put = async (path: string, data: Buffer) => {
        await core.vfs.write(path, bytesOf(data));
        files.set(path, data);
      };
      for (let i = 0; i < 6; i++) await put(`/f${i}`, pseudoRandomBytes(60_000 + i * 20_000, 10 + i));
      // An edit in the middle: most chunks stay referenced by the new version.
      const edited = Buffer.from(files.get('/f2')!);
      edited.fill(7, 40_000, 41_000);
      await put('/f2', edited);
      await put('/f1', pseudoRandomBytes(50_000, 99)); // replaced entirely
      await core.vfs.remove('/f3');
      files.delete('/f3');
      // Copied then deleted: its chunks stay referenced by the copy.
      await core.vfs.copy('/f4', '/f4-copy');
      files.set('/f4-copy', files.get('/f4')!);
      await core.vfs.remove('/f4');
      files.delete('/f4');
      await abortedWrite(core, '/aborted-old', 200_000, 50);
      const oldGarbage = await unreferenced(core);
      const referencedBefore = await referencedKeys(core);
      const objectsBefore = await chunkObjects(core);
      const orphanKeys = [...objectsBefore].filter((k) => !referencedBefore.has(k) && !oldGarbage.has(k.slice(-64)));
      assert.ok(oldGarbage.size > 5, 'overwrites and deletes left garbage');
      assert.ok(orphanKeys.length > 0, 'the aborted write left orphans');
      let orphanBytes = 0;
      for (const key of orphanKeys) orphanBytes += (await core.objects.head(key))!.size;
      const t = await boundary();

      // Young garbage and young orphans: unreferenced after the boundary.
      await put('/f5', pseudoRandomBytes(40_000, 77));
      await abortedWrite(core, '/aborted-young', 200_000, 51);
      const youngGarbage = [...(await unreferenced(core)).keys()].filter((h) => !oldGarbage.has(h));
      assert.ok(youngGarbage.length > 0);
      const youngOrphans = [...(await chunkObjects(core))].filter((k) => !objectsBefore.has(k) && !youngGarbage.includes(k.slice(-64)));
      const referencedNow = await referencedKeys(core);
      const youngOrphanKeys = youngOrphans.filter((k) => !referencedNow.has(k));
      assert.ok(youngOrphanKeys.length > 0);

      // Before the grace period has passed for anything: nothing goes.
      const first = Math.min(...(await core.meta.unreferencedChunks(Number.MAX_SAFE_INTEGER, '', 1000)).map((c) => c.zeroSinceMs));
      const early = await runGc(gcOptions(core, first + GRACE));
      assert.equal(early.chunksDeleted + early.orphansDeleted, 0);
      const report = await runGc(gcOptions(core, t + GRACE));
      assert.equal(report.skipped, undefined);
      assert.equal(report.chunksDeleted, oldGarbage.size);
      assert.equal(report.orphansDeleted, orphanKeys.length);
      assert.equal(report.keptYoung, youngOrphanKeys.length);
      assert.equal(report.bytesFreed, [...oldGarbage.values()].reduce((n, s) => n + s, 0) + orphanBytes);

      const after = await chunkObjects(core);
      for (const hash of oldGarbage.keys()) assert.ok(!after.has(chunkKey(hash)), `old garbage ${hash} deleted`);
      for (const key of orphanKeys) assert.ok(!after.has(key), `old orphan ${key} deleted`);
      for (const key of referencedNow) assert.ok(after.has(key), `referenced ${key} kept`);
      for (const hash of youngGarbage) assert.ok(after.has(chunkKey(hash)), `young garbage ${hash} kept`);
      for (const key of youngOrphanKeys) assert.ok(after.has(key), `young orphan ${key} kept`);
      assert.deepEqual([...(await unreferenced(core)).keys()].sort(), [...youngGarbage].sort());
      assert.deepEqual(await storeProblems(core), []);
      await expectFiles(core, files);

      // A second run finds nothing more; a day later the young ones go too.
      const again = await runGc(gcOptions(core, t + GRACE));
      assert.equal(again.chunksDeleted + again.orphansDeleted, 0);
      const later = await runGc(gcOptions(core, Date.now() + GRACE + 1));
      assert.equal(later.chunksDeleted, youngGarbage.length);
      assert.equal(later.orphansDeleted, youngOrphanKeys.length);
      assert.deepEqual(await chunkObjects(core), await referencedKeys(core));
      assert.deepEqual(await storeProblems(core), []);
      await expectFiles(core, files);
    } finally {
      await core.close();
    }
  });

  it('reports in a dry run exactly what a real run then deletes, and deletes nothing', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(80_000, 1)));
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(80_000, 2)));
      await abortedWrite(core, '/b', 200_000, 3);
      // Not a chunk key: whoever put it there, GC leaves it alone.
      await core.objects.put('chunks/zz/notes.txt', Buffer.from('not ours'));
      const t = await boundary();
      const objects = await chunkObjects(core);
      const dry = await runGc(gcOptions(core, t + GRACE, { dryRun: true }));
      assert.equal(dry.dryRun, true);
      assert.ok(dry.chunksDeleted > 0 && dry.orphansDeleted > 0);
      assert.deepEqual(await chunkObjects(core), objects);
      assert.equal((await unreferenced(core)).size, dry.chunksDeleted);
      const real = await runGc(gcOptions(core, t + GRACE));
      assert.deepEqual({ ...real, dryRun: true, durationMs: 0 }, { ...dry, durationMs: 0 });
      assert.equal(real.foreignKeys, 1);
      assert.ok(await core.objects.head('chunks/zz/notes.txt'));
      assert.deepEqual(await storeProblems(core), []);
    } finally {
      await core.close();
    }
  });

  it('never deletes a chunk of a PUT in progress, new or re-uploading old garbage', async () => {
    const core = await makeTestCore();
    try {
      const revived = pseudoRandomBytes(120_000, 5);
      await core.vfs.write('/old', bytesOf(revived));
      await core.vfs.remove('/old'); // every chunk of `revived` is now old garbage
      await abortedWrite(core, '/aborted', 200_000, 6);
      const garbage = await unreferenced(core);
      const t = await boundary();

      // The writer has its own ChunkStore without the "uploaded moments ago" memory: in real time
      // that memory (60 s) expires long before the grace period (1 h) does; here GC's clock jumps
      // an hour while the real one moves by milliseconds, so it would skip the re-upload.
      const writerChunks = new ChunkStore(core.objects, core.cache, { stageUploads: false, recentUploadTtlMs: 0 });
      const writer = new Vfs(core.meta, writerChunks, { chunking: SMALL_CHUNKING, inlineMax: 1024, uploadConcurrency: 4, readAhead: 2 });
      const fresh = pseudoRandomBytes(150_000, 7);
      const data = Buffer.concat([revived, fresh]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let reached!: () => void;
      const paused = new Promise<void>((resolve) => (reached = resolve));
      async function* source(): AsyncGenerator<Buffer> {
        yield* bytesOf(data.subarray(0, data.length - 20_000));
        reached();
        await gate; // uploaded most of the file, not committed: the moment GC must respect
        yield* bytesOf(data.subarray(data.length - 20_000));
      }
      const writing = writer.write('/new', source());
      await paused;
      // Let the chunks cut so far finish their PUTs.
      for (let stable = 0, last = -1; stable < 3; ) {
        await writerChunks.idle();
        await sleep(10);
        const n = writerChunks.stats().uploads;
        stable = n === last ? stable + 1 : 0;
        last = n;
      }
      const uploaded = writerChunks.stats().uploads;
      assert.ok(uploaded > 10, `the paused write uploaded ${uploaded} chunks`);

      const report = await runGc(gcOptions(core, t + GRACE));
      assert.equal((await unreferenced(core)).size, 0, 'every old garbage row is gone');
      const objects = await chunkObjects(core);
      release();
      await writing;
      assert.ok((await readAll((await core.vfs.read('/new')).body)).equals(data));
      assert.deepEqual(await storeProblems(core), []);
      // Reading through a cold cache proves the objects themselves are there.
      const cold = await makeTestCore({ objects: core.objects, metaFile: `${core.dir}/meta.db` });
      try {
        assert.ok((await readAll((await cold.vfs.read('/new')).body)).equals(data));
      } finally {
        await cold.meta.close();
      }
      // The old orphans go. The objects the paused PUT wrote (new chunks, and old garbage it
      // uploaded again) are young: all of them stay.
      assert.equal(report.keptYoung, uploaded);
      const revivedKept = [...garbage.keys()].filter((h) => objects.has(chunkKey(h))).length;
      assert.ok(revivedKept >= garbage.size - 2, `${revivedKept} of ${garbage.size} garbage chunks were uploaded again and kept`);
      assert.equal(report.chunksDeleted, garbage.size - revivedKept);
      assert.ok(report.orphansDeleted > 0);
    } finally {
      await core.close();
    }
  });

  it('lets one node at a time run: the lease keeps a second GC out', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/a', bytesOf(pseudoRandomBytes(50_000, 1)));
      await core.vfs.remove('/a');
      const t = await boundary();
      const [one, two] = await Promise.all([runGc(gcOptions(core, t + GRACE, { holder: 'node-1' })), runGc(gcOptions(core, t + GRACE, { holder: 'node-2' }))]);
      const skipped = [one, two].filter((r) => r.skipped !== undefined);
      assert.equal(skipped.length, 1, 'exactly one GC ran');
      assert.match(skipped[0]!.skipped!, /another node holds the lease/);
      assert.ok(one.chunksDeleted + two.chunksDeleted > 0);

      // A lease held elsewhere (a GC running on another node) keeps this one out until it lapses.
      assert.equal(await core.meta.acquireLease(GC_LEASE, 'other-node', 60_000, t), true);
      assert.ok((await runGc(gcOptions(core, t + 59_000))).skipped);
      assert.equal((await runGc(gcOptions(core, t + 60_000))).skipped, undefined);
      // A finished GC gives its lease back at once.
      assert.equal(await core.meta.acquireLease(GC_LEASE, 'other-node', 60_000, t + 60_001), true);
    } finally {
      await core.close();
    }
  });
});
