// Streams a byte range of a content: only the chunks covering the range are fetched (through the
// disk cache), with read-ahead of the next chunks so a long read never waits on one GET at a time.
import type { ChunkStore } from '../chunks/chunk-store.js';
import type { ChunkExtent, MetaStore } from '../meta/meta-store.js';
import type { ByteRange } from './types.js';

export interface ContentReaderDeps {
  meta: MetaStore;
  chunks: ChunkStore;
  /** How many chunks past the current one to fetch in the background. */
  readAhead: number;
}

/**
 * Chunks to fetch ahead after `steps` chunks read in order: 2, then twice as many per step, up to
 * `full`. Read-ahead ramps up as the kernel's own does, so a reader that stops or jumps soon has
 * not started downloads of tens of MiB it will never read.
 */
export function readAheadWindow(full: number, steps: number): number {
  return Math.min(full, 2 << Math.min(steps, 16));
}

/** Yields bytes [range.start, range.end] of the content; an empty range yields nothing. */
export async function* readContentRange(deps: ContentReaderDeps, contentId: number, range: ByteRange): AsyncGenerator<Buffer> {
  if (range.end < range.start) return;
  // The chunk index answers a range read of a large file without loading its whole chunk list;
  // only a content with no chunks (inline bytes) needs its row.
  const extents = await deps.meta.chunksInRange(contentId, range.start, range.end);
  if (extents.length === 0) {
    const body = await deps.meta.readContent(contentId);
    if (body.inline) yield body.inline.subarray(range.start, range.end + 1);
    return;
  }
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i]!;
    // Ramped: a client that stops early (a preview reading a file's first bytes, a cancelled
    // download) has not started read_ahead downloads (32 MiB at 8 × 4 MiB) it will never read.
    const window = readAheadWindow(deps.readAhead, i);
    if (window > 0) deps.chunks.prefetch(extents.slice(i + 1, i + 1 + window).map(toRef));
    const from = Math.max(range.start - e.offset, 0);
    const to = Math.min(range.end - e.offset + 1, e.length);
    yield from === 0 && to === e.length ? await deps.chunks.read(e.hash, e.length) : await deps.chunks.readRange(e.hash, e.length, from, to);
  }
}

function toRef(e: ChunkExtent): { hash: string; size: number } {
  return { hash: e.hash, size: e.length };
}
