// HTTP to one WebDAV server: absolute URLs for share paths and back, the Authorization header
// (Basic or Bearer), keep-alive connections (Node's fetch pools them per origin), one retry of
// safe requests after a network failure, and the 401 / unreachable errors.
import { FsError } from '../core/errors.js';
import { redactUrl } from '../core/log.js';
import { normalizePath } from '../core/paths.js';
import { statusError, unauthorized, unreachable, type StatusOverrides } from './status-errors.js';

export interface Credentials {
  user?: string;
  password?: string;
  /** Sent as `Authorization: Bearer <token>`; wins over user/password. */
  token?: string;
}

export type RequestBody = string | Buffer | AsyncIterable<Uint8Array>;

export interface SendInit {
  headers?: Record<string, string>;
  body?: RequestBody;
  /** The path names a collection: its URL gets the trailing `/` (RFC 4918 §5.2). */
  dir?: boolean;
}

/** Requests that change nothing: safe to send again after a connection broke (RFC 9110 §9.2.2). */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);

export class DavHttp {
  /** The server's base URL, without credentials, ending in `/`. */
  readonly base: URL;
  /** The base URL with any secret masked, for messages and logs. */
  readonly shownUrl: string;
  private readonly authorization: string | undefined;

  constructor(url: string, creds: Credentials = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new FsError('EINVAL', `not a URL: ${redactUrl(url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FsError('EINVAL', `not an http(s) URL: ${redactUrl(url)}`);
    // fetch refuses URLs with credentials in them: take them out and send them as a header.
    const user = creds.user ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = creds.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    u.username = '';
    u.password = '';
    u.hash = '';
    u.search = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
    this.shownUrl = u.toString();
    if (creds.token) this.authorization = `Bearer ${creds.token}`;
    else if (user !== undefined) this.authorization = `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
  }

  /** Absolute URL of a normalised share path. */
  urlOf(path: string, dir = false): string {
    const rel = path === '/' ? '' : path.slice(1).split('/').map(encodeURIComponent).join('/');
    return new URL(rel + (dir && rel !== '' ? '/' : ''), this.base).toString();
  }

  /** Share path of an href from a multistatus (absolute URL or absolute path); undefined when outside the base. */
  pathOf(href: string): string | undefined {
    let pathname: string;
    try {
      pathname = new URL(href, this.base).pathname;
    } catch {
      return undefined;
    }
    const basePath = this.base.pathname;
    let rest: string;
    if (pathname.startsWith(basePath)) rest = pathname.slice(basePath.length);
    else if (pathname === basePath.slice(0, -1)) rest = '';
    else return undefined;
    try {
      return normalizePath(rest.split('/').map(decodeURIComponent).join('/'));
    } catch {
      return undefined; // a name this side cannot represent (control characters, bad escapes)
    }
  }

  /** Sends one request. Network failures become EIO, 401 becomes EACCES; other statuses are the caller's. */
  async send(method: string, path: string, init: SendInit = {}): Promise<Response> {
    const url = this.urlOf(path, init.dir);
    const headers: Record<string, string> = { ...init.headers };
    if (this.authorization) headers.Authorization = this.authorization;
    const streaming = init.body !== undefined && typeof init.body !== 'string' && !Buffer.isBuffer(init.body);
    const attempts = RETRYABLE.has(method) ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers,
          body: init.body,
          // A streamed body cannot be sent twice, so it cannot follow a redirect either.
          ...(streaming ? { duplex: 'half' as const, redirect: 'manual' as const } : {}),
        });
      } catch (err) {
        // Our own body source failed (e.g. a length check): that error, not a network one.
        if (err instanceof Error && err.cause instanceof FsError) throw err.cause;
        if (attempt < attempts) continue;
        throw unreachable(this.shownUrl, err);
      }
      if (res.status === 401) {
        await discard(res);
        throw unauthorized(this.shownUrl, this.authorization !== undefined);
      }
      return res;
    }
  }

  /** Sends and returns the response when its status is one of `ok`; otherwise throws the mapped FsError. */
  async expect(method: string, path: string, ok: number[], init: SendInit = {}, overrides: StatusOverrides = {}): Promise<Response> {
    const res = await this.send(method, path, init);
    if (ok.includes(res.status)) return res;
    throw await failure(res, `${method} ${path}`, overrides);
  }
}

/** Reads (a bounded part of) an error response's body into the FsError's message. */
export async function failure(res: Response, what: string, overrides: StatusOverrides = {}): Promise<FsError> {
  let detail = '';
  try {
    detail = (await res.text()).slice(0, 500);
  } catch {
    // the body broke off: the status says enough
  }
  // A DAV:error body (RFC 4918 §16) is XML: keep the status line only.
  return statusError(res.status, what, overrides, detail.startsWith('<') ? '' : detail);
}

/** Drops a response body so the keep-alive connection can carry the next request. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // a broken body only matters to someone who wanted it
  }
}
