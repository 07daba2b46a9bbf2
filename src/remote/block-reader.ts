// Reads of remote files through the block cache: ranged GETs of whole blocks with If-Match on the
// ETag (a changed file answers 412 instead of mixing versions), one fetch per block however many
// readers want it, a window of blocks fetched concurrently inside one large read, and read-ahead
// of the next blocks when a reader continues where its last read ended.
import { LRUCache } from 'lru-cache';
import { FsError } from '../core/errors.js';
import { BlockCache, versionKey } from './block-cache.js';
import { failure, type DavHttp } from './http-client.js';
import { ifMatchOf, unquoteEtag } from './remote-stat.js';
import type { RemoteLog } from './remote-options.js';

/** The version of a file being read, from its stat. */
export interface FileVersion {
  path: string;
  size: number;
  etag: string | null;
  mtimeMs: number;
}

/** The server no longer has the version being read (412, 404, 416, or another ETag). */
export class StaleVersionError extends Error {
  constructor(readonly path: string) {
    super(`${path} changed on the server`);
    this.name = 'StaleVersionError';
  }
}

export interface BlockReaderOptions {
  blockBytes: number;
  readAheadBlocks: number;
}

export class BlockReader {
  private readonly inflight = new Map<string, Promise<Buffer>>();
  /** Last block of each path's previous read: a read starting there or just after is sequential. */
  private readonly lastBlock = new LRUCache<string, number>({ max: 4096 });
  /** The version of each path last read, so its blocks go when another version shows up. */
  private readonly current = new LRUCache<string, string>({ max: 65_536 });
  /** GETs sent, for tests and status. */
  gets = 0;

  constructor(
    private readonly http: DavHttp,
    private readonly cache: BlockCache | undefined,
    private readonly opts: BlockReaderOptions,
    private readonly log: RemoteLog,
  ) {}

  /**
   * Bytes `start`..`end` (inclusive) of a version. The first block is fetched before this resolves,
   * so a stale version shows here (StaleVersionError) rather than after bytes were handed out.
   */
  async read(file: FileVersion, start: number, end: number): Promise<AsyncGenerator<Buffer>> {
    const B = this.opts.blockBytes;
    const version = this.versionOf(file);
    const first = Math.floor(start / B);
    const last = Math.floor(end / B);
    const previous = this.lastBlock.get(file.path);
    this.lastBlock.set(file.path, last);
    const window = Math.max(1, this.opts.readAheadBlocks);
    const started = new Map<number, Promise<Buffer>>();
    const want = (i: number): Promise<Buffer> => {
      let p = started.get(i);
      if (!p) {
        p = this.block(file, version, i);
        p.catch(() => undefined); // awaited (and reported) in order below, or dropped with the reader
        started.set(i, p);
      }
      return p;
    };
    for (let i = first; i <= Math.min(last, first + window - 1); i++) void want(i);
    const head = await want(first);
    if (this.cache && previous !== undefined && (first === previous || first === previous + 1)) this.readAhead(file, version, last + 1, window);

    const lastBlock = this.lastBlock;
    return (async function* () {
      for (let i = first; i <= last; i++) {
        for (let j = i; j <= Math.min(last, i + window - 1); j++) void want(j);
        let data: Buffer;
        try {
          data = i === first ? head : await want(i);
        } catch (err) {
          // Bytes of the old version are out already: the reader cannot be given the new one's.
          if (err instanceof StaleVersionError) throw new FsError('EIO', `${file.path} changed on the server while it was being read`);
          throw err;
        }
        started.delete(i);
        yield data.subarray(i === first ? start - i * B : 0, i === last ? end - i * B + 1 : data.length);
      }
      lastBlock.set(file.path, last);
    })();
  }

  /** Drops the cached blocks of a path (after this client changed or removed it). */
  forget(path: string): void {
    const version = this.current.get(path);
    if (version !== undefined) this.cache?.dropVersion(version);
    this.current.delete(path);
    this.lastBlock.delete(path);
  }

  private versionOf(file: FileVersion): string {
    // Without an ETag, size and mtime are the best name a version has.
    const version = versionKey(this.http.shownUrl, file.path, file.etag ?? `${file.mtimeMs}:${file.size}`);
    const before = this.current.get(file.path);
    if (before !== version) {
      if (before !== undefined) this.cache?.dropVersion(before);
      this.current.set(file.path, version);
    }
    return version;
  }

  private readAhead(file: FileVersion, version: string, from: number, count: number): void {
    const blocks = Math.ceil(file.size / this.opts.blockBytes);
    for (let i = from; i < Math.min(blocks, from + count); i++) {
      if (this.cache?.has(version, i) || this.inflight.has(`${version}.${i}`)) continue;
      this.block(file, version, i).catch((err: unknown) => this.log.debug({ err, path: file.path, block: i }, 'read-ahead failed'));
    }
  }

  /** One block from the cache or the server; a block being fetched is fetched once. */
  private block(file: FileVersion, version: string, i: number): Promise<Buffer> {
    const key = `${version}.${i}`;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const offset = i * this.opts.blockBytes;
    const length = Math.min(this.opts.blockBytes, file.size - offset);
    if (length <= 0) return Promise.reject(new FsError('EINVAL', `block ${i} is past the end of ${file.path}`));
    const loaded = (async () => {
      const hit = await this.cache?.get(version, i, length);
      if (hit) return { data: hit, stored: undefined };
      const data = await this.fetch(file, offset, length);
      return { data, stored: this.cache?.put(version, i, data) };
    })();
    const load = loaded.then((r) => r.data);
    this.inflight.set(key, load);
    // Stays in flight until it is on disk, so no reader finds it in neither place; the reader who
    // asked has its bytes at once.
    const settled = () => this.inflight.delete(key);
    loaded.then((r) => r.stored).then(settled, settled);
    return load;
  }

  /** A ranged GET of exactly `length` bytes at `offset`, of the version named by `file.etag`. */
  private async fetch(file: FileVersion, offset: number, length: number): Promise<Buffer> {
    const end = offset + length - 1;
    const headers: Record<string, string> = { Range: `bytes=${offset}-${end}`, 'Accept-Encoding': 'identity' };
    const ifMatch = ifMatchOf(file.etag);
    if (ifMatch) headers['If-Match'] = ifMatch;
    this.gets++;
    const res = await this.http.send('GET', file.path, { headers });
    if (res.status === 412 || res.status === 404 || res.status === 416) {
      await res.body?.cancel();
      throw new StaleVersionError(file.path);
    }
    if (res.status !== 206 && res.status !== 200) throw await failure(res, `GET ${file.path}`);
    // A server that ignores If-Match still names the version it sent.
    const sent = res.headers.get('etag');
    if (ifMatch && sent && unquoteEtag(sent) !== file.etag) {
      await res.body?.cancel();
      throw new StaleVersionError(file.path);
    }
    let skip = 0;
    if (res.status === 206) {
      const m = /^\s*bytes\s+(\d+)-(\d+)\//i.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== offset || Number(m[2]) < end) {
        await res.body?.cancel();
        throw new FsError('EIO', `GET ${file.path}: the server sent another range than bytes ${offset}-${end}`);
      }
    } else {
      skip = offset; // the server ignored Range (RFC 9110 §14.2 allows it): the whole file comes
    }
    return readExactly(res, skip, length, file.path, res.status === 200);
  }
}

/**
 * Reads `length` bytes after skipping `skip`; EIO when the body ends early. A 206 body is read to
 * its end so the connection is reused; a whole-file 200 is cut off (`stopEarly`) once we have ours.
 */
async function readExactly(res: Response, skip: number, length: number, path: string, stopEarly: boolean): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      let piece: Uint8Array = chunk;
      if (skip > 0) {
        const n = Math.min(skip, piece.length);
        skip -= n;
        piece = piece.subarray(n);
      }
      const n = Math.min(piece.length, length - filled);
      out.set(piece.subarray(0, n), filled);
      filled += n;
      if (filled === length && stopEarly) break;
    }
  }
  if (filled !== length) throw new FsError('EIO', `GET ${path}: the body ended after ${filled} of ${length} bytes`);
  return out;
}
