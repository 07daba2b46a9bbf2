// LOCK, UNLOCK and the If header (RFC 4918 §9.10, §9.11, §10.4) over real HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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
