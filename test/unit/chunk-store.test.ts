// ChunkStore and UploadQueue: durable uploads, dedup, single-flight, verified reads, read-ahead, backpressure.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { chunkKey, hashChunk } from '../../src/chunks/chunk-hash.js';
import { ChunkStore, type ChunkStoreOptions } from '../../src/chunks/chunk-store.js';
import { UploadQueue } from '../../src/chunks/upload-queue.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import { FsError, isFsError } from '../../src/core/errors.js';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from '../../src/store/object-store.js';

/** A Map-based ObjectStore that counts calls and lets a test hold or fail them. */
class CountingStore implements ObjectStore {
  readonly description = 'counting fake';
  readonly objects = new Map<string, Buffer>();
  gets = 0;
  puts = 0;
  activeGets = 0;
  maxActiveGets = 0;
  activePuts = 0;
  maxActivePuts = 0;
  /** When set, every GET and PUT waits for it. */
  gate: Promise<void> | undefined;
  /** Decides, per PUT, whether it fails. */
  failPut: (key: string, n: number) => boolean = () => false;
  /** Decides, per GET, whether it fails. */
  failGet: (key: string, n: number) => boolean = () => false;

  async open(): Promise<void> {}
  /** What each PUT declared, by key. */
  readonly putOptions = new Map<string, PutOptions | undefined>();

  async put(key: string, body: Buffer, options?: PutOptions): Promise<void> {
    const n = ++this.puts;
    this.putOptions.set(key, options);
    this.maxActivePuts = Math.max(this.maxActivePuts, ++this.activePuts);
    try {
      await this.gate;
      if (this.failPut(key, n)) throw new Error(`PUT ${key} refused`);
      this.objects.set(key, Buffer.from(body));
    } finally {
      this.activePuts--;
    }
  }
  /** The `into` buffers GETs were offered, in order. */
  readonly intos: Buffer[] = [];
  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const n = ++this.gets;
    this.maxActiveGets = Math.max(this.maxActiveGets, ++this.activeGets);
    try {
      await this.gate;
      if (this.failGet(key, n)) throw new FsError('EIO', `GET ${key} failed`);
      const data = this.objects.get(key);
      if (data === undefined) throw new FsError('ENOENT', `no object ${key}`);
      // Honours `into` as S3ObjectStore does: the bytes land in the caller's buffer.
      if (options?.into !== undefined) this.intos.push(options.into);
      if (options?.into !== undefined && options.into.length >= data.length) return options.into.subarray(0, data.copy(options.into));
      return Buffer.from(data);
    } finally {
      this.activeGets--;
    }
  }
  async getStream(key: string): Promise<Readable> {
    return Readable.from([await this.get(key)]);
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    const data = this.objects.get(key);
    return data && { key, size: data.length, mtimeMs: 0 };
  }
  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of [...this.objects.keys()].sort()) if (key.startsWith(prefix)) yield (await this.head(key))!;
  }
  async close(): Promise<void> {}
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Polls until `condition` holds (file I/O takes a few event-loop turns). */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function setup(options: ChunkStoreOptions & { cacheBytes?: number } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'davfs-chunk-store-'));
  dirs.push(dir);
  const cache = new DiskChunkCache({ dir, maxBytes: options.cacheBytes ?? 1 << 24 });
  await cache.open();
  const objects = new CountingStore();
  const chunks = new ChunkStore(objects, cache, options);
  return { dir, cache, objects, chunks };
}

function chunk(size = 10_000): { hash: string; data: Buffer } {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

/** Puts a chunk straight into the fake store, as another node would have. */
function storeDirectly(objects: CountingStore, c: { hash: string; data: Buffer }): void {
  objects.objects.set(chunkKey(c.hash), Buffer.from(c.data));
}

describe('ChunkStore.upload', () => {
  it('PUTs the chunk under chunks/<h[0..2]>/<hash>, then serves reads from the cache', async () => {
    const { cache, objects, chunks } = await setup();
    const a = chunk();
    await chunks.upload(a.hash, a.data, { alreadyStored: false });
    assert.equal(objects.puts, 1);
    assert.deepEqual(objects.objects.get(`chunks/${a.hash.slice(0, 2)}/${a.hash}`), a.data);
    // The chunk's name is its SHA-256: declared, so an S3 server verifies the upload against it.
    assert.deepEqual(objects.putOptions.get(`chunks/${a.hash.slice(0, 2)}/${a.hash}`), { sha256: a.hash });
    assert.deepEqual(cache.listStaged(), []);
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
    assert.equal(objects.gets, 0);
    const s = chunks.stats();
    assert.equal(s.bytesToStore, a.data.length);
    assert.equal(s.cacheHits, 1);
    assert.equal(s.uploads, 1);
  });

  it('is durable in the store before it resolves, staged meanwhile', async () => {
    const { cache, objects, chunks } = await setup();
    const held = gate();
    objects.gate = held.promise;
    const a = chunk();
    let done = false;
    const upload = chunks.upload(a.hash, a.data, { alreadyStored: false }).then(() => (done = true));
    await waitFor(() => objects.activePuts === 1, 'the PUT');
    assert.equal(done, false);
    assert.deepEqual(cache.listStaged(), [a.hash]);
    held.open();
    await upload;
    assert.ok(objects.objects.has(chunkKey(a.hash)));
    assert.deepEqual(cache.listStaged(), []);
    assert.ok(cache.has(a.hash));
  });

  it('without staging, uploads from memory and serves the chunk before its cache write lands', async () => {
    const { cache, objects, chunks } = await setup({ stageUploads: false });
    const a = chunk();
    await chunks.upload(a.hash, a.data, { alreadyStored: false });
    assert.ok(objects.objects.has(chunkKey(a.hash)), 'durable when upload() resolves');
    assert.deepEqual(cache.listStaged(), []);
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
    assert.equal(objects.gets, 0);
    await chunks.idle();
    assert.ok(cache.has(a.hash));
  });

  it('does not PUT a chunk the metadata already knows (dedup), but caches it', async () => {
    const { cache, objects, chunks } = await setup();
    const a = chunk();
    await chunks.upload(a.hash, a.data, { alreadyStored: true });
    assert.equal(objects.puts, 0);
    assert.ok(cache.has(a.hash));
    assert.equal(chunks.stats().dedupedUploads, 1);
  });

  it('uploads a chunk once when several writers upload it at the same time', async () => {
    const { objects, chunks } = await setup();
    const held = gate();
    objects.gate = held.promise;
    const a = chunk();
    const uploads = Array.from({ length: 5 }, () => chunks.upload(a.hash, a.data, { alreadyStored: false }));
    await tick();
    held.open();
    await Promise.all(uploads);
    assert.equal(objects.puts, 1);
  });

  it('does not PUT again a chunk it PUT moments ago, unless that memory is disabled', async () => {
    const remembering = await setup();
    const a = chunk();
    await remembering.chunks.upload(a.hash, a.data, { alreadyStored: false });
    await remembering.chunks.upload(a.hash, a.data, { alreadyStored: false });
    assert.equal(remembering.objects.puts, 1);

    const forgetting = await setup({ recentUploadTtlMs: 0 });
    await forgetting.chunks.upload(a.hash, a.data, { alreadyStored: false });
    await forgetting.chunks.upload(a.hash, a.data, { alreadyStored: false });
    assert.equal(forgetting.objects.puts, 2);
  });

  it('rejects with EIO when the PUT fails, leaving nothing staged or cached', async () => {
    const { cache, objects, chunks } = await setup();
    objects.failPut = () => true;
    const a = chunk();
    await assert.rejects(chunks.upload(a.hash, a.data, { alreadyStored: false }), (err) => isFsError(err, 'EIO'));
    assert.deepEqual(cache.listStaged(), []);
    assert.equal(cache.has(a.hash), false);
    // A later attempt is a new upload, not the failed one replayed.
    objects.failPut = () => false;
    await chunks.upload(a.hash, a.data, { alreadyStored: false });
    assert.ok(objects.objects.has(chunkKey(a.hash)));
  });

  it('replays what a previous run left in staging', async () => {
    const { cache, objects, chunks } = await setup();
    const a = chunk();
    await cache.stage(a.hash, a.data);
    assert.equal(await chunks.replayStaged(), 1);
    assert.deepEqual(objects.objects.get(chunkKey(a.hash)), a.data);
    assert.deepEqual(cache.listStaged(), []);
    assert.ok(cache.has(a.hash));
  });
});

describe('ChunkStore.read', () => {
  it('fetches a missing chunk once, verifies it, and caches it', async () => {
    const { cache, objects, chunks } = await setup();
    const a = chunk();
    storeDirectly(objects, a);
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
    assert.equal(objects.gets, 1);
    // The cache is filled in the background; idle() waits for it.
    await chunks.idle();
    assert.ok(cache.has(a.hash));
    const s = chunks.stats();
    assert.equal(s.cacheMisses, 1);
    assert.equal(s.cacheHits, 1);
    assert.equal(s.bytesFromStore, a.data.length);
  });

  it('serves repeated reads and slices from the memory cache, bounded by its size', async () => {
    const { cache, objects, chunks } = await setup({ memoryCacheBytes: 1 << 20 });
    const a = chunk();
    storeDirectly(objects, a);
    await chunks.read(a.hash, a.data.length);
    await chunks.idle();
    await cache.delete(a.hash);
    assert.deepEqual(await chunks.readRange(a.hash, a.data.length, 10, 20), a.data.subarray(10, 20));
    assert.equal(objects.gets, 1, 'served from memory, not fetched again');
    const big = chunk(2 << 20);
    storeDirectly(objects, big);
    await chunks.read(big.hash, big.data.length);
    await chunks.idle();
    await cache.delete(big.hash);
    await chunks.read(big.hash, big.data.length);
    assert.equal(objects.gets, 3, 'a chunk larger than the memory cache is not kept in it');
  });

  it('shares one GET among 10 concurrent readers of a chunk', async () => {
    const { objects, chunks } = await setup();
    const a = chunk();
    storeDirectly(objects, a);
    const held = gate();
    objects.gate = held.promise;
    const reads = Array.from({ length: 10 }, () => chunks.read(a.hash, a.data.length));
    await tick();
    held.open();
    for (const data of await Promise.all(reads)) assert.deepEqual(data, a.data);
    assert.equal(objects.gets, 1);
  });

  it('never serves a corrupt object: wrong bytes or wrong size are EIO, and not cached', async () => {
    const { cache, objects, chunks } = await setup();
    const a = chunk();
    const flipped = Buffer.from(a.data);
    flipped[5000] = flipped[5000]! ^ 1;
    objects.objects.set(chunkKey(a.hash), flipped);
    await assert.rejects(chunks.read(a.hash, a.data.length), (err) => isFsError(err, 'EIO') && /corrupt/.test(err.message));
    assert.equal(cache.has(a.hash), false);

    objects.objects.set(chunkKey(a.hash), a.data.subarray(0, 9000));
    await assert.rejects(chunks.read(a.hash, a.data.length), (err) => isFsError(err, 'EIO'));
    assert.equal(cache.has(a.hash), false);

    storeDirectly(objects, a); // repaired: the next read succeeds
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
  });

  it('with verifyDownloads off, checks a download only by size: same-length corruption comes through', async () => {
    const { cache, objects, chunks } = await setup({ verifyDownloads: false });
    const [a, b] = [chunk(), chunk()];
    const flipped = Buffer.from(a.data);
    flipped[5000] = flipped[5000]! ^ 1;
    objects.objects.set(chunkKey(a.hash), flipped);
    // The trade this setting makes (config/default.yaml verify_downloads), stated so it cannot drift.
    assert.deepEqual(await chunks.read(a.hash, a.data.length), flipped);
    objects.objects.set(chunkKey(b.hash), b.data.subarray(0, 9000));
    await assert.rejects(chunks.read(b.hash, b.data.length), (err) => isFsError(err, 'EIO'));
    assert.equal(cache.has(b.hash), false);
  });

  it('reports a chunk missing from the store as EIO, not ENOENT', async () => {
    const { chunks } = await setup();
    const a = chunk();
    await assert.rejects(chunks.read(a.hash, a.data.length), (err) => isFsError(err, 'EIO') && /missing/.test(err.message));
  });

  it('rejects a reader whose size disagrees while sharing a download', async () => {
    const { objects, chunks } = await setup();
    const a = chunk();
    storeDirectly(objects, a);
    const held = gate();
    objects.gate = held.promise;
    const right = chunks.read(a.hash, a.data.length);
    const wrong = chunks.read(a.hash, a.data.length + 1);
    held.open();
    assert.deepEqual(await right, a.data);
    await assert.rejects(wrong, (err) => isFsError(err, 'EIO'));
  });

  it('re-fetches a chunk whose cache file is corrupt', async () => {
    const { dir, objects, chunks } = await setup();
    const a = chunk();
    await chunks.upload(a.hash, a.data, { alreadyStored: false });
    const { truncate } = await import('node:fs/promises');
    await truncate(path.join(dir, 'chunks', a.hash.slice(0, 2), a.hash), 100);
    assert.deepEqual(await chunks.read(a.hash, a.data.length), a.data);
    assert.equal(objects.gets, 1);
  });
});

describe('ChunkStore.prefetch', () => {
  it('fetches chunks in the background so that later reads hit the cache', async () => {
    const { objects, chunks } = await setup();
    const refs = Array.from({ length: 4 }, () => chunk());
    for (const c of refs) storeDirectly(objects, c);
    chunks.prefetch(refs.map((c) => ({ hash: c.hash, size: c.data.length })));
    await chunks.idle();
    assert.equal(objects.gets, 4);
    for (const c of refs) assert.deepEqual(await chunks.read(c.hash, c.data.length), c.data);
    assert.equal(objects.gets, 4);
    assert.equal(chunks.stats().cacheHits, 4);
    chunks.prefetch(refs.map((c) => ({ hash: c.hash, size: c.data.length }))); // all cached: no GET
    await chunks.idle();
    assert.equal(objects.gets, 4);
  });

  it('downloads into buffers it reuses, lands each chunk on disk, and readers copy it into their own buffer', async () => {
    const { objects, chunks, cache } = await setup({ prefetchConcurrency: 1 });
    const refs = Array.from({ length: 3 }, () => chunk(300_000));
    for (const c of refs) storeDirectly(objects, c);
    for (const c of refs) {
      chunks.prefetch([{ hash: c.hash, size: c.data.length }]);
      await chunks.idle();
      assert.ok(cache.has(c.hash), 'the prefetched chunk is in the disk cache');
    }
    assert.equal(objects.intos.length, 3);
    assert.ok(objects.intos.every((b) => b.buffer === objects.intos[0]!.buffer), 'one download buffer, reused');
    // Reusing the buffer corrupted none of the chunks downloaded into it before.
    for (const c of refs) {
      const target = Buffer.alloc(c.data.length + 10);
      const got = await chunks.readInto(c.hash, c.data.length, target);
      assert.deepEqual(got, c.data);
      assert.equal(got.buffer, target.buffer, 'read from the disk cache into the caller buffer');
    }
    assert.equal(objects.gets, 3);
  });

  it('a reader waiting for a prefetch in flight gets its bytes with no second GET', async () => {
    const { objects, chunks } = await setup();
    const a = chunk(200_000);
    const b = chunk(200_000);
    storeDirectly(objects, a);
    storeDirectly(objects, b);
    const held = gate();
    objects.gate = held.promise;
    chunks.prefetch([a, b].map((c) => ({ hash: c.hash, size: c.data.length })));
    const target = Buffer.alloc(a.data.length + 10);
    const intoA = chunks.readInto(a.hash, a.data.length, target);
    const readB = chunks.read(b.hash, b.data.length);
    await tick();
    held.open();
    const gotA = await intoA;
    assert.deepEqual(gotA, a.data);
    assert.equal(gotA.buffer, target.buffer, "in the caller's buffer");
    assert.equal(chunks.stats().cacheHits, 0, 'copied in as it arrived, not read back from the disk cache');
    assert.deepEqual(await readB, b.data);
    assert.equal(objects.gets, 2);
  });

  it('a reader waiting with its buffer for a prefetch that fails reads the chunk itself', async () => {
    const { objects, chunks } = await setup();
    const flaky = chunk();
    storeDirectly(objects, flaky);
    objects.failGet = (_key, n) => n === 1; // the prefetch's GET fails
    const held = gate();
    objects.gate = held.promise;
    chunks.prefetch([{ hash: flaky.hash, size: flaky.data.length }]);
    const into = chunks.readInto(flaky.hash, flaky.data.length, Buffer.alloc(flaky.data.length));
    await tick();
    held.open();
    assert.deepEqual(await into, flaky.data);
    assert.equal(objects.gets, 2);
  });

  it('keeps a prefetched chunk in memory when the disk cache cannot take it', async () => {
    const { objects, chunks, cache } = await setup({ cacheBytes: 50_000 });
    const a = chunk(100_000); // larger than the whole disk cache
    storeDirectly(objects, a);
    chunks.prefetch([{ hash: a.hash, size: a.data.length }]);
    await chunks.idle();
    assert.equal(cache.has(a.hash), false);
    assert.deepEqual(await chunks.readInto(a.hash, a.data.length, Buffer.alloc(a.data.length)), a.data);
    assert.equal(objects.gets, 1);
  });

  it('runs at most prefetchConcurrency downloads at once', async () => {
    const { objects, chunks } = await setup({ prefetchConcurrency: 2 });
    const refs = Array.from({ length: 6 }, () => chunk(1000));
    for (const c of refs) storeDirectly(objects, c);
    const held = gate();
    objects.gate = held.promise;
    chunks.prefetch(refs.map((c) => ({ hash: c.hash, size: c.data.length })));
    await tick();
    assert.equal(objects.activeGets, 2);
    held.open();
    await chunks.idle();
    assert.equal(objects.maxActiveGets, 2);
    assert.equal(objects.gets, 6);
  });

  it('swallows errors; a read that joined a failed read-ahead retries and succeeds', async () => {
    const { objects, chunks } = await setup();
    const missing = chunk();
    chunks.prefetch([{ hash: missing.hash, size: missing.data.length }]); // not in the store at all
    await chunks.idle();

    const flaky = chunk();
    storeDirectly(objects, flaky);
    objects.failGet = (_key, n) => n === 2; // the prefetch's GET (the second GET of this test) fails
    const held = gate();
    objects.gate = held.promise;
    chunks.prefetch([{ hash: flaky.hash, size: flaky.data.length }]);
    const read = chunks.read(flaky.hash, flaky.data.length); // joins the prefetch
    await tick();
    held.open();
    assert.deepEqual(await read, flaky.data);
    assert.equal(objects.gets, 3);
  });
});

describe('UploadQueue', () => {
  it('holds add() while `concurrency` uploads are in flight (backpressure)', async () => {
    const { objects, chunks } = await setup();
    const held = gate();
    objects.gate = held.promise;
    const queue = new UploadQueue(chunks, 2);
    const all = Array.from({ length: 5 }, () => chunk(2000));
    let added = 0;
    const writer = (async () => {
      for (const c of all) {
        await queue.add(c.hash, c.data, false);
        added++;
      }
    })();
    await waitFor(() => objects.activePuts === 2, 'two PUTs');
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(added, 2, 'the third add() waits for a slot');
    assert.equal(queue.size, 2);
    held.open();
    await writer;
    await queue.drain();
    assert.equal(objects.maxActivePuts, 2);
    assert.equal(objects.puts, 5);
  });

  it('uploads everything and drain() waits for all', async () => {
    const { objects, chunks } = await setup();
    const queue = new UploadQueue(chunks);
    const all = Array.from({ length: 10 }, () => chunk(2000));
    for (const c of all) await queue.add(c.hash, c.data, false);
    await queue.drain();
    assert.equal(queue.size, 0);
    for (const c of all) assert.deepEqual(objects.objects.get(chunkKey(c.hash)), c.data);
    assert.ok(objects.maxActivePuts <= 4);
  });

  it('after a failed upload, drain() rejects with it and no new upload starts', async () => {
    const { objects, chunks } = await setup();
    const all = Array.from({ length: 6 }, () => chunk(2000));
    objects.failPut = (key) => key === chunkKey(all[1]!.hash);
    const queue = new UploadQueue(chunks, 1);
    await queue.add(all[0]!.hash, all[0]!.data, false);
    await queue.add(all[1]!.hash, all[1]!.data, false);
    await queue.add(all[2]!.hash, all[2]!.data, false).catch(() => undefined); // may see the failure already
    await assert.rejects(queue.drain(), (err) => isFsError(err, 'EIO') && err.message.includes(all[1]!.hash));
    const putsAfterFailure = objects.puts;
    await assert.rejects(queue.add(all[3]!.hash, all[3]!.data, false), (err) => isFsError(err, 'EIO'));
    await assert.rejects(queue.drain(), (err) => isFsError(err, 'EIO'));
    assert.equal(objects.puts, putsAfterFailure);
    assert.ok(!objects.objects.has(chunkKey(all[3]!.hash)));
  });

  it('wakes writers waiting for a slot when an upload fails', async () => {
    const { objects, chunks } = await setup();
    const held = gate();
    objects.gate = held.promise;
    objects.failPut = () => true;
    const queue = new UploadQueue(chunks, 1);
    const a = chunk(100);
    const b = chunk(100);
    await queue.add(a.hash, a.data, false);
    const waiting = queue.add(b.hash, b.data, false);
    held.open();
    await assert.rejects(waiting, (err) => isFsError(err, 'EIO'));
    assert.equal(objects.puts, 1);
  });

  it('refuses a concurrency below 1', async () => {
    const { chunks } = await setup();
    assert.throws(() => new UploadQueue(chunks, 0), RangeError);
  });
});
