// WriteBackUploader: background upload of staged chunks, unbounded retries with backoff, bounded
// parallelism, flush with a timeout, stop without waiting for a hung store, never dropping a chunk.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chunkKey, hashChunk } from '../../src/chunks/chunk-hash.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import { WriteBackUploader, type WriteBackOptions } from '../../src/chunks/write-back.js';
import { FlakyStore, gate, waitFor } from '../helpers/flaky-store.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function openCache(dir?: string, maxBytes = 1 << 24): Promise<DiskChunkCache> {
  const d = dir ?? (await mkdtemp(path.join(tmpdir(), 'davfs-write-back-')));
  if (dir === undefined) dirs.push(d);
  const cache = new DiskChunkCache({ dir: d, maxBytes, syncStaging: true });
  await cache.open();
  return cache;
}

function chunk(size = 5000): { hash: string; data: Buffer } {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

/** Fast retries so tests do not wait out real backoffs. */
const FAST: WriteBackOptions = { retryBaseMs: 2, retryMaxMs: 10 };

async function setup(options: WriteBackOptions = {}) {
  const cache = await openCache();
  const objects = new FlakyStore();
  const uploader = new WriteBackUploader(objects, cache, { ...FAST, ...options });
  return { cache, objects, uploader };
}

async function stageAndEnqueue(cache: DiskChunkCache, uploader: WriteBackUploader, c: { hash: string; data: Buffer }, keepInMemory = true) {
  await cache.stage(c.hash, c.data);
  uploader.enqueue(c.hash, keepInMemory ? c.data : undefined);
}

describe('WriteBackUploader', () => {
  it('uploads staged chunks in the background and turns them into cache entries', async () => {
    const uploaded: string[] = [];
    const { cache, objects, uploader } = await setup({ onUploaded: (hash) => uploaded.push(hash) });
    const held = gate();
    objects.hold = held.promise;
    const cs = Array.from({ length: 5 }, () => chunk());
    uploader.start();
    for (const c of cs) await stageAndEnqueue(cache, uploader, c);
    // Nothing is in the store yet; everything is staged, and the queued bytes are in memory.
    assert.deepEqual(await objects.keys(), []);
    assert.deepEqual(cache.listStaged().sort(), cs.map((c) => c.hash).sort());
    for (const c of cs) assert.equal(uploader.has(c.hash), true);
    assert.deepEqual(uploader.peek(cs[4]!.hash), cs[4]!.data);
    held.open();
    assert.equal(await uploader.flush(5000), true);
    for (const c of cs) {
      assert.deepEqual(await objects.get(chunkKey(c.hash)), c.data);
      assert.equal(cache.isStaged(c.hash), false);
      assert.equal(cache.has(c.hash), true, 'promoted into the cache');
      assert.equal(uploader.has(c.hash), false);
      assert.equal(uploader.peek(c.hash), undefined, 'memory released');
    }
    assert.deepEqual(uploaded.sort(), cs.map((c) => c.hash).sort());
    const s = uploader.stats();
    assert.equal(s.uploaded, 5);
    assert.equal(s.bytesUploaded, 5 * 5000);
    assert.equal(s.queued, 0);
    assert.equal(s.active, 0);
    await uploader.stop();
  });

  it('retries without limit while the store is down, and never drops a staged chunk', async () => {
    const retries: { attempt: number; delayMs: number }[] = [];
    const { cache, objects, uploader } = await setup({ onRetry: (_h, _e, attempt, delayMs) => retries.push({ attempt, delayMs }) });
    objects.down = true;
    const c = chunk();
    uploader.start();
    await stageAndEnqueue(cache, uploader, c);
    await waitFor(() => uploader.stats().failedAttempts >= 8, '8 failed attempts');
    assert.equal(cache.isStaged(c.hash), true);
    assert.match(uploader.stats().lastError ?? '', /store is down/);
    // Backoff doubles up to its ceiling, with jitter keeping each delay in [step/2, step].
    for (const { attempt, delayMs } of retries) {
      const step = Math.min(10, 2 * 2 ** (attempt - 1));
      assert.ok(delayMs >= step / 2 - 1 && delayMs <= step, `attempt ${attempt}: ${delayMs} ms`);
    }
    objects.down = false;
    assert.equal(await uploader.flush(5000), true);
    assert.deepEqual(await objects.get(chunkKey(c.hash)), c.data);
    assert.equal(uploader.stats().lastError, undefined);
    assert.equal(cache.isStaged(c.hash), false);
    await uploader.stop();
  });

  it('runs at most `concurrency` PUTs at once', async () => {
    const { cache, objects, uploader } = await setup({ concurrency: 3 });
    const held = gate();
    objects.hold = held.promise;
    uploader.start();
    for (let i = 0; i < 10; i++) await stageAndEnqueue(cache, uploader, chunk(1000));
    await waitFor(() => objects.activePuts === 3, '3 PUTs');
    assert.equal(uploader.stats().active, 3);
    assert.equal(uploader.stats().queued, 7);
    held.open();
    assert.equal(await uploader.flush(5000), true);
    assert.equal(objects.maxActivePuts, 3);
    assert.equal((await objects.keys()).length, 10);
    await uploader.stop();
  });

  it('queues a hash once, and uploads it again when it is staged again during its upload', async () => {
    const { cache, objects, uploader } = await setup();
    const c = chunk();
    await stageAndEnqueue(cache, uploader, c);
    uploader.enqueue(c.hash, c.data);
    assert.equal(uploader.stats().queued, 1);
    const held = gate();
    objects.hold = held.promise;
    uploader.start();
    await waitFor(() => objects.activePuts === 1, 'the PUT');
    // Enqueued while a worker holds it: run again afterwards (nothing to do once promoted).
    uploader.enqueue(c.hash, c.data);
    held.open();
    assert.equal(await uploader.flush(5000), true);
    assert.equal(objects.puts, 1, 'the re-run found it promoted and did not PUT again');
    assert.equal(cache.isStaged(c.hash), false);
    await uploader.stop();
  });

  it('reads the staged file back when the bytes are not kept in memory', async () => {
    const { cache, objects, uploader } = await setup({ memoryBytes: 0 });
    const c = chunk();
    await stageAndEnqueue(cache, uploader, c);
    assert.equal(uploader.peek(c.hash), undefined);
    uploader.start();
    assert.equal(await uploader.flush(5000), true);
    assert.deepEqual(await objects.get(chunkKey(c.hash)), c.data);
    await uploader.stop();
  });

  it('keeps queued bytes in memory only up to memoryBytes', async () => {
    const { cache, uploader } = await setup({ memoryBytes: 12_000 });
    const cs = Array.from({ length: 4 }, () => chunk(5000));
    for (const c of cs) await stageAndEnqueue(cache, uploader, c);
    assert.deepEqual(
      cs.map((c) => uploader.peek(c.hash) !== undefined),
      [true, true, false, false],
    );
    uploader.start();
    assert.equal(await uploader.flush(5000), true);
    await uploader.stop();
  });

  it('reports a staged file that is torn as lost instead of uploading garbage', async () => {
    const lost: string[] = [];
    const { cache, objects, uploader } = await setup({ memoryBytes: 0, onLost: (hash) => lost.push(hash) });
    const c = chunk();
    await stageAndEnqueue(cache, uploader, c, false);
    await truncate(path.join(cache.dir, 'staging', c.hash), 100);
    uploader.start();
    assert.equal(await uploader.flush(5000), true);
    assert.deepEqual(lost, [c.hash]);
    assert.equal(uploader.stats().lost, 1);
    assert.equal(objects.puts, 0);
    await uploader.stop();
  });

  it('flush gives up after its timeout while the store is down; the chunks stay staged', async () => {
    const { cache, objects, uploader } = await setup();
    objects.down = true;
    const c = chunk();
    uploader.start();
    await stageAndEnqueue(cache, uploader, c);
    const started = Date.now();
    assert.equal(await uploader.flush(50), false);
    assert.ok(Date.now() - started < 1000);
    assert.equal(cache.isStaged(c.hash), true);
    assert.equal(uploader.has(c.hash), true);
    await uploader.stop();
  });

  it('flush cuts a long backoff short once the store is back', async () => {
    const { cache, objects, uploader } = await setup({ retryBaseMs: 60_000, retryMaxMs: 60_000 });
    objects.down = true;
    const c = chunk();
    uploader.start();
    await stageAndEnqueue(cache, uploader, c);
    await waitFor(() => uploader.stats().failedAttempts === 1, 'one failure');
    objects.down = false;
    const started = Date.now();
    assert.equal(await uploader.flush(5000), true);
    assert.ok(Date.now() - started < 2000, 'did not wait out the 30–60 s backoff');
    await uploader.stop();
  });

  it('stop() does not wait for a hung PUT; the chunk stays staged and a later start uploads it', async () => {
    const { cache, objects, uploader } = await setup();
    const held = gate();
    objects.hold = held.promise;
    const c = chunk();
    uploader.start();
    await stageAndEnqueue(cache, uploader, c);
    await waitFor(() => objects.activePuts === 1, 'the PUT');
    await uploader.stop();
    assert.equal(cache.isStaged(c.hash), true);
    assert.equal(uploader.has(c.hash), true, 'requeued');
    held.open();
    objects.hold = undefined;
    uploader.start();
    assert.equal(await uploader.flush(5000), true);
    assert.equal(cache.isStaged(c.hash), false);
    assert.deepEqual(await objects.get(chunkKey(c.hash)), c.data);
    await uploader.stop();
  });

  it('after a restart, a new uploader over the same cache uploads what was staged', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'davfs-write-back-'));
    dirs.push(dir);
    const objects = new FlakyStore();
    objects.down = true;
    const first = await openCache(dir);
    const a = new WriteBackUploader(objects, first, FAST);
    const cs = [chunk(), chunk()];
    a.start();
    for (const c of cs) await stageAndEnqueue(first, a, c);
    assert.equal(await a.flush(20), false);
    await a.stop();
    await first.close();

    objects.down = false;
    const second = await openCache(dir);
    const b = new WriteBackUploader(objects, second, FAST);
    for (const hash of second.listStaged()) b.enqueue(hash);
    b.start();
    assert.equal(await b.flush(5000), true);
    for (const c of cs) assert.deepEqual(await objects.get(chunkKey(c.hash)), c.data);
    assert.deepEqual(second.listStaged(), []);
    await b.stop();
  });

  it('waits for a quiet period before uploading, and restarts the wait with each chunk queued', async () => {
    const { cache, objects, uploader } = await setup({ quietMs: 300 });
    uploader.start();
    const t0 = Date.now();
    const cs = Array.from({ length: 4 }, () => chunk());
    for (const c of cs) {
      await stageAndEnqueue(cache, uploader, c);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Chunks kept coming every 100 ms: nothing may have started yet.
    assert.equal(objects.puts, 0);
    await waitFor(() => objects.puts === 4, 'the uploads after the quiet period');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 300 + 300, `uploads began ${elapsed} ms after the first chunk, within the writes' quiet period`);
    assert.equal(await uploader.flush(5000), true);
    assert.deepEqual(cache.listStaged(), []);
    await uploader.stop();
  });

  it('skips the quiet period for flush(), for chunks past eagerBytes, and for replayed chunks', async () => {
    const { cache, objects, uploader } = await setup({ quietMs: 60_000, eagerBytes: 12_000 });
    uploader.start();
    const a = chunk(5000);
    await stageAndEnqueue(cache, uploader, a);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(objects.puts, 0, 'within the quiet period');
    // flush() is a shutdown waiting for the uploads: they start at once.
    assert.equal(await uploader.flush(5000), true);
    assert.equal(objects.puts, 1);
    // Three chunks of 5000 bytes pass eagerBytes: uploads start during the "write".
    const more = [chunk(5000), chunk(5000), chunk(5000)];
    for (const c of more) await stageAndEnqueue(cache, uploader, c);
    await waitFor(() => objects.puts >= 2, 'uploads past eagerBytes');
    // A chunk queued without bytes (replayed at start) does not wait either.
    const replayed = chunk(100);
    await cache.stage(replayed.hash, replayed.data);
    uploader.enqueue(replayed.hash);
    await waitFor(() => !cache.isStaged(replayed.hash), 'the replayed chunk');
    await uploader.stop();
  });

  it('stop() ends a wait for the quiet period at once; the chunk stays staged', async () => {
    const { cache, objects, uploader } = await setup({ quietMs: 60_000 });
    uploader.start();
    const c = chunk();
    await stageAndEnqueue(cache, uploader, c);
    const t0 = Date.now();
    await uploader.stop();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(objects.puts, 0);
    assert.equal(cache.isStaged(c.hash), true);
  });

  it('refuses a concurrency below 1', async () => {
    const cache = await openCache();
    assert.throws(() => new WriteBackUploader(new FlakyStore(), cache, { concurrency: 0 }), RangeError);
  });
});
