// RemoteFileSystem: the FileSystem interface over a WebDAV server (a davfs-bridge server, or any
// class 2 server), for `davfs-bridge mount --remote URL`. Stats come from PROPFIND (Depth 1 for
// listings) through a short-lived attribute cache; reads are ranged GETs into a local block cache
// keyed by ETag; writes are streamed PUTs, partial writes SabreDAV PATCHes where the server offers
// them (else GET + PUT); POSIX attributes and a precise mtime live in dead properties.
// This file connects and owns the parts; each operation lives in remote-read.ts, remote-write.ts,
// remote-tree.ts or remote-props.ts, over the shared RemoteSession (remote-session.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import type { FileSystem, SetAttributes, Usage } from '../vfs/file-system.js';
import type { ByteRange, ByteSource, DeadProp, PropPatch, Stat, WriteOptions, WriteResult } from '../vfs/types.js';
import { AttrCache } from './attr-cache.js';
import { BlockCache } from './block-cache.js';
import { BlockReader } from './block-reader.js';
import { HeldLocks } from './held-locks.js';
import { DavHttp, discard } from './http-client.js';
import { DEFAULTS, SILENT_LOG, type RemoteOptions } from './remote-options.js';
import * as props from './remote-props.js';
import * as reads from './remote-read.js';
import { RemoteSession, type RemoteCapabilities } from './remote-session.js';
import * as tree from './remote-tree.js';
import * as writes from './remote-write.js';
import { statusError } from './status-errors.js';

export type { RemoteOptions, RemoteLog } from './remote-options.js';
export type { RemoteCapabilities } from './remote-session.js';
export { PARTIAL_UPDATE_TYPE } from './remote-write.js';

export class RemoteFileSystem implements FileSystem {
  readonly capabilities: RemoteCapabilities;

  private constructor(
    private readonly s: RemoteSession,
    private readonly cache: BlockCache | undefined,
    private readonly ownCacheDir: string | undefined,
  ) {
    this.capabilities = s.capabilities;
  }

  /**
   * Checks the server (OPTIONS: a DAV class; PROPFIND of the root: the credentials and that it is a
   * collection) and opens the block cache. EACCES with a clear message on 401, EIO when unreachable.
   */
  static async connect(opts: RemoteOptions): Promise<RemoteFileSystem> {
    const log = opts.log ?? SILENT_LOG;
    const http = new DavHttp(opts.url, opts);
    const res = await http.send('OPTIONS', '/');
    await discard(res);
    if (!res.ok) throw statusError(res.status, `OPTIONS ${http.shownUrl}`);
    const dav = (res.headers.get('dav') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (!dav.includes('1')) throw new FsError('EIO', `${http.shownUrl} is not a WebDAV server (its OPTIONS answer has no DAV: 1 header)`);
    // SabreDAV names the extension in DAV (on every resource) and Accept-Patch; its Allow lists PATCH
    // only on files, so the Allow of the root collection cannot tell.
    const acceptPatch = (res.headers.get('accept-patch') ?? '').toLowerCase();
    const capabilities = { dav, partialUpdate: dav.includes('sabredav-partialupdate') || acceptPatch.includes(writes.PARTIAL_UPDATE_TYPE) };

    const blockBytes = opts.blockBytes ?? DEFAULTS.blockBytes;
    const cacheBytes = opts.cacheBytes ?? DEFAULTS.cacheBytes;
    const ownCacheDir = opts.cacheDir === undefined && cacheBytes >= blockBytes ? await mkdtemp(join(tmpdir(), 'davfs-remote-')) : undefined;
    const cacheDir = opts.cacheDir ?? ownCacheDir;
    const cache = cacheDir !== undefined && cacheBytes >= blockBytes ? await BlockCache.open(join(cacheDir, 'blocks'), cacheBytes) : undefined;
    const blocks = new BlockReader(http, cache, { blockBytes, readAheadBlocks: opts.readAheadBlocks ?? DEFAULTS.readAheadBlocks }, log);
    const locks = new HeldLocks(http, opts.lockTimeoutS ?? DEFAULTS.lockTimeoutS, log);
    const spoolDir = cacheDir === undefined ? join(tmpdir(), 'davfs-remote-spool') : join(cacheDir, 'spool');
    const session = new RemoteSession(http, capabilities, blocks, new AttrCache(opts.attrTtlMs ?? DEFAULTS.attrTtlMs), locks, log, spoolDir);
    const fs = new RemoteFileSystem(session, cache, ownCacheDir);
    try {
      const root = await fs.stat('/');
      if (root.kind !== 'dir') throw new FsError('ENOTDIR', `${http.shownUrl} is not a collection`);
    } catch (err) {
      await fs.close();
      throw err;
    }
    log.info({ url: http.shownUrl, dav, partialUpdate: capabilities.partialUpdate, cache: cache?.stats() }, 'connected to the WebDAV server');
    return fs;
  }

  /** Releases held locks, waits for block writes, removes a temporary cache folder. */
  async close(): Promise<void> {
    await this.s.locks.releaseAll();
    await this.cache?.close();
    if (this.ownCacheDir) await rm(this.ownCacheDir, { recursive: true, force: true });
  }

  /** Counters for tests and status: GETs sent and the block cache's state. */
  stats(): { gets: number; cache: ReturnType<BlockCache['stats']> | undefined } {
    return { gets: this.s.blocks.gets, cache: this.cache?.stats() };
  }

  // ---- FileSystem: reading (remote-read.ts) ----------------------------------------------------

  async stat(path: string): Promise<Stat> {
    return this.s.stat(normalizePath(path));
  }

  async tryStat(path: string): Promise<Stat | undefined> {
    return (await this.s.entry(normalizePath(path)))?.stat;
  }

  list(path: string): AsyncGenerator<Stat> {
    return reads.list(this.s, path);
  }

  read(path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }> {
    return reads.read(this.s, path, range);
  }

  // ---- FileSystem: writing (remote-write.ts) ---------------------------------------------------

  write(path: string, source: ByteSource, opts?: WriteOptions): Promise<WriteResult> {
    return writes.write(this.s, path, source, opts);
  }

  writeRange(path: string, offset: number, length: number, source: ByteSource, opts?: WriteOptions): Promise<WriteResult> {
    return writes.writeRange(this.s, path, offset, length, source, opts);
  }

  truncate(path: string, size: number): Promise<Stat> {
    return writes.truncate(this.s, path, size);
  }

  // ---- FileSystem: the tree (remote-tree.ts) ---------------------------------------------------

  mkdir(path: string, opts?: { parents?: boolean }): Promise<Stat> {
    return tree.mkdir(this.s, path, opts);
  }

  remove(path: string, opts?: { recursive?: boolean }): Promise<void> {
    return tree.remove(this.s, path, opts);
  }

  move(from: string, to: string, opts?: { overwrite?: boolean }): Promise<{ stat: Stat; replaced: boolean }> {
    return tree.move(this.s, from, to, opts);
  }

  copy(from: string, to: string, opts?: { overwrite?: boolean; recursive?: boolean }): Promise<{ stat: Stat; replaced: boolean }> {
    return tree.copy(this.s, from, to, opts);
  }

  // ---- FileSystem: attributes and properties (remote-props.ts) ---------------------------------

  setAttributes(path: string, attrs: SetAttributes): Promise<Stat> {
    return props.setAttributes(this.s, path, attrs);
  }

  getProps(path: string): Promise<DeadProp[]> {
    return props.getProps(this.s, path);
  }

  propsOf(stats: Stat[]): Promise<Map<number, DeadProp[]>> {
    return props.propsOf(this.s, stats);
  }

  patchProps(path: string, ops: PropPatch[]): Promise<void> {
    return props.patchProps(this.s, path, ops);
  }

  usage(path: string): Promise<Usage> {
    return props.usage(this.s, path);
  }

  /** The server acknowledged each change once durable there: nothing waits on this side. */
  sync(): Promise<void> {
    return Promise.resolve();
  }

  // ---- Locks for the FUSE front ------------------------------------------------------------------

  /**
   * Takes (or shares) this client's exclusive write lock on a file, e.g. while it is open for
   * writing; until unlock, every change this client makes to it submits the token, and others get
   * 423 (EBUSY). Locking an unmapped path creates an empty file (RFC 4918 §7.3).
   */
  async lock(path: string): Promise<string> {
    const p = normalizePath(path);
    const { token, created } = await this.s.locks.lock(p);
    if (created) this.s.changed(p);
    return token;
  }

  /** Gives up one use of a lock from lock(); the last one sends UNLOCK. */
  async unlock(path: string, token: string): Promise<void> {
    await this.s.locks.unlock(normalizePath(path), token);
  }
}
