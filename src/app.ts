// The composition root: the only file that names concrete classes. It turns a Config into a
// running core (object store, metadata, cache, chunk store, Vfs), choosing implementations by
// URL scheme.
import { resolve } from 'node:path';
import type { Config } from './config/config.js';
import { FsError } from './core/errors.js';
import { redactUrl, type Logger } from './core/log.js';
import type { ObjectStore } from './store/object-store.js';
import { LocalObjectStore } from './store/local-store.js';
import { S3ObjectStore, parseS3Url } from './store/s3-store.js';
import type { MetaStore } from './meta/meta-store.js';
import { SqlMetaStore } from './meta/sql-meta-store.js';
import { SqliteDriver, type SqliteDriverOptions } from './meta/sqlite-driver.js';
import { DiskChunkCache } from './chunks/disk-cache.js';
import { ChunkStore } from './chunks/chunk-store.js';
import { CHUNKER_ID, validateChunkingParams, type ChunkingParams } from './chunks/fastcdc.js';
import { HASH_ALGORITHM } from './chunks/chunk-hash.js';
import { Vfs } from './vfs/vfs.js';
import { LockManager } from './locks/lock-manager.js';

export interface Core {
  objects: ObjectStore;
  meta: MetaStore;
  cache: DiskChunkCache;
  chunks: ChunkStore;
  vfs: Vfs;
  locks: LockManager;
  close(): Promise<void>;
}

export function openObjectStore(url: string): ObjectStore {
  if (url.startsWith('file://')) return new LocalObjectStore(resolve(url.slice('file://'.length)));
  if (url.startsWith('s3://')) return new S3ObjectStore(parseS3Url(url));
  throw new FsError('EINVAL', `unsupported object store URL ${redactUrl(url)} (use file:// or s3://)`);
}

export function openMetaStore(url: string, opts: SqliteDriverOptions = {}): MetaStore {
  if (url.startsWith('sqlite://')) {
    const file = url.slice('sqlite://'.length);
    return new SqlMetaStore(new SqliteDriver(file === ':memory:' ? file : resolve(file), opts));
  }
  throw new FsError('EINVAL', `unsupported metadata URL ${redactUrl(url)} (use sqlite://)`);
}

/** The database file of a `sqlite://` metadata URL, resolved; undefined for other databases. */
export function sqliteFileOf(url: string): string | undefined {
  if (!url.startsWith('sqlite://')) return undefined;
  const file = url.slice('sqlite://'.length);
  return file === ':memory:' ? undefined : resolve(file);
}

/** The node's disk cache alone (`davfs-bridge cache`), opened; staging is left as it is. */
export async function openChunkCache(config: Config): Promise<DiskChunkCache> {
  const cache = new DiskChunkCache({ dir: config.cache.dir, maxBytes: config.cache.size });
  await cache.open();
  return cache;
}

/** How long closing the core waits for write-back uploads (config/default.yaml documents it). */
const WRITE_BACK_FLUSH_MS = 30_000;

/** Opens every layer, checking each one; on failure closes what was opened and rethrows. */
/** How the core is opened beyond its configuration: the FUSE mount's commits wait for no fsync. */
export interface OpenCoreOptions {
  durableCommits?: boolean;
}

export async function openCore(config: Config, log: Logger, opts: OpenCoreOptions = {}): Promise<Core> {
  const opened: { close(): Promise<void> }[] = [];
  try {
    const objects = openObjectStore(config.store);
    await objects.open();
    opened.push(objects);
    const meta = openMetaStore(config.meta, opts);
    await meta.open();
    opened.push(meta);
    const chunking = await storeChunking(meta, config, log);
    const writeBack = config.writeMode === 'writeback';
    // Write-back acknowledges a write once its chunks are staged, so staging must survive a power
    // loss (fsync); durable mode acknowledges only once they are in the object store.
    const cache = new DiskChunkCache({ dir: config.cache.dir, maxBytes: config.cache.size, syncStaging: writeBack });
    await cache.open();
    // Durable mode: the 201 waits for the PUT, so chunks go straight from memory to the store and
    // the cache is filled behind it. Write-back: staged, then uploaded by chunks/write-back.ts.
    const chunks = new ChunkStore(objects, cache, {
      prefetchConcurrency: config.downloadConcurrency,
      verifyDownloads: config.verifyDownloads,
      ...(writeBack
        ? {
            writeBack: {
              quietMs: config.writeBackDelayMs,
              onRetry: (hash: string, err: unknown, attempt: number, delayMs: number) =>
                log.warn({ chunk: hash, attempt, delayMs, err: (err as Error).message }, 'write-back upload failed; retrying'),
              onLost: (hash: string) => log.error({ chunk: hash }, 'staged chunk unreadable or corrupt, dropped: fsck lists any file using it (a write a power cut stopped before its commit uses none)'),
            },
          }
        : { stageUploads: false }),
    });
    opened.push(chunks);
    if (cache.listStaged().length > 0) {
      // Left by a write-back run (acknowledged data: upload it, in the background in write-back
      // mode, before serving in durable mode) or by a write killed before its commit (never
      // acknowledged: uploading it is harmless, GC removes the unreferenced object later).
      // Never dropped: a node switched from writeback to durable after a crash must not lose data.
      const replayed = await chunks.replayStaged().catch((err: unknown) => {
        log.error({ err: (err as Error).message, staged: cache.listStaged().length }, 'could not upload staged chunks; kept for the next start');
        return 0;
      });
      log.info({ chunks: replayed, mode: config.writeMode }, 'replaying staged chunks');
    }
    const vfs = new Vfs(meta, chunks, {
      chunking,
      inlineMax: config.inlineMax,
      uploadConcurrency: config.uploadConcurrency,
      readAhead: config.readAhead,
    });
    const locks = new LockManager(meta, { maxTimeoutS: config.webdav.lockMaxTimeoutS });
    log.info({ store: objects.description, meta: redactUrl(config.meta), cache: config.cache.dir }, 'core opened');
    return {
      objects,
      meta,
      cache,
      chunks,
      vfs,
      locks,
      close: async () => {
        // Write-back: give the uploads a bounded time (a service manager kills a slow stop);
        // whatever is left stays staged and is replayed at the next start.
        if (!(await chunks.flush(WRITE_BACK_FLUSH_MS))) {
          log.warn({ pending: chunks.pendingUploads().length }, 'write-back uploads unfinished at shutdown; replayed at next start');
        }
        await chunks.close();
        await meta.close();
        await objects.close();
      },
    };
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The chunking parameters and hash are part of the store's format: the first node to open a
 * store records them, every later node uses the recorded ones (a different hash would make
 * every chunk name wrong, so that is refused).
 */
async function storeChunking(meta: MetaStore, config: Config, log: Logger): Promise<ChunkingParams> {
  const hash = await meta.initSetting('hash_algorithm', HASH_ALGORITHM);
  if (hash !== HASH_ALGORITHM) throw new FsError('EIO', `store uses hash ${hash}, this program ${HASH_ALGORITHM}`);
  const wanted = { ...config.chunking, chunker: CHUNKER_ID };
  const stored = JSON.parse(await meta.initSetting('chunking', JSON.stringify(wanted))) as ChunkingParams & { chunker: string };
  // Another chunker only costs deduplication against older files, never correctness.
  if (stored.chunker !== CHUNKER_ID) log.warn({ stored: stored.chunker, ours: CHUNKER_ID }, 'store was chunked by another chunker version');
  const params = { minSize: stored.minSize, avgSize: stored.avgSize, maxSize: stored.maxSize };
  if (params.minSize !== config.chunking.minSize || params.avgSize !== config.chunking.avgSize || params.maxSize !== config.chunking.maxSize) {
    log.warn({ stored: params }, 'configured chunking differs from the store; using the store\'s parameters');
  }
  validateChunkingParams(params);
  return params;
}
