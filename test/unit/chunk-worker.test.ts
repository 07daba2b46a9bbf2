// Chunking on the worker thread: the same chunks as chunkStream on the event loop, whatever the
// input split and sizes, each with its right SHA-256 and in memory of its own; several streams at
// once keep their own state; a stream the consumer abandons or whose source fails leaves the worker
// serving the next one; an idle worker does not keep a finished process alive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chunkAndHash } from '../../src/chunks/chunk-worker.js';
import { hashChunk } from '../../src/chunks/chunk-hash.js';
import { chunkStream, DEFAULT_CHUNKING, type ChunkingParams } from '../../src/chunks/fastcdc.js';
import { handOver, isShared } from '../../src/core/shared-memory.js';
import { createCipheriv, createHash } from 'node:crypto';

/** Deterministic random-looking bytes (AES-256-CTR keystream of a seed): chunk boundaries repeat. */
function seededBytes(length: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

async function* pieces(data: Buffer, sizes: (i: number) => number): AsyncGenerator<Buffer> {
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.max(1, sizes(i));
    yield data.subarray(off, off + n);
    off += n;
  }
}

async function onEventLoop(data: Buffer, params: ChunkingParams): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunkStream(pieces(data, () => 65_536), params)) out.push(c);
  return out;
}

async function collect(source: AsyncIterable<Uint8Array>, params: ChunkingParams): Promise<{ chunk: Buffer; hash: string }[]> {
  const out: { chunk: Buffer; hash: string }[] = [];
  for await (const c of chunkAndHash(source, params)) out.push(c);
  return out;
}

const SMALL: ChunkingParams = { minSize: 2048, avgSize: 8192, maxSize: 32_768 };

describe('chunkAndHash (chunk worker)', () => {
  it('cuts where chunkStream cuts, for many input splits and two sets of sizes, with right hashes', async () => {
    const data = seededBytes(24 << 20, 'chunk-worker');
    for (const params of [DEFAULT_CHUNKING, SMALL]) {
      const expected = await onEventLoop(data, params);
      assert.ok(expected.length > 3);
      const splits: ((i: number) => number)[] = [() => 131_072, () => 1, (i) => (i * 7919) % 300_000, () => 5 << 20, () => data.length];
      for (const split of splits) {
        // 1-byte pieces of 24 MiB would take long: use the first 200 KiB for that split.
        const input = split(0) === 1 ? data.subarray(0, 200_000) : data;
        const want = split(0) === 1 ? await onEventLoop(input, params) : expected;
        const got = await collect(pieces(input, split), params);
        assert.deepEqual(got.map((c) => c.chunk.length), want.map((c) => c.length));
        assert.deepEqual(got.map((c) => c.hash), want.map((c) => hashChunk(c)));
        // Each chunk owns exactly its memory (malloc'd, not shared: chunk-worker.ts says why), so a
        // chunk kept in a queue pins nothing else.
        assert.ok(got.every((c) => !isShared(c.chunk) && c.chunk.byteOffset === 0 && c.chunk.buffer.byteLength === c.chunk.length));
        assert.ok(Buffer.concat(got.map((c) => c.chunk)).equals(input));
      }
    }
  });

  it('takes handed-over slabs without a copy, mixed with copied pieces, and cuts the same', async () => {
    const data = seededBytes(6 << 20, 'handed-over');
    const expected = await onEventLoop(data, DEFAULT_CHUNKING);
    const given: Buffer[] = [];
    async function* slabs(): AsyncGenerator<Uint8Array> {
      // As PushSource yields them: whole slabs of their own memory, and a small first one.
      for (const [start, end] of [[0, 65_536], [65_536, 65_536 + (1 << 20)], [65_536 + (1 << 20), 3 << 20], [3 << 20, 6 << 20]] as const) {
        const slab = Buffer.allocUnsafeSlow(end - start);
        data.copy(slab, 0, start, end);
        given.push(slab);
        yield handOver(slab);
      }
    }
    const got = await collect(slabs(), DEFAULT_CHUNKING);
    assert.deepEqual(got.map((c) => c.chunk.length), expected.map((c) => c.length));
    assert.ok(Buffer.concat(got.map((c) => c.chunk)).equals(data));
    assert.deepEqual(given.map((b) => b.length), [65_536, 0, 0, 0], 'the 1 MiB+ slabs were transferred (detached here); the small one copied');
  });

  it('yields nothing for an empty stream and one chunk for a short one', async () => {
    assert.deepEqual(await collect(pieces(Buffer.alloc(0), () => 1), DEFAULT_CHUNKING), []);
    const short = seededBytes(1000, 'short');
    const got = await collect(pieces(short, () => 100), DEFAULT_CHUNKING);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.hash, hashChunk(short));
  });

  it('keeps concurrent streams apart', async () => {
    const inputs = [1, 2, 3, 4].map((i) => seededBytes((3 << 20) + i * 12_345, `concurrent-${i}`));
    const results = await Promise.all(inputs.map((d, i) => collect(pieces(d, () => 40_000 + i * 1000), SMALL)));
    for (let i = 0; i < inputs.length; i++) {
      const want = await onEventLoop(inputs[i]!, SMALL);
      assert.deepEqual(results[i]!.map((c) => c.hash), want.map((c) => hashChunk(c)));
    }
  });

  it('serves the next stream after one was abandoned and one whose source failed', async () => {
    const data = seededBytes(6 << 20, 'abandon');
    for await (const _ of chunkAndHash(pieces(data, () => 100_000), SMALL)) break;
    async function* failing(): AsyncGenerator<Buffer> {
      yield data.subarray(0, 3 << 20);
      throw new Error('source broke');
    }
    await assert.rejects(collect(failing(), SMALL), /source broke/);
    const got = await collect(pieces(data, () => 100_000), SMALL);
    assert.deepEqual(got.map((c) => c.hash), (await onEventLoop(data, SMALL)).map((c) => hashChunk(c)));
  });

  it('refuses bad sizes before reading the source', async () => {
    let read = false;
    async function* source(): AsyncGenerator<Buffer> {
      read = true;
      yield Buffer.alloc(10);
    }
    await assert.rejects(collect(source(), { minSize: 10, avgSize: 5, maxSize: 20 }), RangeError);
    assert.equal(read, false);
  });

  it('does not keep a process alive once its streams are done', () => {
    const script = `
      import { chunkAndHash } from './src/chunks/chunk-worker.ts';
      let n = 0;
      for await (const c of chunkAndHash([Buffer.alloc(3 << 20, 7)], { minSize: 2048, avgSize: 8192, maxSize: 32768 })) n += c.chunk.length;
      console.log(n);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(3 << 20));
  });
});
