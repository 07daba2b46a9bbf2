// What the FUSE front does when the object store fails under it (in process, a store that can be
// switched off): the error reaches the program at write, flush or fsync as EIO, nothing half
// written is committed, and the held writes are committed by the next flush once the store is back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoOf } from '../../src/fuse/errno.js';
import { FuseFs } from '../../src/fuse/fuse-fs.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { makeTestCore, pseudoRandomBytes, readAll, type TestCore } from '../helpers/core.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const EIO = 5;

describe('FuseFs when the store fails', () => {
  let core: TestCore;
  let store: FlakyStore;
  let ops: FuseFs;

  before(async () => {
    store = new FlakyStore();
    core = await makeTestCore({ objects: store });
    ops = new FuseFs(core.vfs, { stagingDir: mkdtempSync(join(tmpdir(), 'davfs-fail-')), attrCacheMs: 1000, streamBuffer: 256 * KiB, defaults: { uid: 0, gid: 0 } });
  });
  after(async () => core.close());

  const content = async (p: string) => readAll((await core.vfs.read(p)).body);
  /** The errno a promise rejects with, or 0 when it resolves. */
  const errnoFrom = (p: Promise<unknown>) => p.then(() => 0, (err: unknown) => errnoOf(err));

  it('a streaming write to a store that is down fails with EIO, commits nothing, and works again later', async () => {
    const data = pseudoRandomBytes(3 * MiB, 5);
    const fh = await ops.create('/new.bin', 0o100644);
    store.down = true;
    let writeErr = 0;
    for (let pos = 0; pos < data.length && writeErr === 0; pos += 128 * KiB) {
      const piece = Buffer.from(data.subarray(pos, pos + 128 * KiB));
      writeErr = await errnoFrom(ops.write('/', fh, piece, piece.length, pos));
    }
    assert.ok(writeErr === 0 || writeErr === EIO, `write failed with ${writeErr}`);
    // Whether or not a write saw it, close reports it (programs often check only close).
    assert.equal(await errnoFrom(ops.flush('/', fh)), EIO);
    assert.equal(await core.vfs.tryStat('/new.bin'), undefined, 'nothing committed');
    assert.equal(await errnoFrom(ops.flush('/', fh)), 0, 'reported once; nothing else is held');
    assert.equal((await ops.getattr('/new.bin')).size, 0, 'the handle sees the committed (empty) file again');

    store.down = false;
    const piece = Buffer.from('second try');
    await ops.write('/', fh, piece, piece.length, 0);
    await ops.flush('/', fh);
    await ops.release('/', fh);
    assert.equal((await content('/new.bin')).toString(), 'second try');
  });

  it('staged writes survive a failed flush and are committed by the next one', async () => {
    const base = pseudoRandomBytes(10 * MiB, 6);
    await core.vfs.write('/big.bin', (async function* () { yield base; })());
    const expected = Buffer.from(base);
    const fh = await ops.open('/big.bin', 0);
    for (const pos of [10, 4 * MiB, 9 * MiB]) {
      const patch = pseudoRandomBytes(3000, pos);
      await ops.write('/', fh, patch, patch.length, pos);
      patch.copy(expected, pos);
    }
    store.down = true;
    assert.equal(await errnoFrom(ops.flush('/', fh)), EIO);
    assert.equal(await errnoFrom(ops.fsync('/', fh)), EIO);
    store.down = false;
    await ops.flush('/', fh);
    await ops.release('/', fh);
    assert.ok((await content('/big.bin')).equals(expected));
  });
});
