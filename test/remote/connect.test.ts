// RemoteFileSystem.connect: what it checks and how it fails — an unreachable server, wrong or
// missing credentials (401, Basic and Bearer), a server that is not WebDAV — and a share below a
// base path.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFsError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import { RemoteFileSystem } from '../../src/remote/remote-file-system.js';
import { bytesOf, readAll } from '../helpers/core.js';
import { startRecordingProxy } from '../helpers/recording-proxy.js';
import { startRclone, startServeTarget, type RemoteTarget } from '../helpers/remote-servers.js';
import { runCli } from '../helpers/server-process.js';

/** Asserts an FsError of `code` whose message matches `message` and never shows `secret`. */
async function failsWith(p: Promise<unknown>, code: string, message: RegExp, secret?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isFsError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    if (secret) assert.ok(!err.message.includes(secret), 'the message shows no secret');
    return true;
  });
}

describe('RemoteFileSystem.connect', () => {
  it('fails with EIO naming the server when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await failsWith(RemoteFileSystem.connect({ url: `http://u:pw-secret@127.0.0.1:${port}/` }), 'EIO', new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/: ECONNREFUSED`), 'pw-secret');
  });

  it('refuses what is not an http(s) URL', async () => {
    await failsWith(RemoteFileSystem.connect({ url: 'not a url' }), 'EINVAL', /not a URL/);
    await failsWith(RemoteFileSystem.connect({ url: 'ftp://host/' }), 'EINVAL', /not an http\(s\) URL/);
  });

  it('tells a server that does not speak WebDAV', async () => {
    const plain = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = plain.address() as AddressInfo;
      await failsWith(RemoteFileSystem.connect({ url: `http://127.0.0.1:${port}/` }), 'EIO', /is not a WebDAV server/);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('says how to trust a self-signed certificate', async () => {
    const target = await startServeTarget(['--tls-self-signed']);
    try {
      assert.match(target.url, /^https:/);
      await failsWith(RemoteFileSystem.connect({ url: target.url, user: target.user, password: target.password }), 'EIO', /SELF_SIGNED_CERT.*NODE_EXTRA_CA_CERTS/);
    } finally {
      await target.stop();
    }
  });

  describe('against rclone with Basic authentication, below a base path', () => {
    let target: RemoteTarget;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'davfs-rclone-auth-'));
      target = await startRclone(dir, { user: 'ann', password: 'pw-right' }, ['--baseurl', '/dav']);
    });
    after(() => target.stop());

    it('fails with EACCES on wrong or missing credentials', async () => {
      await failsWith(RemoteFileSystem.connect({ url: target.url, user: 'ann', password: 'pw-wrong' }), 'EACCES', /refused the credentials \(401/, 'pw-wrong');
      await failsWith(RemoteFileSystem.connect({ url: target.url }), 'EACCES', /needs credentials \(401/);
    });

    it('works with credentials in options or in the URL, mapping paths under the base path', async () => {
      const inUrl = new URL(target.url);
      inUrl.username = 'ann';
      inUrl.password = 'pw-right';
      for (const opts of [{ url: target.url, user: 'ann', password: 'pw-right' }, { url: inUrl.toString() }]) {
        // The process logger (pino) fits RemoteOptions.log as it is.
        const fs = await RemoteFileSystem.connect({ ...opts, attrTtlMs: 0, log: createLogger('silent') });
        try {
          await fs.mkdir('/sub dir');
          await fs.write('/sub dir/f 1.txt', bytesOf(Buffer.from('under /dav')));
          assert.equal(readFileSync(join(dir, 'sub dir', 'f 1.txt'), 'utf8'), 'under /dav');
          const listed: string[] = [];
          for await (const s of fs.list('/sub dir')) listed.push(s.path);
          assert.deepEqual(listed, ['/sub dir/f 1.txt']);
          await fs.move('/sub dir/f 1.txt', '/moved.txt');
          assert.equal((await readAll((await fs.read('/moved.txt')).body)).toString(), 'under /dav');
          await fs.remove('/moved.txt');
          await fs.remove('/sub dir');
        } finally {
          await fs.close();
        }
      }
    });
  });

  describe('against davfs-bridge serve', () => {
    let target: RemoteTarget & { data: string };
    before(async () => {
      target = await startServeTarget();
    });
    after(() => target.stop());

    it('sends the credentials it is given, Basic or Bearer, on every request', async (t) => {
      if (target.user === undefined) return t.skip('this serve has no authentication');
      const proxy = await startRecordingProxy(target.url);
      try {
        await failsWith(RemoteFileSystem.connect({ url: proxy.url, user: target.user, password: 'pw-wrong' }), 'EACCES', /refused the credentials/, 'pw-wrong');
        await failsWith(RemoteFileSystem.connect({ url: proxy.url }), 'EACCES', /needs credentials/);
        await failsWith(RemoteFileSystem.connect({ url: proxy.url, token: 'dvb_not-a-token' }), 'EACCES', /refused the credentials/, 'dvb_not-a-token');
        const created = await runCli(['token', 'create', target.user, '--data', target.data]);
        const token = /token \(shown once[^)]*\): (\S+)/.exec(created.stdout)?.[1];
        assert.ok(token, created.stdout + created.stderr);
        proxy.clear();
        const fs = await RemoteFileSystem.connect({ url: proxy.url, token });
        try {
          await fs.write('/bearer.txt', bytesOf(Buffer.from('token')));
          assert.equal((await readAll((await fs.read('/bearer.txt')).body)).toString(), 'token');
        } finally {
          await fs.close();
        }
        assert.ok(proxy.requests.length >= 4);
        for (const r of proxy.requests) assert.equal(r.headers.authorization, `Bearer ${token}`, `${r.method} ${r.path}`);
        assert.ok(proxy.requests.every((r) => r.status !== 401));
      } finally {
        await proxy.close();
      }
    });
  });
});
