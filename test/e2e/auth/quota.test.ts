// Per-user quotas through `serve`: RFC 4331 figures, and 507 Insufficient Storage for a PUT, COPY,
// MOVE or partial update that would pass the limit — before anything is committed, leaving the
// previous state (and the store's consistency) intact.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pseudoRandomBytes } from '../../helpers/core.js';
import { basicAuth, runCli, startServe, type ServerProcess } from '../../helpers/server-process.js';

const QUOTA = 1024 * 1024;
const QUOTA_PROPS = '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>';

describe('quota', () => {
  let server: ServerProcess;
  let data: string;
  const auth = { Authorization: basicAuth('quinn', 'quinn-password') };
  const req = (method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer | ReadableStream; duplex?: 'half' } = {}) =>
    fetch(new URL(path, server.url), { method, body: init.body, duplex: init.duplex, headers: { ...auth, ...init.headers } } as RequestInit);
  const figures = async () => {
    const xml = await (await req('PROPFIND', '/', { headers: { Depth: '0' }, body: QUOTA_PROPS })).text();
    return {
      used: Number(/<D:quota-used-bytes>(\d+)</.exec(xml)?.[1]),
      available: Number(/<D:quota-available-bytes>(\d+)</.exec(xml)?.[1]),
    };
  };
  const fsck = async () => {
    const r = await runCli(['fsck', '--data', data]);
    assert.equal(r.code, 0, `fsck: ${r.stdout}${r.stderr}`);
  };

  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'davfs-quota-'));
    server = await startServe(['--data', data]);
    const add = await runCli(['user', 'add', 'quinn', '--password-stdin', '--quota', '1MiB', '--data', data], {}, { stdin: 'quinn-password\n' });
    assert.equal(add.code, 0, add.stderr);
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  it('reports RFC 4331 figures against the quota', async () => {
    assert.deepEqual(await figures(), { used: 0, available: QUOTA });
    assert.equal((await req('PUT', '/a.bin', { body: pseudoRandomBytes(100_000, 1) })).status, 201);
    assert.deepEqual(await figures(), { used: 100_000, available: QUOTA - 100_000 });
  });

  it('fills to the limit exactly, then refuses one byte more with 507 and keeps nothing of it', async () => {
    assert.equal((await req('PUT', '/b.bin', { body: pseudoRandomBytes(QUOTA - 100_000, 2) })).status, 201);
    assert.deepEqual(await figures(), { used: QUOTA, available: 0 });
    const over = await req('PUT', '/c.bin', { body: 'x' });
    assert.equal(over.status, 507);
    assert.equal((await req('GET', '/c.bin')).status, 404, 'no partial file');
    assert.deepEqual(await figures(), { used: QUOTA, available: 0 });
    await fsck();
  });

  it('refuses an upload of unknown length (chunked) at commit, keeping the old version', async () => {
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(pseudoRandomBytes(300_000, 3));
        c.close();
      },
    });
    const res = await req('PUT', '/a.bin', { body: stream, duplex: 'half' });
    assert.equal(res.status, 507, 'replacing 100,000 bytes by 300,000 passes the quota');
    assert.ok(Buffer.from(await (await req('GET', '/a.bin')).arrayBuffer()).equals(pseudoRandomBytes(100_000, 1)), 'old version intact');
    await fsck();
  });

  it('refuses COPY and a growing PATCH past the quota; shrinking and deleting always work', async () => {
    assert.equal((await req('COPY', '/a.bin', { headers: { Destination: new URL('/a2.bin', server.url).toString() } })).status, 507);
    const patch = await req('PATCH', '/a.bin', {
      headers: { 'Content-Type': 'application/x-sabredav-partialupdate', 'X-Update-Range': 'append' },
      body: 'more',
    });
    assert.equal(patch.status, 507);
    // An overwrite in place does not grow the file: allowed at the limit.
    const inPlace = await req('PATCH', '/a.bin', {
      headers: { 'Content-Type': 'application/x-sabredav-partialupdate', 'X-Update-Range': 'bytes=0-3' },
      body: 'abcd',
    });
    assert.equal(inPlace.status, 204);
    assert.equal((await req('DELETE', '/b.bin')).status, 204);
    assert.deepEqual(await figures(), { used: 100_000, available: QUOTA - 100_000 });
    assert.equal((await req('COPY', '/a.bin', { headers: { Destination: new URL('/a2.bin', server.url).toString() } })).status, 201, 'room again');
    await fsck();
  });
});
