// `davfs-bridge locks list|sweep` on a data folder: a lock taken over WebDAV is listed, and an
// expired one is swept.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServe } from '../helpers/server-process.js';

describe('locks CLI', () => {
  it('lists a lock taken over WebDAV and sweeps it once expired', async () => {
    const data = mkdtempSync(join(tmpdir(), 'davfs-locks-cli-'));
    const server = await startServe(['--data', data]);
    // Long enough to outlive the server stop and one CLI start on a loaded machine, short enough
    // to wait out before the sweep.
    const timeoutMs = 6000;
    const lockedAt = Date.now();
    const res = await server.fetch(new URL('/l.txt', server.url), {
      method: 'LOCK',
      headers: { Timeout: `Second-${timeoutMs / 1000}` },
      body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    assert.equal(res.status, 201);
    const token = (res.headers.get('lock-token') ?? '').replace(/[<>]/g, '');
    assert.equal(await server.stop(), 0);

    const listed = await runCli(['locks', 'list', '--data', data]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(token), listed.stdout);
    assert.match(listed.stdout, /locks: 1 held/);

    await new Promise((r) => setTimeout(r, Math.max(0, lockedAt + timeoutMs + 200 - Date.now())));
    const swept = await runCli(['locks', 'sweep', '--data', data]);
    assert.equal(swept.code, 0, swept.stderr);
    assert.match(swept.stdout, /locks: 1 expired lock\(s\) removed/);
    assert.match((await runCli(['locks', 'list', '--data', data])).stdout, /locks: 0 held/);
  });
});
