// How RemoteFileSystem writes, seen through a recording proxy: partial updates as SabreDAV PATCHes
// where the server offers them (davfs-bridge), GET + PUT where it does not (rclone serve webdav,
// our "any class 2 server"), streamed PUTs, and what a server without dead properties refuses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteFileSystem } from '../../src/remote/remote-file-system.js';
import { bytesOf, pseudoRandomBytes, readAll } from '../helpers/core.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { startRclone, startServeTarget, type RemoteTarget } from '../helpers/remote-servers.js';
import { rejectsWith } from '../contract/file-system.contract.js';

const BLOCK = 64 * 1024;

async function connectThrough(target: RemoteTarget): Promise<{ fs: RemoteFileSystem; proxy: RecordingProxy; close(): Promise<void> }> {
  const proxy = await startRecordingProxy(target.url);
  const fs = await RemoteFileSystem.connect({ url: proxy.url, user: target.user, password: target.password, blockBytes: BLOCK, cacheBytes: 32 * BLOCK, attrTtlMs: 0 });
  return {
    fs,
    proxy,
    close: async () => {
      await fs.close();
      await proxy.close();
      await target.stop();
    },
  };
}

const contents = async (fs: RemoteFileSystem, path: string) => readAll((await fs.read(path)).body);

describe('RemoteFileSystem writes to davfs-bridge (partial updates offered)', () => {
  let fs: RemoteFileSystem;
  let proxy: RecordingProxy;
  let close: () => Promise<void>;
  before(async () => ({ fs, proxy, close } = await connectThrough(await startServeTarget())));
  after(() => close());

  it('sees PATCH offered in OPTIONS', () => {
    assert.equal(fs.capabilities.partialUpdate, true);
    assert.ok(fs.capabilities.dav.includes('2'));
  });

  it('sends a partial write as one PATCH with X-Update-Range, and no GET', async () => {
    const data = pseudoRandomBytes(5 * BLOCK, 1);
    await fs.write('/p.bin', bytesOf(data, 100_000));
    proxy.clear();
    const patch = Buffer.from('patched bytes');
    await fs.writeRange('/p.bin', 3 * BLOCK + 5, patch.length, bytesOf(patch));
    const patches = proxy.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1);
    assert.equal(patches[0]!.headers['content-type'], 'application/x-sabredav-partialupdate');
    assert.equal(patches[0]!.headers['x-update-range'], `bytes=${3 * BLOCK + 5}-${3 * BLOCK + 5 + patch.length - 1}`);
    assert.equal(patches[0]!.headers['content-length'], String(patch.length));
    assert.equal(patches[0]!.status, 204);
    assert.equal(proxy.count('GET') + proxy.count('PUT'), 0, 'the rest of the file never crossed the wire');
    const expected = Buffer.from(data);
    patch.copy(expected, 3 * BLOCK + 5);
    assert.ok((await contents(fs, '/p.bin')).equals(expected));
  });

  it('grows a file by PATCH and shrinks it by PUT, both conditional on the ETag', async () => {
    const w = await fs.write('/t.bin', bytesOf(Buffer.from('0123456789')));
    proxy.clear();
    await fs.truncate('/t.bin', 12);
    const grow = proxy.requests.find((r) => r.method === 'PATCH');
    assert.equal(grow?.headers['if-match'], `"${w.stat.etag}"`);
    assert.equal(grow?.headers['x-update-range'], 'bytes=11-11', 'one zero byte at the new end; the server fills the gap');
    proxy.clear();
    const before = await fs.stat('/t.bin');
    assert.deepEqual(await contents(fs, '/t.bin'), Buffer.from('0123456789\0\0'));
    await fs.truncate('/t.bin', 3);
    const shrink = proxy.requests.find((r) => r.method === 'PUT');
    assert.equal(shrink?.headers['if-match'], `"${before.etag}"`);
    assert.equal(shrink?.headers['content-length'], '3');
    assert.equal((await contents(fs, '/t.bin')).toString(), '012');
  });

  it('streams a PUT chunked, or with Content-Length when the size is known', async () => {
    proxy.clear();
    await fs.write('/s.bin', bytesOf(pseudoRandomBytes(300_000, 2), 10_000));
    await fs.write('/k.bin', bytesOf(Buffer.from('known')), { expectedSize: 5 });
    const [chunked, sized] = proxy.requests.filter((r) => r.method === 'PUT');
    assert.equal(chunked?.headers['transfer-encoding'], 'chunked');
    assert.equal(sized?.headers['content-length'], '5');
  });
});

describe('RemoteFileSystem writes to rclone serve webdav (no partial updates)', () => {
  let fs: RemoteFileSystem;
  let proxy: RecordingProxy;
  let close: () => Promise<void>;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'davfs-rclone-'));
    ({ fs, proxy, close } = await connectThrough(await startRclone(dir)));
  });
  after(() => close());

  it('sees no PATCH in OPTIONS', () => {
    assert.equal(fs.capabilities.partialUpdate, false);
    assert.deepEqual(fs.capabilities.dav, ['1', '2']);
  });

  it('falls back to GET + PUT of the whole file for a partial write', async () => {
    const data = pseudoRandomBytes(3 * BLOCK + 7, 3);
    await fs.write('/r.bin', bytesOf(data, 50_000));
    proxy.clear();
    const patch = Buffer.from('in the middle');
    await fs.writeRange('/r.bin', BLOCK + 3, patch.length, bytesOf(patch));
    assert.equal(proxy.count('PATCH'), 0);
    assert.equal(proxy.count('PUT'), 1);
    const put = proxy.requests.find((r) => r.method === 'PUT')!;
    assert.equal(put.headers['content-length'], String(data.length));
    assert.ok(put.headers['if-match'], 'the PUT names the version it rewrites');
    const expected = Buffer.from(data);
    patch.copy(expected, BLOCK + 3);
    assert.ok(readFileSync(join(dir, 'r.bin')).equals(expected), 'the file on the server side');
    assert.ok((await contents(fs, '/r.bin')).equals(expected));
    await fs.writeRange('/r.bin', data.length + 2, 2, bytesOf(Buffer.from('!!')));
    assert.ok(readFileSync(join(dir, 'r.bin')).equals(Buffer.concat([expected, Buffer.alloc(2), Buffer.from('!!')])), 'zero-filled past the end');
  });

  it('truncates, creates by writeRange, and does the tree operations', async () => {
    await fs.write('/t.txt', bytesOf(Buffer.from('0123456789')));
    await fs.truncate('/t.txt', 4);
    assert.equal(readFileSync(join(dir, 't.txt'), 'utf8'), '0123');
    await fs.truncate('/t.txt', 6);
    assert.deepEqual(readFileSync(join(dir, 't.txt')), Buffer.from('0123\0\0'));
    await fs.writeRange('/new.txt', 2, 1, bytesOf(Buffer.from('x')));
    assert.deepEqual(readFileSync(join(dir, 'new.txt')), Buffer.from('\0\0x'));
    await fs.mkdir('/a/b/c', { parents: true });
    await fs.copy('/t.txt', '/a/b/c/t.txt');
    await fs.move('/a', '/moved');
    const names: string[] = [];
    for await (const s of fs.list('/moved/b/c')) names.push(s.name);
    assert.deepEqual(names, ['t.txt']);
    await rejectsWith(fs.remove('/moved'), 'ENOTEMPTY');
    await fs.remove('/moved', { recursive: true });
    assert.equal(await fs.tryStat('/moved'), undefined);
    const u = await fs.usage('/');
    assert.deepEqual(u, { usedBytes: 0, availableBytes: null }, 'no RFC 4331 properties: nothing known');
  });

  it('refuses attributes on a server that keeps no dead properties, but still writes with an mtime', async () => {
    await fs.write('/m.txt', bytesOf(Buffer.from('m')));
    await rejectsWith(fs.setAttributes('/m.txt', { mode: 0o644 }), 'EACCES');
    await rejectsWith(fs.patchProps('/m.txt', [{ op: 'set', prop: { ns: 'urn:x:', name: 'p', value: '<x:p xmlns:x="urn:x:">1</x:p>' } }]), 'EACCES');
    const w = await fs.write('/m.txt', bytesOf(Buffer.from('mm')), { mtimeMs: 1_000_000_000_000 });
    assert.equal(w.stat.size, 2);
    // rclone computes DAV:displayname itself; nothing else comes back.
    assert.deepEqual(
      (await fs.getProps('/m.txt')).map((p) => `{${p.ns}}${p.name}`),
      ['{DAV:}displayname'],
    );
  });
});
