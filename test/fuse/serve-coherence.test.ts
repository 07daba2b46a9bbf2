// A mount and a `serve` on the same data folder (one database, one object store, each its own
// cache): what one writes, the other shows at once. The mount commits at close and reads a fresh
// Stat at every open (close-to-open), and libfuse's auto_cache drops the kernel's pages of a file
// whose mtime or size moved, so even a file the mount just read shows a PUT's new content.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, type ServerProcess } from '../helpers/server-process.js';
import { forceUnmount, shOk, startMount, tempDir, type MountProcess } from './mount-process.js';

describe('fuse mount beside serve on one database', () => {
  const root = tempDir('coherence');
  const data = join(root, 'data');
  const mnt = join(root, 'mnt');
  let server: ServerProcess;
  let mount: MountProcess;
  const url = (p: string) => new URL(p, server.url).toString();
  const put = async (p: string, body: Buffer | string) => {
    const res = await fetch(url(p), { method: 'PUT', body });
    assert.ok(res.status === 201 || res.status === 204, `PUT ${p}: ${res.status}`);
  };

  before(async () => {
    // Authentication (when the server has it) is not what this test is about.
    server = await startServe(['--data', data], { DAVFS_AUTH_ENABLED: 'false' });
    mount = await startMount(mnt, ['--data', data]);
  });
  after(async () => {
    try {
      await mount?.stop();
      await server?.stop();
    } finally {
      forceUnmount(mnt);
    }
  });

  it('a file written through the mount is served over WebDAV at once', async () => {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    writeFileSync(join(root, 'local.bin'), body);
    await shOk(`mkdir -p ${mnt}/from-mount; cp ${root}/local.bin ${mnt}/from-mount/f.bin`);
    const res = await fetch(url('/from-mount/f.bin'));
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
    const list = await fetch(url('/from-mount/'), { method: 'PROPFIND', headers: { Depth: '1' } });
    assert.match(await list.text(), /f\.bin/);
  });

  it('a file PUT over WebDAV is read through the mount at once, even one the mount just read', async () => {
    await put('/via-dav.txt', 'version one\n');
    assert.equal(await shOk(`cat ${mnt}/via-dav.txt`), 'version one\n');
    // Same path, other size; then the same size again: both must show at the next open.
    await put('/via-dav.txt', 'version two, longer\n');
    assert.equal(await shOk(`cat ${mnt}/via-dav.txt`), 'version two, longer\n');
    await put('/via-dav.txt', 'version 3!, longer\n');
    assert.equal(await shOk(`cat ${mnt}/via-dav.txt`), 'version 3!, longer\n');
    const big = Buffer.alloc(2_000_000, 'x');
    big.write('head', 0);
    await put('/via-dav.txt', big);
    writeFileSync(join(root, 'big.local'), big);
    await shOk(`cmp ${root}/big.local ${mnt}/via-dav.txt`);
  });

  it('names created and removed over WebDAV show in the mount at once', async () => {
    assert.equal((await fetch(url('/dav-dir/'), { method: 'MKCOL' })).status, 201);
    await put('/dav-dir/a.txt', 'a');
    assert.equal(await shOk(`ls ${mnt}/dav-dir`), 'a.txt\n');
    assert.equal((await fetch(url('/dav-dir/a.txt'), { method: 'DELETE' })).status, 204);
    assert.equal(await shOk(`ls -A ${mnt}/dav-dir; test ! -e ${mnt}/dav-dir/a.txt && cat ${mnt}/dav-dir/a.txt 2>/dev/null || echo gone`), 'gone\n');
  });

  it('an edit in the middle through the mount is what a range GET returns', async () => {
    const body = Buffer.alloc(5_000_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) % 256;
    await put('/edit.bin', body);
    await shOk(`printf 'EDITED' | dd of=${mnt}/edit.bin bs=1 seek=2500000 conv=notrunc status=none`);
    const res = await fetch(url('/edit.bin'), { headers: { Range: 'bytes=2499998-2500007' } });
    assert.equal(res.status, 206);
    const expected = Buffer.concat([body.subarray(2_499_998, 2_500_000), Buffer.from('EDITED'), body.subarray(2_500_006, 2_500_008)]);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), expected);
  });
});
