// Strong ETags computed from a content's description, never from reading its data (DESIGN.md
// invariant 5): equal on every node, cheap, and changed by any change of bytes.
import { createHash } from 'node:crypto';

/** ETag of a chunked content: a hash over its size and ordered chunk hashes. */
export function chunkListEtag(size: number, hashes: string[]): string {
  const h = createHash('sha256');
  h.update(`chunks\n${size}\n`);
  for (const x of hashes) h.update(x + '\n');
  return h.digest('hex').slice(0, 40);
}

/** ETag of an inline content: a hash of the bytes themselves. */
export function inlineEtag(data: Uint8Array): string {
  return createHash('sha256').update('inline\n').update(data).digest('hex').slice(0, 40);
}
