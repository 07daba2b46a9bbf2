// Small builders for MetaStore tests: contents to commit without any object store, and an
// assertion on FsError codes.
import assert from 'node:assert/strict';
import { FsError } from '../../src/core/errors.js';
import type { NewContent } from '../../src/meta/meta-store.js';

/** A content made of these (hash, length) chunks; the ETag defaults to the hashes joined. */
export const chunked = (hashes: [string, number][], etag = hashes.map((h) => h[0]).join('+')): NewContent => ({
  size: hashes.reduce((n, h) => n + h[1], 0),
  etag,
  inline: null,
  chunks: hashes.map(([hash, length]) => ({ hash, length })),
});

/** A content stored inline in its row. */
export const inline = (text: string): NewContent => ({ size: Buffer.byteLength(text), etag: `i-${text}`, inline: Buffer.from(text), chunks: [] });

export async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof FsError && err.code === code);
}
