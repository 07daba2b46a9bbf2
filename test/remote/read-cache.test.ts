// RemoteFileSystem's read path against a real `davfs-bridge serve`, through a recording proxy that
// shows what went over the wire: block cache hits, If-Match on ETags, a changed file detected and
// re-read, read-ahead for sequential readers, one GET per block however many readers, and the
// attribute cache.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteFileSystem } from '../../src/remote/remote-file-system.js';
import { bytesOf, pseudoRandomBytes, readAll } from '../helpers/core.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { startServeTarget, type RemoteTarget } from '../helpers/remote-servers.js';

const BLOCK = 64 * 1024;

describe('RemoteFileSystem reads', () => {
  let target: RemoteTarget;
  let proxy: RecordingProxy;
  /** The client under test, through the proxy, trusting stats for a minute. */
  let fs: RemoteFileSystem;
  /** Another client, straight to the server: changes files behind fs's back. */
  let other: RemoteFileSystem;
  let files = 0;

  before(async () => {
    target = await startServeTarget();
    proxy = await startRecordingProxy(target.url);
    const creds = { user: target.user, password: target.password };
    fs = await RemoteFileSystem.connect({ url: proxy.url, ...creds, blockBytes: BLOCK, readAheadBlocks: 2, cacheBytes: 16 * BLOCK, attrTtlMs: 60_000, cacheDir: mkdtempSync(join(tmpdir(), 'davfs-remote-cache-')) });
    other = await RemoteFileSystem.connect({ url: target.url, ...creds, attrTtlMs: 0, cacheBytes: 0 });
  });
  after(async () => {
    await fs.close();
    await other.close();
    await proxy.close();
    await target.stop();
  });

  const newFile = async (size: number, seed: number) => {
    const path = `/read-${++files}.bin`;
    const data = pseudoRandomBytes(size, seed);
    await other.write(path, bytesOf(data, 50_000));
    return { path, data };
  };
  const read = async (f: RemoteFileSystem, path: string, start?: number, end?: number) =>
    readAll((await f.read(path, start === undefined ? undefined : { start, end: end! })).body);
  const gets = (path: string) => proxy.requests.filter((r) => r.method === 'GET' && r.path === path);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  it('fetches each block once with a ranged, conditional GET, then serves it from the cache', async () => {
    const { path, data } = await newFile(4 * BLOCK - 100, 1);
    assert.ok((await read(fs, path)).equals(data));
    const first = gets(path);
    assert.equal(first.length, 4, 'one GET per block');
    const etag = (await fs.stat(path)).etag;
    for (const g of first) {
      assert.match(String(g.headers.range), /^bytes=\d+-\d+$/);
      assert.equal(g.headers['if-match'], `"${etag}"`);
      assert.equal(g.status, 206);
    }
    await settle(); // blocks reach the disk after their bytes reached the reader
    const hitsBefore = fs.stats().cache!.hits;
    assert.ok((await read(fs, path)).equals(data));
    assert.ok((await read(fs, path, BLOCK - 10, 2 * BLOCK + 10)).equals(data.subarray(BLOCK - 10, 2 * BLOCK + 11)));
    assert.equal(gets(path).length, 4, 'no GET for cached blocks');
    assert.ok(fs.stats().cache!.hits >= hitsBefore + 4);
  });

  it('serves its cached version within the attribute TTL, and detects a change at the first uncached block', async () => {
    const { path, data } = await newFile(3 * BLOCK, 2);
    assert.ok((await read(fs, path, 0, 99)).equals(data.subarray(0, 100)));
    const changed = pseudoRandomBytes(3 * BLOCK, 3);
    await other.write(path, bytesOf(changed));
    // Documented staleness: the stat is trusted for attrTtlMs, so block 0 still comes from the cache.
    assert.ok((await read(fs, path, 0, 99)).equals(data.subarray(0, 100)));
    // Block 2 was never fetched: its GET names the old ETag, the server answers 412, and the read
    // starts again from a fresh stat.
    assert.ok((await read(fs, path, 2 * BLOCK, 2 * BLOCK + 99)).equals(changed.subarray(2 * BLOCK, 2 * BLOCK + 100)));
    const statuses = gets(path).map((g) => g.status);
    assert.equal(statuses[0], 206);
    assert.ok(statuses.includes(412), `the old ETag was refused: ${statuses.join(' ')}`);
    assert.equal(statuses.at(-1), 206);
    assert.ok((await read(fs, path, 0, 99)).equals(changed.subarray(0, 100)), 'the old version is no longer served');
  });

  it('drops the blocks of an old version once a stat shows a new ETag', async () => {
    const fresh = await RemoteFileSystem.connect({ url: target.url, user: target.user, password: target.password, blockBytes: BLOCK, attrTtlMs: 0, cacheBytes: 16 * BLOCK });
    try {
      const { path, data } = await newFile(3 * BLOCK, 4);
      assert.ok((await read(fresh, path)).equals(data));
      await settle();
      assert.equal(fresh.stats().cache!.blocks, 3);
      const changed = pseudoRandomBytes(2 * BLOCK, 5);
      await other.write(path, bytesOf(changed));
      const misses = fresh.stats().cache!.misses;
      assert.ok((await read(fresh, path)).equals(changed));
      assert.equal(fresh.stats().cache!.misses, misses + 2, 'the new version is fetched');
      await settle();
      assert.equal(fresh.stats().cache!.blocks, 2, 'only the new version is cached');
    } finally {
      await fresh.close();
    }
  });

  it('reads ahead of a sequential reader, fetching every block once', async () => {
    const { path, data } = await newFile(8 * BLOCK, 6);
    const piece = 16 * 1024;
    const fetchedBeforeAsked: number[] = [];
    for (let off = 0; off < data.length; off += piece) {
      const block = Math.floor(off / BLOCK);
      if (off % BLOCK === 0 && block > 0) {
        await settle();
        if (gets(path).some((g) => String(g.headers.range).startsWith(`bytes=${block * BLOCK}-`))) fetchedBeforeAsked.push(block);
      }
      assert.ok((await read(fs, path, off, off + piece - 1)).equals(data.subarray(off, off + piece)));
    }
    // The second small read of block 0 already continues the first: read-ahead starts there.
    assert.deepEqual(fetchedBeforeAsked, [1, 2, 3, 4, 5, 6, 7], 'blocks arrive before they are read');
    assert.equal(gets(path).length, 8);
  });

  it('fetches a block once for concurrent readers', async () => {
    const { path, data } = await newFile(BLOCK, 7);
    await fs.stat(path);
    const reads = await Promise.all([0, 1, 2, 3].map((i) => read(fs, path, i * 1000, i * 1000 + 999)));
    reads.forEach((r, i) => assert.ok(r.equals(data.subarray(i * 1000, i * 1000 + 1000))));
    assert.equal(gets(path).length, 1);
  });

  it('answers repeated stats from the attribute cache, which its own changes drop', async () => {
    const path = `/attr-${++files}`;
    await fs.write(path, bytesOf(Buffer.from('one')));
    const propfinds = () => proxy.count('PROPFIND', path);
    const before = propfinds();
    assert.equal((await fs.stat(path)).size, 3);
    assert.equal((await fs.stat(path)).size, 3);
    assert.equal(propfinds(), before, 'the write left a fresh stat behind');
    await fs.writeRange(path, 3, 3, bytesOf(Buffer.from('two')));
    assert.equal((await fs.stat(path)).size, 6);
    await other.write(path, bytesOf(Buffer.from('changed elsewhere')));
    assert.equal((await fs.stat(path)).size, 6, 'changes by others show after the TTL');
    for await (const s of fs.list('/')) if (s.path === path) assert.equal(s.size, 17, 'a listing refreshes its entries');
    assert.equal((await fs.stat(path)).size, 17);
  });
});
