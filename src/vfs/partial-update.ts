// Partial updates and truncation: re-chunk only the region around the changed bytes and keep
// every other chunk by reference, so a 1 MiB edit in a 1 GiB file uploads a few MiB, not 1 GiB.
import type { ChunkExtent, NewContent } from '../meta/meta-store.js';
import { readContentRange, type ContentReaderDeps } from './content-reader.js';
import { writeContent, type ContentWriterDeps, type KeptChunk } from './content-writer.js';
import { concat, exactly, zeros } from './byte-sources.js';
import type { ByteSource } from './types.js';

/**
 * New content = old bytes with [offset, offset+length) replaced by `source` (exactly `length`
 * bytes), zero-filled between the old end and `offset` when writing past the end.
 */
export async function rewriteRange(
  w: ContentWriterDeps,
  r: ContentReaderDeps,
  contentId: number | null,
  offset: number,
  length: number,
  source: ByteSource,
): Promise<NewContent> {
  const data = exactly(source, length);
  if (contentId === null) return writeContent(w, concat(zeros(offset), data));
  const old = await w.meta.readContent(contentId);
  const oldSize = old.size;
  const oldBytes = (start: number, end: number): ByteSource => readContentRange(r, contentId, { start, end: end - 1 });
  const end = offset + length;

  if (old.inline) {
    // Small file: rewrite it whole (it may stay inline or grow into chunks).
    const head = oldBytes(0, Math.min(offset, oldSize));
    const gap = zeros(Math.max(offset - oldSize, 0));
    const tail = end < oldSize ? oldBytes(end, oldSize) : concat();
    return writeContent(w, concat(head, gap, data, tail));
  }

  const chunks = old.chunks;
  // The region to re-chunk runs from the start of the chunk holding the first changed byte (for
  // appends, the last chunk, so a short tail chunk merges with the new bytes) to the end of the
  // chunk holding the last changed byte.
  const first = chunkIndexAt(chunks, Math.min(offset, oldSize - 1));
  const last = end >= oldSize ? chunks.length - 1 : chunkIndexAt(chunks, Math.max(end - 1, offset));
  const regionStart = chunks[first]!.offset;
  const regionEnd = chunks[last]!.offset + chunks[last]!.length;

  const prefix = oldBytes(regionStart, Math.min(offset, oldSize));
  const gap = zeros(Math.max(offset - oldSize, 0));
  const suffix = end < regionEnd ? oldBytes(end, regionEnd) : concat();
  return writeContent(w, concat(prefix, gap, data, suffix), {
    before: chunks.slice(0, first).map(kept),
    after: chunks.slice(last + 1).map(kept),
  });
}

/** New content = the first `newSize` bytes of the old one, or the old one plus zeros. */
export async function truncateContent(
  w: ContentWriterDeps,
  r: ContentReaderDeps,
  contentId: number,
  oldSize: number,
  newSize: number,
): Promise<NewContent> {
  if (newSize > oldSize) return rewriteRange(w, r, contentId, oldSize, newSize - oldSize, zeros(newSize - oldSize));
  const old = await w.meta.readContent(contentId);
  if (old.inline || newSize <= w.inlineMax) {
    return writeContent(w, readContentRange(r, contentId, { start: 0, end: newSize - 1 }));
  }
  const lastKept = chunkIndexAt(old.chunks, newSize - 1);
  const cut = old.chunks[lastKept]!;
  const before = old.chunks.slice(0, lastKept).map(kept);
  if (cut.offset + cut.length === newSize) return writeContent(w, concat(), { before: [...before, kept(cut)] });
  return writeContent(w, readContentRange(r, contentId, { start: cut.offset, end: newSize - 1 }), { before });
}

function kept(c: ChunkExtent): KeptChunk {
  return { hash: c.hash, length: c.length };
}

/** Index of the chunk holding byte `pos` (binary search over the contiguous offsets). */
function chunkIndexAt(chunks: ChunkExtent[], pos: number): number {
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid]!.offset <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
