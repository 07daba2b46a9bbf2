// FastCDC: boundaries are deterministic, bounded, split-independent and stable under edits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  chunkStream,
  cutPoint,
  DEFAULT_CHUNKING,
  gearTable,
  validateChunkingParams,
  type ChunkingParams,
} from '../../src/chunks/fastcdc.js';

/** Small sizes so that a few hundred KiB give hundreds of chunks. */
const SMALL: ChunkingParams = { minSize: 2048, avgSize: 8192, maxSize: 32768 };

/** Deterministic bytes (xorshift32): never zeros, which would make every chunk maxSize. */
function seededBytes(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

async function* piecesAt(data: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > start) yield new Uint8Array(data.subarray(start, cut)); // plain Uint8Array inputs too
    start = Math.max(start, cut);
  }
}

async function* piecesOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function collect(source: AsyncIterable<Buffer | Uint8Array>, params?: ChunkingParams): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of chunkStream(source, params)) chunks.push(chunk);
  return chunks;
}

/** Chunk end offsets computed with cutPoint over the whole buffer. */
function boundaries(data: Buffer, params: ChunkingParams): number[] {
  const ends: number[] = [];
  for (let pos = 0; pos < data.length; ) {
    pos = cutPoint(data, pos, data.length, params);
    ends.push(pos);
  }
  return ends;
}

function endsOf(chunks: Buffer[]): number[] {
  let pos = 0;
  return chunks.map((c) => (pos += c.length));
}

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function assertBounded(chunks: Buffer[], params: ChunkingParams): void {
  chunks.forEach((c, i) => {
    assert.ok(c.length <= params.maxSize, `chunk ${i} is ${c.length} bytes, over max`);
    if (i < chunks.length - 1) assert.ok(c.length >= params.minSize, `chunk ${i} is ${c.length} bytes, under min`);
    assert.ok(c.length > 0, `chunk ${i} is empty`);
  });
}

/** Hashes present in `b` but not in `a`. */
function newHashes(a: Buffer[], b: Buffer[]): string[] {
  const before = new Set(a.map(sha));
  return b.map(sha).filter((h) => !before.has(h));
}

describe('cutPoint', () => {
  it('returns the end for data no longer than minSize', () => {
    const data = randomBytes(SMALL.minSize);
    assert.equal(cutPoint(data, 0, data.length, SMALL), data.length);
    assert.equal(cutPoint(data, 100, data.length, SMALL), data.length);
  });

  it('never cuts before minSize nor after maxSize, and respects start', () => {
    const data = randomBytes(256 * 1024);
    for (let start = 0; start < data.length - SMALL.maxSize; start += 7919) {
      const cut = cutPoint(data, start, data.length, SMALL);
      assert.ok(cut > start + SMALL.minSize && cut <= start + SMALL.maxSize, `cut ${cut - start} after ${start}`);
    }
  });

  it('does not depend on bytes past maxSize, nor on bytes before start', () => {
    const data = randomBytes(200 * 1024);
    const other = Buffer.from(data);
    randomBytes(1000).copy(other, 0); // differ before start
    randomBytes(50 * 1024).copy(other, 100_000 + SMALL.maxSize); // differ past start + maxSize
    assert.equal(cutPoint(data, 100_000, data.length, SMALL), cutPoint(other, 100_000, other.length, SMALL));
    assert.equal(cutPoint(data, 100_000, 100_000 + SMALL.maxSize, SMALL), cutPoint(data, 100_000, data.length, SMALL));
  });

  it('cuts random data at the same places as in this recorded run (the gear table is on-disk format)', () => {
    // If this fails, chunk boundaries changed: every stored file loses dedup with new writes.
    // That needs a new CHUNKER_ID, not a new snapshot.
    const data = seededBytes(6 * 1024 * 1024, 20240601);
    // Recorded with the sizes that were the defaults then; stores created then keep using them.
    assert.deepEqual(boundaries(data, { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 }), RECORDED_DEFAULT_BOUNDARIES);
    assert.deepEqual(boundaries(data.subarray(0, 64 * 1024), SMALL), RECORDED_SMALL_BOUNDARIES);
  });
});

/** The paper's algorithm written plainly (one byte per iteration, masks spelled out). */
function referenceCutPoint(buf: Uint8Array, start: number, end: number, p: ChunkingParams): number {
  const gear = gearTable();
  const bits = Math.round(Math.log2(p.avgSize));
  const maskSmall = (0xffffffff << (32 - (bits + 2))) >>> 0;
  const maskLarge = (0xffffffff << (32 - (bits - 2))) >>> 0;
  const n = Math.min(end - start, p.maxSize);
  if (end - start <= p.minSize) return end;
  let h = 0;
  for (let i = p.minSize; i < n; i++) {
    h = ((h << 1) + gear[buf[start + i]!]!) >>> 0;
    const mask = i < p.avgSize ? maskSmall : maskLarge;
    if ((h & mask) >>> 0 === 0) return start + i + 1;
  }
  return start + n;
}

describe('cutPoint against a plain reference implementation', () => {
  it('agrees at many start positions and end limits', () => {
    const data = randomBytes(400 * 1024);
    for (let start = 0; start < data.length; start += 1009) {
      for (const end of [data.length, Math.min(data.length, start + SMALL.minSize + (start % 97)), Math.min(data.length, start + 12_345)]) {
        assert.equal(cutPoint(data, start, end, SMALL), referenceCutPoint(data, start, end, SMALL), `start ${start} end ${end}`);
      }
    }
    const big = seededBytes(6 * 1024 * 1024, 7);
    for (let start = 0; start < 2 * 1024 * 1024; start += 333_333) {
      assert.equal(cutPoint(big, start, big.length), referenceCutPoint(big, start, big.length, DEFAULT_CHUNKING));
    }
  });
});

describe('validateChunkingParams', () => {
  it('accepts the defaults and rejects disordered or fractional sizes', () => {
    validateChunkingParams(DEFAULT_CHUNKING);
    validateChunkingParams(SMALL);
    for (const bad of [
      { minSize: 8192, avgSize: 8192, maxSize: 32768 },
      { minSize: 2048, avgSize: 40000, maxSize: 32768 },
      { minSize: 16, avgSize: 8192, maxSize: 32768 },
      { minSize: 2048.5, avgSize: 8192, maxSize: 32768 },
    ]) {
      assert.throws(() => validateChunkingParams(bad), RangeError);
      assert.throws(() => cutPoint(Buffer.alloc(10), 0, 10, bad), RangeError);
    }
  });
});

describe('chunkStream', () => {
  it('yields nothing for empty input, and one chunk for input up to minSize', async () => {
    assert.deepEqual(await collect(piecesAt(Buffer.alloc(0), [])), []);
    const tiny = randomBytes(1000);
    const chunks = await collect(piecesOf(tiny, 300), SMALL);
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0], tiny);
  });

  it('is deterministic, bounded, and concatenates to the input (default sizes)', async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const a = await collect(piecesOf(data, 64 * 1024));
    const b = await collect(piecesOf(data, 64 * 1024));
    assert.deepEqual(endsOf(a), endsOf(b));
    assert.deepEqual(endsOf(a), boundaries(data, DEFAULT_CHUNKING));
    assertBounded(a, DEFAULT_CHUNKING);
    assert.ok(Buffer.concat(a).equals(data));
  });

  it('yields chunks that do not alias the input or each other', async () => {
    const data = randomBytes(100 * 1024);
    const input = Buffer.from(data);
    const chunks = await collect(piecesOf(input, 10_000), SMALL);
    input.fill(0); // a source reusing its buffers must not change chunks already yielded
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  it('finds the same boundaries however the input is split (property)', async () => {
    const data = randomBytes(160 * 1024);
    const expected = boundaries(data, SMALL);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 40 }),
        async (cuts) => {
          const chunks = await collect(piecesAt(data, [...cuts].sort((x, y) => x - y)), SMALL);
          assert.deepEqual(endsOf(chunks), expected);
          assert.ok(Buffer.concat(chunks).equals(data));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('finds the same boundaries with tiny and huge input buffers (pieces within one input and across many)', async () => {
    const data = randomBytes(150 * 1024);
    const expected = boundaries(data, SMALL);
    for (const size of [3, 13, 4096, SMALL.maxSize - 1, SMALL.maxSize, SMALL.maxSize * 2 + 5, data.length]) {
      assert.deepEqual(endsOf(await collect(piecesOf(data, size), SMALL)), expected, `pieces of ${size}`);
    }
  });

  it('finds the same boundaries for random splits at default sizes', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const expected = boundaries(data, DEFAULT_CHUNKING);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 12 }), async (cuts) => {
        const chunks = await collect(piecesAt(data, [...cuts].sort((x, y) => x - y)));
        assert.deepEqual(endsOf(chunks), expected);
      }),
      { numRuns: 6 },
    );
  });

  it('cuts where cutPoint does at the edges of the rule: a match right at minSize, forced cuts at maxSize', async () => {
    // Sizes this small make the rare cases common: in 1 MiB, ~7,000 chunks, over a hundred forced
    // at maxSize and hundreds cut within 32 bytes of minSize, where the cut depends on where the
    // gear hash started (a byte leaves the 32-bit hash 32 bytes later).
    const tiny: ChunkingParams = { minSize: 64, avgSize: 128, maxSize: 256 };
    const data = seededBytes(1 << 20, 0x7e57);
    const expected = boundaries(data, tiny);
    const sizes = expected.map((end, i) => end - (expected[i - 1] ?? 0));
    assert.ok(sizes.filter((n) => n === tiny.maxSize).length > 10, 'few forced cuts');
    assert.ok(sizes.filter((n) => n < tiny.minSize + 32).length > 100, 'few cuts near minSize');
    for (const size of [1, 7, 64, 255, 256, 4096, data.length]) {
      assert.deepEqual(endsOf(await collect(piecesOf(data, size), tiny)), expected, `pieces of ${size}`);
    }
    // Zeros never match: every chunk is forced, at default sizes too.
    const zeros = Buffer.alloc(3 * DEFAULT_CHUNKING.maxSize + 5);
    assert.deepEqual(endsOf(await collect(piecesOf(zeros, 1 << 20))), boundaries(zeros, DEFAULT_CHUNKING));
    assert.equal(boundaries(zeros, DEFAULT_CHUNKING)[0], DEFAULT_CHUNKING.maxSize);
  });

  it('averages close to avgSize on random data', async () => {
    const small = await collect(piecesOf(randomBytes(8 * 1024 * 1024), 65536), SMALL);
    const smallMean = (8 * 1024 * 1024) / small.length;
    assert.ok(smallMean > 0.6 * SMALL.avgSize && smallMean < 1.6 * SMALL.avgSize, `mean ${smallMean}`);

    const big = await collect(piecesOf(randomBytes(32 * 1024 * 1024), 1024 * 1024));
    const bigMean = (32 * 1024 * 1024) / big.length;
    const avg = DEFAULT_CHUNKING.avgSize;
    assert.ok(bigMean > 0.6 * avg && bigMean < 1.6 * avg, `mean ${bigMean}`);
    assertBounded(big, DEFAULT_CHUNKING);
  });
});

// Seeded, not random: whether an edit moves a third boundary (a new cut within minSize of an old
// one, or a merged chunk forced to cut at maxSize) depends on the bytes, so random data made these
// bounds fail about once in a few hundred runs (seen in CI). Fixed bytes make the test repeatable.
describe('edit stability', () => {
  const data = seededBytes(80 * 1024 * 1024, 0x0ed17);
  let original: Buffer[] | undefined;
  const originalChunks = async () => (original ??= await collect(piecesOf(data, 1024 * 1024)));

  it('an insertion near the start changes only the first chunk or two', async () => {
    const edited = Buffer.concat([data.subarray(0, 1000), seededBytes(100, 7), data.subarray(1000)]);
    const before = await originalChunks();
    const after = await collect(piecesOf(edited, 1024 * 1024));
    assert.ok(before.length >= 15, `only ${before.length} chunks`);
    assert.ok(newHashes(before, after).length <= 2, `${newHashes(before, after).length} new chunks`);
    assert.ok(newHashes(after, before).length <= 2);
    // And they are at the start: everything from the third chunk on is shared, in order.
    assert.deepEqual(after.slice(2).map(sha), before.slice(before.length - (after.length - 2)).map(sha));
  });

  it('an overwrite in the middle changes only the chunks around it', async () => {
    const edited = Buffer.from(data);
    seededBytes(100, 11).copy(edited, 16 * 1024 * 1024);
    const before = await originalChunks();
    const after = await collect(piecesOf(edited, 1024 * 1024));
    assert.ok(newHashes(before, after).length <= 2, `${newHashes(before, after).length} new chunks`);
    assert.ok(newHashes(before, after).length >= 1);
  });

  it('a deletion in the middle changes only the chunks around it', async () => {
    const mid = 20 * 1024 * 1024;
    const edited = Buffer.concat([data.subarray(0, mid), data.subarray(mid + 5000)]);
    const before = await originalChunks();
    const after = await collect(piecesOf(edited, 1024 * 1024));
    assert.ok(newHashes(before, after).length <= 2, `${newHashes(before, after).length} new chunks`);
  });
});

// Recorded by this implementation (gear table seed 0x5eed1e55); see the test that uses them.
const RECORDED_DEFAULT_BOUNDARIES = [1099418, 2156506, 2813464, 3173240, 4500780, 6129286, 6291456];
const RECORDED_SMALL_BOUNDARIES = [8533, 15563, 25088, 34832, 47222, 60400, 65536];
