// The remote client's disk block cache: whole blocks only, LRU by bytes with files deleted on
// eviction, versions dropped at once, and the blocks of an earlier session found again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockCache, versionKey } from '../../src/remote/block-cache.js';

const blockFiles = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => /\.\d+$/.test(n));
const block = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('BlockCache', () => {
  it('returns stored blocks, and misses on unknown ones or a wrong length', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-blocks-'));
    const cache = await BlockCache.open(dir, 1 << 20);
    const v = versionKey('http://h/', '/f', 'etag1');
    await cache.put(v, 0, block(1000, 1));
    assert.deepEqual(await cache.get(v, 0, 1000), block(1000, 1));
    assert.equal(await cache.get(v, 1, 1000), undefined);
    assert.equal(await cache.get(versionKey('http://h/', '/f', 'etag2'), 0, 1000), undefined, 'another ETag is another version');
    assert.equal(await cache.get(v, 0, 999), undefined, 'a block of the wrong length is not used');
    assert.equal(await cache.get(v, 0, 1000), undefined, '… and is dropped');
    const s = cache.stats();
    assert.equal(s.hits, 1);
    assert.equal(s.misses, 4);
    await cache.close();
  });

  it('evicts the least recently used blocks beyond its byte limit, deleting their files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-blocks-'));
    const cache = await BlockCache.open(dir, 3000);
    const v = versionKey('http://h/', '/f', 'e');
    for (let i = 0; i < 3; i++) await cache.put(v, i, block(1000, i));
    assert.ok(await cache.get(v, 0, 1000), 'block 0 is now the most recently used');
    await cache.put(v, 3, block(1000, 3));
    assert.equal(await cache.get(v, 1, 1000), undefined, 'block 1 was the least recently used');
    assert.ok(await cache.get(v, 0, 1000));
    assert.equal(cache.stats().bytes, 3000);
    assert.equal(blockFiles(dir).length, 3);
    await cache.put(v, 9, block(4000, 9));
    assert.equal(await cache.get(v, 9, 4000), undefined, 'a block larger than the cache is not kept');
    assert.equal(blockFiles(dir).length, 3);
    await cache.close();
  });

  it('drops every block of a version at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-blocks-'));
    const cache = await BlockCache.open(dir, 1 << 20);
    const old = versionKey('http://h/', '/f', 'old');
    const other = versionKey('http://h/', '/g', 'old');
    for (let i = 0; i < 4; i++) await cache.put(old, i, block(100, i));
    await cache.put(other, 0, block(100, 7));
    cache.dropVersion(old);
    for (let i = 0; i < 4; i++) assert.equal(await cache.get(old, i, 100), undefined);
    assert.ok(await cache.get(other, 0, 100));
    await new Promise((resolve) => setTimeout(resolve, 50)); // unlinks run in the background
    assert.equal(blockFiles(dir).length, 1);
    await cache.close();
  });

  it('finds the blocks of an earlier session and removes torn temporaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-blocks-'));
    const v = versionKey('http://h/', '/f', 'e');
    const first = await BlockCache.open(dir, 1 << 20);
    await first.put(v, 0, block(500, 5));
    await first.put(v, 1, block(300, 6));
    await first.close();
    mkdirSync(join(dir, v.slice(0, 2)), { recursive: true });
    const torn = join(dir, v.slice(0, 2), `${v}.2.abcd.tmp`);
    writeFileSync(torn, 'half');
    const second = await BlockCache.open(dir, 1 << 20);
    assert.deepEqual(await second.get(v, 0, 500), block(500, 5));
    assert.deepEqual(await second.get(v, 1, 300), block(300, 6));
    assert.equal(second.stats().bytes, 800);
    assert.equal(existsSync(torn), false);
    second.dropVersion(v);
    assert.equal(second.stats().blocks, 0, 'rescanned blocks belong to their version too');
    await second.close();
  });
});
