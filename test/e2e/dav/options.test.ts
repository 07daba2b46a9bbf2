// OPTIONS (RFC 4918 §10.1, §18): the server's classes and methods on every path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useDavServer } from '../../helpers/dav-server.js';

const { dav } = useDavServer();

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
