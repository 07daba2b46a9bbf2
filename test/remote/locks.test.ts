// RemoteFileSystem.lock/unlock, the FUSE front's hold on a file open for writing: other clients
// get EBUSY (423) until unlock, while every change this client makes submits the token — against
// davfs-bridge and against rclone. Also shared uses, refresh past the timeout, and release at close.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteFileSystem } from '../../src/remote/remote-file-system.js';
import { bytesOf, readAll } from '../helpers/core.js';
import { startRclone, startServeTarget, type RemoteTarget } from '../helpers/remote-servers.js';
import { rejectsWith } from '../contract/file-system.contract.js';

const text = async (fs: RemoteFileSystem, path: string) => (await readAll((await fs.read(path)).body)).toString();
const put = (fs: RemoteFileSystem, path: string, s: string) => fs.write(path, bytesOf(Buffer.from(s)));

function lockSuite(name: string, start: () => Promise<RemoteTarget>, server: { davfsBridge: boolean }) {
  describe(`RemoteFileSystem locks on ${name}`, () => {
    let target: RemoteTarget;
    let holder: RemoteFileSystem;
    let other: RemoteFileSystem;
    const connect = (extra: { lockTimeoutS?: number } = {}) => RemoteFileSystem.connect({ url: target.url, user: target.user, password: target.password, attrTtlMs: 0, ...extra });
    before(async () => {
      target = await start();
      holder = await connect({ lockTimeoutS: 2 });
      other = await connect();
    });
    after(async () => {
      await holder.close();
      await other.close();
      await target.stop();
    });

    it('keeps others out until unlock, while the holder writes through it', async () => {
      await put(holder, '/locked.txt', 'v1');
      const token = await holder.lock('/locked.txt');
      assert.ok(token.length > 0);
      await rejectsWith(put(other, '/locked.txt', 'intruder'), 'EBUSY');
      await rejectsWith(other.remove('/locked.txt'), 'EBUSY');
      await rejectsWith(other.move('/locked.txt', '/elsewhere.txt'), 'EBUSY');
      await put(holder, '/locked.txt', 'v2 by the holder');
      await holder.writeRange('/locked.txt', 0, 2, bytesOf(Buffer.from('V2')));
      await holder.truncate('/locked.txt', 8);
      assert.equal(await text(other, '/locked.txt'), 'V2 by th', 'reading is not locked');
      if (server.davfsBridge) {
        await holder.setAttributes('/locked.txt', { mode: 0o100600 });
        await rejectsWith(other.setAttributes('/locked.txt', { mode: 0o100644 }), 'EBUSY');
      }
      await holder.unlock('/locked.txt', token);
      await put(other, '/locked.txt', 'free again');
      assert.equal(await text(holder, '/locked.txt'), 'free again');
    });

    it('shares one lock between uses, and releases it with the last', async () => {
      await put(holder, '/shared.txt', 'x');
      const a = await holder.lock('/shared.txt');
      const b = await holder.lock('/shared.txt');
      assert.equal(b, a);
      await holder.unlock('/shared.txt', a);
      await rejectsWith(put(other, '/shared.txt', 'y'), 'EBUSY');
      await holder.unlock('/shared.txt', b);
      await put(other, '/shared.txt', 'y');
    });

    it('refuses a lock someone else holds', async () => {
      await put(other, '/theirs.txt', 'x');
      const theirs = await other.lock('/theirs.txt');
      await rejectsWith(holder.lock('/theirs.txt'), 'EBUSY');
      await other.unlock('/theirs.txt', theirs);
    });

    it('refreshes a lock past its timeout while it is held', async () => {
      await put(holder, '/long.txt', 'x');
      const token = await holder.lock('/long.txt'); // 2 s timeout, refreshed every second
      await new Promise((resolve) => setTimeout(resolve, 3500));
      await rejectsWith(put(other, '/long.txt', 'y'), 'EBUSY');
      await holder.unlock('/long.txt', token);
    });
  });
}

lockSuite('davfs-bridge serve', () => startServeTarget(), { davfsBridge: true });
lockSuite('rclone serve webdav', () => startRclone(mkdtempSync(join(tmpdir(), 'davfs-rclone-locks-'))), { davfsBridge: false });

describe('RemoteFileSystem lock extras on davfs-bridge', () => {
  let target: RemoteTarget;
  before(async () => {
    target = await startServeTarget();
  });
  after(() => target.stop());
  const connect = () => RemoteFileSystem.connect({ url: target.url, user: target.user, password: target.password, attrTtlMs: 0 });

  it('creates an empty file when locking an unmapped path (RFC 4918 §7.3)', async () => {
    const fs = await connect();
    try {
      const token = await fs.lock('/fresh.txt');
      const st = await fs.stat('/fresh.txt');
      assert.equal(st.kind, 'file');
      assert.equal(st.size, 0);
      await fs.unlock('/fresh.txt', token);
      await rejectsWith(fs.lock('/missing/fresh.txt'), 'ENOENT');
    } finally {
      await fs.close();
    }
  });

  it('releases the locks still held at close', async () => {
    const fs = await connect();
    const other = await connect();
    try {
      await put(fs, '/closing.txt', 'x');
      await fs.lock('/closing.txt');
      await rejectsWith(put(other, '/closing.txt', 'y'), 'EBUSY');
      await fs.close();
      await put(other, '/closing.txt', 'y');
    } finally {
      await other.close();
    }
  });

  it('forgets a lock the server released with a MOVE; unlocking one no longer held is no error', async () => {
    const fs = await connect();
    try {
      await put(fs, '/before.txt', 'x');
      const old = await fs.lock('/before.txt');
      await fs.move('/before.txt', '/after.txt');
      await fs.unlock('/before.txt', old);
      const token = await fs.lock('/after.txt');
      await fs.unlock('/after.txt', token);
      await fs.unlock('/after.txt', token);
      await fs.unlock('/after.txt', 'urn:uuid:00000000-0000-0000-0000-000000000000');
    } finally {
      await fs.close();
    }
  });
});
