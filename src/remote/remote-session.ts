// RemoteSession: what the operations of one RemoteFileSystem share — the HTTP client, the caches
// and held locks — and the steps they all take: sending a request (with the If header of held
// locks, errors mapped to FsError), PROPFIND/PROPPATCH, the attribute-cached entry of a path, and
// marking what this client changed. The operations themselves are in remote-read.ts,
// remote-write.ts, remote-tree.ts and remote-props.ts.
import { FsError, isFsError } from '../core/errors.js';
import { parentOf } from '../core/paths.js';
import type { PropPatch, Stat } from '../vfs/types.js';
import type { AttrCache } from './attr-cache.js';
import type { BlockReader } from './block-reader.js';
import type { HeldLocks } from './held-locks.js';
import { discard, failure, type DavHttp, type RequestBody } from './http-client.js';
import { parseMultistatus, type DavResponse } from './multistatus.js';
import { PathIds } from './path-ids.js';
import type { RemoteLog } from './remote-options.js';
import { entryOf, STAT_PROPS, type RemoteEntry } from './remote-stat.js';
import { propfindBody, proppatchBody } from './request-xml.js';
import { statusError, type StatusOverrides } from './status-errors.js';

export const XML = 'application/xml; charset=utf-8';
export const STAT_BODY = propfindBody(STAT_PROPS);

/** What the server said it speaks, from OPTIONS at connect. */
export interface RemoteCapabilities {
  /** The DAV header's compliance classes and extensions (RFC 4918 §10.1). */
  dav: string[];
  /** PATCH with SabreDAV partial updates (DAV: sabredav-partialupdate, or Accept-Patch). */
  partialUpdate: boolean;
}

export interface Req {
  headers?: Record<string, string>;
  body?: RequestBody;
  dir?: boolean;
  /** Paths whose locks (held by this client) the request must submit. */
  changes?: string[];
  overrides?: StatusOverrides;
  /** On 409, tell ENOENT from ENOTDIR by looking at this path's parent. */
  conflictAt?: string;
}

/** Paths given to its methods are normalized already (normalizePath); the FileSystem methods do that. */
export class RemoteSession {
  readonly ids = new PathIds();
  /** Set once the server listed a folder out of name order, so the warning is logged once. */
  warnedOrder = false;

  constructor(
    readonly http: DavHttp,
    readonly capabilities: RemoteCapabilities,
    readonly blocks: BlockReader,
    readonly attrs: AttrCache,
    readonly locks: HeldLocks,
    readonly log: RemoteLog,
    /** Where rewrites are spooled before their PUT. */
    readonly spoolDir: string,
  ) {}

  /** Sends a request and returns the response if its status is in `ok`, else the mapped FsError. */
  async request(method: string, p: string, ok: number[], req: Req = {}): Promise<Response> {
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
  ifHeaders(headers: Record<string, string>, ...paths: string[]): Record<string, string> {
    const ifHeader = this.locks.ifHeader(...paths);
    return ifHeader ? { ...headers, If: ifHeader } : headers;
  }

  /** A streamed PROPFIND; 404 is ENOENT, 409 ENOTDIR (a path component is a file). */
  async *propfind(p: string, depth: '0' | '1', body: string): AsyncGenerator<DavResponse> {
    const res = await this.request('PROPFIND', p, [207], { headers: { Depth: depth, 'Content-Type': XML }, body, overrides: { 409: 'ENOTDIR' } });
    yield* parseMultistatus(bodyOf(res));
  }

  async proppatch(p: string, ops: PropPatch[]): Promise<void> {
    const res = await this.request('PROPPATCH', p, [200, 204, 207], { headers: { 'Content-Type': XML }, body: proppatchBody(ops), changes: [p], conflictAt: p });
    if (res.status === 207) await this.throwFirstFailure(res, `PROPPATCH ${p}`);
    else await discard(res);
  }

  /**
   * Throws for the first failed response or propstat in a multistatus. A 424 Failed Dependency
   * only echoes another failure (§9.2.1), so a real cause is preferred.
   */
  async throwFirstFailure(res: Response, what: string): Promise<void> {
    let worst = 0;
    for await (const r of parseMultistatus(bodyOf(res))) {
      for (const s of [r.status ?? 200, ...r.propstats.map((ps) => ps.status)]) {
        if (s >= 200 && s < 300) continue;
        if (worst === 0 || worst === 424) worst = s;
      }
    }
    if (worst) throw statusError(worst, what);
  }

  async stat(p: string): Promise<Stat> {
    const e = await this.entry(p);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    return e.stat;
  }

  /** The entry of a path: from the attribute cache unless `fresh`, else PROPFIND Depth 0. Null: nothing there. */
  async entry(p: string, fresh = false): Promise<RemoteEntry | null> {
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

  remember(p: string, r: DavResponse): RemoteEntry {
    const e = entryOf(p, r, this.ids.idOf(p));
    this.attrs.set(p, e);
    return e;
  }

  /** This client changed a file: its stat, its parent's and its cached blocks are out of date. */
  changed(p: string): void {
    this.attrs.touch(p);
    this.blocks.forget(p);
  }

  /** This client changed or removed a tree. Blocks below it age out of the LRU (they name old versions). */
  changedTree(p: string): void {
    this.attrs.touchTree(p);
    this.blocks.forget(p);
    this.locks.dropWithin(p);
  }

  /**
   * RFC 4918 answers 409 both for a missing parent and for a parent that is a file (§9.3.1, §9.7.1);
   * the core's codes tell them apart (ENOENT, ENOTDIR), so the parent is looked at.
   */
  async conflict(p: string, what: string): Promise<FsError> {
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

/** A response's body as bytes; Response.body is null where a response has none. */
export function bodyOf(res: Response): AsyncIterable<Uint8Array> {
  return res.body ?? nothing();
}

export async function* nothing(): AsyncGenerator<Buffer> {}
