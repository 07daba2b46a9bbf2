// An ObjectStore in a local directory, one file per key: the embedded default (`file://./data/objects`).
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { FsError } from '../core/errors.js';
import type { GetOptions, ObjectInfo, ObjectStore } from './object-store.js';
import { checkRange, compareKeys } from './store-keys.js';

/**
 * Names of files being written start with this. list() skips them and keys may not contain a
 * segment starting with it, so a write cut short by a crash is never seen as an object.
 */
export const TEMP_PREFIX = '.davfs-tmp-';

/** Longest file name most file systems accept (NAME_MAX). */
const MAX_SEGMENT_BYTES = 255;
/** S3's own limit on key length, so a key that works here also works in a bucket. */
const MAX_KEY_BYTES = 1024;
/** Files stat()ed or unlinked at once: enough to hide latency, few enough to stay off EMFILE. */
const PARALLEL_FILE_OPS = 32;

/**
 * Throws FsError('EINVAL') unless `key` maps to a path strictly inside the root: relative, made of
 * non-empty segments, none of them `.` or `..`, no NUL (cuts C strings), no backslash (a separator
 * on Windows), and not our temp-file names.
 */
export function checkLocalKey(key: string): void {
  const refuse = (why: string): never => {
    throw new FsError('EINVAL', `object key ${JSON.stringify(key)} ${why}`);
  };
  if (key === '') refuse('is empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) refuse(`is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.includes('\0')) refuse('contains NUL');
  if (key.includes('\\')) refuse('contains a backslash');
  if (key.startsWith('/')) refuse('starts with "/"');
  for (const segment of key.split('/')) {
    if (segment === '') refuse('has an empty segment');
    if (segment === '.' || segment === '..') refuse(`has a "${segment}" segment`);
    if (segment.startsWith(TEMP_PREFIX)) refuse(`has a segment starting with the reserved "${TEMP_PREFIX}"`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) refuse(`has a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    this.description = `local directory ${this.root}`;
  }

  async open(): Promise<void> {
    // Write a real file rather than trusting access(W_OK): that says yes on a read-only mount.
    const probe = join(this.root, `${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.root, { recursive: true });
      const handle = await open(probe, 'wx');
      await handle.close();
      await unlink(probe);
    } catch (err) {
      throw new FsError('EIO', `object directory ${this.root} is not usable: ${errnoOf(err) ?? String(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Atomic and durable: write a temp file beside the target, fsync it, rename it over the key, fsync
   * the folder. A crash leaves either the old object or the new one, plus at worst a temp file.
   */
  async put(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      await this.makeDirs(dir);
      let handle: FileHandle | undefined = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(body);
        await handle.sync();
        await handle.close();
        handle = undefined;
        await rename(temp, path);
      } catch (err) {
        await handle?.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        throw err;
      }
      await syncDir(dir);
    } catch (err) {
      throw this.fail('put', key, err);
    }
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const handle = await this.openObject(key);
    try {
      if (options?.range === undefined) return await handle.readFile();
      const { start, end } = options.range;
      checkRange(key, start, end, (await handle.stat()).size);
      const buffer = Buffer.allocUnsafe(end - start + 1);
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
        if (bytesRead === 0) throw new FsError('EIO', `object ${JSON.stringify(key)} shrank while being read`);
        filled += bytesRead;
      }
      return buffer;
    } catch (err) {
      throw this.fail('get', key, err);
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<Readable> {
    const handle = await this.openObject(key);
    // The stream owns the handle from here on and closes it at end, error or destroy().
    return handle.createReadStream();
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size, mtimeMs: info.mtimeMs } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.fail('head', key, err);
    }
  }

  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((key) => this.pathOf(key));
    for (let i = 0; i < paths.length; i += PARALLEL_FILE_OPS) {
      await Promise.all(
        paths.slice(i, i + PARALLEL_FILE_OPS).map(async (path, j) => {
          try {
            await unlink(path);
          } catch (err) {
            // A folder (EISDIR on Linux, EPERM on macOS) is not an object: nothing to delete.
            if (isMissing(err) || errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EPERM') return;
            throw this.fail('delete', keys[i + j] ?? '', err);
          }
        }),
      );
    }
    // Empty folders stay: removing them would race with a put() creating a file in them.
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Start in the deepest folder the prefix names entirely, filter its entries by the rest.
    const slash = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    if (folderKey !== '') checkLocalKey(folderKey.slice(0, -1));
    if (namePrefix.includes('\0') || namePrefix.includes('\\')) {
      throw new FsError('EINVAL', `list prefix ${JSON.stringify(prefix)} contains NUL or a backslash`);
    }
    yield* this.walk(folderKey, namePrefix);
  }

  async close(): Promise<void> {}

  /**
   * Objects under the folder for `folderKey` ('' or ending in '/') whose names start with
   * `namePrefix`, in key order. Sorting a folder's entries with '/' appended to sub-folder names
   * makes a depth-first walk produce exactly S3's order: "a-b" (0x2d) comes before "a/x" (0x2f).
   */
  private async *walk(folderKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, folderKey), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.fail('list', folderKey, err);
    }
    const wanted = entries
      .filter((e) => e.name.startsWith(namePrefix) && !e.name.startsWith(TEMP_PREFIX))
      .filter((e) => e.isDirectory() || e.isFile())
      .map((e) => ({ name: e.isDirectory() ? `${e.name}/` : e.name, isDirectory: e.isDirectory() }))
      .sort((a, b) => compareKeys(a.name, b.name));
    for (let i = 0; i < wanted.length; ) {
      const entry = wanted[i];
      if (entry === undefined) break;
      if (entry.isDirectory) {
        yield* this.walk(folderKey + entry.name, '');
        i++;
        continue;
      }
      // stat() a run of plain files in parallel; a big chunk folder holds thousands of them.
      let runEnd = i;
      while (runEnd < wanted.length && runEnd - i < PARALLEL_FILE_OPS && wanted[runEnd]?.isDirectory === false) runEnd++;
      const infos = await Promise.all(wanted.slice(i, runEnd).map((e) => this.head(folderKey + e.name)));
      for (const info of infos) if (info !== undefined) yield info; // undefined: deleted meanwhile
      i = runEnd;
    }
  }

  private pathOf(key: string): string {
    checkLocalKey(key);
    return join(this.root, key);
  }

  private async openObject(key: string): Promise<FileHandle> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw this.fail('get', key, err);
    }
    // open() succeeds on a folder on Linux; a folder is a prefix of keys, not an object.
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new FsError('ENOENT', `no object ${JSON.stringify(key)}`);
    }
    return handle;
  }

  /** mkdir -p, then fsync the parents of every folder it created so they survive a crash too. */
  private async makeDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    const parents: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      parents.push(dirname(d));
      if (d === first || d === dirname(d)) break;
    }
    for (const parent of parents) await syncDir(parent);
  }

  private fail(op: string, key: string, err: unknown): FsError {
    if (err instanceof FsError) return err;
    const code = errnoOf(err);
    const what = `${op} ${JSON.stringify(key)} in ${this.root}`;
    // The key needs a folder where a file is, or names a folder: the file system cannot hold both
    // "a" and "a/b" as objects (S3 can). Our own keys (chunks/…, meta/…) never do this.
    if (code === 'EISDIR' || code === 'EEXIST' || (op === 'put' && code === 'ENOTDIR')) {
      return new FsError('EINVAL', `${what}: the key collides with a folder of other keys`, { cause: err });
    }
    if (isMissing(err)) return new FsError('ENOENT', `no object ${JSON.stringify(key)}`, { cause: err });
    if (code === 'ENOSPC' || code === 'EDQUOT') return new FsError('ENOSPC', `${what}: disk full`, { cause: err });
    return new FsError('EIO', `${what} failed: ${code ?? String(err)}`, { cause: err });
  }
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/** ENOTDIR: a parent of the path is a file, so the object cannot exist either. */
function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Makes a rename or new entry in `dir` durable; not every platform can fsync a folder. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errnoOf(err);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}
