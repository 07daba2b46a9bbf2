// DELETE (RFC 4918 §9.6) over real HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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
