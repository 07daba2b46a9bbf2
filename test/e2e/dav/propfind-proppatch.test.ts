// PROPFIND and PROPPATCH (RFC 4918 §9.1, §9.2) over real HTTP, including hostile XML.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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

  it("takes a client's modification time: X-OC-Mtime on PUT, Win32LastModifiedTime by PROPPATCH", async () => {
    const lastModified = async (path: string) => {
      const find = await dav('PROPFIND', path, { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/></D:prop></D:propfind>' });
      return /<D:getlastmodified>([^<]*)</.exec(await find.text())?.[1];
    };
    const put = await dav('PUT', '/pf/oc.txt', { body: 'x', headers: { 'X-OC-Mtime': '1500000000' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('x-oc-mtime'), 'accepted');
    assert.equal(await lastModified('/pf/oc.txt'), new Date(1_500_000_000_000).toUTCString());

    const when = 'Tue, 02 Jan 2024 03:04:05 GMT';
    const body = `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>${when}</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await dav('PROPPATCH', '/pf/oc.txt', { body })).status, 207);
    assert.equal(await lastModified('/pf/oc.txt'), when);
    // A value that is not a date stays a dead property and changes no time.
    const junk = body.replace(when, 'not a date');
    assert.equal((await dav('PROPPATCH', '/pf/oc.txt', { body: junk })).status, 207);
    assert.equal(await lastModified('/pf/oc.txt'), when);
  });
});
