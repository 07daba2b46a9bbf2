// Small byte-stream helpers for the write paths: exact-length sources, zero fill, concatenation.
import { FsError } from '../core/errors.js';
import type { ByteSource } from './types.js';

const ZERO_BLOCK = Buffer.alloc(1 << 20);

/** Passes `source` through, failing unless it yields exactly `length` bytes. */
export async function* exactly(source: ByteSource, length: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const b of source) {
    seen += b.length;
    if (seen > length) throw new FsError('EINVAL', `body is longer than the announced ${length} bytes`);
    yield b;
  }
  if (seen !== length) throw new FsError('EINVAL', `body is ${seen} bytes, ${length} were announced`);
}

/** `length` zero bytes (sparse extension of a file). */
export async function* zeros(length: number): AsyncGenerator<Uint8Array> {
  for (let left = length; left > 0; left -= ZERO_BLOCK.length) {
    yield left >= ZERO_BLOCK.length ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, left);
  }
}

export async function* concat(...sources: ByteSource[]): AsyncGenerator<Uint8Array> {
  for (const s of sources) yield* s;
}
