// One keep-alive HTTP/1.1 client connection whose response bodies land straight in memory the
// caller owns. node:http reads a socket 64 KiB at a time into a new buffer each time; on these
// machines (a Firecracker VM, where a page fault costs a VM exit) glibc handed that memory back
// after each collection and faulted it in again on the next reads: downloading 512 MiB of 4 MiB
// objects from s3rver took 3.3-3.6 s of client CPU and ~160,000 page faults. Node's `onread`
// option lets the kernel copy into a buffer we choose for every read instead: the same download
// took 0.21-0.25 s (measured with a harness outside the repo, both over one s3rver).
//
// Deliberately small: GET requests without a body, responses framed by Content-Length (S3 sends
// it with every object). A response framed otherwise (chunked, or delimited by the close) is
// reported without its body and the connection dropped, so the caller can ask another way.
import net from 'node:net';

/** Response heads longer than this are refused (S3 heads are well under 2 KiB). */
const HEAD_MAX = 16 * 1024;
/** Where bytes read while no response is expected go, before the connection is dropped. */
const DISCARD = Buffer.alloc(1024);

export interface ResponseHead {
  status: number;
  reason: string;
  /** Names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Undefined when the body is not framed by Content-Length. */
  contentLength: number | undefined;
}

export interface Exchange {
  head: ResponseHead;
  /** The body, in the buffer the sink gave; undefined when the sink declined it or it was not framed by Content-Length. */
  body: Buffer | undefined;
}

/** Where a response's body goes: a buffer of at least `head.contentLength` bytes, or undefined to drop it. */
export type BodySink = (head: ResponseHead) => Buffer | undefined;

/**
 * A failed exchange. `code` is a network code (ECONNRESET, ETIMEDOUT, …), EBROKENBODY once the
 * head arrived, or EPROTO for a response this client does not speak. Like node:http, the client
 * never sends a request again by itself: the store's retries count every attempt.
 */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type Phase = 'idle' | 'head' | 'body' | 'closed';

export class HttpConnection {
  private readonly socket: net.Socket;
  private phase: Phase = 'idle';
  private readonly headBytes = Buffer.allocUnsafe(HEAD_MAX);
  private headLength = 0;
  private head: ResponseHead | undefined;
  private sink: BodySink = () => undefined;
  private keepAlive = false;
  private body: Buffer | undefined;
  private received = 0;
  private expected = 0;
  private pending: { resolve(e: Exchange): void; reject(err: Error): void } | undefined;
  /** When the connection last became idle (Date.now()), for the pool's age limit. */
  idleSince = Date.now();

  private constructor(host: string, port: number) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.nextBuffer(), callback: (n) => this.onRead(n) },
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.message, err.code ?? 'ECONNRESET', err));
    this.socket.on('timeout', () => this.fail('no data for longer than the idle timeout', 'ETIMEDOUT'));
    this.socket.on('close', () => this.fail('the server closed the connection', 'ECONNRESET'));
  }

  /** Connects; rejects with a ConnectionError (ETIMEDOUT after `timeoutMs`). */
  static connect(host: string, port: number, timeoutMs: number): Promise<HttpConnection> {
    const conn = new HttpConnection(host, port);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.close();
        reject(new ConnectionError(`could not connect to ${host}:${port} within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      conn.socket.once('connect', () => {
        clearTimeout(timer);
        resolve(conn);
      });
      conn.socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnectionError(err.message, err.code ?? 'ECONNREFUSED', { cause: err }));
      });
    });
  }

  /** Idle and still open: ready for another exchange. */
  get usable(): boolean {
    return this.phase === 'idle' && !this.socket.destroyed;
  }

  /**
   * Sends `request` (a whole request head, ending in an empty line) and reads the answer; the
   * body goes where `sink` says. Throws ConnectionError; the connection is then closed.
   */
  exchange(request: string, sink: BodySink, idleTimeoutMs: number): Promise<Exchange> {
    if (!this.usable) return Promise.reject(new ConnectionError('connection not idle', 'ECONNRESET'));
    this.phase = 'head';
    this.headLength = 0;
    this.sink = sink;
    this.socket.ref();
    this.socket.setTimeout(idleTimeoutMs);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request, 'latin1');
    });
  }

  close(): void {
    this.phase = 'closed';
    this.socket.destroy();
  }

  /**
   * The memory the kernel copies the next read into. Node asks for it right after each read (and
   * once at the start), not when the next read comes, so an idle connection already points at the
   * start of the head buffer, where the next answer's first bytes belong.
   */
  private nextBuffer(): Buffer {
    if (this.phase === 'body' && this.body !== undefined) return this.body.subarray(this.received, this.expected);
    if (this.phase === 'head' && this.headLength < HEAD_MAX) return this.headBytes.subarray(this.headLength);
    if (this.phase === 'idle') return this.headBytes;
    return DISCARD;
  }

  private onRead(n: number): boolean {
    if (this.phase === 'head') {
      // A head that filled headBytes without its end failed in parseHead: no read lands beyond it.
      this.headLength += n;
      this.parseHead();
    } else if (this.phase === 'body') {
      this.received += n;
      if (this.received >= this.expected) this.finish();
    } else if (this.phase === 'idle') {
      this.fail('bytes arrived while no request was pending', 'EPROTO');
    }
    return true;
  }

  private parseHead(): void {
    const end = this.headBytes.subarray(0, this.headLength).indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0) {
      if (this.headLength >= HEAD_MAX) this.fail(`response head longer than ${HEAD_MAX} bytes`, 'EPROTO');
      return;
    }
    const [statusLine = '', ...lines] = this.headBytes.toString('latin1', 0, end).split('\r\n');
    const status = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: (.*))?$/.exec(statusLine);
    if (status === null) return void this.fail(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 80))}`, 'EPROTO');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return void this.fail(`malformed response header: ${JSON.stringify(line.slice(0, 80))}`, 'EPROTO');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const code = Number(status[2]);
    // 1xx answers precede the real one; a GET without Expect never asks for them.
    if (code < 200) return void this.fail(`informational response ${code} to a GET`, 'EPROTO');
    const length = headers['content-length'];
    const framed = headers['transfer-encoding'] === undefined && length !== undefined && /^\d+$/.test(length);
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    this.head = { status: code, reason: status[3] ?? '', headers, contentLength: framed ? Number(length) : undefined };
    const extra = this.headLength - (end + 4);
    const target = this.head.contentLength === undefined ? undefined : this.sink(this.head);
    if (target === undefined || this.head.contentLength === undefined) {
      // Unread or unframed: the connection cannot carry another exchange.
      this.keepAlive = false;
      return this.finish();
    }
    if (extra > this.head.contentLength) return void this.fail('more bytes than the Content-Length announced', 'EPROTO');
    if (target.length < this.head.contentLength) return void this.fail('the body sink gave a buffer too small', 'EPROTO');
    this.headBytes.copy(target, 0, end + 4, this.headLength);
    this.body = target;
    this.received = extra;
    this.expected = this.head.contentLength;
    this.phase = 'body';
    if (this.received >= this.expected) this.finish();
  }

  private finish(): void {
    const pending = this.pending;
    const exchange: Exchange = { head: this.head!, body: this.body?.subarray(0, this.expected) };
    this.pending = undefined;
    this.body = undefined;
    this.head = undefined;
    if (this.keepAlive) {
      this.phase = 'idle';
      this.idleSince = Date.now();
      this.socket.setTimeout(0);
      // An idle pooled connection must not keep the process alive.
      this.socket.unref();
    } else this.close();
    pending?.resolve(exchange);
  }

  /** Closes the connection and fails the exchange in progress, if any. Returns true (onread's "keep reading"). */
  private fail(message: string, code: string, cause?: Error): boolean {
    const pending = this.pending;
    const phase = this.phase;
    this.pending = undefined;
    this.close();
    if (pending === undefined) return true;
    if (phase === 'body') {
      pending.reject(new ConnectionError(`body broke off after ${this.received} of ${this.expected} bytes: ${message}`, 'EBROKENBODY', { cause }));
    } else pending.reject(new ConnectionError(message, code, { cause }));
    return true;
  }
}
