// Names chunks: the content hash of a chunk's bytes, and the object key it is stored under.
//
// Why SHA-256 and not BLAKE3 (bench/chunker.ts, 256 MiB of random data in 1 MiB pieces, this
// 2-core Xeon with SHA-NI and AVX-512, medians of 5 runs):
//   SHA-256 (node:crypto)         ~1,250 MiB/s
//   BLAKE3 (@napi-rs/blake-hash)  ~4,400 MiB/s
//   FastCDC chunking alone        ~1,000–1,100 MiB/s
//   chunking + SHA-256, in turn   ~550 MiB/s; with hashChunkAsync overlapping the chunker on the
//                                 second core: ~900 MiB/s (see the bench table for today's figures)
// BLAKE3 is 3.5× faster in isolation, but the chunker is the bottleneck once hashing runs beside it
// on another core, and SHA-256 needs no native dependency (npx and the Docker image work on any
// platform Node runs on), is FIPS-approved, and is what S3 itself offers as a checksum. The hash is
// part of the on-disk format (chunk keys, ETags): switching later means a new HASH_ALGORITHM value
// recorded in the metadata settings, never a silent change.
import { createHash, webcrypto } from 'node:crypto';

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
 * The same hash computed by WebCrypto on libuv's thread pool, so the event loop (and the chunker
 * feeding it) keeps running meanwhile. WebCrypto copies the input first, so the caller may reuse
 * `data` once the call returns.
 */
export async function hashChunkAsync(data: Uint8Array): Promise<string> {
  const digest = await webcrypto.subtle.digest('SHA-256', data);
  return Buffer.from(digest).toString('hex');
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
