// The WebDAV methods over real HTTP, one describe per method, with request bodies from RFC 4918's
// examples and the malformed input a server must refuse with 4xx (never 500, never a crash).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pseudoRandomBytes } from '../helpers/core.js';
import { startServe, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
const url = (p: string) => new URL(p, server.url).toString();
const dav = (method: string, p: string, init: { headers?: Record<string, string>; body?: string | Buffer } = {}) =>
  fetch(url(p), { method, headers: init.headers, body: init.body });

before(async () => {
  server = await startServe(['--data', mkdtempSync(join(tmpdir(), 'davfs-methods-'))]);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

describe('OPTIONS', () => {
  it('advertises class 1 and 2 and partial updates on every path, the root included', async () => {
    for (const p of ['/', '/missing/thing']) {
      const r = await dav('OPTIONS', p);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('dav') ?? '', /^1, 2\b.*sabredav-partialupdate/);
      assert.equal(r.headers.get('ms-author-via'), 'DAV');
      assert.match(r.headers.get('allow') ?? '', /PROPFIND/);
    }
  });
});

describe('MKCOL', () => {
  it('creates a collection; 405 if it exists, 409 without a parent, 415 with a body', async () => {
    assert.equal((await dav('MKCOL', '/m1')).status, 201);
    assert.equal((await dav('MKCOL', '/m1')).status, 405);
    assert.equal((await dav('MKCOL', '/nope/m2')).status, 409);
    assert.equal((await dav('MKCOL', '/m3', { body: '<x/>', headers: { 'Content-Type': 'text/xml' } })).status, 415);
  });
});

describe('PUT and GET', () => {
  it('serves several ranges as multipart/byteranges', async () => {
    const body = pseudoRandomBytes(100_000, 1);
    assert.equal((await dav('PUT', '/multi.bin', { body })).status, 201);
    const r = await dav('GET', '/multi.bin', { headers: { Range: 'bytes=0-9,50000-50009' } });
    assert.equal(r.status, 206);
    const type = r.headers.get('content-type') ?? '';
    assert.match(type, /^multipart\/byteranges; boundary=/);
    const text = Buffer.from(await r.arrayBuffer());
    assert.ok(text.includes(Buffer.from('Content-Range: bytes 0-9/100000')));
    assert.ok(text.includes(Buffer.from('Content-Range: bytes 50000-50009/100000')));
    assert.ok(text.includes(body.subarray(50000, 50010)));
  });

  it('applies PUT with Content-Range as a partial write, never a truncation', async () => {
    const body = pseudoRandomBytes(200_000, 2);
    await dav('PUT', '/cr.bin', { body });
    const patch = Buffer.from('XXXXXXXXXX');
    assert.equal((await dav('PUT', '/cr.bin', { body: patch, headers: { 'Content-Range': 'bytes 1000-1009/*' } })).status, 204);
    const got = Buffer.from(await (await dav('GET', '/cr.bin')).arrayBuffer());
    const want = Buffer.from(body);
    patch.copy(want, 1000);
    assert.ok(got.equals(want));
  });

  it('honours If-Match and If-None-Match', async () => {
    const first = await dav('PUT', '/cond.txt', { body: 'one', headers: { 'If-None-Match': '*' } });
    assert.equal(first.status, 201);
    assert.equal((await dav('PUT', '/cond.txt', { body: 'two', headers: { 'If-None-Match': '*' } })).status, 412);
    assert.equal((await dav('PUT', '/cond.txt', { body: 'two', headers: { 'If-Match': '"nope"' } })).status, 412);
    assert.equal((await dav('PUT', '/cond.txt', { body: 'two', headers: { 'If-Match': first.headers.get('etag')! } })).status, 204);
    const etag = (await dav('HEAD', '/cond.txt')).headers.get('etag')!;
    assert.equal((await dav('GET', '/cond.txt', { headers: { 'If-None-Match': etag } })).status, 304);
  });

  it('answers a browser with an HTML listing of a collection', async () => {
    await dav('PUT', '/m1/a <b>.txt', { body: 'x' });
    const r = await dav('GET', '/m1/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    const html = await r.text();
    assert.match(html, /a &#60;b&#62;\.txt/);
    assert.match(html, /href="\/m1\/a%20%3Cb%3E\.txt"/);
  });
});

describe('PATCH (SabreDAV partial update)', () => {
  const type = { 'Content-Type': 'application/x-sabredav-partialupdate' };
  it('updates a range, appends, and writes the last bytes', async () => {
    await dav('PUT', '/p.txt', { body: '0123456789' });
    assert.equal((await dav('PATCH', '/p.txt', { body: 'ab', headers: { ...type, 'X-Update-Range': 'bytes=2-3' } })).status, 204);
    assert.equal((await dav('PATCH', '/p.txt', { body: 'ZZ', headers: { ...type, 'X-Update-Range': 'append' } })).status, 204);
    assert.equal((await dav('PATCH', '/p.txt', { body: 'yy', headers: { ...type, 'X-Update-Range': 'bytes=-2' } })).status, 204);
    assert.equal(await (await dav('GET', '/p.txt')).text(), '01ab456789yy');
    assert.equal((await dav('PATCH', '/p.txt', { body: 'x', headers: { 'X-Update-Range': 'bytes=0-0' } })).status, 415);
    assert.equal((await dav('PATCH', '/p.txt', { body: 'xy', headers: { ...type, 'X-Update-Range': 'bytes=0-0' } })).status, 416);
  });
});

describe('COPY and MOVE', () => {
  it('follows Overwrite, accepts absolute and relative Destinations, refuses other servers', async () => {
    await dav('PUT', '/src.txt', { body: 'source' });
    await dav('PUT', '/dst.txt', { body: 'old' });
    assert.equal((await dav('COPY', '/src.txt', { headers: { Destination: url('/dst.txt'), Overwrite: 'F' } })).status, 412);
    assert.equal((await dav('COPY', '/src.txt', { headers: { Destination: url('/dst.txt') } })).status, 204);
    assert.equal(await (await dav('GET', '/dst.txt')).text(), 'source');
    assert.equal((await dav('MOVE', '/dst.txt', { headers: { Destination: '/moved.txt' } })).status, 201);
    assert.equal((await dav('GET', '/dst.txt')).status, 404);
    assert.equal((await dav('COPY', '/src.txt', { headers: { Destination: 'http://elsewhere.example/x' } })).status, 502);
    assert.equal((await dav('COPY', '/src.txt', { headers: { Destination: url('/no/parent.txt') } })).status, 409);
    assert.equal((await dav('MOVE', '/m1', { headers: { Destination: url('/m1/inside') } })).status, 403);
  });

  it('moves dead properties with the resource', async () => {
    await dav('PUT', '/withprop.txt', { body: 'x' });
    const set = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await dav('PROPPATCH', '/withprop.txt', { body: set })).status, 207);
    await dav('MOVE', '/withprop.txt', { headers: { Destination: url('/withprop2.txt') } });
    const find = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><color xmlns="http://example.com/ns"/></D:prop></D:propfind>`;
    const r = await dav('PROPFIND', '/withprop2.txt', { body: find, headers: { Depth: '0' } });
    assert.match(await r.text(), />red</);
  });
});

describe('PROPFIND and PROPPATCH', () => {
  it('lists a collection with Depth 1 and live properties', async () => {
    await dav('MKCOL', '/pf');
    await dav('PUT', '/pf/f1.txt', { body: 'abc' });
    const r = await dav('PROPFIND', '/pf/', { headers: { Depth: '1' } });
    assert.equal(r.status, 207);
    const xml = await r.text();
    assert.match(xml, /<D:href>\/pf\/<\/D:href>/);
    assert.match(xml, /<D:href>\/pf\/f1\.txt<\/D:href>/);
    assert.match(xml, /<D:getcontentlength>3<\/D:getcontentlength>/);
    assert.match(xml, /<D:collection\/>/);
  });

  it('refuses protected properties with 403 and the rest with 424, changing nothing', async () => {
    const body = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><Q:a xmlns:Q="urn:q">1</Q:a></D:prop></D:set></D:propertyupdate>`;
    const r = await dav('PROPPATCH', '/pf/f1.txt', { body });
    assert.equal(r.status, 207);
    const xml = await r.text();
    assert.match(xml, /403 Forbidden/);
    assert.match(xml, /424 Failed Dependency/);
    const find = await dav('PROPFIND', '/pf/f1.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><Q:a xmlns:Q="urn:q"/></D:prop></D:propfind>' });
    assert.match(await find.text(), /404 Not Found/);
  });

  it('answers malformed and hostile XML with 400', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&x;</D:x></D:prop></D:propfind>`;
    for (const body of ['<D:propfind xmlns:D="DAV:"><D:prop>', xxe, '<not-dav/>']) {
      const r = await dav('PROPFIND', '/pf/', { body, headers: { Depth: '0' } });
      assert.equal(r.status, 400, body);
      assert.doesNotMatch(await r.text(), /root:/);
    }
    assert.equal((await dav('PROPPATCH', '/pf/', { body: '<<<' })).status, 400);
    assert.equal((await dav('LOCK', '/pf/', { body: '<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>' })).status, 400);
  });
});

describe('DELETE', () => {
  it('removes a tree; 404 when missing; the root is protected', async () => {
    await dav('MKCOL', '/del');
    await dav('PUT', '/del/x', { body: 'x' });
    assert.equal((await dav('DELETE', '/del')).status, 204);
    assert.equal((await dav('PROPFIND', '/del/x', { headers: { Depth: '0' } })).status, 404);
    assert.equal((await dav('DELETE', '/del')).status, 404);
    assert.equal((await dav('DELETE', '/')).status, 403);
  });
});

describe('LOCK, UNLOCK and the If header', () => {
  const lockBody = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>http://example.org/~ejw/contact.html</D:href></D:owner></D:lockinfo>`;
  it('locks an unmapped URL into an empty file and guards it until UNLOCK', async () => {
    const r = await dav('LOCK', '/locked.txt', { body: lockBody, headers: { Timeout: 'Second-600' } });
    assert.equal(r.status, 201);
    const token = (r.headers.get('lock-token') ?? '').replace(/[<>]/g, '');
    assert.match(token, /^urn:uuid:/);
    assert.match(await r.text(), /ejw\/contact\.html/);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'intruder' })).status, 423);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'owner', headers: { If: `(<${token}>)` } })).status, 204);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'x', headers: { If: '(<urn:uuid:00000000-0000-0000-0000-000000000000>)' } })).status, 412);
    assert.equal((await dav('LOCK', '/locked.txt', { body: lockBody })).status, 423);
    const refresh = await dav('LOCK', '/locked.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-100' } });
    assert.equal(refresh.status, 200);
    assert.match(await refresh.text(), /Second-100/);
    assert.equal((await dav('UNLOCK', '/locked.txt', { headers: { 'Lock-Token': token } })).status, 204, 'token without brackets');
    assert.equal((await dav('PUT', '/locked.txt', { body: 'free' })).status, 204);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'x', headers: { If: '(<DAV:no-lock>)' } })).status, 412);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'y', headers: { If: '(Not <DAV:no-lock>)' } })).status, 204);
    assert.equal((await dav('PUT', '/locked.txt', { body: 'z', headers: { If: '(<garbage' } })).status, 400);
  });
});
