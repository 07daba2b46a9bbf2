// MKCOL (RFC 4918 §9.3) over real HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

describe('MKCOL', () => {
  it('creates a collection; 405 if it exists, 409 without a parent, 415 with a body', async () => {
    assert.equal((await dav('MKCOL', '/m1')).status, 201);
    assert.equal((await dav('MKCOL', '/m1')).status, 405);
    assert.equal((await dav('MKCOL', '/nope/m2')).status, 409);
    assert.equal((await dav('MKCOL', '/m3', { body: '<x/>', headers: { 'Content-Type': 'text/xml' } })).status, 415);
  });
});
