// Read-ahead windows. ContentFileReader (the FUSE mount's read path): a reader going through a
// file in order gets the full window (twice read_ahead) within a few chunks; one that jumps gets
// a small window that grows only while it keeps going in order, so a seek does not download tens
// of MiB it will not read. readContentRange (a GET's body): the window grows chunk by chunk, so a
// client that stops early started few downloads. Real ChunkStore over the memory object store; the
// metadata is a stub answering the one query each reader makes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chunkKey, hashChunk } from '../../src/chunks/chunk-hash.js';
import { ChunkStore } from '../../src/chunks/chunk-store.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import type { ChunkExtent, MetaStore } from '../../src/meta/meta-store.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { ContentFileReader } from '../../src/vfs/content-file-reader.js';
import { readContentRange } from '../../src/vfs/content-reader.js';
import type { Stat } from '../../src/vfs/types.js';

const CHUNK = 1024;
const COUNT = 60;
const READ_AHEAD = 8;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setup() {
  const dir = await mkdtemp(path.join(tmpdir(), 'davfs-file-reader-'));
  dirs.push(dir);
  const cache = new DiskChunkCache({ dir, maxBytes: 1 << 24 });
  await cache.open();
  const objects = new MemoryObjectStore();
  const extents: ChunkExtent[] = [];
  const data: Buffer[] = [];
  for (let i = 0; i < COUNT; i++) {
    const bytes = randomBytes(CHUNK);
    const hash = hashChunk(bytes);
    await objects.put(chunkKey(hash), bytes);
    extents.push({ hash, offset: i * CHUNK, length: CHUNK });
    data.push(bytes);
  }
  const chunks = new ChunkStore(objects, cache, { memoryCacheBytes: 0 });
  // The furthest chunk a read-ahead asked the store for (reset by the test).
  const furthest = { index: -1 };
  const prefetch = chunks.prefetch.bind(chunks);
  chunks.prefetch = (refs) => {
    for (const r of refs) furthest.index = Math.max(furthest.index, extents.findIndex((e) => e.hash === r.hash));
    prefetch(refs);
  };
  const meta = { chunksInRange: async () => extents } as unknown as MetaStore;
  const stat = { path: '/f', name: 'f', kind: 'file', id: 2, size: COUNT * CHUNK } as Stat;
  const reader = await ContentFileReader.open({ meta, chunks, readAhead: READ_AHEAD }, 1, stat);
  /** Reads 100 bytes inside chunk i and checks them. */
  const readChunk = async (i: number) => {
    const buf = Buffer.alloc(100);
    assert.equal(await reader.readInto(buf, 0, i * CHUNK + 10, 100), 100);
    assert.deepEqual(buf, data[i]!.subarray(10, 110));
  };
  /** A GET's body over the whole file, and the chunk index the read-ahead reached after each chunk. */
  const streamReach = async (): Promise<number[]> => {
    const seen: number[] = [];
    const body = readContentRange({ meta, chunks, readAhead: READ_AHEAD }, 1, { start: 0, end: COUNT * CHUNK - 1 });
    let i = 0;
    for await (const part of body) {
      assert.deepEqual(part, data[i]);
      seen.push(furthest.index);
      if (++i === 5) break; // the client goes away
    }
    return seen;
  };
  return { chunks, furthest, readChunk, streamReach };
}

describe('read-ahead windows', () => {
  /** The furthest chunk index the read-ahead of each read asked for. */
  async function reach(readChunk: (i: number) => Promise<void>, furthest: { index: number }, order: number[]): Promise<number[]> {
    const seen: number[] = [];
    for (const i of order) {
      furthest.index = -1;
      await readChunk(i);
      seen.push(furthest.index);
    }
    return seen;
  }

  it('reaches the full window (twice read_ahead) within three chunks of a read from the start', async () => {
    const { chunks, furthest, readChunk } = await setup();
    assert.deepEqual(await reach(readChunk, furthest, [0, 1, 2, 3, 4]), [0 + 4, 1 + 8, 2 + 2 * READ_AHEAD, 3 + 2 * READ_AHEAD, 4 + 2 * READ_AHEAD]);
    await chunks.idle();
  });

  it('after a jump, asks for 2 chunks and doubles only while the reader keeps in order', async () => {
    const { chunks, furthest, readChunk } = await setup();
    // Chunks already local are not asked for again, so the reads stay clear of those before them.
    const order = [30, 31, 50, 10, 11, 12, 13];
    assert.deepEqual(await reach(readChunk, furthest, order), [30 + 2, 31 + 4, 50 + 2, 10 + 2, 11 + 4, 12 + 8, 13 + 16]);
    await chunks.idle();
  });

  it("a GET's body widens its window chunk by chunk up to read_ahead, and stops when the client does", async () => {
    const { chunks, furthest, streamReach } = await setup();
    assert.deepEqual(await streamReach(), [0 + 2, 1 + 4, 2 + READ_AHEAD, 3 + READ_AHEAD, 4 + READ_AHEAD]);
    await chunks.idle();
    assert.equal(furthest.index, 4 + READ_AHEAD, 'nothing asked for after the client left');
  });
});
