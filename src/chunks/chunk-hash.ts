// Names chunks: the content hash of a chunk's bytes, and the object key it is stored under.
//
// Why SHA-256 and not BLAKE3: bench/chunker.ts (256 MiB of random data, 5 runs, medians; this
// 2-core Xeon with SHA-NI and AVX-512; the machine was shared, so chunker rows varied ±25%):
//   SHA-256 (node:crypto), 1 MiB pieces          1,250–1,310 MiB/s
//   BLAKE3 (@napi-rs/blake-hash), 1 MiB pieces   4,200–4,500 MiB/s
//   chunkStream alone (64 KiB inputs)              540–710 MiB/s
//   chunkStream + SHA-256 on the event loop        390–450 MiB/s
//   chunkStream + BLAKE3 on the event loop         500–600 MiB/s
//   chunkStream + hashChunkAsync (thread pool)     420–560 MiB/s (best when the second core is idle)
// BLAKE3 is 3.5× faster alone but only ~1.3× faster end to end, because the chunker dominates; with
// SHA-256 on the thread pool beside the chunker the gap mostly closes. Against that, SHA-256 needs
// no native dependency (npx and the Docker image work wherever Node runs; @napi-rs/blake-hash was
// measured once and then dropped: its lock file entries for other platforms break `npm ci` here), is FIPS-approved, and is a checksum S3 itself
// offers. The hash is part of the on-disk format (chunk keys, ETags): switching later means a new
// HASH_ALGORITHM value recorded in the metadata settings, never a silent change.
import { createHash, webcrypto } from 'node:crypto';
import { isShared } from '../core/shared-memory.js';
import type { PutOptions } from '../store/object-store.js';
import { sha256InWorker } from './hash-worker.js';

/** Recorded in the metadata settings next to the chunking parameters. */
export const HASH_ALGORITHM = 'sha256';

/** Length of a hash in hex characters. */
export const HASH_HEX_LENGTH = 64;

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** The lowercase hex SHA-256 of the bytes, on the calling thread. */
export function hashChunk(data: Uint8Array): string {
  return createHash(HASH_ALGORITHM).update(data).digest('hex');
}

/**
 * The same hash computed off the event loop, so it (and the chunker feeding it) keeps running
 * meanwhile: bytes in shared memory (chunks the chunker cut, S3 bodies) on a hash worker in place,
 * others by WebCrypto on libuv's thread pool, which copies them first (the caller may reuse `data`
 * once the call returns). hash-worker.ts says why shared memory.
 */
export async function hashChunkAsync(data: Uint8Array): Promise<string> {
  if (isShared(data)) return sha256InWorker(data);
  const digest = await webcrypto.subtle.digest('SHA-256', data);
  return Buffer.from(digest).toString('hex');
}

/**
 * What a chunk's PUT tells the store: its name is the SHA-256 of its bytes, so an S3 server can
 * verify the upload against it (SigV4's payload hash) and nobody hashes the bytes a second time.
 */
export function chunkPutOptions(hash: string): PutOptions {
  return { sha256: hash };
}

/** True for a well-formed chunk hash (lowercase hex of the right length). */
export function isChunkHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}

/**
 * The object key of a chunk: `chunks/<first 2 hex>/<hash>` (DESIGN.md "Storage model"). The
 * two-character level spreads keys over 256 prefixes, which S3 partitions by and which keeps local
 * directories small.
 */
export function chunkKey(hash: string): string {
  if (!isChunkHash(hash)) throw new RangeError(`not a chunk hash: ${JSON.stringify(hash)}`);
  return `chunks/${hash.slice(0, 2)}/${hash}`;
}
