// Turns a byte stream into a committed-ready content: small bodies inline, larger ones cut into
// content-defined chunks, hashed, and uploaded (each chunk once: dedup) before any row names them.
import { FsError } from '../core/errors.js';
import type { ChunkingParams } from '../chunks/fastcdc.js';
import { chunkAndHash } from '../chunks/chunk-worker.js';
import type { ChunkStore } from '../chunks/chunk-store.js';
import { UploadQueue } from '../chunks/upload-queue.js';
import type { MetaStore, NewContent } from '../meta/meta-store.js';
import { chunkListEtag, inlineEtag } from './etag.js';
import type { ByteSource } from './types.js';

export interface ContentWriterDeps {
  meta: MetaStore;
  chunks: ChunkStore;
  chunking: ChunkingParams;
  /** Bodies up to this many bytes are stored in the metadata row. */
  inlineMax: number;
  uploadConcurrency: number;
}

/** A chunk the new content keeps from an old one (partial updates): no upload needed. */
export interface KeptChunk {
  hash: string;
  length: number;
}

/**
 * Reads `source` to its end and makes its bytes durable. Resolves with the content to commit;
 * throws (after waiting for uploads already started) if the source fails or breaks a limit, in
 * which case nothing refers to the uploaded chunks and garbage collection will reclaim them.
 * `before` and `after` are chunks kept as they are around the new bytes (partial updates).
 */
export async function writeContent(
  deps: ContentWriterDeps,
  source: ByteSource,
  opts: { expectedSize?: number; before?: KeptChunk[]; after?: KeptChunk[] } = {},
): Promise<NewContent> {
  const before = opts.before ?? [];
  const after = opts.after ?? [];
  const it = source[Symbol.asyncIterator]();
  let size = 0;

  // Peek: a body that ends within inlineMax never touches the object store.
  const head: Uint8Array[] = [];
  let ended = false;
  if (before.length === 0 && after.length === 0) {
    while (size <= deps.inlineMax) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head.push(r.value);
      size += r.value.length;
    }
    if (ended) {
      checkSize(size, opts.expectedSize);
      const data = Buffer.concat(head);
      return { size, etag: inlineEtag(data), inline: data, chunks: [] };
    }
  }

  async function* rest(): AsyncGenerator<Uint8Array> {
    yield* head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      size += r.value.length;
      yield r.value;
    }
  }

  const queue = new UploadQueue(deps.chunks, deps.uploadConcurrency);
  const middle: KeptChunk[] = [];
  // Cut and hashed on the chunk worker while this thread reads the source and runs the uploads.
  const chunked = chunkAndHash(rest(), deps.chunking);
  try {
    for await (const { chunk, hash } of chunked) {
      const known = (await deps.meta.knownChunks([hash])).has(hash);
      await queue.add(hash, chunk, known);
      middle.push({ hash, length: chunk.length });
    }
    await queue.drain();
    // Write-back stages chunks without an fsync each: one pass before the commit names them.
    await deps.chunks.makeDurable(middle.map((c) => c.hash));
  } catch (err) {
    await queue.drain().catch(() => undefined);
    if (it.return) await it.return().catch(() => undefined);
    throw err;
  }
  checkSize(size, opts.expectedSize);
  const chunks = [...before, ...middle, ...after];
  const total = chunks.reduce((n, c) => n + c.length, 0);
  return { size: total, etag: chunkListEtag(total, chunks.map((c) => c.hash)), inline: null, chunks };
}

function checkSize(size: number, expected: number | undefined): void {
  if (expected !== undefined && size !== expected) {
    throw new FsError('EINVAL', `body is ${size} bytes, ${expected} were announced`);
  }
}
