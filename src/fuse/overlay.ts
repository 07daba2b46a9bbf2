// The bytes of a file as an open handle sees them, as one stream for a whole-file commit: the
// committed bytes [0, baseLength), with the dirty extents laid over them and zeros past the base.
import { zeros } from '../vfs/byte-sources.js';
import { splitByExtents, type Extent } from './staged-writes.js';

export interface OverlayInput {
  size: number;
  /** Committed bytes still valid (the file may have been truncated below its committed size). */
  baseLength: number;
  /** The committed bytes [0, baseLength), or undefined when baseLength is 0. */
  base: AsyncIterable<Uint8Array> | undefined;
  extents: readonly Extent[];
  dirty(start: number, end: number): AsyncIterable<Uint8Array>;
}

export async function* overlay(o: OverlayInput): AsyncGenerator<Uint8Array> {
  const base = new ByteCursor(o.base);
  for (const piece of splitByExtents(o.extents, 0, o.size)) {
    const baseEnd = Math.min(piece.end, o.baseLength);
    const fromBase = Math.max(baseEnd - piece.start, 0);
    if (piece.dirty) {
      yield* o.dirty(piece.start, piece.end);
      // The base bytes under a dirty extent are read and dropped: one sequential pass over the
      // base costs less than a range read per gap when there are many extents.
      await base.skip(fromBase);
    } else {
      yield* base.take(fromBase);
      yield* zeros(piece.end - piece.start - fromBase);
    }
  }
  await base.close();
}

/** Takes exact byte counts from a stream of buffers; a stream that ends early reads as zeros. */
export class ByteCursor {
  private readonly it: AsyncIterator<Uint8Array> | undefined;
  private rest: Uint8Array | undefined;

  constructor(source: AsyncIterable<Uint8Array> | undefined) {
    this.it = source?.[Symbol.asyncIterator]();
  }

  async *take(n: number): AsyncGenerator<Uint8Array> {
    while (n > 0) {
      const b = await this.next(n);
      if (!b) {
        yield* zeros(n);
        return;
      }
      n -= b.length;
      yield b;
    }
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      const b = await this.next(n);
      if (!b) return;
      n -= b.length;
    }
  }

  async close(): Promise<void> {
    await this.it?.return?.(undefined);
  }

  /** At most `max` bytes, or undefined at the end. */
  private async next(max: number): Promise<Uint8Array | undefined> {
    let b = this.rest;
    this.rest = undefined;
    if (!b) {
      const r = await this.it?.next();
      if (!r || r.done) return undefined;
      b = r.value;
    }
    if (b.length > max) {
      this.rest = b.subarray(max);
      b = b.subarray(0, max);
    }
    return b;
  }
}
