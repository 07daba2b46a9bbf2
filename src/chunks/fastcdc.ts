// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): cut points and a streaming chunker.
//
// Why content-defined: cut points depend on the bytes around them, not on offsets, so inserting or
// deleting bytes in a file moves only the boundaries near the edit and every other chunk keeps its
// hash (DESIGN.md "Storage model": an edit in the middle uploads only the chunks around it).
//
// The algorithm, as in the paper:
// - a gear rolling hash, h = (h << 1) + GEAR[byte], so the hash forgets a byte after 32 steps
//   (32-bit state) and needs no "remove the outgoing byte" step;
// - cut-point skipping: no byte before `minSize` is examined;
// - normalized chunking, level 2: up to `avgSize` a cut needs a mask with 2 bits MORE than
//   log2(avgSize) (harder to cut), past it a mask with 2 bits FEWER (easier), which narrows the
//   chunk-size distribution around avgSize; `maxSize` forces a cut.
// Masks use the HIGH bits of h: bit k of h depends on the last k+1 bytes only, so low bits would see
// too short a window (bit 0 sees one byte) and cut on short repeated patterns.
//
// ON-DISK FORMAT: the gear table below (its seed and generator), the mask construction and the cut
// rule decide every chunk boundary, and chunks are named by the hash of their bytes. Changing any of
// them (or the sizes recorded in the metadata settings) changes the chunks of every file written
// afterwards: old files stay readable (they are lists of chunk hashes), but dedup against them is
// lost. Bump CHUNKER_ID when doing so; the metadata settings store it with the sizes.
import { concatShared } from '../core/shared-memory.js';

export interface ChunkingParams {
  /** No cut before this many bytes (except the last chunk of a stream, which may be shorter). */
  minSize: number;
  /** The target average; rounded to the nearest power of two to build the masks. */
  avgSize: number;
  /** A cut is forced here. */
  maxSize: number;
}

/**
 * 1 MiB / 4 MiB / 16 MiB, settled by benchmark (DESIGN.md proposed 256 KiB / 1 MiB / 4 MiB): each
 * chunk is one object-store request, and per-request costs (ours and the server's) outweighed
 * per-byte ones. Through the FUSE mount on s3rver (3 interleaved pairs, 4 MiB against 1 MiB
 * average): a 1 GiB write closed at 147-153 against 100-126 MiB/s (mount CPU 5.2-5.3 s against
 * 6.7-7.7 s), a cold read of it ran at 163-227 against 130-150 MiB/s (S3 server CPU 3.0-3.1 s
 * against 4.4-4.8 s); a 2 MiB average sat between (write 112-142, cold read 134-154). On S3 itself
 * each GET or PUT also costs a round trip and a fee. The price: an edit in place re-uploads one or
 * two chunks (a 1 MiB edit in 1 GiB: 5.3 MiB by re-PUT, 6.9 MiB by partial update, against 2.4
 * and 3.5 MiB), a cold random read fetches a whole chunk to verify it, and dedup matches less.
 * The same sizes as duplicacy's defaults (4M average, 1M-16M); JuiceFS stores 4 MiB blocks. A
 * store records its sizes at creation (config chunking.*) and keeps them.
 */
export const DEFAULT_CHUNKING: Readonly<ChunkingParams> = Object.freeze({
  minSize: 1024 * 1024,
  avgSize: 4 * 1024 * 1024,
  maxSize: 16 * 1024 * 1024,
});

/** Names the chunk-boundary format (gear table, masks, cut rule) for the metadata settings. */
export const CHUNKER_ID = 'fastcdc-nc2-gear32-splitmix32-0x5eed1e55';

/** Normalization level (paper §3.4): how many mask bits are added below avgSize / removed above. */
const NORMALIZATION_LEVEL = 2;

/** The gear table's seed. Part of the on-disk format (see the top of this file). */
const GEAR_SEED = 0x5eed1e55;

/**
 * 256 pseudo-random 32-bit values from splitmix32 (Steele/Vigna's splitmix finalizer, 32-bit
 * variant) seeded with GEAR_SEED: deterministic on every platform, no table to paste or mistype.
 * Stored as an Int32Array so the hot loop stays in 32-bit integer arithmetic.
 */
const GEAR: Int32Array = buildGearTable(GEAR_SEED);

/** A copy of the gear table, for tests and tools that must reproduce the boundaries independently. */
export function gearTable(): Int32Array {
  return GEAR.slice();
}

function buildGearTable(seed: number): Int32Array {
  const table = new Int32Array(256);
  let state = seed | 0;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    table[i] = z ^ (z >>> 16);
  }
  return table;
}

/** A mask of the `bits` highest bits of a 32-bit word, as a signed 32-bit integer. */
function highBitsMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : (-1 << (32 - bits)) | 0;
}

interface Masks {
  /** Used from minSize up to avgSize: more bits, so cuts are rarer. */
  small: number;
  /** Used from avgSize up to maxSize: fewer bits, so cuts are likelier. */
  large: number;
}

const masksCache = new WeakMap<ChunkingParams, Masks>();

function masksFor(params: ChunkingParams): Masks {
  let masks = masksCache.get(params);
  if (!masks) {
    validateChunkingParams(params);
    const bits = Math.round(Math.log2(params.avgSize));
    masks = {
      small: highBitsMask(bits + NORMALIZATION_LEVEL),
      large: highBitsMask(bits - NORMALIZATION_LEVEL),
    };
    masksCache.set(params, masks);
  }
  return masks;
}

/** Throws a RangeError unless 64 ≤ minSize < avgSize < maxSize ≤ 1 GiB, all integers. */
export function validateChunkingParams(params: ChunkingParams): void {
  const { minSize, avgSize, maxSize } = params;
  const ok =
    Number.isInteger(minSize) &&
    Number.isInteger(avgSize) &&
    Number.isInteger(maxSize) &&
    minSize >= 64 &&
    minSize < avgSize &&
    avgSize < maxSize &&
    maxSize <= 1024 * 1024 * 1024;
  if (!ok) {
    throw new RangeError(
      `chunking sizes must be integers with 64 <= min < avg < max <= 1 GiB, got ${minSize}/${avgSize}/${maxSize}`,
    );
  }
}

/**
 * Where the chunk that starts at `start` ends: an index in (start, end], exclusive end of the chunk.
 *
 * `end` is where the available bytes stop. The result is the same for any `end` as long as either
 * `end - start >= maxSize` or `end` is the end of the stream; with fewer bytes and more to come, a
 * result below `end` is still final (the cut rule only looks backwards) but a result equal to `end`
 * only means "no cut yet".
 */
export function cutPoint(
  buf: Uint8Array,
  start: number,
  end: number,
  params: ChunkingParams = DEFAULT_CHUNKING,
): number {
  const { small, large } = masksFor(params);
  return cutAt(buf, start, end, params.minSize, params.avgSize, params.maxSize, small, large, GEAR);
}

/** The chunking parameters as the self-contained functions below take them (chunk-worker.ts). */
export interface CutRule {
  minSize: number;
  avgSize: number;
  maxSize: number;
  small: number;
  large: number;
}

/** `params` with its masks, validated; the gear table is gearTable(). */
export function cutRule(params: ChunkingParams): CutRule {
  const { small, large } = masksFor(params);
  return { minSize: params.minSize, avgSize: params.avgSize, maxSize: params.maxSize, small, large };
}

// cutAt defines where a chunk ends (cutPoint); scanCuts cuts a stream at the same places without
// gathering it into one buffer (tests compare the two over many input splits). newScan, scanRun,
// scanCuts and emitChunk are self-contained (no reference to anything in this module but each other):
// chunk-worker.ts runs their source text on a worker thread, so the worker cuts with the very code
// chunkStream uses here.

/** cutPoint with the masks and gear table passed in. */
export function cutAt(
  buf: Uint8Array,
  start: number,
  end: number,
  minSize: number,
  avgSize: number,
  maxSize: number,
  small: number,
  large: number,
  g: Int32Array,
): number {
  const available = end - start;
  if (available <= minSize) return end;
  const limit = start + Math.min(available, maxSize);
  const normal = Math.min(start + avgSize, limit);
  // Phase 0 scans [minSize, avgSize) with the stricter mask, phase 1 [avgSize, maxSize) with the
  // looser one; the gear hash runs on from one into the other.
  const state = { h: 0 };
  const cut = scanRun(state, buf, start + minSize, normal, small, g);
  if (cut >= 0) return cut;
  const late = scanRun(state, buf, normal, limit, large, g);
  if (late >= 0) return late;
  return limit;
}

/**
 * A streaming chunker between inputs: the chunk being cut so far, as views of the inputs (no copy),
 * and the gear hash where the scan stopped, so the next input resumes the scan byte for byte.
 */
export interface ChunkScan {
  pieces: Uint8Array[];
  /** Bytes of the chunk so far (the pieces' total). */
  length: number;
  /** The gear hash after the last byte scanned (0 until minSize bytes are in). */
  h: number;
}

/** A chunker at the start of a stream. */
export function newScan(): ChunkScan {
  return { pieces: [], length: 0, h: 0 };
}

/**
 * Scans buf[i, stop) with `mask`, continuing the gear hash in `s.h`: the index just past the
 * first byte whose hash matches, or -1 with `s.h` updated to resume after `stop`. Unrolled by
 * four: measured ~1.1 GiB/s against ~0.7 GiB/s for the plain loop (V8 then overlaps the table
 * loads and bounds checks of consecutive bytes).
 */
export function scanRun(s: { h: number }, buf: Uint8Array, i: number, stop: number, mask: number, g: Int32Array): number {
  let h = s.h;
  const unrolledStop = stop - 3;
  for (; i < unrolledStop; i += 4) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
    h = ((h << 1) + g[buf[i + 1]!]!) | 0;
    if ((h & mask) === 0) return i + 2;
    h = ((h << 1) + g[buf[i + 2]!]!) | 0;
    if ((h & mask) === 0) return i + 3;
    h = ((h << 1) + g[buf[i + 3]!]!) | 0;
    if ((h & mask) === 0) return i + 4;
  }
  for (; i < stop; i++) {
    h = ((h << 1) + g[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  s.h = h;
  return -1;
}

/**
 * Feeds one input to a streaming chunker and reports each final chunk as emit(pieces, length):
 * its bytes are the pieces in order, views of this and earlier inputs (copy them out; the inputs
 * must stay unchanged until then). `last` ends the stream. The cuts are cutAt's, byte for byte,
 * whatever the input split: a byte's cut test depends only on its offset in the chunk and the
 * bytes before it, which the scan carries from one input to the next in `s.h`. No byte is copied
 * to scan it (the window this replaced copied every input once more: ~0.6 s of 2.6 on the
 * chunk worker per GiB written, perf profile of a FUSE write).
 */
export function scanCuts(
  s: ChunkScan,
  input: Uint8Array,
  last: boolean,
  r: CutRule,
  g: Int32Array,
  emit: (pieces: Uint8Array[], length: number) => void,
): void {
  const n = input.length;
  let off = 0;
  while (off < n) {
    // Offsets in the chunk: no test below minSize, the stricter mask up to avgSize, the looser
    // one up to maxSize, where the cut is forced (cutAt's phases).
    let i = off + Math.min(Math.max(r.minSize - s.length, 0), n - off);
    let cut = -1;
    let at = s.length + (i - off);
    if (i < n && at < r.avgSize) {
      const stop = i + Math.min(r.avgSize - at, n - i);
      cut = scanRun(s, input, i, stop, r.small, g);
      at += stop - i;
      i = stop;
    }
    if (cut < 0 && i < n && at >= r.avgSize) {
      const stop = i + Math.min(r.maxSize - at, n - i);
      cut = scanRun(s, input, i, stop, r.large, g);
      if (cut < 0 && at + (stop - i) === r.maxSize) cut = stop;
    }
    const end = cut < 0 ? n : cut;
    s.pieces.push(input.subarray(off, end));
    s.length += end - off;
    if (cut < 0) break;
    emitChunk(s, emit);
    off = cut;
  }
  // End of stream: the bytes not cut yet are the last chunk (cutAt's rule for a short tail).
  if (last) emitChunk(s, emit);
}

/** Emits the chunk scanned so far, if any, and starts the next one. */
export function emitChunk(s: ChunkScan, emit: (pieces: Uint8Array[], length: number) => void): void {
  if (s.length === 0) return;
  const pieces = s.pieces;
  const length = s.length;
  s.pieces = [];
  s.length = 0;
  s.h = 0;
  emit(pieces, length);
}

/**
 * Cuts a byte stream into content-defined chunks on this thread (scanCuts says what they are).
 * Each yielded Buffer is a fresh copy in shared memory: callers may keep it while the source
 * reuses its buffers. The mount and the WebDAV front cut on a worker instead (chunk-worker.ts,
 * which hashes there too); this one serves tests and bench/chunker.ts.
 */
export async function* chunkStream(
  source: AsyncIterable<Buffer | Uint8Array>,
  params: ChunkingParams = DEFAULT_CHUNKING,
): AsyncGenerator<Buffer> {
  const rule = cutRule(params); // validates before the first byte arrives
  const s = newScan();
  let out: Buffer[] = [];
  // In shared memory, so hashChunkAsync can hash the chunk on a worker without copying it.
  const emit = (pieces: Uint8Array[], length: number): void => void out.push(concatShared(pieces, length));
  for await (const input of source) {
    // The scan keeps views of its inputs until their chunk is cut, and a source may reuse its
    // buffers: inputs are copied first (chunk-worker.ts owns its inputs and skips this).
    scanCuts(s, Uint8Array.from(input), false, rule, GEAR, emit);
    yield* out;
    out = [];
  }
  scanCuts(s, new Uint8Array(0), true, rule, GEAR, emit);
  yield* out;
}
