// S3ObjectStore beyond the shared contract: open() errors, broken bodies and throttling through a faulty proxy, URL parsing, retries.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { FsError, isFsError } from '../../src/core/errors.js';
import { backoffMs, withRetry } from '../../src/store/retry.js';
import { S3ObjectStore, isRetryableS3Error, parseS3Url } from '../../src/store/s3-store.js';
import type { S3ObjectStoreOptions } from '../../src/store/s3-store.js';
import { s3StoreOptions, startS3rver } from '../helpers/s3rver.js';
import type { S3TestServer } from '../helpers/s3rver.js';
import { startSwift } from '../helpers/swift.js';

const SECRET = 'sEcReT+must/NEVER-appear-42';

describe('parseS3Url', () => {
  const good: Array<[string, S3ObjectStoreOptions]> = [
    ['s3://bucket', { bucket: 'bucket' }],
    ['s3://bucket/', { bucket: 'bucket' }],
    ['s3://my.bucket/some/prefix/', { bucket: 'my.bucket', prefix: 'some/prefix' }],
    ['s3://b//deep//prefix', { bucket: 'b', prefix: 'deep//prefix' }],
    ['s3://b/with%20space', { bucket: 'b', prefix: 'with space' }],
    [
      's3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-3&path_style=true&access_key=AKID&secret_key=abc',
      {
        bucket: 'bucket',
        prefix: 'some/prefix',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-3',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'abc' },
      },
    ],
    // AWS secrets contain '+' and '/': '+' must stay '+', not become a space as in form decoding.
    ['s3://b?access_key=AK&secret_key=a+b/c%2Fd%2Be', { bucket: 'b', credentials: { accessKeyId: 'AK', secretAccessKey: 'a+b/c/d+e' } }],
    ['s3://b?access_key=AK&secret_key=S&session_token=T', { bucket: 'b', credentials: { accessKeyId: 'AK', secretAccessKey: 'S', sessionToken: 'T' } }],
    ['s3://b?endpoint=https%3A%2F%2Fs3.example.com%3A8443', { bucket: 'b', endpoint: 'https://s3.example.com:8443' }],
    ['s3://b?path_style=false', { bucket: 'b', forcePathStyle: false }],
    ['s3://b?path_style=1', { bucket: 'b', forcePathStyle: true }],
    ['s3://b?path_style=NO', { bucket: 'b', forcePathStyle: false }],
    ['S3://b?&region=us-east-1&', { bucket: 'b', region: 'us-east-1' }],
  ];
  for (const [url, expected] of good) {
    it(`parses ${url}`, () => assert.deepEqual(parseS3Url(url), expected));
  }

  const bad: Array<[string, RegExp]> = [
    ['s3://', /bucket name is missing/],
    ['s3:///prefix', /bucket name is missing/],
    ['http://bucket/prefix', /expected s3:\/\//],
    ['s3://b?colour=blue', /unknown option "colour"/],
    ['s3://b?access_key=AK', /both access_key and secret_key/],
    [`s3://b?secret_key=${SECRET}`, /both access_key and secret_key/],
    ['s3://b?access_key=&secret_key=x', /must not be empty/],
    ['s3://b?session_token=T', /session_token needs/],
    ['s3://b?endpoint=ftp://host', /http:\/\/ or https:\/\//],
    ['s3://b?endpoint=not a url', /http:\/\/ or https:\/\//],
    ['s3://b?path_style=maybe', /path_style must be true or false/],
    ['s3://b?region=', /region is empty/],
    [`s3://AK:${SECRET}@bucket/prefix`, /access_key and secret_key options/],
    ['s3://b/%zz', /percent-encoding/],
  ];
  for (const [url, message] of bad) {
    it(`refuses ${url.replace(SECRET, '<secret>')}`, () => {
      assert.throws(
        () => parseS3Url(url),
        (err) => {
          assert.ok(isFsError(err, 'EINVAL'));
          assert.match(err.message, message);
          assert.ok(!err.message.includes(SECRET), 'the secret is not quoted');
          return true;
        },
      );
    });
  }
});

describe('withRetry', () => {
  const noSleep = { sleep: async (): Promise<void> => undefined };

  it('repeats a retryable failure until it succeeds, backing off more each time', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        assert.equal(attempt, calls);
        if (calls < 4) throw new Error('flaky');
        return 'done';
      },
      { tries: 5, baseMs: 100, isRetryable: () => true, onRetry: (_e, _a, ms) => delays.push(ms), ...noSleep },
    );
    assert.equal(result, 'done');
    assert.equal(calls, 4);
    assert.equal(delays.length, 3);
    delays.forEach((ms, i) => assert.ok(ms >= 50 * 2 ** i && ms <= 100 * 2 ** i, `delay ${i}: ${ms}`));
  });

  it('gives up after `tries` attempts and throws the last error', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          throw new Error(`failure ${++calls}`);
        },
        { tries: 3, baseMs: 1, isRetryable: () => true, ...noSleep },
      ),
      /failure 3/,
    );
    assert.equal(calls, 3);
  });

  it('does not repeat an error that is not retryable', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new FsError('ENOENT', 'gone');
        },
        { tries: 5, baseMs: 1, isRetryable: (err) => !(err instanceof FsError), ...noSleep },
      ),
      (err) => isFsError(err, 'ENOENT'),
    );
    assert.equal(calls, 1);
  });

  it('jitters between half and all of the capped exponential step', () => {
    assert.equal(backoffMs(1, 100, 10_000, () => 0), 50);
    assert.equal(backoffMs(1, 100, 10_000, () => 1), 100);
    assert.equal(backoffMs(4, 100, 10_000, () => 0.5), 600);
    assert.equal(backoffMs(30, 100, 10_000, () => 1), 10_000);
  });
});

describe('isRetryableS3Error', () => {
  const s3Error = (name: string, status: number): Error =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const netError = (code: string): Error => Object.assign(new Error(code), { code });
  const cases: Array<[string, unknown, boolean]> = [
    ['503 SlowDown', s3Error('SlowDown', 503), true],
    ['429 Too Many Requests', s3Error('TooManyRequests', 429), true],
    ['500 InternalError', s3Error('InternalError', 500), true],
    ['502 without a body', s3Error('Unknown', 502), true],
    ['400 RequestTimeout (S3 says 400 but means retry)', s3Error('RequestTimeout', 400), true],
    ['501 NotImplemented', s3Error('NotImplemented', 501), false],
    ['404 NoSuchKey', s3Error('NoSuchKey', 404), false],
    ['403 AccessDenied', s3Error('AccessDenied', 403), false],
    ['400 InvalidRequest', s3Error('InvalidRequest', 400), false],
    ['ECONNRESET', netError('ECONNRESET'), true],
    ['ECONNREFUSED', netError('ECONNREFUSED'), true],
    ['ETIMEDOUT', netError('ETIMEDOUT'), true],
    ['EPIPE', netError('EPIPE'), true],
    ['the SDK TimeoutError', Object.assign(new Error('t'), { name: 'TimeoutError' }), true],
    ['ENOTFOUND', netError('ENOTFOUND'), false],
    ['an FsError', new FsError('EIO', 'decided already'), false],
    ['a string', 'oops', false],
  ];
  for (const [what, err, expected] of cases) {
    it(`${what} → ${expected ? 'retry' : 'fail'}`, () => assert.equal(isRetryableS3Error(err), expected));
  }
});

/** A port nobody listens on: bound, noted, closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Checks one open() failure: an EIO whose message matches, with no secret anywhere in the error. */
async function assertOpenFails(options: S3ObjectStoreOptions, message: RegExp): Promise<void> {
  const store = new S3ObjectStore(options);
  try {
    const started = Date.now();
    await assert.rejects(store.open(), (err) => {
      assert.ok(isFsError(err, 'EIO'), `an FsError EIO, got ${String(err)}`);
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'), 'one line, no stack');
      assert.ok(!err.message.includes(SECRET), 'no secret in the message');
      assert.ok(!inspect(err, { depth: 20 }).includes(SECRET), 'no secret even in the cause');
      return true;
    });
    assert.ok(Date.now() - started < 5_000, 'fails fast');
    assert.ok(!store.description.includes(SECRET));
  } finally {
    await store.close();
  }
}

describe('S3ObjectStore.open() errors', () => {
  let s3rver: S3TestServer;
  let swift: S3TestServer;
  before(async () => {
    [s3rver, swift] = await Promise.all([startS3rver(), startSwift()]);
  });
  after(async () => {
    await Promise.all([s3rver.stop(), swift.stop()]);
  });

  it('succeeds on a bucket that exists (s3rver, Swift)', async () => {
    for (const server of [s3rver, swift]) {
      const store = new S3ObjectStore(s3StoreOptions(server));
      await store.open();
      await store.close();
    }
  });

  for (const which of ['s3rver', 'Swift'] as const) {
    const server = (): S3TestServer => (which === 's3rver' ? s3rver : swift);

    it(`says the bucket does not exist (${which})`, async () => {
      await assertOpenFails(
        s3StoreOptions(server(), { bucket: 'no-such-bucket-here' }),
        /^EIO: bucket "no-such-bucket-here" at http:\/\/127\.0\.0\.1:\d+ does not exist: create it/,
      );
    });

    it(`says access is denied for an unknown access key (${which})`, async () => {
      await assertOpenFails(
        s3StoreOptions(server(), { credentials: { accessKeyId: 'NOBODY', secretAccessKey: SECRET } }),
        /^EIO: access to bucket ".+" at http:\/\/127\.0\.0\.1:\d+ denied for access key "NOBODY": check/,
      );
    });
  }

  // Swift only: s3rver verifies neither a V4 signature nor the payload hash it signs.
  it('refuses a PUT whose bytes differ from the SHA-256 declared, keeping the old object (Swift)', async () => {
    const store = new S3ObjectStore(s3StoreOptions(swift, { tries: 2, retryBaseMs: 5 }));
    try {
      const old = randomBytes(10_000);
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      await store.put('integrity', old, { sha256: sha(old) });
      assert.ok((await store.get('integrity')).equals(old), 'a PUT with the right hash is stored');
      const other = randomBytes(10_000);
      await assert.rejects(store.put('integrity', other, { sha256: sha(old) }), (err) => isFsError(err, 'EIO'));
      assert.ok((await store.get('integrity')).equals(old), 'the previous object is intact');
      await store.delete(['integrity']);
    } finally {
      await store.close();
    }
  });

  // Swift only: s3rver checks that the access key exists but never verifies a V4 signature.
  it('says access is denied for a wrong secret key (Swift)', async () => {
    await assertOpenFails(
      s3StoreOptions(swift, { credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: SECRET } }),
      /^EIO: access to bucket ".+" at http:\/\/127\.0\.0\.1:8090 denied for access key "test:tester": check/,
    );
  });

  it('says the endpoint refuses connections (closed port)', async () => {
    const port = await closedPort();
    await assertOpenFails(
      { bucket: 'b', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'AK', secretAccessKey: SECRET } },
      new RegExp(`^EIO: cannot reach the S3 endpoint http://127\\.0\\.0\\.1:${port}: connection refused`),
    );
  });

  it('says the endpoint does not answer (accepts, then silence)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      await assertOpenFails(
        { bucket: 'b', endpoint: `http://127.0.0.1:${port}`, idleTimeoutMs: 300, credentials: { accessKeyId: 'AK', secretAccessKey: SECRET } },
        /^EIO: cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:\d+: no answer/,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('keeps user:password of an endpoint URL out of messages', async () => {
    const port = await closedPort();
    await assertOpenFails(
      { bucket: 'b', endpoint: `http://user:${encodeURIComponent(SECRET)}@127.0.0.1:${port}`, credentials: { accessKeyId: 'AK', secretAccessKey: 'x' } },
      /connection refused/,
    );
  });

  it('keeps the secret out of errors of later operations too', async () => {
    const store = new S3ObjectStore(s3StoreOptions(swift, { credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: SECRET } }));
    try {
      await assert.rejects(store.put('k', Buffer.from('x')), (err) => {
        assert.ok(isFsError(err, 'EIO'));
        assert.match(err.message, /SignatureDoesNotMatch, HTTP 403/);
        assert.ok(!inspect(err, { depth: 20 }).includes(SECRET));
        return true;
      });
    } finally {
      await store.close();
    }
  });
});

type Fault =
  /** Forward the answer's headers, then only `bytes` of its body, then reset the connection. */
  | { kind: 'cut'; bytes: number }
  /** Forward the headers and `bytes` of the body, then say nothing more on an open connection. */
  | { kind: 'stall'; bytes: number }
  /** Answer with an S3 error instead of forwarding. */
  | { kind: 'error'; status: number; code: string }
  /** Close the connection without answering. */
  | { kind: 'drop' };

interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  ifMatch?: string;
  payloadHash?: string;
  contentMd5?: string;
}

/**
 * An HTTP proxy in front of s3rver that injects one planned fault per matching request. The
 * request goes upstream byte for byte with its Host header, so the SigV4 signature still holds.
 */
class FaultyProxy {
  readonly seen: SeenRequest[] = [];
  private readonly plans: Array<{ method: string; fault: Fault }> = [];
  private readonly server: http.Server;

  constructor(private readonly upstream: URL) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `times` requests with this method meet `fault`. */
  plan(method: string, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.plans.push({ method, fault });
  }

  count(method: string): number {
    return this.seen.filter((r) => r.method === method).length;
  }

  reset(): void {
    this.seen.length = 0;
    this.plans.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? '';
    this.seen.push({
      method,
      url: req.url ?? '',
      ...(typeof req.headers.range === 'string' ? { range: req.headers.range } : {}),
      ...(typeof req.headers['if-match'] === 'string' ? { ifMatch: req.headers['if-match'] } : {}),
      ...(typeof req.headers['x-amz-content-sha256'] === 'string' ? { payloadHash: req.headers['x-amz-content-sha256'] } : {}),
      ...(typeof req.headers['content-md5'] === 'string' ? { contentMd5: req.headers['content-md5'] } : {}),
    });
    const index = this.plans.findIndex((p) => p.method === method);
    const fault = index < 0 ? undefined : this.plans.splice(index, 1)[0]?.fault;
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'error') {
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>injected</Message></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const upstream = http.request(
      { host: this.upstream.hostname, port: this.upstream.port, method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault === undefined) {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= fault.bytes) return;
          const part = chunk.subarray(0, fault.bytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= fault.bytes) {
            answer.destroy();
            if (fault.kind === 'cut') res.socket?.destroy();
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}

describe('S3ObjectStore through a faulty proxy (s3rver)', () => {
  let s3rver: S3TestServer;
  let proxy: FaultyProxy;
  let direct: S3ObjectStore;
  let proxied: S3ObjectStore;
  const body = randomBytes(3 * 1024 * 1024 + 5);

  before(async () => {
    s3rver = await startS3rver();
    proxy = new FaultyProxy(new URL(s3rver.endpoint));
    const endpoint = await proxy.start();
    direct = new S3ObjectStore(s3StoreOptions(s3rver));
    proxied = new S3ObjectStore(s3StoreOptions(s3rver, { endpoint, tries: 4, retryBaseMs: 5, idleTimeoutMs: 500 }));
    await direct.put('big', body);
  });
  after(async () => {
    await proxied.close();
    await direct.close();
    await proxy.stop();
    await s3rver.stop();
  });

  it('re-GETs a body cut short after the headers and returns all of it', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'cut', bytes: 64 * 1024 });
    assert.ok((await proxied.get('big')).equals(body));
    assert.equal(proxy.count('GET'), 2);
  });

  it('reads a body into the buffer given (`into`), also when a cut body is re-GET; ignores one too small', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'cut', bytes: 64 * 1024 });
    const into = Buffer.alloc(4 * 1024 * 1024, 0xee);
    const got = await proxied.get('big', { into });
    assert.ok(got.equals(body));
    assert.equal(got.buffer, into.buffer, 'a view of the buffer given, not a copy');
    assert.equal(got.byteOffset, into.byteOffset);
    assert.equal(proxy.count('GET'), 2);
    const small = Buffer.alloc(1024, 0xee);
    const whole = await direct.get('big', { into: small });
    assert.ok(whole.equals(body));
    assert.ok(small.equals(Buffer.alloc(1024, 0xee)), 'a buffer too small is left alone');
  });

  it('re-GETs a cut ranged body', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'cut', bytes: 1000 });
    const range = { start: 100_000, end: 2_000_000 };
    assert.ok((await proxied.get('big', { range })).equals(body.subarray(range.start, range.end + 1)));
    assert.deepEqual(
      proxy.seen.map((r) => r.range),
      ['bytes=100000-2000000', 'bytes=100000-2000000'],
    );
  });

  it('abandons a body that stalls on an open connection, and re-GETs', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'stall', bytes: 10_000 });
    const started = Date.now();
    assert.ok((await proxied.get('big')).equals(body));
    assert.equal(proxy.count('GET'), 2);
    assert.ok(Date.now() - started < 5_000);
  });

  it('fails with EIO when every GET breaks, after exactly `tries` attempts', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'cut', bytes: 10 }, 4);
    await assert.rejects(proxied.get('big'), (err) => {
      assert.ok(isFsError(err, 'EIO'));
      assert.match(err.message, /S3 get "big" failed/);
      return true;
    });
    assert.equal(proxy.count('GET'), 4);
  });

  it('resumes a broken getStream from the last byte delivered, pinned to the same ETag', async () => {
    proxy.reset();
    proxy.plan('GET', { kind: 'cut', bytes: 1024 * 1024 });
    proxy.plan('GET', { kind: 'cut', bytes: 512 * 1024 });
    const parts: Buffer[] = [];
    for await (const chunk of await proxied.getStream('big')) parts.push(chunk as Buffer);
    assert.ok(Buffer.concat(parts).equals(body));
    const gets = proxy.seen.filter((r) => r.method === 'GET');
    assert.equal(gets.length, 3);
    assert.equal(gets[0]?.range, undefined);
    // Resumed where the reader got to: at most what the proxy sent (a reset connection may drop
    // bytes still in flight), never from the start.
    const resumedAt = gets.slice(1).map((r) => Number(/^bytes=(\d+)-(\d+)$/.exec(r.range ?? '')?.[1]));
    const [second = 0, third = 0] = resumedAt;
    assert.ok(second > 0 && second <= 1024 * 1024, `second GET from ${second}`);
    assert.ok(third > second && third <= second + 512 * 1024, `third GET from ${third}`);
    for (const r of gets.slice(1)) assert.ok(r.range?.endsWith(`-${body.length - 1}`));
    assert.ok(gets[1]?.ifMatch, 'resumed with If-Match');
  });

  it('signs a known SHA-256 as the payload hash and sends no MD5; hashes an unknown body itself', async () => {
    proxy.reset();
    const data = randomBytes(70_000);
    const sha256 = createHash('sha256').update(data).digest('hex');
    await proxied.put('known', data, { sha256 });
    await proxied.put('unknown', data);
    const [known, unknown] = proxy.seen.filter((r) => r.method === 'PUT');
    assert.equal(known?.payloadHash, sha256);
    assert.equal(known?.contentMd5, undefined);
    assert.equal(unknown?.payloadHash, sha256, 'the signer hashed the body itself');
    assert.equal(unknown?.contentMd5, createHash('md5').update(data).digest('base64'));
    assert.ok((await direct.get('known')).equals(data));
  });

  it('retries PUT on 503 SlowDown and on a dropped connection (PUT is safe to repeat)', async () => {
    proxy.reset();
    proxy.plan('PUT', { kind: 'error', status: 503, code: 'SlowDown' }, 2);
    proxy.plan('PUT', { kind: 'drop' });
    const data = randomBytes(100_000);
    await proxied.put('throttled', data);
    assert.equal(proxy.count('PUT'), 4);
    assert.ok((await direct.get('throttled')).equals(data));
  });

  it('retries list pages and deletes on 500 InternalError and 429', async () => {
    proxy.reset();
    // Top-level keys: s3rver answers 500 itself to a DeleteObjects of several keys in one
    // "folder" that it empties (its parallel deletes race to remove the folder), which would
    // add a retry of its own to the count below.
    const keys = ['l1', 'l2', 'l3'];
    await Promise.all(keys.map((k) => direct.put(k, Buffer.from(k))));
    proxy.plan('GET', { kind: 'error', status: 500, code: 'InternalError' });
    const listed: string[] = [];
    for await (const info of proxied.list('l')) listed.push(info.key);
    assert.deepEqual(listed, keys);
    assert.equal(proxy.count('GET'), 2);
    proxy.plan('POST', { kind: 'error', status: 429, code: 'TooManyRequests' });
    await proxied.delete(keys);
    assert.equal(proxy.count('POST'), 2);
    assert.equal(await direct.head('l1'), undefined);
  });

  it('stops after `tries` throttled answers with an EIO naming the cause', async () => {
    proxy.reset();
    proxy.plan('HEAD', { kind: 'error', status: 503, code: 'SlowDown' }, 10);
    await assert.rejects(proxied.head('big'), (err) => {
      assert.ok(isFsError(err, 'EIO'));
      assert.match(err.message, /HTTP 503/);
      return true;
    });
    assert.equal(proxy.count('HEAD'), 4);
  });

  it('does not retry 501 Not Implemented', async () => {
    proxy.reset();
    proxy.plan('PUT', { kind: 'error', status: 501, code: 'NotImplemented' });
    await assert.rejects(proxied.put('x', Buffer.from('x')), (err) => isFsError(err, 'EIO') && /NotImplemented/.test(err.message));
    assert.equal(proxy.count('PUT'), 1);
  });
});
