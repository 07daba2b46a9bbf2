// PATCH with SabreDAV's partial-update format over real HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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
