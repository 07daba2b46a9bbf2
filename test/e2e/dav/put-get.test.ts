// PUT and GET/HEAD over real HTTP: multipart ranges, Content-Range partial PUT, conditionals, HTML listing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pseudoRandomBytes } from '../../helpers/core.js';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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
    assert.equal((await dav('MKCOL', '/m1')).status, 201);
    await dav('PUT', '/m1/a <b>.txt', { body: 'x' });
    const r = await dav('GET', '/m1/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    const html = await r.text();
    assert.match(html, /a &#60;b&#62;\.txt/);
    assert.match(html, /href="\/m1\/a%20%3Cb%3E\.txt"/);
  });
});
