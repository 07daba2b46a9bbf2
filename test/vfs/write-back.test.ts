// Write-back mode through the Vfs: a write is acknowledged once staged, readable at once, uploaded
// in the background (through store outages), never evicted before upload, flushed at close, and
// replayed after a SIGKILL so the file ends up byte-identical in the object store.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openCore, type Core } from '../../src/app.js';
import { chunkKey, hashChunk } from '../../src/chunks/chunk-hash.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { LocalObjectStore } from '../../src/store/local-store.js';
import { Vfs } from '../../src/vfs/vfs.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';
import { FlakyStore, gate, waitFor } from '../helpers/flaky-store.js';

const WRITER = new URL('../helpers/writeback-writer.ts', import.meta.url).pathname;

type WriteBackCore = TestCore & { objects: FlakyStore };

/** A core in write-back mode over `objects`; `cacheDir` lets a test reopen with an empty cache. */
async function makeWriteBackCore(objects: FlakyStore, opts: { dir?: string; cacheDir?: string; cacheBytes?: number } = {}): Promise<WriteBackCore> {
  return { ...(await makeTestCore({ ...opts, objects, writeBack: true })), objects };
}

async function readFile(vfs: Vfs, path: string): Promise<Buffer> {
  return readAll((await vfs.read(path)).body);
}

/** Reopens the same metadata and store with a new, empty cache: every read must come from the store. */
async function readFromStore(core: WriteBackCore, files: Record<string, Buffer>, cacheDir: string): Promise<void> {
  await core.close();
  const fresh = await makeWriteBackCore(core.objects, { dir: core.dir, cacheDir });
  try {
    for (const [path, data] of Object.entries(files)) {
      assert.ok((await readFile(fresh.vfs, path)).equals(data), `${path} from the store`);
    }
    assert.equal(fresh.chunks.stats().stagedReads, 0);
    assert.ok(fresh.chunks.stats().bytesFromStore > 0);
    assert.deepEqual(await storeProblems(fresh), []);
  } finally {
    await fresh.close();
  }
}

describe('write-back mode', () => {
  it('acknowledges once staged: readable at once with its final size and ETag, byte-identical after the uploads', async () => {
    const objects = new FlakyStore();
    const held = gate();
    objects.hold = held.promise;
    const core = await makeWriteBackCore(objects);
    const data = pseudoRandomBytes(300_000, 1);
    const written = await core.vfs.write('/f', bytesOf(data));
    // Acknowledged with every PUT still held: nothing is in the store, everything is staged.
    assert.deepEqual(await objects.keys(), []);
    const pending = core.chunks.pendingUploads();
    assert.ok(pending.length > 5, `${pending.length} chunks pending`);
    assert.equal(core.cache.stats().stagedEntries, pending.length);
    // Staged without an fsync each, and all fsynced before the commit that acknowledged them.
    assert.equal(core.cache.unsyncedCount, 0);

    // Size and ETag come from the metadata: the same as a durable write of the same bytes.
    const durable = await makeTestCore();
    try {
      await durable.vfs.write('/f', bytesOf(data));
      const expected = await durable.vfs.stat('/f');
      const stat = await core.vfs.stat('/f');
      assert.equal(stat.size, data.length);
      assert.equal(stat.etag, expected.etag);
      assert.equal(written.stat.etag, expected.etag, "the acknowledgement carries it too");
    } finally {
      await durable.close();
    }

    assert.ok((await readFile(core.vfs, '/f')).equals(data), 'read before any upload');
    assert.ok(core.chunks.stats().stagedReads >= pending.length);
    assert.ok((await core.vfs.read('/f', { start: 123_456, end: 234_567 }).then((r) => readAll(r.body))).equals(data.subarray(123_456, 234_568)));
    assert.deepEqual(await storeProblems(core), []);
    assert.ok((await storeProblems({ meta: core.meta, objects: core.objects })).length > 0, 'without the pending set, the staged chunks would count as missing');

    held.open();
    assert.equal(await core.chunks.flush(10_000), true);
    assert.deepEqual(core.chunks.pendingUploads(), []);
    assert.equal(core.chunks.writeBack?.stats().uploaded, pending.length);
    assert.deepEqual(await storeProblems(core), []);
    assert.ok((await readFile(core.vfs, '/f')).equals(data), 'read after the uploads (now cached)');
    await readFromStore(core, { '/f': data }, 'cache2');
  });

  it('keeps accepting writes while the store is down and uploads everything once it is back', async () => {
    const objects = new FlakyStore();
    objects.down = true;
    const core = await makeWriteBackCore(objects);
    const a = pseudoRandomBytes(200_000, 2);
    const c1 = pseudoRandomBytes(150_000, 3);
    const c2 = pseudoRandomBytes(120_000, 4);
    await core.vfs.write('/a', bytesOf(a));
    // Same bytes again: the metadata knows the chunks (still staged) and the new file refers to them.
    const dedupedBefore = core.chunks.stats().dedupedUploads;
    await core.vfs.write('/b', bytesOf(a));
    assert.ok(core.chunks.stats().dedupedUploads > dedupedBefore);
    // Overwritten and deleted before any upload: their staged chunks become unreferenced.
    await core.vfs.write('/c', bytesOf(c1));
    await core.vfs.write('/c', bytesOf(c2));
    await core.vfs.write('/d', bytesOf(pseudoRandomBytes(80_000, 5)));
    await core.vfs.remove('/d');
    // A partial update re-chunks around the edit, reading pending chunks back from staging.
    const patch = pseudoRandomBytes(5000, 6);
    await core.vfs.writeRange('/a', 100_000, patch.length, bytesOf(patch));
    const a2 = Buffer.concat([a.subarray(0, 100_000), patch, a.subarray(105_000)]);

    const files = { '/a': a2, '/b': a, '/c': c2 };
    for (const [path, data] of Object.entries(files)) assert.ok((await readFile(core.vfs, path)).equals(data), `${path} while down`);
    await waitFor(() => (core.chunks.writeBack?.stats().failedAttempts ?? 0) >= 10, 'retries');
    assert.match(core.chunks.writeBack?.stats().lastError ?? '', /store is down/);
    assert.deepEqual(await objects.keys(), []);
    assert.deepEqual(await storeProblems(core), []);
    const staged = core.chunks.pendingUploads();

    objects.down = false;
    assert.equal(await core.chunks.flush(10_000), true);
    assert.deepEqual(core.chunks.pendingUploads(), []);
    // Every staged chunk was uploaded, referenced or not (GC removes the unreferenced ones later).
    assert.deepEqual((await objects.keys()).sort(), staged.map(chunkKey).sort());
    assert.deepEqual(await storeProblems(core), []);
    await readFromStore(core, files, 'cache2');
  });

  it('never evicts staged data, however small the cache', async () => {
    const objects = new FlakyStore();
    objects.down = true;
    const core = await makeWriteBackCore(objects, { cacheBytes: 40_000 });
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 5; i++) files[`/f${i}`] = pseudoRandomBytes(100_000, 10 + i);
    for (const [path, data] of Object.entries(files)) await core.vfs.write(path, bytesOf(data));
    const staged = core.chunks.pendingUploads();
    const stagedBytes = core.cache.stats().stagedBytes;
    assert.ok(stagedBytes > 400_000, `${stagedBytes} bytes staged, ten times the cache limit`);
    await core.cache.purgeTo(0);
    for (let round = 0; round < 2; round++) {
      for (const [path, data] of Object.entries(files)) assert.ok((await readFile(core.vfs, path)).equals(data), path);
    }
    assert.deepEqual(core.chunks.pendingUploads().sort(), staged.sort());
    assert.equal(core.cache.stats().stagedBytes, stagedBytes);
    assert.ok(core.cache.stats().bytes <= 40_000);

    objects.down = false;
    assert.equal(await core.chunks.flush(10_000), true);
    assert.equal(core.cache.stats().stagedEntries, 0);
    // Promoted into the cache as they were uploaded, evicting each other: still within the limit.
    assert.ok(core.cache.stats().bytes <= 40_000);
    for (const [path, data] of Object.entries(files)) assert.ok((await readFile(core.vfs, path)).equals(data), `${path} after upload`);
    assert.deepEqual(await storeProblems(core), []);
    await core.close();
  });

  it('a restart with the store still down keeps serving staged data, and uploads it later', async () => {
    const objects = new FlakyStore();
    objects.down = true;
    const first = await makeWriteBackCore(objects);
    const data = pseudoRandomBytes(250_000, 20);
    await first.vfs.write('/f', bytesOf(data));
    assert.equal(await first.chunks.flush(50), false, 'flush gives up while the store is down');
    await first.close();

    const second = await makeWriteBackCore(objects, { dir: first.dir });
    assert.ok(second.chunks.pendingUploads().length > 0);
    assert.ok((await readFile(second.vfs, '/f')).equals(data));
    objects.down = false;
    assert.equal(await second.chunks.flush(10_000), true);
    assert.deepEqual(await storeProblems(second), []);
    await readFromStore(second, { '/f': data }, 'cache2');
  });
});

describe('write-back mode through the composition root', () => {
  const open = (dir: string, mode: 'durable' | 'writeback'): Promise<Core> =>
    openCore(loadConfig({ env: {}, flags: { data: dir, write_mode: mode } }), createLogger('silent'));

  async function chunkObjects(dir: string): Promise<string[]> {
    const store = new LocalObjectStore(join(dir, 'objects'));
    const keys: string[] = [];
    for await (const info of store.list('chunks/')) keys.push(info.key);
    return keys;
  }

  it('uploads everything when the core closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-write-back-app-'));
    const core = await open(dir, 'writeback');
    const data = pseudoRandomBytes(3 << 20, 30);
    await core.vfs.write('/f', bytesOf(data, 1 << 20));
    await core.close();
    assert.deepEqual(readdirSync(join(dir, 'cache', 'staging')), []);
    assert.ok((await chunkObjects(dir)).length >= 1);
    rmSync(join(dir, 'cache'), { recursive: true });
    const reopened = await open(dir, 'durable');
    try {
      assert.ok((await readFile(reopened.vfs, '/f')).equals(data));
      assert.ok(reopened.chunks.stats().bytesFromStore >= data.length);
    } finally {
      await reopened.close();
    }
  });

  it('durable mode uploads what a write-back run left staged instead of dropping it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-write-back-app-'));
    const cache = new DiskChunkCache({ dir: join(dir, 'cache'), maxBytes: 1 << 20, syncStaging: true });
    await cache.open();
    const leftover = pseudoRandomBytes(50_000, 31);
    const hash = hashChunk(leftover);
    await cache.stage(hash, leftover);
    await cache.close();
    const core = await open(dir, 'durable');
    try {
      assert.deepEqual(core.chunks.pendingUploads(), []);
      assert.ok((await core.objects.get(chunkKey(hash))).equals(leftover));
    } finally {
      await core.close();
    }
  });
});

/** Runs the write-back writer child; SIGKILLs it at commit or once it reported `killAfter` bytes. */
function runWriter(dir: string, path: string, size: number, seed: number, killAfter: number | 'commit'): Promise<{ committed: boolean; pendingAtCommit: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, path, String(size), String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let committed = false;
    let pendingAtCommit = 0;
    let killed = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const commit = /^committed (\d+)$/.exec(line);
      const progress = /^progress (\d+)$/.exec(line);
      if (commit) {
        committed = true;
        pendingAtCommit = Number(commit[1]);
      }
      if (!killed && (commit ? killAfter === 'commit' : progress && killAfter !== 'commit' && Number(progress[1]) >= killAfter)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (${String(signal)})`));
      else resolve({ committed, pendingAtCommit });
    });
  });
}

describe('write-back crash safety', () => {
  const open = (dir: string, mode: 'durable' | 'writeback'): Promise<Core> =>
    openCore(loadConfig({ env: {}, flags: { data: dir, write_mode: mode } }), createLogger('silent'));

  it('SIGKILL after the acknowledgement and before the upload: the restart uploads it, byte-identical', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-write-back-crash-'));
    const size = 6 << 20;
    const data = Buffer.concat(Array.from({ length: 6 }, (_, i) => pseudoRandomBytes(1 << 20, 41 + i * (1 << 20))));
    const r = await runWriter(dir, '/big', size, 41, 'commit');
    assert.ok(r.committed);
    assert.ok(r.pendingAtCommit >= 2, `${r.pendingAtCommit} chunks pending at the acknowledgement`);
    // Killed before any upload finished: the only copy is the fsynced staging area.
    const store = new LocalObjectStore(join(dir, 'objects'));
    const before: string[] = [];
    for await (const info of store.list('chunks/')) before.push(info.key);
    assert.deepEqual(before, []);
    assert.equal(readdirSync(join(dir, 'cache', 'staging')).length, r.pendingAtCommit);

    let core = await open(dir, 'writeback');
    try {
      const stat = await core.vfs.stat('/big');
      assert.equal(stat.size, size);
      assert.equal(await core.chunks.flush(30_000), true);
      assert.deepEqual(core.chunks.pendingUploads(), []);
      assert.deepEqual(await storeProblems(core), []);
    } finally {
      await core.close();
    }

    // From the object store alone, with an empty cache.
    rmSync(join(dir, 'cache'), { recursive: true });
    core = await open(dir, 'durable');
    try {
      const got = await readFile(core.vfs, '/big');
      assert.equal(got.length, size);
      assert.ok(got.equals(data), 'byte-identical');
      // At least every byte (read-ahead may fetch a chunk twice when it races the read).
      assert.ok(core.chunks.stats().bytesFromStore >= size);
      assert.deepEqual(await storeProblems(core), []);
    } finally {
      await core.close();
    }

    // A write killed before its commit was never acknowledged: the old version stays, and its
    // staged chunks are uploaded anyway at the restart (orphans, for garbage collection).
    // Killed at 48 of 56 MiB read: the chunks cut by then are staged (the chunker's window of
    // twice the 16 MiB maximum chunk, the hashes and the uploads in flight keep staging up to
    // ~20 MiB behind the reading).
    const killed = await runWriter(dir, '/big', 56 << 20, 99, 48 << 20);
    assert.equal(killed.committed, false);
    assert.ok(readdirSync(join(dir, 'cache', 'staging')).length > 0);
    core = await open(dir, 'writeback');
    try {
      assert.equal(await core.chunks.flush(30_000), true);
      assert.ok((await readFile(core.vfs, '/big')).equals(data), 'old version intact');
      assert.deepEqual(await storeProblems(core), []);
      let rows = 0;
      for await (const c of core.meta.listChunks()) if (c.refcount > 0) rows++;
      const objectsNow: string[] = [];
      for await (const info of core.objects.list('chunks/')) objectsNow.push(info.key);
      assert.ok(objectsNow.length > rows, `${objectsNow.length - rows} unreferenced chunks uploaded for GC to collect`);
    } finally {
      await core.close();
    }
  });
});
