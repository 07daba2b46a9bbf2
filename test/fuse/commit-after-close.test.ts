// FuseFs with commits after close (write_mode writeback), over a real Vfs, called as libfuse
// would but in process: what the mount shows while a closed file waits for its commit, which
// operations commit it first, the backlog bound, and the replay of a journal a killed mount left.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitJournal, JOURNAL_NAME } from '../../src/fuse/commit-journal.js';
import { FuseFs } from '../../src/fuse/fuse-fs.js';
import { replaySpool } from '../../src/fuse/replay-spool.js';
import { createLogger } from '../../src/core/log.js';
import { makeTestCore, pseudoRandomBytes, readAll, type TestCore } from '../helpers/core.js';

const MiB = 1024 * 1024;
const HOUR = 3_600_000;
const log = createLogger('fatal');

describe('FuseFs committing after close', () => {
  let core: TestCore;

  before(async () => {
    core = await makeTestCore({ writeBack: true });
  });
  after(async () => core.close());

  const content = async (p: string) => readAll((await core.vfs.read(p)).body);
  /** A FuseFs whose closed files wait `delayMs` for their commit, with its spool folder. */
  const mount = async (delayMs: number, backlog = { maxFiles: 100, maxBytes: 1 << 30 }, commitAtCloseUpTo?: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-spool-'));
    const journal = await CommitJournal.open(dir);
    const ops = new FuseFs(core.vfs, {
      stagingDir: dir,
      attrCacheMs: 0,
      streamBuffer: MiB,
      defaults: { uid: 0, gid: 0 },
      spool: { journal, delayMs, concurrency: 2, ...backlog, ...(commitAtCloseUpTo === undefined ? {} : { commitAtCloseUpTo }) },
    });
    return { ops, dir, journal };
  };
  /** create (or open and truncate) + write in 128 KiB requests + close (flush and release), as cp does. */
  const put = async (ops: FuseFs, p: string, data: Buffer, existing = false) => {
    const fh = existing ? await ops.open(p, 1) : await ops.create(p, 0o100644);
    if (existing) await ops.ftruncate(p, fh, 0);
    for (let i = 0; i < data.length; i += 128 * 1024) {
      const part = Buffer.from(data.subarray(i, i + 128 * 1024));
      await ops.write(p, fh, part, part.length, i);
    }
    await ops.flush(p, fh);
    await ops.release(p, fh);
  };
  const readThrough = async (ops: FuseFs, p: string) => {
    const fh = await ops.open(p, 0);
    const size = (await ops.getattr(p)).size;
    const buf = Buffer.alloc(size);
    const n = await ops.read(p, fh, buf, size, 0);
    await ops.flush(p, fh);
    await ops.release(p, fh);
    return buf.subarray(0, n);
  };
  const spoolFiles = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('spool-'));

  it('a close returns before the commit; the mount shows the file meanwhile, the store does not', async () => {
    const { ops, dir, journal } = await mount(HOUR);
    const data = pseudoRandomBytes(3 * MiB + 5, 1);
    await put(ops, '/closed.bin', data);
    assert.equal(await core.vfs.tryStat('/closed.bin'), undefined, 'not committed at close');
    assert.equal((await ops.getattr('/closed.bin')).size, data.length);
    assert.ok((await ops.readdir('/')).names.includes('closed.bin'));
    assert.ok((await readThrough(ops, '/closed.bin')).equals(data));
    assert.equal(spoolFiles(dir).length, 1);
    assert.equal(journal.pending().length, 1);
    // Unmount: everything waiting is committed, the spool and the journal are emptied.
    assert.deepEqual(await ops.syncAll(), []);
    assert.ok((await content('/closed.bin')).equals(data));
    assert.deepEqual(spoolFiles(dir), []);
    assert.equal(journal.pending().length, 0);
    assert.equal(ops.openFileCount(), 0);
  });

  it('writes that come after the last flush (a shared mapping written back) are noted at release', async () => {
    const { ops, journal } = await mount(HOUR);
    const fh = await ops.create('/mapped.bin', 0o100644);
    await ops.write('/mapped.bin', fh, Buffer.from('first'), 5, 0);
    await ops.flush('/mapped.bin', fh);
    assert.equal(journal.pending()[0]?.size, 5);
    await ops.write('/mapped.bin', fh, Buffer.from('-later'), 6, 5);
    await ops.release('/mapped.bin', fh);
    assert.deepEqual(journal.pending()[0]?.extents, [{ start: 0, end: 11 }]);
    await ops.syncAll();
    assert.equal((await content('/mapped.bin')).toString(), 'first-later');
  });

  it('with no delay the commit follows the close by itself', async () => {
    const { ops, dir } = await mount(0);
    const data = pseudoRandomBytes(MiB, 2);
    await put(ops, '/soon.bin', data);
    for (let i = 0; i < 200 && ops.openFileCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ops.openFileCount(), 0);
    assert.ok((await content('/soon.bin')).equals(data));
    assert.deepEqual(spoolFiles(dir), []);
  });

  it('small files (commitAtCloseUpTo) are held in memory and committed at their close; larger ones are spooled', async () => {
    const { ops, dir, journal } = await mount(HOUR, undefined, 32 * 1024);
    const small = pseudoRandomBytes(20 * 1024, 3);
    const fh = await ops.create('/small.txt', 0o100644);
    await ops.write('/small.txt', fh, small, small.length, 0);
    assert.deepEqual(readdirSync(dir).filter((n) => n !== JOURNAL_NAME), [], 'no spool file for bytes held in memory');
    assert.ok((await readThrough(ops, '/small.txt')).equals(small), 'another descriptor reads them');
    await ops.flush('/small.txt', fh);
    assert.ok((await content('/small.txt')).equals(small), 'committed by the close');
    await ops.release('/small.txt', fh);
    assert.equal(journal.pending().length, 0);
    assert.equal(ops.openFileCount(), 0);

    // Past the limit the bytes move to a spool file, and the close returns before the commit.
    const large = pseudoRandomBytes(40 * 1024, 4);
    await put(ops, '/large.bin', large);
    assert.equal(await core.vfs.tryStat('/large.bin'), undefined, 'not committed at close');
    assert.equal(spoolFiles(dir).length, 1);
    assert.equal(journal.pending().length, 1);
    // Writes after the flush of a small file (a shared mapping) are spilled, noted and spooled.
    const fh2 = await ops.create('/mapped-small.txt', 0o100644);
    await ops.write('/mapped-small.txt', fh2, Buffer.from('first'), 5, 0);
    await ops.flush('/mapped-small.txt', fh2);
    await ops.write('/mapped-small.txt', fh2, Buffer.from('-later'), 6, 5);
    await ops.release('/mapped-small.txt', fh2);
    assert.equal(spoolFiles(dir).length, 2);
    // The close committed 'first'; what came after is a record over that version.
    assert.deepEqual(journal.pending().find((r) => r.path === '/mapped-small.txt')?.extents, [{ start: 5, end: 11 }]);
    assert.deepEqual(await ops.syncAll(), []);
    assert.ok((await content('/large.bin')).equals(large));
    assert.equal((await content('/mapped-small.txt')).toString(), 'first-later');
    assert.deepEqual(spoolFiles(dir), []);
  });

  it('reads of a closed file do not wait for its commit while it runs', async () => {
    // The store's write is held until the test lets it go: the commit is running meanwhile.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let started!: () => void;
    const writing = new Promise<void>((resolve) => (started = resolve));
    const slow = new Proxy(core.vfs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'write' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return async (...args: unknown[]) => {
          started();
          await held;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'davfs-spool-'));
    const journal = await CommitJournal.open(dir);
    const ops = new FuseFs(slow, { stagingDir: dir, attrCacheMs: 0, streamBuffer: MiB, defaults: { uid: 0, gid: 0 }, spool: { journal, delayMs: 0, concurrency: 2, maxFiles: 100, maxBytes: 1 << 30 } });
    const data = pseudoRandomBytes(2 * MiB, 10);
    await put(ops, '/held.bin', data);
    await writing;
    assert.ok((await readThrough(ops, '/held.bin')).equals(data), 'read while the commit waits in the store');
    assert.equal(await core.vfs.tryStat('/held.bin'), undefined);
    letGo();
    await ops.syncAll();
    assert.ok((await content('/held.bin')).equals(data));
    assert.ok((await readThrough(ops, '/held.bin')).equals(data));
    await journal.close();
  });

  it('a commit that fails is retried; the file stays readable here meanwhile', async () => {
    let failures = 1;
    const flaky = new Proxy(core.vfs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        if (prop !== 'write') return v.bind(target);
        return (...args: unknown[]) => {
          if (failures-- > 0) return Promise.reject(new Error('store down'));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'davfs-spool-'));
    const journal = await CommitJournal.open(dir);
    const ops = new FuseFs(flaky, { stagingDir: dir, attrCacheMs: 0, streamBuffer: MiB, defaults: { uid: 0, gid: 0 }, spool: { journal, delayMs: 0, concurrency: 2, maxFiles: 100, maxBytes: 1 << 30 } });
    const data = pseudoRandomBytes(100_000, 11);
    await put(ops, '/retried.bin', data);
    assert.ok((await readThrough(ops, '/retried.bin')).equals(data));
    // The first attempt failed at once; the retry comes 2 s later.
    for (let i = 0; i < 100 && ops.openFileCount() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(failures, -1, 'one failed attempt, then one that went through');
    assert.ok((await content('/retried.bin')).equals(data));
    assert.equal(journal.pending().length, 0);
    await journal.close();
  });

  it('rename over, unlink and truncate of a file waiting for its commit commit it first', async () => {
    const { ops } = await mount(HOUR);
    const one = pseudoRandomBytes(200_000, 3);
    const two = pseudoRandomBytes(300_000, 4);
    await put(ops, '/target.bin', one);
    await put(ops, '/source.bin', two);
    await ops.rename('/source.bin', '/target.bin');
    assert.ok((await content('/target.bin')).equals(two), 'the late commit of the old target must not win');
    assert.equal(await core.vfs.tryStat('/source.bin'), undefined);

    await put(ops, '/doomed.bin', one);
    await ops.unlink('/doomed.bin');
    assert.equal(await core.vfs.tryStat('/doomed.bin'), undefined);
    await assert.rejects(ops.getattr('/doomed.bin'), { code: 'ENOENT' });

    await put(ops, '/cut.bin', two);
    await ops.truncate('/cut.bin', 1000);
    assert.equal((await ops.getattr('/cut.bin')).size, 1000);
    await ops.syncAll();
    assert.ok((await content('/cut.bin')).equals(two.subarray(0, 1000)));
    assert.ok((await content('/target.bin')).equals(two));
  });

  it('an overwrite in the middle of a committed file is committed over it', async () => {
    const base = pseudoRandomBytes(2 * MiB, 5);
    await core.vfs.write('/edited.bin', (async function* () { yield base; })());
    const { ops } = await mount(HOUR);
    const fh = await ops.open('/edited.bin', 1);
    await ops.write('/edited.bin', fh, Buffer.from('PATCH'), 5, MiB);
    await ops.flush('/edited.bin', fh);
    await ops.release('/edited.bin', fh);
    const want = Buffer.from(base);
    want.write('PATCH', MiB);
    assert.ok((await readThrough(ops, '/edited.bin')).equals(want));
    await ops.syncAll();
    assert.ok((await content('/edited.bin')).equals(want));
  });

  it('a close waits while the backlog is full, and the files waiting are committed meanwhile', async () => {
    const { ops } = await mount(HOUR, { maxFiles: 1, maxBytes: 1 << 30 });
    await put(ops, '/first.bin', pseudoRandomBytes(1000, 6));
    assert.equal(await core.vfs.tryStat('/first.bin'), undefined);
    await put(ops, '/second.bin', pseudoRandomBytes(1000, 7));
    // The second close found one file waiting (the bound): it waited for its commit.
    assert.ok(await core.vfs.tryStat('/first.bin'));
    assert.equal(await core.vfs.tryStat('/second.bin'), undefined);
    await ops.syncAll();
  });

  it('the next mount commits what a killed one closed, keeps what changed elsewhere, drops the rest', async () => {
    const { ops, dir } = await mount(HOUR);
    const fresh = pseudoRandomBytes(400_000, 8);
    const other = pseudoRandomBytes(50_000, 9);
    await core.vfs.write('/base.bin', (async function* () { yield other; })());
    await put(ops, '/fresh.bin', fresh);
    await put(ops, '/base.bin', fresh, true);
    await put(ops, '/changed.bin', fresh);
    await core.vfs.mkdir('/folder');
    await put(ops, '/folder/orphan.bin', fresh);
    // A file still open at the kill: its writes were never acknowledged.
    const open = await ops.create('/open.bin', 0o100644);
    await ops.write('/open.bin', open, Buffer.from('never closed'), 12, 0);
    // Meanwhile another client writes /changed.bin; then the mount is killed (nothing more runs)
    // in the middle of writing one more journal line.
    await core.vfs.write('/changed.bin', (async function* () { yield other; })());
    await core.vfs.remove('/folder');
    appendFileSync(join(dir, JOURNAL_NAME), '{"pending":{"id":"torn');
    assert.equal(spoolFiles(dir).length, 5);

    const unsaved = mkdtempSync(join(tmpdir(), 'davfs-unsaved-'));
    const { journal, result } = await replaySpool(core.vfs, dir, unsaved, log);
    assert.deepEqual(result.committed.sort(), ['/base.bin', '/fresh.bin']);
    assert.deepEqual(result.unsaved.sort(), ['/changed.bin', '/folder/orphan.bin']);
    assert.ok((await content('/fresh.bin')).equals(fresh));
    assert.ok((await content('/base.bin')).equals(fresh));
    assert.ok((await content('/changed.bin')).equals(other), 'a change made elsewhere is not overwritten');
    assert.equal(await core.vfs.tryStat('/open.bin'), undefined);
    // Both spools are kept aside: one for a file changed elsewhere, one whose folder is gone.
    const kept = readdirSync(unsaved).sort();
    assert.equal(kept.length, 2);
    assert.match(kept[0]!, /changed\.bin$/);
    assert.match(kept[1]!, /orphan\.bin$/);
    assert.deepEqual(readdirSync(dir), [JOURNAL_NAME]);
    assert.equal(journal.pending().length, 0);
    await journal.close();
  });

  it('a journal whose spool file is gone is reported, not replayed as zeros', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-spool-'));
    const rec = { id: 'lost-1', path: '/lost.bin', base: null, baseLimit: 0, size: 10, extents: [{ start: 0, end: 10 }] };
    writeFileSync(join(dir, JOURNAL_NAME), JSON.stringify({ pending: rec }) + '\n');
    const { journal, result } = await replaySpool(core.vfs, dir, join(dir, '..', 'unsaved-none'), log);
    assert.deepEqual(result, { committed: [], unsaved: ['/lost.bin'] });
    assert.equal(await core.vfs.tryStat('/lost.bin'), undefined);
    await journal.close();
  });
});
