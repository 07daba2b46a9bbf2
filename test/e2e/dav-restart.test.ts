// Locks and dead properties are rows in the metadata store: a server restart between LOCK and
// UNLOCK keeps the lock in force, and properties survive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../helpers/server-process.js';

describe('restart', () => {
  it('keeps locks and dead properties across a restart', async () => {
    const data = mkdtempSync(join(tmpdir(), 'davfs-restart-'));
    let server = await startServe(['--data', data]);
    const at = (p: string) => new URL(p, server.url).toString();
    await server.fetch(at('/doc.txt'), { method: 'PUT', body: 'v1' });
    const lock = await server.fetch(at('/doc.txt'), {
      method: 'LOCK',
      body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    assert.equal(lock.status, 200);
    const token = lock.headers.get('lock-token')!;
    const patch = await server.fetch(at('/doc.txt'), {
      method: 'PROPPATCH',
      headers: { If: `(${token})` },
      body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><A:tag xmlns:A="urn:a">kept</A:tag></D:prop></D:set></D:propertyupdate>',
    });
    assert.equal(patch.status, 207);
    assert.equal(await server.stop(), 0);

    server = await startServe(['--data', data], {}, server);
    const at2 = (p: string) => new URL(p, server.url).toString();
    assert.equal((await server.fetch(at2('/doc.txt'), { method: 'PUT', body: 'v2' })).status, 423, 'lock still holds');
    const find = await server.fetch(at2('/doc.txt'), {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:prop><A:tag xmlns:A="urn:a"/><D:lockdiscovery/></D:prop></D:propfind>',
    });
    const xml = await find.text();
    assert.match(xml, />kept</);
    assert.ok(xml.includes(token.replace(/[<>]/g, '')), 'lockdiscovery shows the lock');
    assert.equal((await server.fetch(at2('/doc.txt'), { method: 'UNLOCK', headers: { 'Lock-Token': token } })).status, 204);
    assert.equal((await server.fetch(at2('/doc.txt'), { method: 'PUT', body: 'v2' })).status, 204);
    assert.equal(await server.stop(), 0);
  });
});
