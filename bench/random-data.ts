// Fast non-dedupable benchmark data: AES-256-CTR keystream (GB/s with AES-NI), deterministic by seed.
import { createCipheriv, createHash } from 'node:crypto';

const ZEROS = Buffer.alloc(1 << 20);

/** `total` bytes in 1 MiB pieces; `patch` replaces bytes [patch.offset, +patch.data.length). */
export async function* randomBytes(total: number, seed: string, patch?: { offset: number; data: Buffer }): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let pos = 0; pos < total; pos += ZEROS.length) {
    const n = Math.min(ZEROS.length, total - pos);
    const piece = cipher.update(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n));
    if (patch && patch.offset < pos + n && patch.offset + patch.data.length > pos) {
      const from = Math.max(patch.offset, pos);
      const to = Math.min(patch.offset + patch.data.length, pos + n);
      patch.data.copy(piece, from - pos, from - patch.offset, to - patch.offset);
    }
    yield piece;
  }
}

/** Reads a stream to its end, counting bytes (without keeping them). */
export async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const b of body) n += b.length;
  return n;
}
