// DirectGetHandler and HttpConnection (src/store/direct-get.ts, http-connection.ts) against real
// sockets: a node:http server for ordinary answers, raw TCP servers for the odd ones (heads split
// across reads, bodies cut short, chunked framing, stalls). The S3 store's own use of the handler
// runs in the object-store contract and the faulty-proxy tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { isShared } from '../../src/core/shared-memory.js';
import { DirectGetHandler } from '../../src/store/direct-get.js';
import type { DelegateHandler } from '../../src/store/direct-get.js';
import { ConnectionError } from '../../src/store/http-connection.js';

const body = randomBytes(3 * 1024 * 1024 + 17);

/** Stands in for the SDK's handler: records what it was asked, answers 200 "from the SDK". */
class RecordingDelegate implements DelegateHandler {
  readonly asked: string[] = [];
  handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.asked.push(request.path);
    return Promise.resolve({ response: { statusCode: 200, headers: {}, body: 'from the SDK' } });
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): object {
    return {};
  }
}

function request(port: number, path: string, method = 'GET'): HttpRequest {
  return { method, protocol: 'http:', hostname: '127.0.0.1', port, path, query: { 'x-id': 'GetObject' }, headers: { 'x-test': 'yes' } };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A TCP server that answers each request (one per connection read) with `answer(socket, n)`. */
function rawServer(answer: (socket: net.Socket, n: number) => void): net.Server & { connections: number } {
  let n = 0;
  const server = net.createServer((socket) => {
    server.connections++;
    socket.on('data', () => answer(socket, n++));
    socket.on('error', () => undefined);
  }) as net.Server & { connections: number };
  server.connections = 0;
  return server;
}

describe('DirectGetHandler', () => {
  let server: http.Server;
  let port: number;
  const connections = new Set<net.Socket>();
  const seen: { url: string; xTest: string | undefined }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', xTest: req.headers['x-test'] as string | undefined });
      if (req.url?.startsWith('/missing')) {
        const xml = '<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>';
        res.writeHead(404, { 'content-type': 'application/xml', 'content-length': xml.length });
        res.end(xml);
        return;
      }
      const bytes = req.url?.startsWith('/empty') ? Buffer.alloc(0) : body;
      res.writeHead(200, { 'content-length': bytes.length, etag: '"abc"', 'x-amz-meta-Mixed': 'Case' });
      res.end(bytes);
    });
    server.on('connection', (s) => connections.add(s));
    port = await listen(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('reads a marked GET into the buffer given, sends the signed request as it is, and reuses one connection', async () => {
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const before = connections.size;
    const into = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < 3; i++) {
      const landing = handler.expect(into);
      const { response } = await handler.handle(request(port, `/bucket/key%20${i}`), { abortSignal: landing.signal });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers.etag, '"abc"');
      assert.equal(response.headers['x-amz-meta-mixed'], 'Case', 'header names in lower case, as the SDK reads them');
      assert.ok(landing.data?.equals(body));
      assert.equal(landing.data?.buffer, into.buffer, 'a view of the buffer given');
    }
    assert.deepEqual(
      seen.slice(-3).map((s) => s.url),
      ['/bucket/key%200?x-id=GetObject', '/bucket/key%201?x-id=GetObject', '/bucket/key%202?x-id=GetObject'],
    );
    assert.equal(seen.at(-1)?.xTest, 'yes');
    assert.equal(connections.size - before, 1, 'keep-alive: one connection for three GETs');
    handler.destroy();
  });

  it('puts a body larger than the buffer given in new shared memory, and an empty one in none', async () => {
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const small = Buffer.alloc(1024, 0xee);
    const landing = handler.expect(small);
    await handler.handle(request(port, '/bucket/big'), { abortSignal: landing.signal });
    assert.ok(landing.data?.equals(body));
    assert.ok(landing.data !== undefined && isShared(landing.data), 'shared, so the hash worker reads it in place');
    assert.ok(small.equals(Buffer.alloc(1024, 0xee)), 'the small buffer is left alone');
    const empty = handler.expect(undefined);
    await handler.handle(request(port, '/empty'), { abortSignal: empty.signal });
    assert.equal(empty.data?.length, 0);
    handler.destroy();
  });

  it('hands an error answer to the SDK with its body, and lands nothing', async () => {
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const landing = handler.expect(Buffer.alloc(1024));
    const { response } = await handler.handle(request(port, '/missing'), { abortSignal: landing.signal });
    assert.equal(response.statusCode, 404);
    const parts: Buffer[] = [];
    for await (const part of response.body as AsyncIterable<Buffer>) parts.push(part);
    assert.match(Buffer.concat(parts).toString(), /NoSuchKey/);
    assert.equal(landing.data, undefined);
    handler.destroy();
  });

  it('leaves unmarked requests, other methods and https to the SDK handler', async () => {
    const delegate = new RecordingDelegate();
    const handler = new DirectGetHandler(delegate, { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    await handler.handle(request(port, '/unmarked'));
    await handler.handle(request(port, '/head', 'HEAD'), { abortSignal: handler.expect(undefined).signal });
    await handler.handle({ ...request(port, '/tls'), protocol: 'https:' }, { abortSignal: handler.expect(undefined).signal });
    assert.deepEqual(delegate.asked, ['/unmarked', '/head', '/tls']);
    handler.destroy();
  });

  it('reads a head split across reads and a body that starts in the same read as the head', async () => {
    const payload = randomBytes(200_000);
    const raw = rawServer((socket) => {
      const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\nETag: "x"\r\n\r\n`);
      const whole = Buffer.concat([head, payload]);
      // Pieces cut inside the status line, inside the empty line, and inside the body.
      const cuts = [5, head.length - 3, head.length + 10, head.length + 70_000, whole.length];
      let at = 0;
      const next = (i: number): void => {
        if (i >= cuts.length) return;
        socket.write(whole.subarray(at, cuts[i]));
        at = cuts[i]!;
        setTimeout(() => next(i + 1), 15);
      };
      next(0);
    });
    const rawPort = await listen(raw);
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    for (let i = 0; i < 2; i++) {
      const landing = handler.expect(Buffer.alloc(256 * 1024));
      const { response } = await handler.handle(request(rawPort, '/split'), { abortSignal: landing.signal });
      assert.equal(response.headers.etag, '"x"');
      assert.ok(landing.data?.equals(payload), `GET ${i + 1}`);
    }
    assert.equal(raw.connections, 1);
    handler.destroy();
    raw.close();
  });

  it('fails a body cut short with EBROKENBODY (retryable), and then uses a new connection', async () => {
    const raw = rawServer((socket, n) => {
      if (n === 0) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
        socket.end(Buffer.alloc(100));
      } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
    });
    const rawPort = await listen(raw);
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const cut = handler.expect(Buffer.alloc(2000));
    await assert.rejects(handler.handle(request(rawPort, '/cut'), { abortSignal: cut.signal }), (err) => {
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.code, 'EBROKENBODY');
      assert.match(err.message, /after 100 of 1000 bytes/);
      return true;
    });
    const again = handler.expect(Buffer.alloc(16));
    await handler.handle(request(rawPort, '/again'), { abortSignal: again.signal });
    assert.equal(again.data?.toString(), 'abc');
    assert.equal(raw.connections, 2);
    handler.destroy();
    raw.close();
  });

  // Either way the next GET must open a new connection rather than fail on the closed one.
  const closing: [string, (socket: net.Socket) => void][] = [
    ['notices a connection the server closed while idle, and opens another', (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')],
    ['does not reuse a connection the answer says to close', (socket) => socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok')],
  ];
  for (const [title, answer] of closing) {
    it(title, async () => {
      const raw = rawServer(answer);
      const rawPort = await listen(raw);
      const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
      for (let i = 0; i < 3; i++) {
        const landing = handler.expect(Buffer.alloc(16));
        await handler.handle(request(rawPort, '/x'), { abortSignal: landing.signal });
        assert.equal(landing.data?.toString(), 'ok');
        await new Promise((resolve) => setTimeout(resolve, 50)); // the server's FIN arrives
      }
      assert.equal(raw.connections, 3);
      handler.destroy();
      raw.close();
    });
  }

  it('asks the SDK handler again when an answer is not framed by Content-Length', async () => {
    const raw = rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'));
    const rawPort = await listen(raw);
    const delegate = new RecordingDelegate();
    const handler = new DirectGetHandler(delegate, { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const landing = handler.expect(Buffer.alloc(16));
    const { response } = await handler.handle(request(rawPort, '/chunked'), { abortSignal: landing.signal });
    assert.equal(response.body, 'from the SDK');
    assert.deepEqual(delegate.asked, ['/chunked']);
    assert.equal(landing.data, undefined);
    handler.destroy();
    raw.close();
  });

  it('gives up on an answer that stalls, after the idle timeout', async () => {
    const raw = rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'));
    const rawPort = await listen(raw);
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 200 });
    const started = Date.now();
    const landing = handler.expect(Buffer.alloc(100));
    await assert.rejects(handler.handle(request(rawPort, '/stall'), { abortSignal: landing.signal }), (err) => {
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.code, 'EBROKENBODY');
      assert.match(err.message, /idle timeout/);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    handler.destroy();
    raw.close();
  });

  it('keeps at most maxInFlight GETs in flight; the others wait their turn', async () => {
    let open = 0;
    let most = 0;
    const raw = rawServer((socket) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }, 40);
    });
    const rawPort = await listen(raw);
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000, maxInFlight: 2 });
    const landings = Array.from({ length: 7 }, () => handler.expect(Buffer.alloc(16)));
    await Promise.all(landings.map((l) => handler.handle(request(rawPort, '/x'), { abortSignal: l.signal })));
    assert.deepEqual(
      landings.map((l) => l.data?.toString()),
      Array(7).fill('ok'),
    );
    assert.equal(most, 2);
    assert.equal(raw.connections, 2, 'the waiting GETs reuse the two connections');
    handler.destroy();
    raw.close();
  });

  it('reports a refused connection with its network code', async () => {
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const handler = new DirectGetHandler(new RecordingDelegate(), { connectTimeoutMs: 1000, idleTimeoutMs: 5000 });
    const landing = handler.expect(undefined);
    await assert.rejects(handler.handle(request(closedPort, '/x'), { abortSignal: landing.signal }), (err) => err instanceof ConnectionError && err.code === 'ECONNREFUSED');
    handler.destroy();
  });
});
