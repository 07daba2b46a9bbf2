// RemoteFileSystem: the FileSystem interface over a WebDAV server (a davfs-bridge server, or any
// class 2 server), for `davfs-bridge mount --remote URL`. Stats come from PROPFIND (Depth 1 for
// listings) through a short-lived attribute cache; reads are ranged GETs into a local block cache
// keyed by ETag; writes are streamed PUTs, partial writes SabreDAV PATCHes where the server offers
// them (else GET + PUT); POSIX attributes and a precise mtime live in dead properties.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsError, isFsError } from '../core/errors.js';
import { normalizePath, parentOf } from '../core/paths.js';
import { concat, exactly, zeros } from '../vfs/byte-sources.js';
import type { FileSystem, SetAttributes, Usage } from '../vfs/file-system.js';
import type { ByteRange, ByteSource, DeadProp, PropPatch, Stat, WriteOptions, WriteResult } from '../vfs/types.js';
import { AttrCache } from './attr-cache.js';
import { BlockCache } from './block-cache.js';
import { BlockReader, StaleVersionError } from './block-reader.js';
import { HeldLocks } from './held-locks.js';
import { DavHttp, discard, failure, type RequestBody } from './http-client.js';
import { DAV_NS, foundProps, parseMultistatus, textOf, type DavResponse } from './multistatus.js';
import { PathIds, within } from './path-ids.js';
import { DEFAULTS, SILENT_LOG, type RemoteLog, type RemoteOptions } from './remote-options.js';
import { attributePatch, deadPropsOf, entryOf, ifMatchOf, mtimeValue, ATTR_NS, STAT_PROPS, type RemoteEntry } from './remote-stat.js';
import { propfindBody, proppatchBody } from './request-xml.js';
import { spool } from './spool.js';
import { statusError, type StatusOverrides } from './status-errors.js';

export type { RemoteOptions, RemoteLog } from './remote-options.js';

/** SabreDAV's partial-update format (sabre.io/dav/http-patch), which davfs-bridge serves too. */
export const PARTIAL_UPDATE_TYPE = 'application/x-sabredav-partialupdate';
/** RFC 4331 §3 lets a server omit quota-available-bytes; davfs-bridge says 2^50 when no quota applies. */
const NO_QUOTA_FROM = 2 ** 50;
/**
 * Up to this many entries of one folder, propsOf asks per entry (Depth 0, in parallel) rather than
 * for the whole folder (Depth 1) — which a caller paging through a huge folder would pay per page.
 */
const PROPS_PER_ENTRY_MAX = 16;

const XML = 'application/xml; charset=utf-8';
const STAT_BODY = propfindBody(STAT_PROPS);
const ALLPROP_BODY = propfindBody('allprop');
const QUOTA_BODY = propfindBody([
  { ns: DAV_NS, local: 'quota-used-bytes' },
  { ns: DAV_NS, local: 'quota-available-bytes' },
]);

/** What the server said it speaks, from OPTIONS at connect. */
export interface RemoteCapabilities {
  /** The DAV header's compliance classes and extensions (RFC 4918 §10.1). */
  dav: string[];
  /** PATCH with SabreDAV partial updates (DAV: sabredav-partialupdate, or Accept-Patch). */
  partialUpdate: boolean;
}

interface Req {
  headers?: Record<string, string>;
  body?: RequestBody;
  dir?: boolean;
  /** Paths whose locks (held by this client) the request must submit. */
  changes?: string[];
  overrides?: StatusOverrides;
  /** On 409, tell ENOENT from ENOTDIR by looking at this path's parent. */
  conflictAt?: string;
}

export class RemoteFileSystem implements FileSystem {
  private readonly ids = new PathIds();
  private warnedOrder = false;

  private constructor(
    private readonly http: DavHttp,
    readonly capabilities: RemoteCapabilities,
    private readonly cache: BlockCache | undefined,
    private readonly blocks: BlockReader,
    private readonly attrs: AttrCache,
    private readonly locks: HeldLocks,
    private readonly log: RemoteLog,
    private readonly ownCacheDir: string | undefined,
    /** Where rewrites are spooled before their PUT. */
    private readonly spoolDir: string,
  ) {}

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
    const capabilities = { dav, partialUpdate: dav.includes('sabredav-partialupdate') || acceptPatch.includes(PARTIAL_UPDATE_TYPE) };

    const blockBytes = opts.blockBytes ?? DEFAULTS.blockBytes;
    const cacheBytes = opts.cacheBytes ?? DEFAULTS.cacheBytes;
    const ownCacheDir = opts.cacheDir === undefined && cacheBytes >= blockBytes ? await mkdtemp(join(tmpdir(), 'davfs-remote-')) : undefined;
    const cacheDir = opts.cacheDir ?? ownCacheDir;
    const cache = cacheDir !== undefined && cacheBytes >= blockBytes ? await BlockCache.open(join(cacheDir, 'blocks'), cacheBytes) : undefined;
    const blocks = new BlockReader(http, cache, { blockBytes, readAheadBlocks: opts.readAheadBlocks ?? DEFAULTS.readAheadBlocks }, log);
    const locks = new HeldLocks(http, opts.lockTimeoutS ?? DEFAULTS.lockTimeoutS, log);
    const spoolDir = cacheDir === undefined ? join(tmpdir(), 'davfs-remote-spool') : join(cacheDir, 'spool');
    const fs = new RemoteFileSystem(http, capabilities, cache, blocks, new AttrCache(opts.attrTtlMs ?? DEFAULTS.attrTtlMs), locks, log, ownCacheDir, spoolDir);
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
    await this.locks.releaseAll();
    await this.cache?.close();
    if (this.ownCacheDir) await rm(this.ownCacheDir, { recursive: true, force: true });
  }

  /** Counters for tests and status: GETs sent and the block cache's state. */
  stats(): { gets: number; cache: ReturnType<BlockCache['stats']> | undefined } {
    return { gets: this.blocks.gets, cache: this.cache?.stats() };
  }

  // ---- FileSystem: reading -------------------------------------------------------------------

  async stat(path: string): Promise<Stat> {
    const p = normalizePath(path);
    const e = await this.entry(p);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    return e.stat;
  }

  async tryStat(path: string): Promise<Stat | undefined> {
    return (await this.entry(normalizePath(path)))?.stat;
  }

  /**
   * PROPFIND Depth 1, parsed and yielded as the multistatus streams in; every entry also fills the
   * attribute cache. Entries come in the server's order: davfs-bridge and rclone send name order;
   * for a server that does not, a warning is logged (sorting would mean holding the whole folder).
   */
  async *list(path: string): AsyncGenerator<Stat> {
    const p = normalizePath(path);
    const res = await this.request('PROPFIND', p, [207], { headers: { Depth: '1', 'Content-Type': XML }, body: STAT_BODY, overrides: { 409: 'ENOTDIR' } });
    let last: string | undefined;
    for await (const r of parseMultistatus(bodyOf(res))) {
      const rp = this.http.pathOf(r.href);
      if (rp === undefined || (r.status !== null && r.status !== 200)) continue;
      const e = this.remember(rp, r);
      if (rp === p) {
        if (e.stat.kind !== 'dir') throw new FsError('ENOTDIR', `${p} is not a folder`);
        continue;
      }
      if (parentOf(rp) !== p) continue;
      if (last !== undefined && e.stat.name < last && !this.warnedOrder) {
        this.warnedOrder = true;
        this.log.warn({ url: this.http.shownUrl, path: p }, 'the server lists folders out of name order; entries are passed on in its order');
      }
      last = e.stat.name;
      yield e.stat;
    }
  }

  /**
   * Ranged GETs through the block cache. A cached stat may name a version the server replaced: its
   * blocks then answer 412 (If-Match), and the read starts once more from a fresh PROPFIND.
   */
  async read(path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }> {
    const p = normalizePath(path);
    for (let attempt = 0; ; attempt++) {
      const fresh = attempt > 0;
      const e = await this.entry(p, fresh);
      if (!e) throw new FsError('ENOENT', `${p} does not exist`);
      const st = e.stat;
      if (st.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
      const r = range ?? { start: 0, end: st.size - 1 };
      if (r.start < 0 || r.end >= st.size || (r.start > r.end && st.size > 0)) {
        if (!fresh) continue; // the file may have grown since we cached its size
        throw new FsError('EINVAL', `range ${r.start}-${r.end} is outside ${st.size} bytes`);
      }
      if (st.size === 0) return { stat: st, body: nothing() };
      try {
        return { stat: st, body: await this.blocks.read(st, r.start, r.end) };
      } catch (err) {
        if (!(err instanceof StaleVersionError)) throw err;
        this.attrs.touch(p);
        if (fresh) throw new FsError('EIO', `${p} keeps changing on the server; try again`);
      }
    }
  }

  // ---- FileSystem: writing -------------------------------------------------------------------

  /** A streamed PUT (chunked unless expectedSize gives the length), conditional on opts.ifEtag. */
  async write(path: string, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    const p = normalizePath(path);
    if (p === '/') throw new FsError('EISDIR', '/ is a folder');
    const body = opts.expectedSize === undefined ? source : exactly(source, opts.expectedSize);
    return this.put(p, body, { ...opts, ifMatch: opts.ifEtag === undefined ? undefined : opts.ifEtag === null ? null : `"${opts.ifEtag}"` });
  }

  /**
   * With partial updates: one PATCH (`X-Update-Range: bytes=a-b`), the server rewriting only what
   * it touches. Without (e.g. rclone, Apache): the whole file again — old bytes from the block
   * cache around the new ones — in one PUT conditional on the ETag read, so a concurrent change
   * fails (EPRECONDITION) rather than being overwritten. A missing file is created zero-filled.
   */
  async writeRange(path: string, offset: number, length: number, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new FsError('EINVAL', 'offset and length must be non-negative integers');
    }
    const p = normalizePath(path);
    const e = (await this.entry(p)) ?? (await this.entry(p, true));
    if (e?.stat.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
    const data = exactly(source, length);
    if (!e || opts.ifEtag === null) {
      if (opts.ifEtag) throw new FsError('EPRECONDITION', `${p} does not exist`);
      return this.put(p, concat(zeros(offset), data), { ...opts, ifMatch: null, expectedSize: offset + length });
    }
    const st = e.stat;
    const ifMatch = opts.ifEtag === undefined ? undefined : `"${opts.ifEtag}"`;
    if (this.capabilities.partialUpdate) {
      const headers: Record<string, string> = {
        'Content-Type': PARTIAL_UPDATE_TYPE,
        // A zero-length update has no last byte to name; `a-` means "from a" to SabreDAV and to us.
        'X-Update-Range': length > 0 ? `bytes=${offset}-${offset + length - 1}` : `bytes=${offset}-`,
        'Content-Length': String(length),
      };
      if (ifMatch) headers['If-Match'] = ifMatch;
      const res = await this.request('PATCH', p, [200, 204], { headers, body: data, changes: [p], overrides: { 405: 'EISDIR' } });
      await discard(res);
      this.changed(p);
      return { stat: await this.afterWrite(p, opts.mtimeMs), created: false };
    }
    const end = offset + length;
    const body = concat(this.oldBytes(st, 0, Math.min(offset, st.size)), zeros(Math.max(offset - st.size, 0)), data, this.oldBytes(st, end, st.size));
    return this.rewrite(p, body, { ...opts, contentType: opts.contentType ?? st.contentType, ifMatch: ifMatch ?? ifMatchOf(st.etag) });
  }

  /** Growing is a partial write at the new end (PATCH, or PUT); shrinking PUTs the kept bytes — both conditional on the ETag. */
  async truncate(path: string, size: number): Promise<Stat> {
    if (!Number.isSafeInteger(size) || size < 0) throw new FsError('EINVAL', 'size must be a non-negative integer');
    const p = normalizePath(path);
    const e = await this.entry(p, true);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    const st = e.stat;
    if (st.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
    if (st.size === size) return st;
    // A weak ETag cannot be matched (If-Match compares strongly): then the update is unconditional.
    const ifEtag = ifMatchOf(st.etag) === undefined ? undefined : st.etag!;
    // Growing writes one zero byte at the new end: the gap before it is zero-filled by the server
    // (a PATCH past the end) or by writeRange's rewrite, so no run of zeros crosses the wire.
    if (size > st.size) return (await this.writeRange(p, size - 1, 1, zeros(1), { ifEtag })).stat;
    return (await this.rewrite(p, this.oldBytes(st, 0, size), { contentType: st.contentType, ifMatch: ifMatchOf(st.etag) })).stat;
  }

  /** MKCOL; with `parents`, missing ancestors first (only when the server says 409). */
  async mkdir(path: string, opts: { parents?: boolean } = {}): Promise<Stat> {
    const p = normalizePath(path);
    if (p === '/') {
      if (opts.parents) return this.stat('/');
      throw new FsError('EEXIST', '/ exists');
    }
    const res = await this.http.send('MKCOL', p, { dir: true, headers: this.ifHeaders({}, p) });
    await discard(res);
    if (res.status === 201 || res.status === 200) {
      this.changed(p);
      return this.stat(p);
    }
    if (res.status === 405) {
      // RFC 4918 §9.3.1: something is already mapped there.
      if (!opts.parents) throw new FsError('EEXIST', `${p} exists`);
      const there = await this.entry(p, true);
      if (there?.stat.kind === 'dir') return there.stat;
      throw new FsError('ENOTDIR', `${p} is a file, or a component of it is`);
    }
    if (res.status === 409 && opts.parents) {
      await this.mkdir(parentOf(p), opts);
      return this.mkdir(p, { parents: false }).catch(async (err: unknown) => {
        // Created meanwhile by someone else: mkdir -p is content with that.
        if (isFsError(err, 'EEXIST') && (await this.entry(p, true))?.stat.kind === 'dir') return this.stat(p);
        throw err;
      });
    }
    if (res.status === 409) throw await this.conflict(p, `MKCOL ${p}`);
    throw statusError(res.status, `MKCOL ${p}`);
  }

  /**
   * DELETE (always the whole tree, RFC 4918 §9.6.1). Without `recursive`, a folder is listed first
   * and refused with ENOTEMPTY if it has members — a check a concurrent writer can race.
   */
  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    const p = normalizePath(path);
    if (p === '/') throw new FsError('EACCES', 'the root cannot be removed');
    if (!opts.recursive) {
      const e = await this.entry(p, true);
      if (!e) throw new FsError('ENOENT', `${p} does not exist`);
      if (e.stat.kind === 'dir' && (await this.hasMembers(p))) throw new FsError('ENOTEMPTY', `${p} is not empty`);
    }
    const res = await this.request('DELETE', p, [200, 204, 207], { changes: [p] });
    // 207: some members could not be deleted (§9.6.1); the first failure says why.
    if (res.status === 207) await this.throwFirstFailure(res, `DELETE ${p}`);
    else await discard(res);
    this.changedTree(p);
    this.ids.forget(p);
  }

  /** MOVE with an absolute Destination URL; Overwrite: F answers 412, which is EEXIST here. */
  async move(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (src === '/' || dst === '/') throw new FsError('EINVAL', 'the root cannot be moved or replaced');
    if (src === dst) return { stat: await this.stat(src), replaced: false };
    const res = await this.copyOrMove('MOVE', src, dst, opts.overwrite ?? false, 'infinity');
    this.changedTree(src);
    this.changedTree(dst);
    this.ids.move(src, dst);
    this.locks.dropWithin(src);
    return { stat: await this.stat(dst), replaced: res.status === 204 };
  }

  /** COPY (Depth infinity, or 0 for a folder without its members). */
  async copy(from: string, to: string, opts: { overwrite?: boolean; recursive?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    if (dst === '/') throw new FsError('EINVAL', 'the root cannot be replaced');
    if (src === dst) {
      await this.stat(src);
      throw new FsError('EINVAL', 'source and destination are the same');
    }
    const recursive = opts.recursive ?? true;
    const res = await this.copyOrMove('COPY', src, dst, opts.overwrite ?? false, recursive ? 'infinity' : '0');
    this.changedTree(dst);
    this.ids.forget(dst);
    return { stat: await this.stat(dst), replaced: res.status === 204 };
  }

  // ---- FileSystem: attributes and properties ---------------------------------------------------

  /**
   * PROPPATCH of the attribute dead properties (urn:davfs-bridge: mode, uid, gid, mtime). A server
   * that keeps no dead properties (rclone) refuses them: EACCES.
   */
  async setAttributes(path: string, attrs: SetAttributes): Promise<Stat> {
    const p = normalizePath(path);
    const e = await this.entry(p, true);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    const ops = attributePatch(attrs, e.validator);
    if (ops.length === 0) return e.stat;
    await this.proppatch(p, ops);
    this.attrs.touch(p);
    return this.stat(p);
  }

  /** PROPFIND allprop, Depth 0: the dead properties, each as a self-contained element. */
  async getProps(path: string): Promise<DeadProp[]> {
    const p = normalizePath(path);
    for await (const r of this.propfind(p, '0', ALLPROP_BODY)) {
      if (this.http.pathOf(r.href) === p) return deadPropsOf(r);
    }
    throw new FsError('ENOENT', `${p} does not exist`);
  }

  /**
   * Dead properties of many stats: one PROPFIND allprop Depth 1 per distinct parent folder, or per
   * entry where a folder contributes only a few (a page of a big folder asks for it once).
   */
  async propsOf(stats: Stat[]): Promise<Map<number, DeadProp[]>> {
    const out = new Map<number, DeadProp[]>();
    const byParent = new Map<string, Stat[]>();
    for (const s of stats) {
      const key = s.path === '/' ? '' : parentOf(s.path);
      byParent.set(key, [...(byParent.get(key) ?? []), s]);
    }
    const keep = (s: Stat, props: DeadProp[]) => props.length > 0 && out.set(s.id, props);
    for (const [parent, group] of byParent) {
      if (parent === '' || group.length <= PROPS_PER_ENTRY_MAX) {
        await Promise.all(group.map(async (s) => keep(s, await this.getProps(s.path).catch(ignoreMissing))));
        continue;
      }
      const wanted = new Map(group.map((s) => [s.path, s]));
      for await (const r of this.propfind(parent, '1', ALLPROP_BODY)) {
        const s = wanted.get(this.http.pathOf(r.href) ?? '');
        if (s) keep(s, deadPropsOf(r));
      }
    }
    return out;
  }

  /** PROPPATCH: all operations or none (the server's duty, RFC 4918 §9.2). */
  async patchProps(path: string, ops: PropPatch[]): Promise<void> {
    const p = normalizePath(path);
    if (ops.length === 0) {
      await this.stat(p);
      return;
    }
    await this.proppatch(p, ops);
  }

  /** RFC 4331 quota properties; no quota-available-bytes, or 2^50 and more, means no quota. */
  async usage(path: string): Promise<Usage> {
    const p = normalizePath(path);
    for await (const r of this.propfind(p, '0', QUOTA_BODY)) {
      const found = foundProps(r);
      const num = (local: string) => {
        const node = found.get(`{${DAV_NS}}${local}`);
        const n = node === undefined ? NaN : Number(textOf(node).trim());
        return Number.isFinite(n) && n >= 0 ? n : undefined;
      };
      const available = num('quota-available-bytes');
      return { usedBytes: num('quota-used-bytes') ?? 0, availableBytes: available === undefined || available >= NO_QUOTA_FROM ? null : available };
    }
    throw new FsError('ENOENT', `${p} does not exist`);
  }

  // ---- Locks for the FUSE front ------------------------------------------------------------------

  /**
   * Takes (or shares) this client's exclusive write lock on a file, e.g. while it is open for
   * writing; until unlock, every change this client makes to it submits the token, and others get
   * 423 (EBUSY). Locking an unmapped path creates an empty file (RFC 4918 §7.3).
   */
  async lock(path: string): Promise<string> {
    const p = normalizePath(path);
    const { token, created } = await this.locks.lock(p);
    if (created) this.changed(p);
    return token;
  }

  /** Gives up one use of a lock from lock(); the last one sends UNLOCK. */
  async unlock(path: string, token: string): Promise<void> {
    await this.locks.unlock(normalizePath(path), token);
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** Sends a request and returns the response if its status is in `ok`, else the mapped FsError. */
  private async request(method: string, p: string, ok: number[], req: Req = {}): Promise<Response> {
    const headers = req.changes ? this.ifHeaders(req.headers ?? {}, ...req.changes) : req.headers;
    const res = await this.http.send(method, p, { headers, body: req.body, dir: req.dir });
    if (ok.includes(res.status)) return res;
    if (res.status === 404 && method === 'PROPFIND') {
      await discard(res);
      throw new FsError('ENOENT', `${p} does not exist`);
    }
    if (res.status === 409 && req.conflictAt !== undefined) {
      await discard(res);
      throw await this.conflict(req.conflictAt, `${method} ${p}`);
    }
    throw await failure(res, `${method} ${p}`, req.overrides);
  }

  /** Adds the If header submitting the locks this client holds on `paths` (and their parents). */
  private ifHeaders(headers: Record<string, string>, ...paths: string[]): Record<string, string> {
    const ifHeader = this.locks.ifHeader(...paths);
    return ifHeader ? { ...headers, If: ifHeader } : headers;
  }

  /** The PUT behind write, writeRange's fallback and truncate; then a fresh stat (and mtime, if asked). */
  private async put(p: string, body: ByteSource, o: { contentType?: string | null; ifMatch?: string | null; expectedSize?: number; mtimeMs?: number }): Promise<WriteResult> {
    const headers: Record<string, string> = {};
    if (o.contentType) headers['Content-Type'] = o.contentType;
    if (o.ifMatch === null) headers['If-None-Match'] = '*';
    else if (o.ifMatch !== undefined) headers['If-Match'] = o.ifMatch;
    if (o.expectedSize !== undefined) headers['Content-Length'] = String(o.expectedSize);
    const res = await this.request('PUT', p, [200, 201, 204], { headers, body, changes: [p], overrides: { 405: 'EISDIR' }, conflictAt: p });
    await discard(res);
    this.changed(p);
    return { stat: await this.afterWrite(p, o.mtimeMs), created: res.status === 201 };
  }

  /**
   * The stat after a write; with `mtimeMs`, first the mtime property for the new version. That is
   * best effort: the bytes are written, and a server without dead properties keeps its own time.
   */
  private async afterWrite(p: string, mtimeMs: number | undefined): Promise<Stat> {
    const e = await this.entry(p, true);
    if (!e) throw new FsError('EIO', `${p} is gone right after it was written`);
    if (mtimeMs === undefined) return e.stat;
    try {
      await this.proppatch(p, [{ op: 'set', prop: { ns: ATTR_NS, name: 'mtime', value: `<a:mtime xmlns:a="${ATTR_NS}">${mtimeValue(mtimeMs, e.validator)}</a:mtime>` } }]);
    } catch (err) {
      this.log.debug({ err, path: p }, 'the server did not store the mtime of a write');
      return e.stat;
    }
    const stat = { ...e.stat, mtimeMs: Math.round(mtimeMs) };
    this.attrs.set(p, { stat, validator: e.validator });
    return stat;
  }

  /** A PUT of content made from the old version's bytes: spooled locally first (see spool.ts). */
  private async rewrite(p: string, body: ByteSource, o: { contentType?: string | null; ifMatch?: string; mtimeMs?: number }): Promise<WriteResult> {
    const local = await spool(this.spoolDir, body);
    try {
      return await this.put(p, local.body(), { ...o, expectedSize: local.size });
    } finally {
      await local.remove();
    }
  }

  /** Bytes [start, end) of a version read before a rewrite; a change meanwhile is EPRECONDITION. */
  private async *oldBytes(st: Stat, start: number, end: number): AsyncGenerator<Buffer> {
    if (start >= end) return;
    try {
      yield* await this.blocks.read(st, start, end - 1);
    } catch (err) {
      if (err instanceof StaleVersionError || isFsError(err, 'EIO')) throw new FsError('EPRECONDITION', `${st.path} changed on the server during the update`, { cause: err });
      throw err;
    }
  }

  private async copyOrMove(method: 'COPY' | 'MOVE', src: string, dst: string, overwrite: boolean, depth: string): Promise<Response> {
    if (within(dst, src) && depth === 'infinity') throw new FsError('EINVAL', 'cannot move or copy a folder into itself');
    if (within(src, dst)) {
      // Replacing a folder with something inside it would delete the source first.
      await this.stat(src);
      throw new FsError(overwrite ? 'EINVAL' : 'EEXIST', overwrite ? 'cannot replace a folder that contains the source' : `${dst} exists`);
    }
    const headers = { Destination: this.http.urlOf(dst), Overwrite: overwrite ? 'T' : 'F', Depth: depth };
    const changes = method === 'MOVE' ? [src, dst] : [dst];
    const res = await this.request(method, src, [201, 204], { headers, changes, overrides: { 412: 'EEXIST' }, conflictAt: dst });
    await discard(res);
    return res;
  }

  private async proppatch(p: string, ops: PropPatch[]): Promise<void> {
    const res = await this.request('PROPPATCH', p, [200, 204, 207], { headers: { 'Content-Type': XML }, body: proppatchBody(ops), changes: [p], conflictAt: p });
    if (res.status === 207) await this.throwFirstFailure(res, `PROPPATCH ${p}`);
    else await discard(res);
  }

  /**
   * Throws for the first failed response or propstat in a multistatus. A 424 Failed Dependency
   * only echoes another failure (§9.2.1), so a real cause is preferred.
   */
  private async throwFirstFailure(res: Response, what: string): Promise<void> {
    let worst = 0;
    for await (const r of parseMultistatus(bodyOf(res))) {
      for (const s of [r.status ?? 200, ...r.propstats.map((ps) => ps.status)]) {
        if (s >= 200 && s < 300) continue;
        if (worst === 0 || worst === 424) worst = s;
      }
    }
    if (worst) throw statusError(worst, what);
  }

  /** A streamed PROPFIND; 404 is ENOENT, 409 ENOTDIR (a path component is a file). */
  private async *propfind(p: string, depth: '0' | '1', body: string): AsyncGenerator<DavResponse> {
    const res = await this.request('PROPFIND', p, [207], { headers: { Depth: depth, 'Content-Type': XML }, body, overrides: { 409: 'ENOTDIR' } });
    yield* parseMultistatus(bodyOf(res));
  }

  /** The entry of a path: from the attribute cache unless `fresh`, else PROPFIND Depth 0. Null: nothing there. */
  private async entry(p: string, fresh = false): Promise<RemoteEntry | null> {
    if (!fresh) {
      const cached = this.attrs.get(p);
      if (cached !== undefined) return cached;
    }
    let found: RemoteEntry | null = null;
    try {
      for await (const r of this.propfind(p, '0', STAT_BODY)) {
        if (this.http.pathOf(r.href) !== p || (r.status !== null && r.status !== 200)) continue;
        found = this.remember(p, r);
      }
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
    }
    if (!found) this.attrs.set(p, null);
    return found;
  }

  private remember(p: string, r: DavResponse): RemoteEntry {
    const e = entryOf(p, r, this.ids.idOf(p));
    this.attrs.set(p, e);
    return e;
  }

  private async hasMembers(p: string): Promise<boolean> {
    for await (const _ of this.list(p)) return true;
    return false;
  }

  /** This client changed a file: its stat, its parent's and its cached blocks are out of date. */
  private changed(p: string): void {
    this.attrs.touch(p);
    this.blocks.forget(p);
  }

  /** This client changed or removed a tree. Blocks below it age out of the LRU (they name old versions). */
  private changedTree(p: string): void {
    this.attrs.touchTree(p);
    this.blocks.forget(p);
    this.locks.dropWithin(p);
  }

  /**
   * RFC 4918 answers 409 both for a missing parent and for a parent that is a file (§9.3.1, §9.7.1);
   * the core's codes tell them apart (ENOENT, ENOTDIR), so the parent is looked at.
   */
  private async conflict(p: string, what: string): Promise<FsError> {
    const parent = parentOf(p);
    try {
      const e = await this.entry(parent, true);
      if (!e) return new FsError('ENOENT', `${what}: ${parent} does not exist`);
      if (e.stat.kind === 'file') return new FsError('ENOTDIR', `${what}: ${parent} is a file`);
      return statusError(409, what);
    } catch (err) {
      if (isFsError(err, 'ENOTDIR')) return new FsError('ENOTDIR', `${what}: a component of ${parent} is a file`);
      throw err;
    }
  }
}

function bodyOf(res: Response): AsyncIterable<Uint8Array> {
  return res.body ?? nothing();
}

async function* nothing(): AsyncGenerator<Buffer> {}

function ignoreMissing(err: unknown): DeadProp[] {
  if (isFsError(err, 'ENOENT')) return [];
  throw err;
}
