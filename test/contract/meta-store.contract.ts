// The MetaStore contract suite, run against every implementation (SQLite now, PostgreSQL later).
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../src/core/errors.js';
import { ROOT_ID, type MetaStore, type NewContent } from '../../src/meta/meta-store.js';

const chunked = (hashes: [string, number][], etag = hashes.map((h) => h[0]).join('+')): NewContent => ({
  size: hashes.reduce((n, h) => n + h[1], 0),
  etag,
  inline: null,
  chunks: hashes.map(([hash, length]) => ({ hash, length })),
});
const inline = (text: string): NewContent => ({ size: Buffer.byteLength(text), etag: `i-${text}`, inline: Buffer.from(text), chunks: [] });

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof FsError && err.code === code);
}

export function metaStoreContract(name: string, factory: () => Promise<MetaStore>): void {
  describe(`MetaStore contract: ${name}`, () => {
    let m: MetaStore;
    beforeEach(async () => {
      m = await factory();
      await m.open();
    });
    afterEach(async () => {
      assert.deepEqual(await m.checkConsistency(), []);
      await m.close();
    });

    it('has a root folder and reopens idempotently', async () => {
      const root = await m.getNode(ROOT_ID);
      assert.equal(root?.kind, 'dir');
      await m.open();
      assert.equal((await m.listChildren(ROOT_ID, null, 10)).length, 0);
    });

    it('records settings once', async () => {
      assert.equal(await m.initSetting('k', 'a'), 'a');
      assert.equal(await m.initSetting('k', 'b'), 'a');
      assert.equal(await m.getSetting('k'), 'a');
      assert.equal(await m.getSetting('missing'), undefined);
    });

    it('creates folders and refuses duplicates and missing parents', async () => {
      const d = await m.createDir(ROOT_ID, 'docs', 1000);
      assert.equal((await m.lookup(ROOT_ID, 'docs'))?.id, d.id);
      await rejectsCode(m.createDir(ROOT_ID, 'docs', 1), 'EEXIST');
      await rejectsCode(m.createDir(99999, 'x', 1), 'ENOENT');
      const f = await m.commitFile({ parentId: ROOT_ID, name: 'f', content: inline('hi'), mtimeMs: 5 });
      await rejectsCode(m.createDir(f.node.id, 'x', 1), 'ENOTDIR');
    });

    it('commits, replaces and counts chunk references', async () => {
      const a = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: chunked([['h1', 10], ['h2', 5]]), mtimeMs: 7 });
      assert.equal(a.created, true);
      assert.equal(a.node.size, 15);
      assert.equal(a.node.mtimeMs, 7);
      const body = await m.readContent(a.node.contentId!);
      assert.deepEqual(body.chunks, [
        { hash: 'h1', offset: 0, length: 10 },
        { hash: 'h2', offset: 10, length: 5 },
      ]);
      assert.deepEqual(await m.knownChunks(['h1', 'h2', 'h3']), new Set(['h1', 'h2']));
      const b = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: chunked([['h2', 5], ['h3', 1]]), mtimeMs: 8 });
      assert.equal(b.created, false);
      assert.equal(b.node.id, a.node.id);
      // h1 is no longer referenced: not "known" (GC may take it), but its row stays for the grace period.
      assert.deepEqual(await m.knownChunks(['h1', 'h2', 'h3']), new Set(['h2', 'h3']));
      const rows = [];
      for await (const c of m.listChunks()) rows.push(c);
      assert.deepEqual(rows.map((r) => [r.hash, r.refcount]), [['h1', 0], ['h2', 1], ['h3', 1]]);
    });

    it('finds the chunks covering a range', async () => {
      const a = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: chunked([['c0', 10], ['c1', 10], ['c2', 10]]), mtimeMs: 1 });
      const id = a.node.contentId!;
      assert.deepEqual((await m.chunksInRange(id, 0, 0)).map((c) => c.hash), ['c0']);
      assert.deepEqual((await m.chunksInRange(id, 9, 10)).map((c) => c.hash), ['c0', 'c1']);
      assert.deepEqual((await m.chunksInRange(id, 25, 29)).map((c) => c.hash), ['c2']);
      assert.deepEqual((await m.chunksInRange(id, 0, 29)).map((c) => c.hash), ['c0', 'c1', 'c2']);
    });

    it('honours expectContentId for conditional commits', async () => {
      await rejectsCode(m.commitFile({ parentId: ROOT_ID, name: 'a', content: inline('x'), mtimeMs: 1, expectContentId: 123 }), 'EPRECONDITION');
      const a = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: inline('x'), mtimeMs: 1, expectContentId: null });
      await rejectsCode(m.commitFile({ parentId: ROOT_ID, name: 'a', content: inline('y'), mtimeMs: 1, expectContentId: null }), 'EPRECONDITION');
      const b = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: inline('y'), mtimeMs: 1, expectContentId: a.node.contentId });
      assert.equal((await m.readContent(b.node.contentId!)).inline?.toString(), 'y');
    });

    it('refuses to put a file where a folder is', async () => {
      await m.createDir(ROOT_ID, 'd', 1);
      await rejectsCode(m.commitFile({ parentId: ROOT_ID, name: 'd', content: inline('x'), mtimeMs: 1 }), 'EISDIR');
    });

    it('shares identical contents and frees them with the last reference', async () => {
      const c = chunked([['s1', 3]]);
      const a = await m.commitFile({ parentId: ROOT_ID, name: 'a', content: c, mtimeMs: 1 });
      const b = await m.commitFile({ parentId: ROOT_ID, name: 'b', content: c, mtimeMs: 1 });
      assert.equal(a.node.contentId, b.node.contentId);
      await m.remove(a.node.id, false);
      assert.deepEqual(await m.knownChunks(['s1']), new Set(['s1']));
      await m.remove(b.node.id, false);
      assert.deepEqual(await m.knownChunks(['s1']), new Set());
    });

    it('lists children in name order with keyset paging', async () => {
      for (const n of ['b', 'a', 'd', 'c', 'e']) await m.createDir(ROOT_ID, n, 1);
      const p1 = await m.listChildren(ROOT_ID, null, 2);
      const p2 = await m.listChildren(ROOT_ID, p1[1]!.name, 2);
      const p3 = await m.listChildren(ROOT_ID, p2[1]!.name, 2);
      assert.deepEqual([...p1, ...p2, ...p3].map((n) => n.name), ['a', 'b', 'c', 'd', 'e']);
    });

    it('removes recursively only when asked, releasing every reference', async () => {
      const d = await m.createDir(ROOT_ID, 'd', 1);
      const e = await m.createDir(d.id, 'e', 1);
      await m.commitFile({ parentId: e.id, name: 'f', content: chunked([['r1', 4]]), mtimeMs: 1 });
      await m.patchProps(e.id, [{ op: 'set', prop: { ns: 'urn:x', name: 'p', value: 'v' } }]);
      await rejectsCode(m.remove(d.id, false), 'ENOTEMPTY');
      await m.remove(d.id, true);
      assert.equal(await m.lookup(ROOT_ID, 'd'), undefined);
      assert.deepEqual(await m.knownChunks(['r1']), new Set());
      await rejectsCode(m.remove(ROOT_ID, true), 'EACCES');
    });

    it('moves in one step, with overwrite rules, never into itself', async () => {
      const d = await m.createDir(ROOT_ID, 'd', 1);
      const sub = await m.createDir(d.id, 'sub', 1);
      const f = await m.commitFile({ parentId: d.id, name: 'f', content: inline('1'), mtimeMs: 1 });
      await m.commitFile({ parentId: ROOT_ID, name: 'g', content: inline('2'), mtimeMs: 1 });
      await rejectsCode(m.move(d.id, sub.id, 'x', false), 'EINVAL');
      await rejectsCode(m.move(d.id, d.id, 'x', false), 'EINVAL');
      await rejectsCode(m.move(f.node.id, ROOT_ID, 'g', false), 'EEXIST');
      const moved = await m.move(f.node.id, ROOT_ID, 'g', true);
      assert.equal(moved.id, f.node.id);
      assert.equal((await m.readContent(moved.contentId!)).inline?.toString(), '1');
      const renamed = await m.move(d.id, ROOT_ID, 'renamed', false);
      assert.equal(renamed.id, d.id);
      assert.equal((await m.lookup(renamed.id, 'sub'))?.id, sub.id);
    });

    it('refuses to overwrite a folder that holds the source', async () => {
      const d = await m.createDir(ROOT_ID, 'd', 1);
      const a = await m.commitFile({ parentId: d.id, name: 'a', content: inline('keep'), mtimeMs: 1 });
      await rejectsCode(m.move(a.node.id, ROOT_ID, 'd', true), 'EINVAL');
      await rejectsCode(m.copy(a.node.id, ROOT_ID, 'd', true, true), 'EINVAL');
      assert.equal((await m.lookup(d.id, 'a'))?.id, a.node.id);
    });

    it('copies subtrees and properties without copying data', async () => {
      const d = await m.createDir(ROOT_ID, 'd', 1);
      const f = await m.commitFile({ parentId: d.id, name: 'f', content: chunked([['k1', 4]]), mtimeMs: 1 });
      await m.patchProps(f.node.id, [{ op: 'set', prop: { ns: 'urn:x', name: 'p', value: '<a/>' } }]);
      const c = await m.copy(d.id, ROOT_ID, 'c', false, true);
      const cf = await m.lookup(c.id, 'f');
      assert.equal(cf?.contentId, f.node.contentId);
      assert.deepEqual(await m.getProps(cf!.id), [{ ns: 'urn:x', name: 'p', value: '<a/>' }]);
      const shallow = await m.copy(d.id, ROOT_ID, 's', false, false);
      assert.equal((await m.listChildren(shallow.id, null, 10)).length, 0);
      await rejectsCode(m.copy(d.id, d.id, 'inside', false, true), 'EINVAL');
      await rejectsCode(m.copy(d.id, ROOT_ID, 'c', false, true), 'EEXIST');
    });

    it('applies property patches all or nothing', async () => {
      const d = await m.createDir(ROOT_ID, 'd', 1);
      await m.patchProps(d.id, [
        { op: 'set', prop: { ns: 'urn:a', name: 'x', value: '1' } },
        { op: 'set', prop: { ns: 'urn:b', name: 'x', value: '2' } },
      ]);
      await m.patchProps(d.id, [
        { op: 'set', prop: { ns: 'urn:a', name: 'x', value: '3' } },
        { op: 'remove', ns: 'urn:b', name: 'x' },
      ]);
      assert.deepEqual(await m.getProps(d.id), [{ ns: 'urn:a', name: 'x', value: '3' }]);
      await rejectsCode(m.patchProps(424242, [{ op: 'remove', ns: 'urn:a', name: 'x' }]), 'ENOENT');
    });

    it('sets attributes', async () => {
      const f = await m.commitFile({ parentId: ROOT_ID, name: 'f', content: inline('x'), mtimeMs: 1 });
      const n = await m.setAttributes(f.node.id, { mtimeMs: 42, mode: 0o600 });
      assert.equal(n.mtimeMs, 42);
      assert.equal(n.mode, 0o600);
      assert.deepEqual((await m.ancestors(f.node.id)).map((x) => x.id), [ROOT_ID, f.node.id]);
    });
  });
}
