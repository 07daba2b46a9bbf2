// Round trip through the `webdav` npm client (the library many Node apps use): folders, files,
// listings, ranges, copy, move, delete and locks, against the real server — over HTTP, and over
// HTTPS with the self-signed certificate `serve --tls-self-signed` makes (the client trusts exactly
// that certificate, as a user who checked the printed fingerprint would).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type FileStat, type WebDAVClient } from 'webdav';
import { pseudoRandomBytes } from '../helpers/core.js';
import { startServe, type ServerProcess } from '../helpers/server-process.js';

for (const scheme of ['http', 'https'] as const) describe(`webdav npm client over ${scheme}`, () => {
  let server: ServerProcess;
  let client: WebDAVClient;
  before(async () => {
    const data = mkdtempSync(join(tmpdir(), 'davfs-client-'));
    server = await startServe(['--data', data, ...(scheme === 'https' ? ['--tls-self-signed'] : [])]);
    assert.ok(server.url.startsWith(`${scheme}://`), server.url);
    const credentials = { username: server.admin!.user, password: server.admin!.password };
    if (scheme === 'http') {
      client = createClient(server.url, credentials);
      return;
    }
    const cert = readFileSync(join(data, 'tls', 'self-signed-cert.pem'), 'utf8');
    const printed = /fingerprint: (\S+)/.exec(server.output())?.[1];
    assert.equal(printed, new X509Certificate(cert).fingerprint256, 'serve prints the fingerprint of the certificate it serves');
    client = createClient(server.url, { ...credentials, httpsAgent: new Agent({ ca: cert }) });
  });
  after(async () => {
    await server.stop();
  });

  it('creates folders and files and lists them', async () => {
    await client.createDirectory('/docs/sub', { recursive: true });
    const body = pseudoRandomBytes(1_500_000, 3);
    await client.putFileContents('/docs/report final.bin', body);
    await client.putFileContents('/docs/note.txt', 'hello, wörld');
    const list = (await client.getDirectoryContents('/docs')) as FileStat[];
    assert.deepEqual(list.map((e) => [e.basename, e.type]).sort(), [
      ['note.txt', 'file'],
      ['report final.bin', 'file'],
      ['sub', 'directory'],
    ]);
    const bin = list.find((e) => e.basename === 'report final.bin')!;
    assert.equal(bin.size, body.length);
    assert.match(bin.etag ?? '', /^[0-9a-f]+$/);
    assert.ok(Buffer.from((await client.getFileContents('/docs/report final.bin')) as ArrayBuffer).equals(body));
    assert.equal(await client.getFileContents('/docs/note.txt', { format: 'text' }), 'hello, wörld');
    const part = (await client.getFileContents('/docs/report final.bin', { details: false, headers: { Range: 'bytes=1000-1999' } })) as ArrayBuffer;
    assert.ok(Buffer.from(part).equals(body.subarray(1000, 2000)));
  });

  it('copies, moves, stats and deletes', async () => {
    await client.copyFile('/docs', '/docs-copy');
    await client.moveFile('/docs-copy/note.txt', '/docs-copy/sub/moved.txt');
    assert.equal(await client.exists('/docs-copy/note.txt'), false);
    const st = (await client.stat('/docs-copy/sub/moved.txt')) as FileStat;
    assert.equal(st.size, Buffer.byteLength('hello, wörld'));
    assert.equal(await client.exists('/docs/note.txt'), true, 'the source of the copy is untouched');
    await client.deleteFile('/docs-copy');
    assert.equal(await client.exists('/docs-copy'), false);
  });

  it('locks and unlocks a file', async () => {
    const lock = await client.lock('/docs/note.txt');
    assert.match(lock.token, /^urn:uuid:/);
    await assert.rejects(client.putFileContents('/docs/note.txt', 'not the owner'), /423/);
    await client.unlock('/docs/note.txt', lock.token);
    await client.putFileContents('/docs/note.txt', 'after unlock');
    assert.equal(await client.getFileContents('/docs/note.txt', { format: 'text' }), 'after unlock');
  });

  it('reports quota usage (RFC 4331) when asked by name', async () => {
    // The client's getQuota() sends an allprop PROPFIND and expects the quota properties in it
    // (Nextcloud's behaviour); RFC 4331 keeps them out of allprop, so ask for them by name.
    const res = await client.customRequest('/', {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      data: '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>',
    });
    const xml = await res.text();
    const used = Number(/<D:quota-used-bytes>(\d+)</.exec(xml)?.[1]);
    assert.ok(used > 1_500_000, xml);
    assert.match(xml, /<D:quota-available-bytes>\d+</);
  });
});
