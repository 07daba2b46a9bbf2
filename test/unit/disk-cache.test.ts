// DiskChunkCache: LRU by bytes, restart re-indexing, staging out of eviction's reach, no corrupt reads.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashChunk } from '../../src/chunks/chunk-hash.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'davfs-disk-cache-'));
  dirs.push(dir);
  return dir;
}

async function openCache(dir: string, maxBytes: number, extra: { verifyHash?: boolean } = {}): Promise<DiskChunkCache> {
  const cache = new DiskChunkCache({ dir, maxBytes, ...extra });
  await cache.open();
  return cache;
}

function chunk(size: number): { hash: string; data: Buffer } {
  const data = randomBytes(size);
  return { hash: hashChunk(data), data };
}

function cachePath(dir: string, hash: string): string {
  return path.join(dir, 'chunks', hash.slice(0, 2), hash);
}

/** Bytes of the files under chunks/, as the disk sees them. */
async function bytesOnDisk(dir: string): Promise<number> {
  const files = await readdir(path.join(dir, 'chunks'), { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(
    files.filter((f) => f.isFile()).map(async (f) => (await stat(path.join(f.parentPath, f.name))).size),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

describe('DiskChunkCache: the cache', () => {
  it('returns what was put, counts hits and misses', async () => {
    const cache = await openCache(await freshDir(), 1 << 20);
    const a = chunk(5000);
    assert.equal(await cache.get(a.hash), undefined);
    await cache.put(a.hash, a.data);
    assert.ok(cache.has(a.hash));
    assert.deepEqual(await cache.get(a.hash), a.data);
    assert.deepEqual(await cache.get(a.hash, 5000), a.data);
    const s = cache.stats();
    assert.equal(s.hits, 2);
    assert.equal(s.misses, 1);
    assert.equal(s.entries, 1);
    assert.equal(s.bytes, 5000);
    await cache.close();
  });

  it('keeps the bytes on disk within the limit, evicting least recently used first', async () => {
    const dir = await freshDir();
    const limit = 20_000;
    const cache = await openCache(dir, limit);
    const keep = chunk(3000);
    await cache.put(keep.hash, keep.data);
    const maxChunk = 4000;
    for (let i = 0; i < 25; i++) {
      const c = chunk(1000 + ((i * 7919) % (maxChunk - 1000)));
      await cache.put(c.hash, c.data);
      assert.ok(await cache.get(keep.hash), 'a chunk used all along is kept');
      assert.ok(cache.stats().bytes <= limit);
      const onDisk = await bytesOnDisk(dir);
      assert.ok(onDisk <= limit + maxChunk, `${onDisk} bytes on disk`);
    }
    assert.equal(await bytesOnDisk(dir), cache.stats().bytes);
    assert.ok(cache.stats().entries < 26);
    await cache.close();
  });

  it('keeps the limit under concurrent puts, within one chunk per put in flight', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 10_000);
    await Promise.all(Array.from({ length: 30 }, () => chunk(1500)).map((c) => cache.put(c.hash, c.data)));
    assert.ok(cache.stats().bytes <= 10_000);
    assert.equal(await bytesOnDisk(dir), cache.stats().bytes);
    await cache.close();
  });

  it('does not keep a chunk larger than the whole cache', async () => {
    const cache = await openCache(await freshDir(), 1000);
    const big = chunk(1001);
    await cache.put(big.hash, big.data);
    assert.equal(cache.has(big.hash), false);
    await cache.close();
  });

  it('stores one file for concurrent puts of the same chunk', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20);
    const a = chunk(3000);
    await Promise.all(Array.from({ length: 5 }, () => cache.put(a.hash, a.data)));
    assert.equal(cache.stats().entries, 1);
    assert.equal(await bytesOnDisk(dir), 3000);
    assert.deepEqual(await readdir(path.join(dir, 'tmp')), []);
    await cache.close();
  });

  it('deletes, and purges down to a low-water mark', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 100_000);
    const chunks = Array.from({ length: 10 }, () => chunk(5000));
    for (const c of chunks) await cache.put(c.hash, c.data);
    await cache.delete(chunks[0]!.hash);
    assert.equal(existsSync(cachePath(dir, chunks[0]!.hash)), false);
    await cache.get(chunks[1]!.hash); // most recently used: survives the purge
    const purged = await cache.purgeTo(12_000);
    assert.deepEqual(purged, { entries: 7, bytes: 35_000 });
    assert.ok(cache.has(chunks[1]!.hash));
    assert.ok(cache.has(chunks[9]!.hash));
    assert.equal(await bytesOnDisk(dir), 10_000);
    await cache.close();
  });
});

describe('DiskChunkCache: restart', () => {
  it('re-indexes the files a previous run left, and removes leftovers', async () => {
    const dir = await freshDir();
    const first = await openCache(dir, 1 << 20);
    const chunks = Array.from({ length: 5 }, () => chunk(2000));
    for (const c of chunks) await first.put(c.hash, c.data);
    await first.close();
    // What a crash can leave behind.
    await writeFile(path.join(dir, 'tmp', 'half-written'), 'x');
    await writeFile(path.join(dir, 'chunks', 'ab', 'not-a-hash'), 'x');
    await mkdir(path.join(dir, 'chunks', 'zz'));
    await writeFile(path.join(dir, 'staging', 'junk'), 'x');

    const second = await openCache(dir, 1 << 20);
    assert.equal(second.stats().entries, 5);
    assert.equal(second.stats().bytes, 10_000);
    for (const c of chunks) assert.deepEqual(await second.get(c.hash), c.data);
    assert.deepEqual(await readdir(path.join(dir, 'tmp')), []);
    assert.equal(existsSync(path.join(dir, 'chunks', 'ab', 'not-a-hash')), false);
    assert.equal(existsSync(path.join(dir, 'chunks', 'zz')), false);
    assert.equal(existsSync(path.join(dir, 'staging', 'junk')), false);
    await second.close();
  });

  it('evicts down to a lowered limit on open, oldest first', async () => {
    const dir = await freshDir();
    const first = await openCache(dir, 1 << 20);
    const chunks = Array.from({ length: 6 }, () => chunk(1000));
    for (const c of chunks) {
      await first.put(c.hash, c.data);
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct mtimes
    }
    await first.close();
    const second = await openCache(dir, 3000);
    assert.equal(second.stats().bytes, 3000);
    assert.deepEqual(
      chunks.map((c) => second.has(c.hash)),
      [false, false, false, true, true, true],
    );
    assert.equal(await bytesOnDisk(dir), 3000);
    await second.close();
  });
});

describe('DiskChunkCache: corrupt files', () => {
  it('does not serve a truncated cache file, and drops it', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20);
    const a = chunk(4000);
    await cache.put(a.hash, a.data);
    await truncate(cachePath(dir, a.hash), 1000);
    assert.equal(await cache.get(a.hash), undefined);
    assert.equal(cache.has(a.hash), false);
    assert.equal(cache.stats().corrupt, 1);
    await cache.close();
    assert.equal(existsSync(cachePath(dir, a.hash)), false);
  });

  it('does not serve a file truncated before a restart when the expected size is given', async () => {
    const dir = await freshDir();
    const first = await openCache(dir, 1 << 20);
    const a = chunk(4000);
    await first.put(a.hash, a.data);
    await first.close();
    await truncate(cachePath(dir, a.hash), 1000); // e.g. renamed but never flushed before a crash
    const second = await openCache(dir, 1 << 20);
    assert.equal(await second.get(a.hash, 4000), undefined);
    assert.equal(second.has(a.hash), false);
    await second.close();
  });

  it('with verifyHash, does not serve a file of the right size with the wrong bytes', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20, { verifyHash: true });
    const a = chunk(4000);
    await cache.put(a.hash, a.data);
    await writeFile(cachePath(dir, a.hash), randomBytes(4000));
    assert.equal(await cache.get(a.hash, 4000), undefined);
    assert.equal(cache.stats().corrupt, 1);
    await cache.close();
  });

  it('readInto fills the caller\'s buffer, and drops a file of the wrong size as get() does', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20);
    const [a, b, c] = [chunk(4000), chunk(3000), chunk(2000)];
    for (const x of [a, b, c]) await cache.put(x.hash, x.data);
    const target = Buffer.alloc(8192, 0xee);
    assert.equal(await cache.readInto(a.hash, 4000, target), true);
    assert.ok(target.subarray(0, 4000).equals(a.data));
    assert.equal(await cache.readInto(chunk(10).hash, 10, target), false, 'a miss');
    await truncate(cachePath(dir, b.hash), 1000);
    assert.equal(await cache.readInto(b.hash, 3000, target), false, 'shorter on disk');
    await writeFile(cachePath(dir, c.hash), Buffer.concat([c.data, Buffer.from('x')]));
    assert.equal(await cache.readInto(c.hash, 2000, target), false, 'longer on disk');
    assert.equal(await cache.readInto(a.hash, 3999, target), false, 'not the size the metadata records');
    assert.deepEqual([a, b, c].map((x) => cache.has(x.hash)), [false, false, false]);
    assert.equal(cache.stats().corrupt, 3);
    await cache.close();
  });

  it('readInto with verifyHash does not serve a file of the right size with the wrong bytes', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20, { verifyHash: true });
    const a = chunk(4000);
    await cache.put(a.hash, a.data);
    const target = Buffer.alloc(4000);
    assert.equal(await cache.readInto(a.hash, 4000, target), true);
    assert.ok(target.equals(a.data));
    await writeFile(cachePath(dir, a.hash), randomBytes(4000));
    assert.equal(await cache.readInto(a.hash, 4000, target), false);
    await cache.close();
  });

  it('does not serve a file removed behind its back', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20);
    const a = chunk(100);
    await cache.put(a.hash, a.data);
    await rm(cachePath(dir, a.hash));
    assert.equal(await cache.get(a.hash), undefined);
    assert.equal(cache.has(a.hash), false);
    await cache.close();
  });
});

describe('DiskChunkCache: staging', () => {
  it('is never touched by eviction or purge', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 5000);
    const staged = Array.from({ length: 3 }, () => chunk(4000));
    for (const s of staged) await cache.stage(s.hash, s.data);
    for (let i = 0; i < 20; i++) {
      const c = chunk(1500);
      await cache.put(c.hash, c.data);
    }
    await cache.purgeTo(0);
    assert.deepEqual(cache.listStaged().sort(), staged.map((s) => s.hash).sort());
    for (const s of staged) assert.deepEqual(await cache.readStaged(s.hash), s.data);
    assert.equal(cache.stats().stagedBytes, 12_000);
    assert.equal(cache.stats().bytes, 0);
    await cache.close();
  });

  it('promotes a staged chunk into the cache by rename, and unstages', async () => {
    const dir = await freshDir();
    const cache = await openCache(dir, 1 << 20);
    const a = chunk(3000);
    const b = chunk(3000);
    await cache.stage(a.hash, a.data);
    await cache.stage(b.hash, b.data);
    await cache.promote(a.hash);
    assert.equal(cache.isStaged(a.hash), false);
    assert.equal(existsSync(path.join(dir, 'staging', a.hash)), false);
    assert.deepEqual(await cache.get(a.hash, 3000), a.data);
    await cache.unstage(b.hash);
    assert.deepEqual(cache.listStaged(), []);
    assert.equal(existsSync(path.join(dir, 'staging', b.hash)), false);
    assert.equal(cache.has(b.hash), false);
    await cache.promote(b.hash); // no longer staged: nothing happens
    assert.equal(cache.has(b.hash), false);
    await cache.close();
  });

  it('survives a restart, and drops a staged file with the wrong content on read', async () => {
    const dir = await freshDir();
    const first = new DiskChunkCache({ dir, maxBytes: 1 << 20, syncStaging: true });
    await first.open();
    const good = chunk(2000);
    const torn = chunk(2000);
    await first.stage(good.hash, good.data);
    await first.stage(torn.hash, torn.data);
    await first.close();
    await truncate(path.join(dir, 'staging', torn.hash), 10);

    const second = await openCache(dir, 1 << 20);
    assert.deepEqual(second.listStaged().sort(), [good.hash, torn.hash].sort());
    assert.deepEqual(await second.readStaged(good.hash), good.data);
    assert.equal(await second.readStaged(torn.hash), undefined);
    assert.deepEqual(second.listStaged(), [good.hash]);
    await second.close();
  });

  it('with syncStaging, stage() leaves fsyncs to syncStaged(), which syncs the chunks named and fails when it cannot', async () => {
    const dir = await freshDir();
    const cache = new DiskChunkCache({ dir, maxBytes: 1 << 20, syncStaging: true });
    await cache.open();
    const [a, b, c, d] = Array.from({ length: 4 }, () => chunk(2000));
    for (const x of [a!, b!, c!, d!]) await cache.stage(x.hash, x.data);
    assert.equal(cache.unsyncedCount, 4);
    // Two commits at once naming a: one fsync, both wait for it; b stays unsynced.
    await Promise.all([cache.syncStaged([a!.hash]), cache.syncStaged([a!.hash, 'f'.repeat(64)])]);
    assert.equal(cache.unsyncedCount, 3);
    // An uploaded (promoted) chunk is durable in the store: nothing left to sync.
    await cache.promote(c!.hash);
    assert.equal(cache.unsyncedCount, 2);
    await cache.syncStaged([c!.hash]);
    // A staged file gone behind the cache's back cannot be made durable: the commit must fail.
    await unlink(path.join(dir, 'staging', d!.hash));
    await assert.rejects(cache.syncStaged([b!.hash, d!.hash]), /ENOENT/);
    assert.equal(cache.unsyncedCount, 1, 'b synced, d still not');
    await cache.close();

    // What an earlier run left staged may never have been fsynced (it stopped before its commit):
    // a commit that finds such a chunk staged syncs it too.
    const reopened = new DiskChunkCache({ dir, maxBytes: 1 << 20, syncStaging: true });
    await reopened.open();
    assert.deepEqual(reopened.listStaged().sort(), [a!.hash, b!.hash].sort());
    assert.equal(reopened.unsyncedCount, 2);
    await reopened.syncStaged([a!.hash, b!.hash]);
    assert.equal(reopened.unsyncedCount, 0);
    await reopened.close();

    const durableMode = await openCache(await freshDir(), 1 << 20);
    await durableMode.stage(a!.hash, a!.data);
    assert.equal(durableMode.unsyncedCount, 0, 'without syncStaging nothing waits for an fsync');
    await durableMode.close();
  });

  it('rejects names that are not chunk hashes', async () => {
    const cache = await openCache(await freshDir(), 1 << 20);
    await assert.rejects(cache.put('../../etc/passwd', Buffer.from('x')), RangeError);
    await assert.rejects(cache.stage('ABC', Buffer.from('x')), RangeError);
    await cache.close();
  });
});
