// Metadata snapshots in the object store (DESIGN.md "Durability of metadata"): backup ships a
// consistent, gzipped copy of the SQLite metadata to meta/snapshots/ and keeps the newest N;
// restore rebuilds a node's database from the newest snapshot with nothing but the object store.
//
// What a restore brings back is the metadata as of the snapshot: files written after it are lost
// (their chunks become orphans that GC removes), and chunks that lost their last reference after
// it must still exist, which is why the GC grace period is longer than the snapshot interval.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { FsError } from '../core/errors.js';
import { fsyncPath } from '../core/fsync.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { ObjectInfo, ObjectStore } from '../store/object-store.js';

export const SNAPSHOT_PREFIX = 'meta/snapshots/';
export const SNAPSHOT_SUFFIX = '.db.gz';
/** `<ISO time>.db.gz`: keys sort by time, so the newest snapshot is the last one listed. */
const SNAPSHOT_NAME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\.db\.gz$/;

export interface SnapshotProgress {
  /** copy: database pages; compress, download: bytes; upload: 0 then the compressed size. */
  phase: 'copy' | 'compress' | 'upload' | 'download';
  done: number;
  total: number;
}

export interface BackupOptions {
  meta: MetaStore;
  objects: ObjectStore;
  /** The clock (ms since the epoch) that names the snapshot. */
  now: () => number;
  /** Snapshots to keep, this one included; older ones are deleted. Default 10. */
  keep?: number;
  /** Where the uncompressed copy and the gzip are made (default: the OS temp folder). */
  tmpDir?: string;
  onProgress?: (p: SnapshotProgress) => void;
}

export interface BackupReport {
  key: string;
  /** Size of the database copy. */
  dbBytes: number;
  /** Size of the uploaded object. */
  compressedBytes: number;
  /** Older snapshots deleted to keep `keep`. */
  deleted: string[];
  durationMs: number;
}

export interface RestoreOptions {
  objects: ObjectStore;
  /** The SQLite file to (re)create. */
  metaFile: string;
  /** Replace an existing database. Without it an existing file is an error (EEXIST). */
  force: boolean;
  /**
   * Opens (without migrating) a metadata store on a database file, to check the download before
   * it replaces anything. Injected: only app.ts names concrete classes.
   */
  openMeta: (file: string) => MetaStore;
  /** Restore this snapshot key instead of the newest. */
  key?: string;
  onProgress?: (p: SnapshotProgress) => void;
}

export interface RestoreReport {
  key: string;
  compressedBytes: number;
  dbBytes: number;
  schemaVersion: string;
  durationMs: number;
}

export function snapshotKey(timeMs: number): string {
  return `${SNAPSHOT_PREFIX}${new Date(timeMs).toISOString()}${SNAPSHOT_SUFFIX}`;
}

/** The snapshots in the store, oldest first (keys that are not snapshots are ignored). */
export async function listSnapshots(objects: ObjectStore): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const info of objects.list(SNAPSHOT_PREFIX)) {
    if (SNAPSHOT_NAME.test(info.key.slice(SNAPSHOT_PREFIX.length))) found.push(info);
  }
  return found;
}

/** Copies, compresses and uploads the metadata, then deletes snapshots beyond `keep`. */
export async function backupMetadata(opts: BackupOptions): Promise<BackupReport> {
  const started = Date.now();
  const keep = opts.keep ?? 10;
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a positive integer, got ${keep}`);
  const key = snapshotKey(opts.now());
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'davfs-snapshot-'));
  try {
    const dbFile = join(work, 'meta.db');
    const gzFile = join(work, 'meta.db.gz');
    await opts.meta.snapshotTo(dbFile, (done, total) => opts.onProgress?.({ phase: 'copy', done, total }));
    const dbBytes = (await stat(dbFile)).size;
    await pipeline(
      createReadStream(dbFile),
      countBytes((done) => opts.onProgress?.({ phase: 'compress', done, total: dbBytes })),
      createGzip({ level: 6 }),
      createWriteStream(gzFile),
    );
    // A Buffer PUT: ObjectStore has no streaming put yet, and a gzipped metadata database is small
    // next to the chunks it describes (about a tenth of the uncompressed size).
    const body = await readFile(gzFile);
    opts.onProgress?.({ phase: 'upload', done: 0, total: body.length });
    await opts.objects.put(key, body);
    opts.onProgress?.({ phase: 'upload', done: body.length, total: body.length });
    const deleted = await pruneSnapshots(opts.objects, keep, key);
    return { key, dbBytes, compressedBytes: body.length, deleted, durationMs: Date.now() - started };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Deletes all but the newest `keep` snapshots. `justWritten` is never deleted, even if its name
 * sorts early (this node's clock behind the one that wrote the others).
 */
async function pruneSnapshots(objects: ObjectStore, keep: number, justWritten: string): Promise<string[]> {
  const keys = (await listSnapshots(objects)).map((s) => s.key).filter((k) => k !== justWritten);
  const old = keys.slice(0, Math.max(0, keys.length - (keep - 1)));
  if (old.length > 0) await objects.delete(old);
  return old;
}

/**
 * Downloads the newest snapshot (or `key`), checks that it is a davfs-bridge metadata database,
 * and moves it into place. Nothing at `metaFile` changes until the download has been checked.
 */
export async function restoreMetadata(opts: RestoreOptions): Promise<RestoreReport> {
  const started = Date.now();
  const { objects, metaFile } = opts;
  if (!opts.force && (await exists(metaFile))) {
    throw new FsError('EEXIST', `${metaFile} exists; restore --force replaces it (stop the server using it first)`);
  }
  let info: ObjectInfo | undefined;
  if (opts.key !== undefined) {
    info = await objects.head(opts.key);
    if (!info) throw new FsError('ENOENT', `no snapshot ${opts.key} in ${objects.description}`);
  } else {
    info = (await listSnapshots(objects)).at(-1);
    if (!info) throw new FsError('ENOENT', `no metadata snapshot under ${SNAPSHOT_PREFIX} in ${objects.description}`);
  }
  const total = info.size;

  await mkdir(dirname(metaFile), { recursive: true });
  // Beside the target, so the final rename is atomic (same file system).
  const tmp = `${metaFile}.restore-${process.pid}`;
  await removeDatabase(tmp);
  try {
    try {
      await pipeline(
        await objects.getStream(info.key),
        countBytes((done) => opts.onProgress?.({ phase: 'download', done, total })),
        createGunzip(),
        createWriteStream(tmp),
      );
    } catch (err) {
      throw new FsError('EIO', `cannot download snapshot ${info.key}: ${(err as Error).message}`, { cause: err });
    }
    // Both fsyncs: so a restored database survives a power cut right after the command reports success.
    await fsyncPath(tmp);
    const dbBytes = (await stat(tmp)).size;
    const schemaVersion = await checkDatabase(tmp, info.key, opts.openMeta);
    // A WAL or shared-memory file left by the old database would be replayed into the new one.
    await rm(`${metaFile}-wal`, { force: true });
    await rm(`${metaFile}-shm`, { force: true });
    await rename(tmp, metaFile);
    await fsyncPath(dirname(metaFile));
    return { key: info.key, compressedBytes: total, dbBytes, schemaVersion, durationMs: Date.now() - started };
  } finally {
    await removeDatabase(tmp);
  }
}

/** Opens the downloaded file and reads its schema version; EIO when it is no metadata database. */
async function checkDatabase(file: string, key: string, openMeta: (file: string) => MetaStore): Promise<string> {
  let version: string | undefined;
  let meta: MetaStore | undefined;
  try {
    meta = openMeta(file);
    // Not meta.open(): that would migrate (or initialise) the file and hide a broken snapshot.
    version = await meta.getSetting('schema_version');
  } catch (err) {
    throw new FsError('EIO', `snapshot ${key} is not a readable database: ${(err as Error).message}`, { cause: err });
  } finally {
    await meta?.close().catch(() => undefined);
    // Only read: closing leaves nothing in these that the file itself lacks.
    await rm(`${file}-wal`, { force: true });
    await rm(`${file}-shm`, { force: true });
  }
  if (version === undefined) throw new FsError('EIO', `snapshot ${key} has no schema_version: not davfs-bridge metadata`);
  return version;
}

async function removeDatabase(file: string): Promise<void> {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) await rm(f, { force: true });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}


/** A pass-through stream that reports the running byte count (for progress bars). */
function countBytes(report: (done: number) => void): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      done += chunk.length;
      report(done);
      callback(null, chunk);
    },
  });
}
