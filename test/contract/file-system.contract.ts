// The behaviour every FileSystem must show (vfs/file-system.ts): run against the in-process Vfs and
// against RemoteFileSystem talking to a real `davfs-bridge serve` (file-system.test.ts). Each test
// works in a folder of its own, so one instance serves the whole suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFsError, type FsErrorCode } from '../../src/core/errors.js';
import type { FileSystem } from '../../src/vfs/file-system.js';
import type { ByteRange, Stat } from '../../src/vfs/types.js';
import { bytesOf, pseudoRandomBytes, readAll } from '../helpers/core.js';

export interface FileSystemUnderTest {
  fs: FileSystem;
  close(): Promise<void>;
}

/** Asserts that `p` rejects with an FsError of `code`. */
export async function rejectsWith(p: Promise<unknown>, code: FsErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isFsError(err), `expected FsError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export function fileSystemContract(name: string, open: () => Promise<FileSystemUnderTest>): void {
  describe(`FileSystem contract: ${name}`, () => {
    let sut: FileSystemUnderTest;
    let fs: FileSystem;
    let cases = 0;
    before(async () => {
      sut = await open();
      fs = sut.fs;
    });
    after(async () => {
      await sut.close();
    });

    /** A new empty folder for one test. */
    const folder = async () => (await fs.mkdir(`/case-${++cases}`)).path;
    const put = (path: string, data: string | Buffer) => fs.write(path, bytesOf(Buffer.from(data), 5000));
    const bytes = async (path: string, range?: ByteRange) => readAll((await fs.read(path, range)).body);
    const text = async (path: string, range?: ByteRange) => (await bytes(path, range)).toString();
    const names = async (path: string) => {
      const out: string[] = [];
      for await (const s of fs.list(path)) out.push(s.name);
      return out;
    };

    describe('stat and list', () => {
      it('stats the root as a folder', async () => {
        const root = await fs.stat('/');
        assert.equal(root.kind, 'dir');
        assert.equal(root.path, '/');
        assert.equal(root.etag, null);
      });

      it('stats files and folders with size, strong ETag and stable ids', async () => {
        const d = await folder();
        const w = await put(`${d}/a.txt`, 'hello');
        const st = await fs.stat(`${d}/a.txt`);
        assert.equal(st.kind, 'file');
        assert.equal(st.name, 'a.txt');
        assert.equal(st.path, `${d}/a.txt`);
        assert.equal(st.size, 5);
        assert.equal(typeof st.etag, 'string');
        assert.equal(st.etag, w.stat.etag);
        assert.ok(Number.isSafeInteger(st.id) && st.id > 0);
        assert.equal((await fs.stat(`${d}/a.txt`)).id, st.id, 'the same path keeps its id');
        assert.notEqual((await fs.stat(d)).id, st.id);
        assert.ok(st.mtimeMs > Date.now() - 60_000 && st.mtimeMs <= Date.now() + 5000, 'mtime is about now');
        const dir = await fs.stat(d);
        assert.equal(dir.kind, 'dir');
        assert.equal(dir.etag, null);
        assert.equal(dir.size, 0);
      });

      it('normalises paths (trailing slash, dot segments)', async () => {
        const d = await folder();
        await put(`${d}/n.txt`, 'x');
        assert.equal((await fs.stat(`${d}/./n.txt`)).path, `${d}/n.txt`);
        assert.equal((await fs.stat(`${d}/`)).path, d);
      });

      it('tells missing paths from paths through a file', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        await rejectsWith(fs.stat(`${d}/nope`), 'ENOENT');
        assert.equal(await fs.tryStat(`${d}/nope`), undefined);
        assert.equal(await fs.tryStat(`${d}/nope/deeper`), undefined);
        await rejectsWith(fs.stat(`${d}/f/x`), 'ENOTDIR');
        await rejectsWith(fs.tryStat(`${d}/f/x`), 'ENOTDIR');
      });

      it('lists a folder in name order with the same stats and ids as stat', async () => {
        const d = await folder();
        for (const n of ['b.txt', 'a.txt', 'c']) await put(`${d}/${n}`, n);
        await fs.mkdir(`${d}/sub`);
        const listed: Stat[] = [];
        for await (const s of fs.list(d)) listed.push(s);
        assert.deepEqual(
          listed.map((s) => [s.name, s.kind, s.size]),
          [
            ['a.txt', 'file', 5],
            ['b.txt', 'file', 5],
            ['c', 'file', 1],
            ['sub', 'dir', 0],
          ],
        );
        for (const s of listed) {
          const st = await fs.stat(s.path);
          assert.equal(st.id, s.id, s.path);
          assert.equal(st.etag, s.etag, s.path);
        }
        assert.deepEqual(await names(`${d}/sub`), []);
      });

      it('refuses to list a file or a missing folder', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        await rejectsWith(names(`${d}/f`), 'ENOTDIR');
        await rejectsWith(names(`${d}/missing`), 'ENOENT');
      });

      it('keeps names with spaces, unicode and URL-special characters', async () => {
        const d = await folder();
        const odd = ['a b.txt', 'é ü.txt', '50% #1?&=.txt', 'x+y;z@w.txt'];
        for (const n of odd) await put(`${d}/${n}`, n);
        assert.deepEqual((await names(d)).sort(), [...odd].sort());
        for (const n of odd) assert.equal(await text(`${d}/${n}`), n);
      });
    });

    describe('read', () => {
      it('reads whole files and inclusive ranges, across many chunks or blocks', async () => {
        const d = await folder();
        const data = pseudoRandomBytes(300_000, 7);
        await fs.write(`${d}/big`, bytesOf(data, 65_536));
        assert.ok((await bytes(`${d}/big`)).equals(data));
        for (const [start, end] of [
          [0, 0],
          [0, 99],
          [65_530, 65_545],
          [100_000, 231_071],
          [299_999, 299_999],
          [1, 299_998],
        ] as const) {
          assert.ok((await bytes(`${d}/big`, { start, end })).equals(data.subarray(start, end + 1)), `${start}-${end}`);
        }
        const { stat } = await fs.read(`${d}/big`, { start: 5, end: 6 });
        assert.equal(stat.size, data.length);
      });

      it('reads an empty file as no bytes', async () => {
        const d = await folder();
        await put(`${d}/empty`, '');
        assert.equal((await bytes(`${d}/empty`)).length, 0);
        assert.equal((await fs.stat(`${d}/empty`)).size, 0);
      });

      it('refuses folders, missing files and ranges outside the file', async () => {
        const d = await folder();
        await put(`${d}/f`, '0123456789');
        await rejectsWith(fs.read(d), 'EISDIR');
        await rejectsWith(fs.read(`${d}/missing`), 'ENOENT');
        await rejectsWith(fs.read(`${d}/f`, { start: 5, end: 10 }), 'EINVAL');
        await rejectsWith(fs.read(`${d}/f`, { start: -1, end: 2 }), 'EINVAL');
        await rejectsWith(fs.read(`${d}/f`, { start: 6, end: 5 }), 'EINVAL');
      });

      it('sees its own changes at once', async () => {
        const d = await folder();
        await put(`${d}/f`, 'first');
        assert.equal(await text(`${d}/f`), 'first');
        await put(`${d}/f`, 'second version');
        assert.equal(await text(`${d}/f`), 'second version');
        await fs.writeRange(`${d}/f`, 0, 6, bytesOf(Buffer.from('SECOND')));
        assert.equal(await text(`${d}/f`), 'SECOND version');
      });
    });

    describe('write', () => {
      it('creates, then replaces, with created flags and new ETags', async () => {
        const d = await folder();
        const a = await put(`${d}/f`, 'one');
        assert.equal(a.created, true);
        assert.equal(a.stat.size, 3);
        const b = await put(`${d}/f`, 'two!');
        assert.equal(b.created, false);
        assert.equal(b.stat.size, 4);
        assert.notEqual(b.stat.etag, a.stat.etag);
        assert.equal(await text(`${d}/f`), 'two!');
      });

      it('records the content type and the mtime it is given', async () => {
        const d = await folder();
        const mtimeMs = 1_600_000_000_123;
        const w = await fs.write(`${d}/t`, bytesOf(Buffer.from('x')), { contentType: 'text/x-contract', mtimeMs });
        assert.equal(w.stat.mtimeMs, mtimeMs);
        const st = await fs.stat(`${d}/t`);
        assert.equal(st.contentType, 'text/x-contract');
        assert.equal(st.mtimeMs, mtimeMs);
      });

      it('checks expectedSize and commits nothing when the body is another length', async () => {
        const d = await folder();
        await rejectsWith(fs.write(`${d}/short`, bytesOf(Buffer.from('abc')), { expectedSize: 10 }), 'EINVAL');
        assert.equal(await fs.tryStat(`${d}/short`), undefined);
        await put(`${d}/kept`, 'old');
        await rejectsWith(fs.write(`${d}/kept`, bytesOf(Buffer.from('much too long')), { expectedSize: 4 }), 'EINVAL');
        assert.equal(await text(`${d}/kept`), 'old');
        assert.equal((await fs.write(`${d}/exact`, bytesOf(Buffer.from('abcd')), { expectedSize: 4 })).stat.size, 4);
      });

      it('writes conditionally on the ETag (If-Match) or on absence (If-None-Match: *)', async () => {
        const d = await folder();
        const v1 = await put(`${d}/c`, 'v1');
        const v2 = await fs.write(`${d}/c`, bytesOf(Buffer.from('v2')), { ifEtag: v1.stat.etag });
        assert.equal(await text(`${d}/c`), 'v2');
        await rejectsWith(fs.write(`${d}/c`, bytesOf(Buffer.from('v3')), { ifEtag: v1.stat.etag }), 'EPRECONDITION');
        await rejectsWith(fs.write(`${d}/c`, bytesOf(Buffer.from('v3')), { ifEtag: null }), 'EPRECONDITION');
        assert.equal(await text(`${d}/c`), 'v2');
        assert.equal((await fs.stat(`${d}/c`)).etag, v2.stat.etag);
        const created = await fs.write(`${d}/new`, bytesOf(Buffer.from('n')), { ifEtag: null });
        assert.equal(created.created, true);
        await rejectsWith(fs.write(`${d}/ghost`, bytesOf(Buffer.from('g')), { ifEtag: v2.stat.etag! }), 'EPRECONDITION');
        assert.equal(await fs.tryStat(`${d}/ghost`), undefined);
      });

      it('refuses folders and missing or file parents', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        await rejectsWith(put(d, 'x'), 'EISDIR');
        await rejectsWith(put(`${d}/missing/f`, 'x'), 'ENOENT');
        await rejectsWith(put(`${d}/f/g`, 'x'), 'ENOTDIR');
      });
    });

    describe('writeRange and truncate', () => {
      it('overwrites, appends and zero-fills a gap', async () => {
        const d = await folder();
        await put(`${d}/r`, '0123456789');
        await fs.writeRange(`${d}/r`, 2, 3, bytesOf(Buffer.from('abc')));
        assert.equal(await text(`${d}/r`), '01abc56789');
        await fs.writeRange(`${d}/r`, 10, 2, bytesOf(Buffer.from('XY')));
        assert.equal(await text(`${d}/r`), '01abc56789XY');
        const res = await fs.writeRange(`${d}/r`, 15, 1, bytesOf(Buffer.from('Z')));
        assert.equal(res.created, false);
        assert.equal(res.stat.size, 16);
        assert.deepEqual(await bytes(`${d}/r`), Buffer.concat([Buffer.from('01abc56789XY'), Buffer.alloc(3), Buffer.from('Z')]));
      });

      it('creates a missing file zero-filled up to the offset', async () => {
        const d = await folder();
        const res = await fs.writeRange(`${d}/new`, 4, 2, bytesOf(Buffer.from('hi')));
        assert.equal(res.created, true);
        assert.deepEqual(await bytes(`${d}/new`), Buffer.concat([Buffer.alloc(4), Buffer.from('hi')]));
      });

      it('rewrites a range inside a large file, keeping the rest', async () => {
        const d = await folder();
        const data = pseudoRandomBytes(200_000, 11);
        await fs.write(`${d}/big`, bytesOf(data, 40_000));
        const patch = pseudoRandomBytes(1000, 12);
        await fs.writeRange(`${d}/big`, 100_000, patch.length, bytesOf(patch, 300));
        const expected = Buffer.from(data);
        patch.copy(expected, 100_000);
        assert.ok((await bytes(`${d}/big`)).equals(expected));
      });

      it('is conditional on ifEtag and checks the body length', async () => {
        const d = await folder();
        const v1 = await put(`${d}/r`, 'abcdef');
        await fs.writeRange(`${d}/r`, 0, 1, bytesOf(Buffer.from('A')), { ifEtag: v1.stat.etag });
        await rejectsWith(fs.writeRange(`${d}/r`, 0, 1, bytesOf(Buffer.from('B')), { ifEtag: v1.stat.etag }), 'EPRECONDITION');
        await rejectsWith(fs.writeRange(`${d}/r`, 1, 3, bytesOf(Buffer.from('toolong'))), 'EINVAL');
        await rejectsWith(fs.writeRange(`${d}/r`, -1, 1, bytesOf(Buffer.from('x'))), 'EINVAL');
        assert.equal(await text(`${d}/r`), 'Abcdef');
        await rejectsWith(fs.writeRange(d, 0, 1, bytesOf(Buffer.from('x'))), 'EISDIR');
      });

      it('truncates down, up (zeros) and to the same size', async () => {
        const d = await folder();
        await put(`${d}/t`, '0123456789');
        assert.equal((await fs.truncate(`${d}/t`, 4)).size, 4);
        assert.equal(await text(`${d}/t`), '0123');
        assert.equal((await fs.truncate(`${d}/t`, 6)).size, 6);
        assert.deepEqual(await bytes(`${d}/t`), Buffer.concat([Buffer.from('0123'), Buffer.alloc(2)]));
        assert.equal((await fs.truncate(`${d}/t`, 6)).size, 6);
        assert.equal((await fs.truncate(`${d}/t`, 300_000)).size, 300_000);
        assert.deepEqual(await bytes(`${d}/t`), Buffer.concat([Buffer.from('0123'), Buffer.alloc(300_000 - 4)]), 'a large growth is zeros');
        assert.equal((await fs.truncate(`${d}/t`, 0)).size, 0);
        assert.equal((await bytes(`${d}/t`)).length, 0);
        const data = pseudoRandomBytes(150_000, 3);
        await fs.write(`${d}/big`, bytesOf(data, 50_000));
        await fs.truncate(`${d}/big`, 70_001);
        assert.ok((await bytes(`${d}/big`)).equals(data.subarray(0, 70_001)));
      });

      it('refuses to truncate folders, missing files and negative sizes', async () => {
        const d = await folder();
        await put(`${d}/t`, 'x');
        await rejectsWith(fs.truncate(d, 0), 'EISDIR');
        await rejectsWith(fs.truncate(`${d}/missing`, 0), 'ENOENT');
        await rejectsWith(fs.truncate(`${d}/t`, -1), 'EINVAL');
      });
    });

    describe('mkdir and remove', () => {
      it('creates folders, refusing existing names and missing or file parents', async () => {
        const d = await folder();
        const sub = await fs.mkdir(`${d}/sub`);
        assert.equal(sub.kind, 'dir');
        assert.equal(sub.path, `${d}/sub`);
        await rejectsWith(fs.mkdir(`${d}/sub`), 'EEXIST');
        await put(`${d}/f`, 'x');
        await rejectsWith(fs.mkdir(`${d}/f`), 'EEXIST');
        await rejectsWith(fs.mkdir(`${d}/missing/sub`), 'ENOENT');
        await rejectsWith(fs.mkdir(`${d}/f/sub`), 'ENOTDIR');
        await rejectsWith(fs.mkdir('/'), 'EEXIST');
      });

      it('creates missing parents with `parents`, and accepts what exists', async () => {
        const d = await folder();
        const deep = await fs.mkdir(`${d}/a/b/c`, { parents: true });
        assert.equal(deep.kind, 'dir');
        assert.equal((await fs.stat(`${d}/a/b`)).kind, 'dir');
        assert.equal((await fs.mkdir(`${d}/a/b`, { parents: true })).path, `${d}/a/b`);
        assert.equal((await fs.mkdir('/', { parents: true })).path, '/');
        await put(`${d}/a/file`, 'x');
        await rejectsWith(fs.mkdir(`${d}/a/file/x`, { parents: true }), 'ENOTDIR');
        await rejectsWith(fs.mkdir(`${d}/a/file`, { parents: true }), 'ENOTDIR');
      });

      it('removes files, empty folders, and non-empty ones only with `recursive`', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        await fs.remove(`${d}/f`);
        assert.equal(await fs.tryStat(`${d}/f`), undefined);
        await fs.mkdir(`${d}/empty`);
        await fs.remove(`${d}/empty`);
        assert.equal(await fs.tryStat(`${d}/empty`), undefined);
        await fs.mkdir(`${d}/full/deeper`, { parents: true });
        await put(`${d}/full/deeper/f`, 'x');
        await rejectsWith(fs.remove(`${d}/full`), 'ENOTEMPTY');
        await fs.remove(`${d}/full`, { recursive: true });
        assert.equal(await fs.tryStat(`${d}/full/deeper/f`), undefined);
        assert.deepEqual(await names(d), []);
        await rejectsWith(fs.remove(`${d}/missing`), 'ENOENT');
        await rejectsWith(fs.remove('/'), 'EACCES');
      });

      it('gives a new file at a removed path new contents', async () => {
        const d = await folder();
        await put(`${d}/f`, 'before');
        assert.equal(await text(`${d}/f`), 'before');
        await fs.remove(`${d}/f`);
        await put(`${d}/f`, 'after!');
        assert.equal(await text(`${d}/f`), 'after!');
      });
    });

    describe('move and copy', () => {
      it('renames a file, keeping its content and ETag', async () => {
        const d = await folder();
        const w = await put(`${d}/a`, 'content');
        const { stat, replaced } = await fs.move(`${d}/a`, `${d}/b`);
        assert.equal(replaced, false);
        assert.equal(stat.path, `${d}/b`);
        assert.equal(stat.etag, w.stat.etag);
        assert.equal(await fs.tryStat(`${d}/a`), undefined);
        assert.equal(await text(`${d}/b`), 'content');
        assert.equal((await fs.move(`${d}/b`, `${d}/b`)).replaced, false, 'moving onto itself changes nothing');
      });

      it('moves over an existing file only with `overwrite`', async () => {
        const d = await folder();
        await put(`${d}/a`, 'new');
        await put(`${d}/b`, 'old');
        await rejectsWith(fs.move(`${d}/a`, `${d}/b`), 'EEXIST');
        assert.equal(await text(`${d}/b`), 'old');
        const { replaced } = await fs.move(`${d}/a`, `${d}/b`, { overwrite: true });
        assert.equal(replaced, true);
        assert.equal(await text(`${d}/b`), 'new');
        assert.deepEqual(await names(d), ['b']);
      });

      it('moves a folder with everything in it', async () => {
        const d = await folder();
        await fs.mkdir(`${d}/src/inner`, { parents: true });
        await put(`${d}/src/inner/f`, 'deep');
        const moved = await fs.move(`${d}/src`, `${d}/dst`);
        assert.equal(moved.stat.kind, 'dir');
        assert.equal(await text(`${d}/dst/inner/f`), 'deep');
        assert.equal(await fs.tryStat(`${d}/src`), undefined);
        await rejectsWith(fs.move(`${d}/dst`, `${d}/dst/inner/x`), 'EINVAL');
      });

      it('refuses missing sources and missing destination parents', async () => {
        const d = await folder();
        await put(`${d}/a`, 'x');
        await rejectsWith(fs.move(`${d}/missing`, `${d}/b`), 'ENOENT');
        await rejectsWith(fs.move(`${d}/a`, `${d}/missing/b`), 'ENOENT');
        await rejectsWith(fs.copy(`${d}/missing`, `${d}/b`), 'ENOENT');
        await rejectsWith(fs.copy(`${d}/a`, `${d}/missing/b`), 'ENOENT');
        await rejectsWith(fs.move('/', `${d}/root`), 'EINVAL');
      });

      it('copies files and trees; without `recursive` a folder alone', async () => {
        const d = await folder();
        await fs.mkdir(`${d}/tree/sub`, { parents: true });
        await put(`${d}/tree/sub/f`, 'leaf');
        const c = await fs.copy(`${d}/tree/sub/f`, `${d}/f2`);
        assert.equal(c.replaced, false);
        assert.equal(await text(`${d}/f2`), 'leaf');
        assert.equal(await text(`${d}/tree/sub/f`), 'leaf');
        await fs.copy(`${d}/tree`, `${d}/tree2`);
        assert.equal(await text(`${d}/tree2/sub/f`), 'leaf');
        await fs.copy(`${d}/tree`, `${d}/shallow`, { recursive: false });
        assert.equal((await fs.stat(`${d}/shallow`)).kind, 'dir');
        assert.deepEqual(await names(`${d}/shallow`), []);
        await rejectsWith(fs.copy(`${d}/tree`, `${d}/tree/sub/x`), 'EINVAL');
        await rejectsWith(fs.copy(`${d}/f2`, `${d}/f2`), 'EINVAL');
      });

      it('copies over an existing file only with `overwrite`', async () => {
        const d = await folder();
        await put(`${d}/a`, 'A');
        await put(`${d}/b`, 'B');
        await rejectsWith(fs.copy(`${d}/a`, `${d}/b`), 'EEXIST');
        const c = await fs.copy(`${d}/a`, `${d}/b`, { overwrite: true });
        assert.equal(c.replaced, true);
        assert.equal(await text(`${d}/b`), 'A');
        await fs.writeRange(`${d}/b`, 0, 1, bytesOf(Buffer.from('C')));
        assert.equal(await text(`${d}/a`), 'A', 'a copy is independent of its source');
      });
    });

    describe('properties and attributes', () => {
      const color = (v: string) => ({ ns: 'urn:example:', name: 'color', value: `<ns0:color xmlns:ns0="urn:example:">${v}</ns0:color>` });
      const size = { ns: 'urn:example:', name: 'size', value: '<ns0:size xmlns:ns0="urn:example:">L</ns0:size>' };

      it('sets, replaces and removes dead properties', async () => {
        const d = await folder();
        await put(`${d}/p`, 'x');
        assert.deepEqual(await fs.getProps(`${d}/p`), []);
        await fs.patchProps(`${d}/p`, [
          { op: 'set', prop: color('red') },
          { op: 'set', prop: size },
        ]);
        assert.deepEqual(await fs.getProps(`${d}/p`), [color('red'), size]);
        await fs.patchProps(`${d}/p`, [
          { op: 'set', prop: color('blue') },
          { op: 'remove', ns: 'urn:example:', name: 'size' },
        ]);
        assert.deepEqual(await fs.getProps(`${d}/p`), [color('blue')]);
        await fs.patchProps(d, [{ op: 'set', prop: color('green') }]);
        assert.deepEqual(await fs.getProps(d), [color('green')]);
        await rejectsWith(fs.getProps(`${d}/missing`), 'ENOENT');
        await rejectsWith(fs.patchProps(`${d}/missing`, [{ op: 'set', prop: size }]), 'ENOENT');
      });

      it('keeps namespaces, attributes, nested elements and no-namespace names in values', async () => {
        const d = await folder();
        await put(`${d}/p`, 'x');
        const nested = {
          ns: 'urn:example:',
          name: 'author',
          value: '<ns0:author xmlns:ns0="urn:example:" xmlns:ns1="urn:other:" ns1:role="lead" xml:lang="en"><ns0:name>Ann &amp; Bo</ns0:name><ns1:mail>a@b.c</ns1:mail></ns0:author>',
        };
        const plain = { ns: '', name: 'plain', value: '<plain xmlns="">text &lt;here&gt;</plain>' };
        await fs.patchProps(`${d}/p`, [
          { op: 'set', prop: nested },
          { op: 'set', prop: plain },
        ]);
        assert.deepEqual(await fs.getProps(`${d}/p`), [plain, nested]);
      });

      it('gives the properties of many stats at once, and takes them along on move and copy', async () => {
        const d = await folder();
        for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) await put(`${d}/${n}`, n);
        await fs.patchProps(`${d}/b`, [{ op: 'set', prop: color('b') }]);
        await fs.patchProps(`${d}/e`, [{ op: 'set', prop: color('e') }]);
        const stats: Stat[] = [];
        for await (const s of fs.list(d)) stats.push(s);
        const props = await fs.propsOf([...stats, await fs.stat(d)]);
        const byName = new Map(stats.map((s) => [s.name, props.get(s.id)]));
        assert.deepEqual(byName.get('b'), [color('b')]);
        assert.deepEqual(byName.get('e'), [color('e')]);
        assert.equal(byName.get('a'), undefined);
        assert.equal(props.get((await fs.stat(d)).id), undefined);
        const few = await fs.propsOf([await fs.stat(`${d}/b`)]);
        assert.deepEqual([...few.values()], [[color('b')]]);
        await fs.move(`${d}/b`, `${d}/b2`);
        assert.deepEqual(await fs.getProps(`${d}/b2`), [color('b')]);
        await fs.copy(`${d}/e`, `${d}/e2`);
        assert.deepEqual(await fs.getProps(`${d}/e2`), [color('e')]);
      });

      it('sets and clears mode, uid and gid, and sets mtime to the millisecond', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        const before = await fs.stat(`${d}/f`);
        assert.equal(before.mode, null);
        const st = await fs.setAttributes(`${d}/f`, { mode: 0o100640, uid: 1000, gid: 100 });
        assert.deepEqual([st.mode, st.uid, st.gid], [0o100640, 1000, 100]);
        const again = await fs.stat(`${d}/f`);
        assert.deepEqual([again.mode, again.uid, again.gid], [0o100640, 1000, 100]);
        assert.equal(again.etag, before.etag, 'attributes do not change the content');
        const cleared = await fs.setAttributes(`${d}/f`, { uid: null });
        assert.deepEqual([cleared.mode, cleared.uid, cleared.gid], [0o100640, null, 100]);
        const mtimeMs = 1_500_000_000_789;
        assert.equal((await fs.setAttributes(`${d}/f`, { mtimeMs })).mtimeMs, mtimeMs);
        assert.equal((await fs.stat(`${d}/f`)).mtimeMs, mtimeMs);
        const dirTime = 1_400_000_000_001;
        assert.equal((await fs.setAttributes(d, { mtimeMs: dirTime, mode: 0o40755 })).mtimeMs, dirTime);
        assert.equal((await fs.stat(d)).mode, 0o40755);
        assert.deepEqual(await fs.getProps(`${d}/f`), [], 'attributes are not dead properties');
        await rejectsWith(fs.setAttributes(`${d}/missing`, { mode: 0o644 }), 'ENOENT');
      });

      it('moves mtime on when the content changes', async () => {
        const d = await folder();
        await put(`${d}/f`, 'x');
        await fs.setAttributes(`${d}/f`, { mtimeMs: 1_000_000_000_000 });
        await put(`${d}/f`, 'changed');
        assert.ok((await fs.stat(`${d}/f`)).mtimeMs > Date.now() - 60_000, 'a write sets mtime to now');
      });
    });

    describe('usage', () => {
      it('reports the bytes used, and no limit without a quota', async () => {
        const d = await folder();
        const before = await fs.usage(d);
        await fs.write(`${d}/u`, bytesOf(pseudoRandomBytes(10_000, 5)));
        const after = await fs.usage(d);
        assert.ok(after.usedBytes >= before.usedBytes + 10_000, `${before.usedBytes} → ${after.usedBytes}`);
        assert.equal(after.availableBytes, null);
        await rejectsWith(fs.usage(`${d}/missing`), 'ENOENT');
      });
    });
  });
}
