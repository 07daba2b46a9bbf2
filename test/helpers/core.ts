// Builds a real core stack for tests: SQLite metadata, a disk cache in a temp folder, and the
// given object store (memory by default), with small chunk sizes so small data exercises chunking.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkStore } from '../../src/chunks/chunk-store.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import type { ChunkingParams } from '../../src/chunks/fastcdc.js';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';
import type { MetaStore } from '../../src/meta/meta-store.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { chunkKey } from '../../src/chunks/chunk-hash.js';
import { Vfs } from '../../src/vfs/vfs.js';

export const SMALL_CHUNKING: ChunkingParams = { minSize: 2048, avgSize: 8192, maxSize: 32768 };

export interface TestCore {
  vfs: Vfs;
  meta: SqlMetaStore;
  objects: ObjectStore;
  cache: DiskChunkCache;
  chunks: ChunkStore;
  dir: string;
  close(): Promise<void>;
}

export async function makeTestCore(
  opts: {
    objects?: ObjectStore;
    chunking?: ChunkingParams;
    inlineMax?: number;
    cacheBytes?: number;
    memoryCacheBytes?: number;
    dir?: string;
    /** Cache folder under `dir` (a new name gives a reopened core an empty cache). */
    cacheDir?: string;
    metaFile?: string;
    /** Write-back mode: staged (fsynced) chunks, uploaded in the background, replayed at open. */
    writeBack?: boolean;
  } = {},
): Promise<TestCore> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'davfs-core-'));
  const objects = opts.objects ?? new MemoryObjectStore();
  await objects.open();
  const meta = new SqlMetaStore(new SqliteDriver(opts.metaFile ?? join(dir, 'meta.db')));
  await meta.open();
  const cache = new DiskChunkCache({ dir: join(dir, opts.cacheDir ?? 'cache'), maxBytes: opts.cacheBytes ?? 64 * 1024 * 1024, syncStaging: opts.writeBack ?? false });
  await cache.open();
  // No memory cache by default: tests with a tiny disk cache must really go back to the store.
  const memoryCacheBytes = opts.memoryCacheBytes ?? 0;
  const chunks = new ChunkStore(
    objects,
    cache,
    opts.writeBack ? { writeBack: { retryBaseMs: 2, retryMaxMs: 20 }, memoryCacheBytes } : { stageUploads: false, memoryCacheBytes },
  );
  if (opts.writeBack) await chunks.replayStaged();
  const vfs = new Vfs(meta, chunks, {
    chunking: opts.chunking ?? SMALL_CHUNKING,
    inlineMax: opts.inlineMax ?? 1024,
    uploadConcurrency: 4,
    readAhead: 2,
  });
  return {
    vfs,
    meta,
    objects,
    cache,
    chunks,
    dir,
    close: async () => {
      await chunks.close();
      await cache.close();
      await meta.close();
      await objects.close();
    },
  };
}

/**
 * Metadata invariants plus I1: every referenced chunk exists in the object store — or, in
 * write-back mode, is pending (fsynced in staging), which is asked before the store so an upload
 * landing between the two questions cannot look like a missing chunk.
 */
export async function storeProblems(core: { meta: MetaStore; objects: ObjectStore; chunks?: Pick<ChunkStore, 'isPending'> }): Promise<string[]> {
  const problems = await core.meta.checkConsistency();
  for await (const c of core.meta.listChunks()) {
    if (c.refcount === 0 || core.chunks?.isPending(c.hash)) continue;
    const info = await core.objects.head(chunkKey(c.hash));
    if (!info) problems.push(`referenced chunk ${c.hash} is missing from the object store`);
    else if (info.size !== c.size) problems.push(`chunk ${c.hash} is ${info.size} bytes in the store, ${c.size} in metadata`);
  }
  return problems;
}

/**
 * Body for the crash-test child processes: `size` pseudo-random bytes in 1 MiB pieces, printing
 * `progress N` after each so the parent can kill the writer at a chosen point.
 */
export async function* progressBody(size: number, seed: number): AsyncGenerator<Buffer> {
  const piece = 1 << 20;
  for (let sent = 0; sent < size; sent += piece) {
    yield pseudoRandomBytes(Math.min(piece, size - sent), seed + sent);
    process.stdout.write(`progress ${sent + piece}\n`);
  }
}

/** Deterministic pseudo-random bytes (never zeros: dedup would hide bugs). */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

export async function* bytesOf(data: Buffer, pieceSize = 7000): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += pieceSize) yield data.subarray(i, i + pieceSize);
}
