// `davfs-bridge serve` end to end: the real CLI on the embedded default, driven over HTTP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pseudoRandomBytes } from '../helpers/core.js';
import { runCli, startServe, type ServerProcess } from '../helpers/server-process.js';

/** A raw request, so paths reach the server exactly as written (fetch would normalise them). */
function raw(server: ServerProcess, method: string, path: string, body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(server.url);
    const headers = server.authorization ? { Authorization: server.authorization } : {};
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('serve (embedded default)', () => {
  let server: ServerProcess;
  let data: string;
  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'davfs-serve-'));
    server = await startServe(['--data', data]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, 'clean exit on SIGTERM');
  });

  it('stores and returns files with strong ETags and ranges', async () => {
    const body = pseudoRandomBytes(3_000_000, 5);
    const put1 = await server.fetch(`${server.url}file.bin`, { method: 'PUT', body });
    assert.equal(put1.status, 201);
    const etag = put1.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]+"$/);
    const put2 = await server.fetch(`${server.url}file.bin`, { method: 'PUT', body });
    assert.equal(put2.status, 204);
    assert.equal(put2.headers.get('etag'), etag, 'same bytes, same ETag');

    const get = await server.fetch(`${server.url}file.bin`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('etag'), etag);
    assert.ok(Buffer.from(await get.arrayBuffer()).equals(body));

    const range = await server.fetch(`${server.url}file.bin`, { headers: { Range: 'bytes=-1000' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('content-range'), `bytes ${body.length - 1000}-${body.length - 1}/${body.length}`);
    assert.ok(Buffer.from(await range.arrayBuffer()).equals(body.subarray(body.length - 1000)));

    const bad = await server.fetch(`${server.url}file.bin`, { headers: { Range: `bytes=${body.length}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${body.length}`);

    const head = await server.fetch(`${server.url}file.bin`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(body.length));
  });

  it('answers 409 for a missing parent and 404 for a missing file', async () => {
    assert.equal((await server.fetch(`${server.url}nope/file`, { method: 'PUT', body: 'x' })).status, 409);
    assert.equal((await server.fetch(`${server.url}missing`)).status, 404);
  });

  it('refuses traversal and malformed paths with 4xx, never reaching outside the share', async () => {
    for (const p of ['/%2e%2e/etc/passwd', '/a/../../etc/passwd', '/%00', '/a%5c..%5cb']) {
      const r = await raw(server, 'GET', p);
      assert.ok(r.status === 400 || r.status === 403, `${p} → ${r.status}`);
    }
    assert.equal((await raw(server, 'GET', '/%E0%A4%A')).status, 400);
  });

  it('keeps the old version when an upload breaks off', async () => {
    const v1 = pseudoRandomBytes(2_000_000, 8);
    assert.equal((await server.fetch(`${server.url}keep.bin`, { method: 'PUT', body: v1 })).status, 201);
    await new Promise<void>((resolve) => {
      const u = new URL(server.url);
      const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: '/keep.bin', headers: { 'Content-Length': 5_000_000 } });
      req.on('error', () => resolve());
      req.write(pseudoRandomBytes(1_500_000, 9), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 100));
    });
    const got = await server.fetch(`${server.url}keep.bin`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(v1));
  });

  it('survives a restart with its data', async () => {
    assert.equal(await server.stop(), 0);
    server = await startServe(['--data', data], {}, server);
    const got = await server.fetch(`${server.url}keep.bin`);
    assert.equal(got.status, 200);
    assert.equal(Buffer.from(await got.arrayBuffer()).length, 2_000_000);
  });
});

describe('serve configuration errors', () => {
  it('names the bad setting and exits 1 without a stack', async () => {
    const r = await runCli(['serve', '--cache-size', 'lots', '--data', mkdtempSync(join(tmpdir(), 'davfs-cfg-'))]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cache\.size: "lots" is not a size/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('reports an unreachable S3 endpoint clearly', async () => {
    const r = await runCli(['serve', '--data', mkdtempSync(join(tmpdir(), 'davfs-cfg-')), '--store', 's3://bucket?endpoint=http://127.0.0.1:1&access_key=AK&secret_key=SUPERSECRET'], {
      AWS_MAX_ATTEMPTS: '1',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unreachable|ECONNREFUSED|connect/i);
    assert.doesNotMatch(r.stderr, /SUPERSECRET/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('has --help on serve listing every flag', async () => {
    const r = await runCli(['serve', '--help']);
    for (const flag of ['--config', '--data', '--listen', '--store', '--meta', '--cache-dir', '--cache-size']) assert.match(r.stdout, new RegExp(flag));
  });
});
