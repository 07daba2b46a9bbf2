// COPY and MOVE (RFC 4918 §9.8, §9.9) over real HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav, url } = useDavServer();

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
    assert.equal((await dav('MKCOL', '/m1')).status, 201);
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
