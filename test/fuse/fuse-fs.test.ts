// FuseFs over a real Vfs, called as libfuse would call it but in process (no kernel): how writes
// are held and committed, what reads see meanwhile, and how many store calls each pattern costs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FuseFs } from '../../src/fuse/fuse-fs.js';
import type { FileSystem } from '../../src/vfs/file-system.js';
import { makeTestCore, pseudoRandomBytes, readAll, type TestCore } from '../helpers/core.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** `data` with `patch` written at `pos` (growing it when the patch runs past the end). */
function patched(data: Buffer, pos: number, patch: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(data.length, pos + patch.length));
  data.copy(out);
  patch.copy(out, pos);
  return out;
}

/** The Vfs with a count of calls per method, to see what each FUSE pattern costs the store. */
function counted(fs: FileSystem): { fs: FileSystem; calls: Map<string, number>; reset(): void } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(fs, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { fs: proxy, calls, reset: () => calls.clear() };
}

describe('FuseFs over a Vfs (in process)', () => {
  let core: TestCore;
  let ops: FuseFs;
  let c: ReturnType<typeof counted>;
  let now = 1_700_000_000_000;

  before(async () => {
    core = await makeTestCore();
    c = counted(core.vfs);
    ops = new FuseFs(c.fs, { stagingDir: mkdtempSync(join(tmpdir(), 'davfs-fusefs-')), attrCacheMs: 1000, streamBuffer: 1 * MiB, defaults: { uid: 1000, gid: 100 } }, () => now);
  });
  after(async () => core.close());

  const content = async (p: string) => readAll((await core.vfs.read(p)).body);
  /** Writes `data` through a handle in `piece`-sized requests at `pos`. */
  const writeAll = async (fh: number, data: Buffer, pos = 0, piece = 128 * KiB) => {
    for (let i = 0; i < data.length; i += piece) {
      const part = Buffer.from(data.subarray(i, i + piece));
      assert.equal(await ops.write('/', fh, part, part.length, pos + i), part.length);
    }
  };
  const readAt = async (fh: number, pos: number, len: number) => {
    const buf = Buffer.alloc(len);
    const n = await ops.read('/', fh, buf, len, pos);
    return buf.subarray(0, n);
  };

  it('a sequential write from 0 streams into one FileSystem.write, committed at flush', async () => {
    const data = pseudoRandomBytes(3 * MiB + 123, 1);
    c.reset();
    const fh = await ops.create('/seq.bin', 0o100644);
    await writeAll(fh, data);
    // Before the flush: the kernel sees the size, the folder lists the name, the store has nothing.
    assert.equal((await ops.getattr('/seq.bin')).size, data.length);
    assert.ok((await ops.readdir('/')).names.includes('seq.bin'));
    assert.equal(await core.vfs.tryStat('/seq.bin'), undefined);
    await ops.flush('/seq.bin', fh);
    await ops.release('/seq.bin', fh);
    assert.ok((await content('/seq.bin')).equals(data));
    assert.equal(c.calls.get('write'), 1);
    assert.equal(c.calls.get('writeRange'), undefined);
  });

  it('close commits a file; fsync(2) and fsync of a folder also make the commits durable', async () => {
    c.reset();
    const fh = await ops.create('/durable.txt', 0o100644);
    await ops.write('/', fh, Buffer.from('kept'), 4, 0);
    await ops.flush('/durable.txt', fh);
    assert.equal((await content('/durable.txt')).toString(), 'kept');
    assert.equal(c.calls.get('sync'), undefined, 'close(2) promises no durability (POSIX)');
    await ops.write('/', fh, Buffer.from('!'), 1, 4);
    await ops.fsync('/durable.txt', fh);
    assert.equal((await content('/durable.txt')).toString(), 'kept!', 'fsync commits what the handle holds');
    assert.equal(c.calls.get('sync'), 1);
    await ops.fsyncdir('/');
    assert.equal(c.calls.get('sync'), 2);
    await ops.release('/durable.txt', fh);
  });

  it('reading back written bytes commits the stream first; reading past them finds nothing yet', async () => {
    const fh = await ops.create('/back.txt', 0o100644);
    await ops.write('/', fh, Buffer.from('hello '), 6, 0);
    assert.equal((await readAt(fh, 6, 10)).length, 0);
    assert.equal((await readAt(fh, 0, 100)).toString(), 'hello ');
    assert.equal((await content('/back.txt')).toString(), 'hello ');
    // The stream is over: the next write is staged and shows in reads before it is committed.
    await ops.write('/', fh, Buffer.from('world'), 5, 6);
    assert.equal((await readAt(fh, 0, 100)).toString(), 'hello world');
    await ops.release('/', fh);
    assert.equal((await content('/back.txt')).toString(), 'hello world');
  });

  it('a few writes into a large file commit one writeRange each; many, one rewrite', async () => {
    const base = pseudoRandomBytes(10 * MiB, 2);
    await core.vfs.write('/large.bin', (async function* () { yield base; })());
    let grown: Buffer = Buffer.from(base);
    let fh = await ops.open('/large.bin', 0);
    c.reset();
    for (const pos of [100, 5 * MiB, 10 * MiB - 3]) {
      const patch = Buffer.from('PATCHED');
      await ops.write('/', fh, patch, patch.length, pos);
      grown = patched(grown, pos, patch);
    }
    // The write at the end grew the file: reads see the overlay before the commit.
    assert.ok((await readAt(fh, 5 * MiB - 2, 11)).equals(grown.subarray(5 * MiB - 2, 5 * MiB + 9)));
    assert.equal((await ops.getattr('/large.bin')).size, 10 * MiB + 4);
    await ops.flush('/', fh);
    await ops.release('/', fh);
    assert.ok((await content('/large.bin')).equals(grown));
    assert.equal(c.calls.get('writeRange'), 3);
    assert.equal(c.calls.get('write'), undefined);

    fh = await ops.open('/large.bin', 0);
    c.reset();
    for (let i = 0; i < 40; i++) {
      const pos = i * 200 * KiB + 17;
      const patch = pseudoRandomBytes(1000, 100 + i);
      await ops.write('/', fh, patch, patch.length, pos);
      grown = patched(grown, pos, patch);
    }
    await ops.release('/', fh);
    assert.ok((await content('/large.bin')).equals(grown));
    assert.equal(c.calls.get('write'), 1);
    assert.equal(c.calls.get('writeRange'), undefined);
  });

  it('truncate down then up reads as zeros, before and after the commit', async () => {
    await core.vfs.write('/tr.bin', (async function* () { yield Buffer.alloc(12 * MiB, 7); })());
    const fh = await ops.open('/tr.bin', 0);
    await ops.ftruncate('/', fh, 1000);
    await ops.ftruncate('/', fh, 9 * MiB);
    const expected = Buffer.concat([Buffer.alloc(1000, 7), Buffer.alloc(9 * MiB - 1000)]);
    assert.deepEqual(await readAt(fh, 990, 20), expected.subarray(990, 1010));
    assert.equal((await ops.getattr('/tr.bin')).size, 9 * MiB);
    await ops.release('/', fh);
    assert.ok((await content('/tr.bin')).equals(expected));
    // A path truncate of a closed file is one commit.
    await ops.truncate('/tr.bin', 10);
    assert.equal((await core.vfs.stat('/tr.bin')).size, 10);
  });

  it('reads of a handle share one reader of the file version, sequential or scattered', async () => {
    const data = pseudoRandomBytes(6 * MiB, 3);
    await core.vfs.write('/read.bin', (async function* () { yield data; })());
    const fh = await ops.open('/read.bin', 2);
    c.reset();
    const parts: Buffer[] = [];
    for (let pos = 0; pos < data.length; pos += 128 * KiB) parts.push(Buffer.from(await readAt(fh, pos, 128 * KiB)));
    assert.ok(Buffer.concat(parts).equals(data));
    for (const pos of [1 * MiB, 3 * MiB, 2 * MiB]) assert.deepEqual(await readAt(fh, pos, 4096), data.subarray(pos, pos + 4096));
    assert.equal((await readAt(fh, data.length - 10, 100)).length, 10, 'short at the end');
    assert.equal(c.calls.get('openReader'), 1, 'one reader for 52 requests');
    assert.equal(c.calls.get('read'), undefined);
    // A commit through the handle makes a new version: the next read sees it.
    await ops.write('/', fh, Buffer.from('new'), 3, 5 * MiB);
    await ops.flush('/read.bin', fh);
    assert.equal((await readAt(fh, 5 * MiB, 3)).toString(), 'new');
    assert.equal(c.calls.get('openReader'), 2);
    await ops.release('/', fh);
  });

  it('renaming a file being written commits it, and writes go on under the new name', async () => {
    const fh = await ops.create('/a.txt', 0o100600);
    await ops.write('/', fh, Buffer.from('abc'), 3, 0);
    await ops.rename('/a.txt', '/b.txt');
    assert.equal((await content('/b.txt')).toString(), 'abc');
    assert.equal((await core.vfs.stat('/b.txt')).mode, 0o600, 'create mode kept');
    await ops.write('/', fh, Buffer.from('def'), 3, 3);
    assert.equal((await ops.getattr('/b.txt')).size, 6);
    await ops.release('/b.txt', fh);
    assert.equal((await content('/b.txt')).toString(), 'abcdef');
    assert.equal(await core.vfs.tryStat('/a.txt'), undefined);
  });

  it('a second descriptor opens a create not committed yet; its close does not end the stream', async () => {
    c.reset();
    const w = await ops.create('/shared.bin', 0o100644);
    await ops.write('/', w, Buffer.alloc(1000, 1), 1000, 0);
    const r = await ops.open('/shared.bin', 0);
    await ops.flush('/', r);
    await ops.release('/', r);
    assert.equal(await core.vfs.tryStat('/shared.bin'), undefined, 'still streaming');
    await ops.write('/', w, Buffer.alloc(1000, 2), 1000, 1000);
    await ops.flush('/', w);
    await ops.release('/', w);
    assert.deepEqual(await content('/shared.bin'), Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(1000, 2)]));
    assert.equal(c.calls.get('write'), 1, 'one FileSystem.write for the whole file');
  });

  it('attributes: modes, owners, times; defaults for nodes without them', async () => {
    await ops.mkdir('/d', 0o40700);
    assert.equal((await ops.getattr('/d')).mode & 0o7777, 0o700);
    const fh = await ops.create('/d/f', 0o100644);
    await ops.write('/', fh, Buffer.from('x'), 1, 0);
    await ops.utimens('/d/f', 981173106000);
    await ops.release('/', fh);
    const st = await core.vfs.stat('/d/f');
    assert.equal(st.mtimeMs, 981173106000, 'utimens after writes survives the commit at close');
    await ops.chown('/d/f', 0xffffffff, 42);
    await ops.chmod('/d/f', 0o100640);
    const attr = await ops.getattr('/d/f');
    assert.deepEqual([attr.mode & 0o7777, attr.uid, attr.gid], [0o640, 1000, 42]);
    now = 1_800_000_000_000;
    await ops.utimens('/d/f', 1073); // UTIME_NOW as fuse-native hands it over
    assert.equal((await core.vfs.stat('/d/f')).mtimeMs, now);
    await core.vfs.write('/plain', (async function* () { yield Buffer.from('p'); })());
    const plain = await ops.getattr('/plain');
    assert.deepEqual([plain.mode, plain.uid, plain.gid, plain.nlink], [0o100644, 1000, 100, 1]);
  });

  it('POSIX refusals: unlink of a folder, rmdir of a file or a folder with files, rename over a non-empty folder', async () => {
    await ops.mkdir('/p', 0o40755);
    await ops.mkdir('/p/q', 0o40755);
    const fh = await ops.create('/p/q/open', 0o100644);
    await assert.rejects(ops.unlink('/p'), { code: 'EISDIR' });
    await assert.rejects(ops.rmdir('/p/q'), { code: 'ENOTEMPTY' }, 'an uncommitted create counts');
    await ops.release('/', fh);
    await assert.rejects(ops.rmdir('/p/q/open'), { code: 'ENOTDIR' });
    await ops.mkdir('/r', 0o40755);
    await assert.rejects(ops.rename('/r', '/p'), { code: 'ENOTEMPTY' });
    await ops.unlink('/p/q/open');
    await ops.rmdir('/p/q');
    await ops.rename('/r', '/p');
    assert.equal((await core.vfs.stat('/p')).kind, 'dir');
    const sfs = await ops.statfs('/');
    assert.ok(sfs.blocks >= sfs.bfree && sfs.bsize > 0 && sfs.namemax === 255);
  });
});
