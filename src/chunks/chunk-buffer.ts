// How large a reusable buffer for chunks is made: the chunk store's download buffers and a file
// reader's chunk slots both keep buffers from one chunk to the next.

/** The smallest chunk buffer: the default minimum chunk size (fastcdc.ts DEFAULT_CHUNKING). */
const MIN_BUFFER = 1 << 20;

/**
 * A power of two from 1 MiB at least `chunkLength`, so a buffer fits most next chunks (sizes vary
 * from 1 to 16 MiB around 4 MiB) and is seldom replaced: a new buffer is fresh memory to fault
 * in. Rounding to whole MiB replaced a file reader's buffer about every other chunk.
 */
export function chunkBufferSize(chunkLength: number): number {
  let size = MIN_BUFFER;
  while (size < chunkLength) size *= 2;
  return size;
}
