// The S3 client's HTTP handler. A GET the store marks (whole objects, over http://) is sent on a
// connection of ours that reads the body straight into the caller's buffer (http-connection.ts);
// every other request goes to the SDK's own handler. The SDK still builds, signs and parses
// everything: this handler only carries bytes, so errors, retries and credentials stay the SDK's.
import { Readable } from 'node:stream';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, QueryParameterBag } from '@smithy/types';
import { sharedBuffer } from '../core/shared-memory.js';
import { ConnectionError, HttpConnection } from './http-connection.js';
import type { ResponseHead } from './http-connection.js';

/** Idle connections kept per server: more than the chunk downloads a node runs at once. */
const IDLE_KEPT = 16;
/**
 * A connection idle longer than this is closed rather than reused: servers close idle
 * keep-alive connections after a few seconds (Node's default is 5 s), and a request sent as one
 * closes would fail.
 */
const IDLE_MAX_MS = 4_000;
/** GETs in flight at once, past which more wait their turn: the SDK's own handler allows 50 sockets. */
const MAX_IN_FLIGHT = 50;
/** Error bodies (S3's XML) are read into memory up to this size; a larger one is not S3's. */
const ERROR_BODY_MAX = 1 << 20;

/** The SDK's handler, as far as this one forwards to it. */
export interface DelegateHandler {
  metadata?: { handlerProtocol: string };
  handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): object;
  destroy?(): void;
}

/**
 * One marked GET. Its signal goes with the command (the SDK hands it to the handler, which is
 * how the handler knows the request); `data` is the body once it landed, a view of `into` when
 * it fitted, else of a new shared buffer. Undefined `data` after the call: the SDK's handler
 * carried the request, and the body is the command output's stream.
 */
export interface Landing {
  readonly signal: AbortSignal;
  readonly into: Buffer | undefined;
  data?: Buffer;
}

export interface DirectGetOptions {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** GETs (connections) in flight at once; default MAX_IN_FLIGHT. */
  maxInFlight?: number;
}

export class DirectGetHandler {
  private readonly landings = new WeakMap<AbortSignal, Landing>();
  private readonly idle = new Map<string, HttpConnection[]>();
  private closed = false;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  readonly metadata: { handlerProtocol: string };

  constructor(
    private readonly delegate: DelegateHandler,
    private readonly options: DirectGetOptions,
  ) {
    this.metadata = delegate.metadata ?? { handlerProtocol: 'http/1.1' };
  }

  /** Marks the next GET sent with the returned signal: its body goes into `into` when it fits. */
  expect(into: Buffer | undefined): Landing {
    const landing: Landing = { signal: new AbortController().signal, into };
    this.landings.set(landing.signal, landing);
    return landing;
  }

  async handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
    const landing = options?.abortSignal === undefined ? undefined : this.landings.get(options.abortSignal as AbortSignal);
    if (landing === undefined || request.method !== 'GET' || request.protocol !== 'http:' || this.closed) {
      return this.delegate.handle(request, options);
    }
    try {
      return await this.send(request, landing);
    } catch (err) {
      // A response this client does not speak: the SDK's handler asks again (a GET is safe to repeat).
      if (err instanceof ConnectionError && err.code === 'EPROTO') return this.delegate.handle(request, options);
      throw err;
    }
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.delegate.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): object {
    return this.delegate.httpHandlerConfigs();
  }

  destroy(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const conn of list) conn.close();
    this.idle.clear();
    this.delegate.destroy?.();
  }

  /** One GET at a time per connection, and at most maxInFlight connections busy. */
  private async send(request: HttpRequest, landing: Landing): Promise<{ response: HttpResponse }> {
    if (this.inFlight >= (this.options.maxInFlight ?? MAX_IN_FLIGHT)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      return await this.exchange(request, landing);
    } finally {
      // A waiter takes over this GET's place in the count.
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.inFlight--;
    }
  }

  private async exchange(request: HttpRequest, landing: Landing): Promise<{ response: HttpResponse }> {
    const port = request.port ?? 80;
    const server = `${request.hostname}:${port}`;
    const text = requestText(request);
    const sink = (head: ResponseHead): Buffer | undefined => bodyBuffer(head, landing);
    const conn = this.takeIdle(server) ?? (await HttpConnection.connect(request.hostname, port, this.options.connectTimeoutMs));
    const { head, body } = await conn.exchange(text, sink, this.options.idleTimeoutMs);
    this.giveBack(server, conn);
    if (head.contentLength === undefined) throw new ConnectionError(`a ${head.status} answer not framed by Content-Length`, 'EPROTO');
    if (body === undefined) throw new ConnectionError(`a ${head.status} answer with a body of ${head.contentLength} bytes`, 'EPROTO');
    const ok = head.status >= 200 && head.status < 300;
    if (ok) landing.data = body;
    // The SDK reads headers (ETag, Content-Length…) from the answer, and an error's code from its body.
    const response: HttpResponse = { statusCode: head.status, reason: head.reason, headers: head.headers, body: Readable.from(ok ? [] : [body]) };
    return { response };
  }

  private takeIdle(server: string): HttpConnection | undefined {
    const list = this.idle.get(server);
    for (let conn = list?.pop(); conn !== undefined; conn = list?.pop()) {
      if (conn.usable && Date.now() - conn.idleSince < IDLE_MAX_MS) return conn;
      conn.close();
    }
    return undefined;
  }

  private giveBack(server: string, conn: HttpConnection): void {
    if (!conn.usable || this.closed) return conn.close();
    const list = this.idle.get(server) ?? [];
    this.idle.set(server, list);
    list.push(conn);
    if (list.length > IDLE_KEPT) list.shift()?.close();
  }
}

/** Where the body goes: the caller's buffer when a success fits it, else new memory. */
function bodyBuffer(head: ResponseHead, landing: Landing): Buffer | undefined {
  const length = head.contentLength ?? 0;
  if (head.status < 200 || head.status >= 300) return length <= ERROR_BODY_MAX ? Buffer.allocUnsafe(length) : undefined;
  if (landing.into !== undefined && length <= landing.into.length) return landing.into;
  // Shared memory, as readBody() gives: the chunk layer hashes it on a worker without a copy.
  return sharedBuffer(length);
}

/** The request head as the SDK signed it: its path and query, its headers (Host added if missing). */
function requestText(request: HttpRequest): string {
  const query = queryString(request.query ?? {});
  let text = `${request.method} ${request.path}${query === '' ? '' : `?${query}`} HTTP/1.1\r\n`;
  let host = false;
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.toLowerCase() === 'host') host = true;
    text += `${name}: ${value}\r\n`;
  }
  if (!host) text += `host: ${request.hostname}${request.port === undefined ? '' : `:${request.port}`}\r\n`;
  return `${text}\r\n`;
}

/** The query as the SDK's own handler writes it (RFC 3986 escaping, repeated keys for lists). */
function queryString(query: QueryParameterBag): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === null || value === undefined) parts.push(escape(key));
    else for (const v of Array.isArray(value) ? value : [value]) parts.push(`${escape(key)}=${escape(v)}`);
  }
  return parts.join('&');
}

function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
