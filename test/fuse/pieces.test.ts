// The FUSE front's small parts, in process (no kernel): dirty extents, the overlay of a commit,
// the push-based byte source, the errno table and the libfuse option string.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsError, type FsErrorCode } from '../../src/core/errors.js';
import { ERRNO_OF_CODE, errnoOf } from '../../src/fuse/errno.js';
import { kernelOptionString } from '../../src/fuse/fuse-binding.js';
import { overlay } from '../../src/fuse/overlay.js';
import { PushSource } from '../../src/fuse/push-source.js';
import { StagedWrites, addExtent, splitByExtents, type Extent } from '../../src/fuse/staged-writes.js';
import { bytesOf, readAll } from '../helpers/core.js';

describe('dirty extents', () => {
  const add = (list: Extent[], start: number, end: number) => addExtent(list, { start, end });

  it('keeps extents sorted, merging what overlaps or touches', () => {
    const l: Extent[] = [];
    add(l, 10, 20);
    add(l, 30, 40);
    add(l, 0, 5);
    assert.deepEqual(l, [{ start: 0, end: 5 }, { start: 10, end: 20 }, { start: 30, end: 40 }]);
    add(l, 20, 30); // touches both neighbours
    assert.deepEqual(l, [{ start: 0, end: 5 }, { start: 10, end: 40 }]);
    add(l, 3, 12);
    assert.deepEqual(l, [{ start: 0, end: 40 }]);
    add(l, 50, 50); // empty: ignored
    assert.deepEqual(l, [{ start: 0, end: 40 }]);
  });

  it('stays correct for thousands of scattered writes (checked against a byte map)', () => {
    const l: Extent[] = [];
    const dirty = new Uint8Array(100_000);
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 3000; i++) {
      const start = rnd(99_000);
      const end = start + 1 + rnd(600);
      add(l, start, end);
      dirty.fill(1, start, end);
    }
    const fromList = new Uint8Array(100_000);
    for (let i = 0; i < l.length; i++) {
      fromList.fill(1, l[i]!.start, l[i]!.end);
      if (i > 0) assert.ok(l[i - 1]!.end < l[i]!.start, 'disjoint, not touching, sorted');
    }
    assert.deepEqual(fromList, dirty);
  });

  it('splits a range into dirty and clean pieces', () => {
    const l = [{ start: 10, end: 20 }, { start: 30, end: 40 }];
    assert.deepEqual(splitByExtents(l, 0, 50), [
      { start: 0, end: 10, dirty: false },
      { start: 10, end: 20, dirty: true },
      { start: 20, end: 30, dirty: false },
      { start: 30, end: 40, dirty: true },
      { start: 40, end: 50, dirty: false },
    ]);
    assert.deepEqual(splitByExtents(l, 15, 35), [
      { start: 15, end: 20, dirty: true },
      { start: 20, end: 30, dirty: false },
      { start: 30, end: 35, dirty: true },
    ]);
    assert.deepEqual(splitByExtents([], 5, 6), [{ start: 5, end: 6, dirty: false }]);
  });

  it('StagedWrites keeps bytes at their offsets, truncates, and streams them back', async () => {
    const s = await StagedWrites.create(mkdtempSync(join(tmpdir(), 'davfs-staged-')));
    try {
      await s.write(100, Buffer.from('hello'));
      await s.write(103, Buffer.from('LO world'));
      assert.deepEqual(s.extents, [{ start: 100, end: 111 }]);
      assert.equal((await readAll(s.bytes(100, 111))).toString(), 'helLO world');
      const buf = Buffer.alloc(4);
      await s.readInto(buf, 0, 106, 4);
      assert.equal(buf.toString(), 'worl');
      await s.truncate(105);
      assert.deepEqual(s.extents, [{ start: 100, end: 105 }]);
      assert.equal(s.dirtyBytes, 5);
      await s.clear();
      assert.equal(s.isEmpty, true);
    } finally {
      await s.close();
    }
  });
});

describe('StagedWrites held in memory', () => {
  it('keeps bytes without a local file up to its limit, then spills them to the named spool file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-staged-mem-'));
    const s = StagedWrites.inMemory(dir, '7', 64);
    try {
      s.write(10, Buffer.from('hello'));
      s.write(40, Buffer.from('world'));
      assert.equal(s.isInMemory, true);
      assert.deepEqual(readdirSync(dir), [], 'no local file while in memory');
      assert.deepEqual(s.extents, [{ start: 10, end: 15 }, { start: 40, end: 45 }]);
      assert.equal((await readAll(s.bytes(40, 45))).toString(), 'world');
      const buf = Buffer.alloc(8, 1);
      await s.readInto(buf, 0, 60, 8); // past the bytes held: zeros
      assert.deepEqual(buf, Buffer.alloc(8));
      assert.equal(s.fits(64), true);
      assert.equal(s.fits(65), false);
      assert.throws(() => s.write(60, Buffer.alloc(10)), RangeError);
      await s.truncate(42);
      assert.deepEqual(s.extents, [{ start: 10, end: 15 }, { start: 40, end: 42 }]);

      await s.spill();
      assert.equal(s.isInMemory, false);
      assert.equal(s.path, join(dir, 'spool-7'));
      const onDisk = readFileSync(join(dir, 'spool-7'));
      assert.equal(onDisk.subarray(10, 15).toString(), 'hello');
      assert.equal(onDisk.subarray(40, 42).toString(), 'wo');
      s.write(100, Buffer.from('past the limit')); // a file now: no limit
      assert.equal((await readAll(s.bytes(100, 114))).toString(), 'past the limit');
    } finally {
      await s.close();
    }
    assert.deepEqual(readdirSync(dir), [], 'a kept spool file is removed at close');
  });
});

describe('overlay (whole-file commit source)', () => {
  const dirtyOf = (bytes: Buffer) => async function* (start: number, end: number) {
    yield bytes.subarray(start, end);
  };

  it('lays dirty extents over the base and zero-fills past it', async () => {
    const base = Buffer.from('0123456789');
    const dirty = Buffer.alloc(20, '.');
    dirty.write('AB', 2);
    dirty.write('XYZ', 12);
    const out = await readAll(
      overlay({ size: 16, baseLength: 8, base: bytesOf(base.subarray(0, 8), 3), extents: [{ start: 2, end: 4 }, { start: 12, end: 15 }], dirty: dirtyOf(dirty) }),
    );
    assert.deepEqual(out, Buffer.concat([Buffer.from('01AB4567'), Buffer.alloc(4), Buffer.from('XYZ'), Buffer.alloc(1)]));
  });

  it('reads a base that ended early as zeros', async () => {
    const out = await readAll(overlay({ size: 6, baseLength: 6, base: bytesOf(Buffer.from('abc')), extents: [], dirty: dirtyOf(Buffer.alloc(0)) }));
    assert.deepEqual(out, Buffer.from([97, 98, 99, 0, 0, 0]));
  });

  it('is empty for an empty file and only dirty bytes without a base', async () => {
    assert.equal((await readAll(overlay({ size: 0, baseLength: 0, base: undefined, extents: [], dirty: dirtyOf(Buffer.alloc(0)) }))).length, 0);
    const out = await readAll(overlay({ size: 4, baseLength: 0, base: undefined, extents: [{ start: 1, end: 3 }], dirty: dirtyOf(Buffer.from('wxyz')) }));
    assert.deepEqual(out, Buffer.from([0, 120, 121, 0]));
  });
});

describe('PushSource', () => {
  it('hands pushed bytes to the consumer in order and ends', async () => {
    const src = new PushSource(10);
    const got = readAll(src);
    await src.push(Buffer.from('abc'));
    await src.push(Buffer.from('def'));
    src.end();
    assert.equal((await got).toString(), 'abcdef');
  });

  it('holds a producer above the high-water mark until the consumer takes bytes', async () => {
    const src = new PushSource(4);
    await src.push(Buffer.from('1234'));
    let released = false;
    const held = src.push(Buffer.from('5678')).then(() => (released = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, false);
    const it = src[Symbol.asyncIterator]();
    await it.next();
    await held;
    assert.equal(released, true);
  });

  it('rejects waiting and later pushes once failed, and the consumer sees the error', async () => {
    const src = new PushSource(1);
    const held = src.push(Buffer.from('xx'));
    src.fail(new Error('store down'));
    await assert.rejects(held, /store down/);
    await assert.rejects(src.push(Buffer.from('y')), /store down/);
    await assert.rejects(readAll(src), /store down/);
  });
});

describe('errno table and mount options', () => {
  it('maps every FsError code to a positive errno, other errors by code or to EIO', () => {
    for (const [code, errno] of Object.entries(ERRNO_OF_CODE)) {
      assert.ok(errno > 0, code);
      assert.equal(errnoOf(new FsError(code as FsErrorCode, 'x')), errno);
    }
    assert.equal(errnoOf(new FsError('ENOENT', 'x')), constants.errno.ENOENT);
    assert.equal(errnoOf(new FsError('ENOTEMPTY', 'x')), constants.errno.ENOTEMPTY);
    assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ENOSPC' })), constants.errno.ENOSPC);
    assert.equal(errnoOf(new Error('boom')), constants.errno.EIO);
    assert.equal(errnoOf('not even an error'), constants.errno.EIO);
  });

  it('passes big_writes and the timeouts to libfuse', () => {
    const o = kernelOptionString({ attrTimeout: 2, entryTimeout: 3, maxRead: 131072, allowOther: true, fsname: 'davfs bridge,x', debug: false });
    assert.ok(o.startsWith('-o'));
    const opts = o.slice(2).split(',');
    for (const want of ['big_writes', 'attr_timeout=2', 'entry_timeout=3', 'max_read=131072', 'allow_other', 'auto_cache', 'fsname=davfs_bridge_x']) {
      assert.ok(opts.includes(want), `${want} in ${o}`);
    }
    assert.ok(!opts.includes('debug'));
  });
});
