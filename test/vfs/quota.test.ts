// Quotas through the Vfs: a limit on a subtree holds for write, partial write, truncate, move and
// copy; a refused write leaves no file and no reference behind, and a write whose size is known
// is refused before any chunk is uploaded.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../src/core/errors.js';
import type { QuotaLimit } from '../../src/vfs/types.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';

const LIMIT = 100_000;
const quota: QuotaLimit = { root: '/home/u', maxBytes: LIMIT };

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof FsError && err.code === code);
}

/** A body of `size` pseudo-random bytes (chunked: the test core's inline limit is 1 KiB). */
const body = (size: number, seed = size) => bytesOf(pseudoRandomBytes(size, seed));

describe('Vfs quotas', () => {
  let core: TestCore;
  let store: FlakyStore;
  beforeEach(async () => {
    store = new FlakyStore();
    core = await makeTestCore({ objects: store });
    await core.vfs.mkdir('/home/u', { parents: true });
    await core.vfs.mkdir('/home/u/docs');
    await core.vfs.mkdir('/elsewhere');
  });
  afterEach(async () => {
    assert.deepEqual(await storeProblems(core), []);
    await core.close();
  });

  it('writes up to the limit; one byte more is ENOSPC and leaves no file', async () => {
    const v = core.vfs;
    await v.write('/home/u/a', body(60_000), { quota });
    await v.write('/home/u/docs/b', body(40_000), { quota });
    assert.equal(await v.treeBytes('/home/u'), LIMIT);
    assert.equal(await v.treeBytes('/home/u/docs'), 40_000);
    assert.equal(await v.treeBytes('/home/u/a'), 60_000);
    // Streamed (size unknown beforehand): refused by the commit after the upload.
    await rejectsCode(v.write('/home/u/docs/c', body(1), { quota }), 'ENOSPC');
    assert.equal(await v.tryStat('/home/u/docs/c'), undefined);
    await rejectsCode(v.write('/home/u/docs/c', body(5000), { quota }), 'ENOSPC');
    assert.equal(await v.tryStat('/home/u/docs/c'), undefined);
    assert.equal(await v.treeBytes('/home/u'), LIMIT);
    // Outside the quota's root the limit does not apply.
    await v.write('/elsewhere/big', body(200_000), { quota });
    assert.equal((await v.usage('/')).usedBytes, LIMIT + 200_000);
  });

  it('keeps the old file when a replacement would go over, and allows smaller ones', async () => {
    const v = core.vfs;
    const old = pseudoRandomBytes(90_000, 7);
    await v.write('/home/u/f', bytesOf(old), { quota });
    await rejectsCode(v.write('/home/u/f', body(LIMIT + 1), { quota }), 'ENOSPC');
    assert.ok((await readAll((await v.read('/home/u/f')).body)).equals(old));
    await v.write('/home/u/f', body(LIMIT), { quota });
    // The quota lowered below the use: shrinking and same-size writes still pass, growth does not.
    const lowered = { root: '/home/u', maxBytes: 10 };
    await v.write('/home/u/f', body(50_000), { quota: lowered });
    await v.write('/home/u/f', body(50_000, 9), { quota: lowered, expectedSize: 50_000 });
    await rejectsCode(v.write('/home/u/f', body(50_001), { quota: lowered, expectedSize: 50_001 }), 'ENOSPC');
    await rejectsCode(v.write('/home/u/g', body(1), { quota: lowered }), 'ENOSPC');
    assert.equal(await v.treeBytes('/home/u'), 50_000);
  });

  it('refuses a write of known size before uploading any chunk', async () => {
    const v = core.vfs;
    await v.write('/home/u/a', body(70_000), { quota, expectedSize: 70_000 });
    const puts = store.puts;
    assert.ok(puts > 0, 'the first write uploads chunks');
    let pulled = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const piece of body(40_000)) {
        pulled += piece.length;
        yield piece;
      }
    }
    await rejectsCode(v.write('/home/u/b', counted(), { quota, expectedSize: 40_000 }), 'ENOSPC');
    assert.equal(store.puts, puts, 'no chunk uploaded');
    assert.equal(pulled, 0, 'the body was not even read');
    // A replacement counts only its growth: 70,000 → 100,000 fits exactly.
    await v.write('/home/u/a', body(LIMIT), { quota, expectedSize: LIMIT });
    // Partial writes and truncation know their new size beforehand too.
    const before = store.puts;
    await rejectsCode(v.writeRange('/home/u/a', LIMIT, 1, body(1), { quota }), 'ENOSPC');
    await rejectsCode(v.writeRange('/home/u/new', 0, 10, body(10), { quota }), 'ENOSPC');
    await rejectsCode(v.truncate('/home/u/a', LIMIT + 1, { quota }), 'ENOSPC');
    assert.equal(store.puts, before);
    assert.equal((await v.stat('/home/u/a')).size, LIMIT);
  });

  it('applies the limit to partial writes and truncation', async () => {
    const v = core.vfs;
    await v.write('/home/u/a', body(90_000), { quota });
    await v.writeRange('/home/u/a', 85_000, 15_000, body(15_000), { quota });
    assert.equal((await v.stat('/home/u/a')).size, LIMIT);
    // Rewriting bytes inside the file does not grow it.
    await v.writeRange('/home/u/a', 10, 5000, body(5000), { quota });
    await v.truncate('/home/u/a', 30_000, { quota });
    await v.truncate('/home/u/a', LIMIT, { quota });
    assert.equal(await v.treeBytes('/home/u'), LIMIT);
    await rejectsCode(v.truncate('/home/u/a', LIMIT + 1, { quota }), 'ENOSPC');
  });

  it('refuses moves and copies into the quota root beyond the limit; moving out frees room', async () => {
    const v = core.vfs;
    await v.write('/home/u/a', body(80_000), { quota });
    await v.write('/elsewhere/x', body(30_000));
    await rejectsCode(v.move('/elsewhere/x', '/home/u/x', { quota }), 'ENOSPC');
    await rejectsCode(v.copy('/elsewhere/x', '/home/u/docs/x', { quota }), 'ENOSPC');
    await rejectsCode(v.copy('/home/u/a', '/home/u/a2', { quota }), 'ENOSPC');
    assert.equal(await v.tryStat('/home/u/x'), undefined);
    assert.equal(await v.tryStat('/home/u/docs/x'), undefined);
    assert.equal((await v.stat('/elsewhere/x')).size, 30_000);
    // Within the root a move changes nothing; out of it, it frees room.
    await v.move('/home/u/a', '/home/u/docs/a', { quota });
    await v.move('/home/u/docs/a', '/elsewhere/a', { quota });
    assert.equal(await v.treeBytes('/home/u'), 0);
    await v.move('/elsewhere/x', '/home/u/x', { quota });
    await v.copy('/home/u/x', '/home/u/docs/x', { quota });
    assert.deepEqual([await v.treeBytes('/home/u'), await v.treeBytes('/elsewhere')], [60_000, 80_000]);
  });

  it('refuses a missing quota root and a malformed limit', async () => {
    const v = core.vfs;
    await rejectsCode(v.write('/elsewhere/f', body(10), { quota: { root: '/home/nobody', maxBytes: 10 } }), 'ENOENT');
    await rejectsCode(v.write('/home/u/f', body(10), { quota: { root: '/home/u', maxBytes: -1 } }), 'EINVAL');
    await rejectsCode(v.treeBytes('/nowhere'), 'ENOENT');
    assert.equal(await v.tryStat('/home/u/f'), undefined);
  });
});
