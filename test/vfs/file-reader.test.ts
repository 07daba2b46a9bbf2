// Vfs.openReader (the FUSE front's read path) over a real core: any range of a chunked file reads
// back exactly, from the disk cache, from memory and from the object store; inline and empty
// files; the reader keeps the version it opened; a corrupt cache file is read from the store.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCore, pseudoRandomBytes, type TestCore } from '../helpers/core.js';

const KiB = 1024;

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/** Reads [pos, pos+len) through the reader into a fresh buffer at a nonzero offset. */
async function readVia(reader: { readInto(buf: Buffer, at: number, pos: number, len: number): Promise<number> }, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len + 7, 0xee);
  const n = await reader.readInto(buf, 7, pos, len);
  return buf.subarray(7, 7 + n);
}

const MODES = [
  { name: 'no memory cache', memoryCacheBytes: 0, writeBack: false },
  { name: 'memory cache', memoryCacheBytes: 8 << 20, writeBack: false },
  // Chunks staged and not uploaded yet are read from staging.
  { name: 'write-back', memoryCacheBytes: 0, writeBack: true },
];

for (const { name, memoryCacheBytes, writeBack } of MODES) {
  describe(`Vfs.openReader (${name})`, () => {
    let core: TestCore;
    const data = pseudoRandomBytes(700 * KiB + 13, 41); // about 85 chunks of SMALL_CHUNKING
    before(async () => {
      core = await makeTestCore({ memoryCacheBytes, writeBack });
      await core.vfs.write('/big.bin', once(data));
      await core.vfs.write('/small.txt', once(Buffer.from('inline bytes')));
      await core.vfs.write('/empty', once(Buffer.alloc(0)));
    });
    after(async () => core.close());

    it('reads every range exactly: sequential requests, across chunk edges, at random, past the end', async () => {
      const reader = await core.vfs.openReader('/big.bin');
      assert.equal(reader.stat.size, data.length);
      const parts: Buffer[] = [];
      for (let pos = 0; pos < data.length; pos += 128 * KiB) parts.push(Buffer.from(await readVia(reader, pos, 128 * KiB)));
      assert.ok(Buffer.concat(parts).equals(data));
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      for (let i = 0; i < 200; i++) {
        const pos = next() % data.length;
        const len = 1 + (next() % (96 * KiB));
        assert.ok((await readVia(reader, pos, len)).equals(data.subarray(pos, pos + len)), `range ${pos}+${len}`);
      }
      assert.equal((await readVia(reader, data.length - 5, 100)).length, 5);
      assert.equal((await readVia(reader, data.length, 100)).length, 0);
      // Two requests in flight at once, as the kernel sends them.
      const [a, b] = await Promise.all([readVia(reader, 300 * KiB, 128 * KiB), readVia(reader, 428 * KiB, 128 * KiB)]);
      assert.ok(Buffer.concat([a, b]).equals(data.subarray(300 * KiB, 556 * KiB)));
    });

    it('reads inline and empty files, and refuses a folder', async () => {
      assert.equal((await readVia(await core.vfs.openReader('/small.txt'), 7, 100)).toString(), 'bytes');
      assert.equal((await readVia(await core.vfs.openReader('/empty'), 0, 10)).length, 0);
      await core.vfs.mkdir('/dir');
      await assert.rejects(core.vfs.openReader('/dir'), { code: 'EISDIR' });
      await assert.rejects(core.vfs.openReader('/missing'), { code: 'ENOENT' });
    });

    it('keeps reading the version it opened after the file is replaced', async () => {
      const v1 = pseudoRandomBytes(200 * KiB, 5);
      await core.vfs.write('/v.bin', once(v1));
      const reader = await core.vfs.openReader('/v.bin');
      await core.vfs.write('/v.bin', once(pseudoRandomBytes(300 * KiB, 6)));
      assert.ok((await readVia(reader, 0, 200 * KiB)).equals(v1));
    });

    // Not in write-back mode, whose chunks are in staging rather than the cache until uploaded.
    if (!writeBack) it('reads chunks missing from the disk cache, or corrupt there, from the object store', async () => {
      const chunkFiles = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true, recursive: true })
          .filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name))
          .map((e) => join(e.parentPath, e.name));
      const files = chunkFiles(join(core.dir, 'cache'));
      assert.ok(files.length > 10, 'the write filled the disk cache');
      for (const f of files.slice(0, 5)) truncateSync(f, 3);
      const before = core.chunks.stats().cacheMisses;
      const reader = await core.vfs.openReader('/big.bin');
      const parts: Buffer[] = [];
      for (let pos = 0; pos < data.length; pos += 128 * KiB) parts.push(Buffer.from(await readVia(reader, pos, 128 * KiB)));
      assert.ok(Buffer.concat(parts).equals(data));
      if (memoryCacheBytes === 0) assert.ok(core.chunks.stats().cacheMisses > before, 'the truncated chunks came from the store');
    });
  });
}
