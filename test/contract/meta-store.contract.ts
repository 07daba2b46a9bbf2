// The MetaStore contract suite, run against every implementation (SQLite now, PostgreSQL later).
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_ID, type LockRow, type MetaStore, type NewUser } from '../../src/meta/meta-store.js';
import { chunked, inline, rejectsCode } from '../helpers/meta-rows.js';
import { quotaContract, shareContract, treeBytesContract } from './meta-tenancy.contract.js';

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

    describe('locks', () => lockRowsContract(() => m));
    describe('job leases', () => leaseContract(() => m));
    describe('garbage collection rows', () => gcRowsContract(() => m));
    describe('users and tokens', () => userRowsContract(() => m));
    describe('folder byte totals', () => treeBytesContract(() => m));
    describe('quota limits', () => quotaContract(() => m));
    describe('shares and grants', () => shareContract(() => m));
  });
}

let tokenSeq = 0;
/** A lock row with defaults: exclusive, depth 0, expiring at 10 000 ms. */
const row = (path: string, o: Partial<LockRow> = {}): LockRow => ({
  token: `urn:uuid:t${++tokenSeq}`,
  path,
  depth: 0,
  scope: 'exclusive',
  ownerXml: null,
  principal: null,
  timeoutS: 10,
  expiresMs: 10_000,
  createdMs: 0,
  ...o,
});
const paths = (rows: LockRow[]) => rows.map((r) => r.path).sort();
/** createLock with a callback that records what it was shown and refuses nothing. */
async function take(m: MetaStore, lock: LockRow): Promise<string[]> {
  let shown: LockRow[] = [];
  await m.createLock(lock, (existing) => {
    shown = existing;
  });
  return paths(shown);
}

/** Lock rows (RFC 4918 §6, §9.10): keyed by path, expiring, the conflict check atomic with the insert. */
function lockRowsContract(store: () => MetaStore): void {
  it('stores, reads back and removes a lock', async () => {
    const m = store();
    const owner = '<D:owner xmlns:D="DAV:">me</D:owner>';
    const l = row('/a', { depth: -1, scope: 'shared', ownerXml: owner, principal: 'ann', timeoutS: 60, expiresMs: 60_000, createdMs: 5 });
    await take(m, l);
    assert.deepEqual(await m.getLock(l.token, 0), l);
    assert.equal(await m.getLock('urn:uuid:none', 0), undefined);
    assert.equal(await m.deleteLock(l.token), true);
    assert.equal(await m.deleteLock(l.token), false);
    assert.equal(await m.getLock(l.token, 0), undefined);
  });

  it('keeps infinite locks forever', async () => {
    const m = store();
    const l = row('/forever', { timeoutS: null, expiresMs: null });
    await take(m, l);
    assert.equal(await m.deleteExpiredLocks(Number.MAX_SAFE_INTEGER), 0);
    assert.deepEqual(await m.getLock(l.token, Number.MAX_SAFE_INTEGER), l);
  });

  it('shows createLock the locks that may conflict: same root, infinite ancestors, descendants of an infinite request', async () => {
    const m = store();
    await take(m, row('/', { depth: 0, scope: 'shared' }));
    await take(m, row('/a', { depth: -1, scope: 'shared' }));
    await take(m, row('/a/b', { depth: 0, scope: 'shared' }));
    await take(m, row('/a/b/c', { depth: 0, scope: 'shared' }));
    await take(m, row('/a/b/c/d', { depth: -1, scope: 'shared' }));
    await take(m, row('/a/bb', { depth: 0, scope: 'shared' }));
    await take(m, row('/x', { depth: -1, scope: 'shared' }));
    // Depth 0 on /a/b: itself and /a (infinite); not / (depth 0), not its members, not /a/bb.
    assert.deepEqual(await take(m, row('/a/b', { scope: 'shared' })), ['/a', '/a/b']);
    // Depth infinity on /a/b: also everything rooted below it.
    assert.deepEqual(await take(m, row('/a/b', { depth: -1, scope: 'shared' })), ['/a', '/a/b', '/a/b', '/a/b/c', '/a/b/c/d']);
    // The root, depth infinity: everything (the 7 above and the 2 just taken).
    assert.equal((await take(m, row('/', { depth: -1, scope: 'shared' }))).length, 9);
  });

  it('inserts nothing when the callback refuses', async () => {
    const m = store();
    await take(m, row('/f'));
    const second = row('/f');
    await assert.rejects(
      m.createLock(second, (existing) => {
        if (existing.length > 0) throw new Error('conflict');
      }),
      /conflict/,
    );
    assert.equal(await m.getLock(second.token, 0), undefined);
    assert.deepEqual(paths(await m.locksCovering('/f', 0)), ['/f']);
  });

  it('makes the conflict check and the insert atomic', async () => {
    const m = store();
    const refuseAny = (existing: LockRow[]) => {
      if (existing.length > 0) throw new Error('conflict');
    };
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => m.createLock(row('/race', { depth: -1 }), refuseAny)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal((await m.locksCovering('/race', 0)).length, 1);
  });

  it('finds the locks covering a path (its own, infinite ones on ancestors) and those below it', async () => {
    const m = store();
    for (const p of ['/d', '/d/e', '/d/e/f']) await take(m, row(p, { scope: 'shared' }));
    await take(m, row('/', { depth: -1, scope: 'shared' }));
    assert.deepEqual(paths(await m.locksCovering('/d/e', 0)), ['/', '/d/e']);
    assert.deepEqual(paths(await m.locksCovering('/d/e/f/g', 0)), ['/']);
    assert.deepEqual(paths(await m.locksCovering('/', 0)), ['/']);
    assert.deepEqual(paths(await m.locksBelow('/d', 0)), ['/d/e', '/d/e/f']);
    assert.deepEqual(paths(await m.locksBelow('/', 0)), ['/d', '/d/e', '/d/e/f']);
    assert.deepEqual(paths(await m.locksBelow('/d/e/f', 0)), []);
  });

  it('ignores lapsed locks everywhere and deletes them', async () => {
    const m = store();
    const old = row('/old', { depth: -1, expiresMs: 1000 });
    await take(m, old);
    assert.equal((await m.getLock(old.token, 999))?.path, '/old');
    // A lock lapses at its expiry instant.
    assert.equal(await m.getLock(old.token, 1000), undefined);
    assert.deepEqual(await m.locksCovering('/old/x', 1000), []);
    assert.deepEqual(await m.locksBelow('/', 1000), []);
    assert.equal(await m.refreshLock(old.token, 10, 20_000, 1000), false);
    // createLock clears lapsed locks (now = the new lock's createdMs) before looking for conflicts.
    assert.deepEqual(await take(m, row('/old/x', { createdMs: 1000 })), []);
    assert.equal(await m.deleteLock(old.token), false);
    await take(m, row('/other', { expiresMs: 3000 }));
    assert.equal(await m.deleteExpiredLocks(2999), 0);
    assert.equal(await m.deleteExpiredLocks(3000), 1);
  });

  it('refreshes a live lock', async () => {
    const m = store();
    const l = row('/r', { expiresMs: 1000 });
    await take(m, l);
    assert.equal(await m.refreshLock(l.token, 100, 101_000, 500), true);
    assert.deepEqual(await m.getLock(l.token, 100_000), { ...l, timeoutS: 100, expiresMs: 101_000 });
    assert.equal(await m.refreshLock('urn:uuid:none', 100, 101_000, 500), false);
  });

  it('matches paths exactly: LIKE wildcards, the escape character and case are literal', async () => {
    const m = store();
    const all = ['/a_b', '/a_b/x', '/axb', '/axb/x', '/a%', '/a%/x', '/a%b/x', '/ab/x', '/A/x', '/a/x'];
    all.push('/a\\', '/a\\/x', '/a\\b/x', '/é/x', '/éa/x', '/😀/x', '/😀a/x');
    for (const p of all) await take(m, row(p, { scope: 'shared' }));
    assert.deepEqual(paths(await m.locksBelow('/a_b', 0)), ['/a_b/x']);
    assert.deepEqual(paths(await m.locksBelow('/a%', 0)), ['/a%/x']);
    assert.deepEqual(paths(await m.locksBelow('/a', 0)), ['/a/x']);
    assert.deepEqual(paths(await m.locksBelow('/A', 0)), ['/A/x']);
    assert.deepEqual(paths(await m.locksBelow('/a\\', 0)), ['/a\\/x']);
    assert.deepEqual(paths(await m.locksBelow('/é', 0)), ['/é/x']);
    assert.deepEqual(paths(await m.locksBelow('/😀', 0)), ['/😀/x']);
    // A depth-infinity lock on /a_b is shown only what lies in /a_b.
    assert.deepEqual(await take(m, row('/a_b', { depth: -1, scope: 'shared' })), ['/a_b', '/a_b/x']);
    assert.equal(await m.deleteLocksWithin('/a_b'), 3);
    assert.deepEqual(paths(await m.locksCovering('/axb', 0)), ['/axb']);
    assert.equal(await m.deleteLocksWithin('/a'), 1);
    assert.deepEqual(paths(await m.locksBelow('/A', 0)), ['/A/x']);
    assert.equal(await m.deleteLocksWithin('/'), all.length - 3);
    assert.deepEqual(await m.locksBelow('/', 0), []);
  });
}

/** Job leases (schema.ts job_leases): one holder at a time, lapsing, renewable, taken atomically. */
function leaseContract(store: () => MetaStore): void {
  it('lets one holder in until the lease lapses or is released', async () => {
    const m = store();
    assert.equal(await m.acquireLease('gc', 'a', 1000, 0), true);
    assert.equal(await m.acquireLease('gc', 'b', 1000, 500), false);
    // Another job's lease is independent.
    assert.equal(await m.acquireLease('snapshot', 'b', 1000, 500), true);
    // A lease lapses at its expiry instant; then anyone may take it.
    assert.equal(await m.acquireLease('gc', 'b', 1000, 999), false);
    assert.equal(await m.acquireLease('gc', 'b', 1000, 1000), true);
    assert.equal(await m.acquireLease('gc', 'a', 1000, 1500), false);
    // Only the holder releases it.
    assert.equal(await m.releaseLease('gc', 'a'), false);
    assert.equal(await m.acquireLease('gc', 'a', 1000, 1500), false);
    assert.equal(await m.releaseLease('gc', 'b'), true);
    assert.equal(await m.acquireLease('gc', 'a', 1000, 1500), true);
  });

  it('renews a lease for its holder', async () => {
    const m = store();
    assert.equal(await m.acquireLease('gc', 'a', 1000, 0), true);
    assert.equal(await m.acquireLease('gc', 'a', 1000, 900), true);
    // Renewed at 900: held until 1900, not 1000.
    assert.equal(await m.acquireLease('gc', 'b', 1000, 1500), false);
    assert.equal(await m.acquireLease('gc', 'b', 1000, 1900), true);
  });

  it('gives a free lease to exactly one of many racing holders', async () => {
    const m = store();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => m.acquireLease('race', `h${i}`, 1000, 0)));
    assert.equal(results.filter(Boolean).length, 1);
  });
}

/** The rows GC and fsck work on: unreferenced chunks, orphan checks, files using a chunk, recounts. */
function gcRowsContract(store: () => MetaStore): void {
  it('lists unreferenced chunks past a cutoff in hash order, page by page', async () => {
    const m = store();
    const f = await m.commitFile({ parentId: ROOT_ID, name: 'f', content: chunked([['g1', 1], ['g2', 2], ['g3', 3]]), mtimeMs: 1 });
    assert.deepEqual(await m.unreferencedChunks(Number.MAX_SAFE_INTEGER, '', 10), []);
    await m.remove(f.node.id, false);
    const all = await m.unreferencedChunks(Number.MAX_SAFE_INTEGER, '', 10);
    assert.deepEqual(all.map((c) => [c.hash, c.size]), [['g1', 1], ['g2', 2], ['g3', 3]]);
    const since = all[0]!.zeroSinceMs;
    assert.ok(all.every((c) => c.zeroSinceMs === since && since > 0));
    // Strictly before the cutoff: a chunk unreferenced at the cutoff instant is still young.
    assert.deepEqual(await m.unreferencedChunks(since, '', 10), []);
    assert.deepEqual((await m.unreferencedChunks(since + 1, '', 2)).map((c) => c.hash), ['g1', 'g2']);
    assert.deepEqual((await m.unreferencedChunks(since + 1, 'g2', 2)).map((c) => c.hash), ['g3']);
  });

  it('deletes a chunk row only while it is unreferenced and old enough', async () => {
    const m = store();
    const f = await m.commitFile({ parentId: ROOT_ID, name: 'f', content: chunked([['d1', 1], ['d2', 1]]), mtimeMs: 1 });
    assert.equal(await m.deleteChunkIfUnreferenced('d1', Number.MAX_SAFE_INTEGER), false);
    await m.remove(f.node.id, false);
    const [d1] = await m.unreferencedChunks(Number.MAX_SAFE_INTEGER, '', 1);
    assert.equal(await m.deleteChunkIfUnreferenced('d1', d1!.zeroSinceMs), false);
    // A commit re-referenced d2 meanwhile: it stays.
    await m.commitFile({ parentId: ROOT_ID, name: 'g', content: chunked([['d2', 1]]), mtimeMs: 1 });
    assert.equal(await m.deleteChunkIfUnreferenced('d2', Number.MAX_SAFE_INTEGER), false);
    assert.equal(await m.deleteChunkIfUnreferenced('d1', Number.MAX_SAFE_INTEGER), true);
    assert.equal(await m.deleteChunkIfUnreferenced('d1', Number.MAX_SAFE_INTEGER), false);
    assert.deepEqual(await m.hasChunks(['d1', 'd2', 'nope']), new Set(['d2']));
    assert.deepEqual(await m.hasChunks([]), new Set());
  });

  it('says which files use a chunk', async () => {
    const m = store();
    const d = await m.createDir(ROOT_ID, 'd', 1);
    const a = await m.commitFile({ parentId: d.id, name: 'a', content: chunked([['u1', 1], ['u2', 1]]), mtimeMs: 1 });
    const b = await m.commitFile({ parentId: ROOT_ID, name: 'b', content: chunked([['u2', 1], ['u2', 1]], 'other'), mtimeMs: 1 });
    const c = await m.copy(a.node.id, ROOT_ID, 'c', false, false);
    assert.deepEqual(await m.filesUsingChunk('u1', 10), [a.node.id, c.id].sort((x, y) => x - y));
    assert.deepEqual(await m.filesUsingChunk('u2', 10), [a.node.id, b.node.id, c.id].sort((x, y) => x - y));
    assert.equal((await m.filesUsingChunk('u2', 2)).length, 2);
    assert.deepEqual(await m.filesUsingChunk('none', 10), []);
  });

  it('finds nothing to repair in a consistent store', async () => {
    const m = store();
    const f = await m.commitFile({ parentId: ROOT_ID, name: 'f', content: chunked([['r1', 1]]), mtimeMs: 1 });
    await m.commitFile({ parentId: ROOT_ID, name: 'f', content: chunked([['r2', 1]]), mtimeMs: 2 });
    await m.copy(f.node.id, ROOT_ID, 'g', false, false);
    assert.deepEqual(await m.repairRefcounts(5), { contentsFixed: 0, contentsDropped: 0, chunksFixed: 0, zeroSinceFixed: 0 });
  });
}

/** A user with defaults: home /home/NAME, no quota, read-write, created at 1000. */
const newUser = (name: string, o: Partial<NewUser> = {}): NewUser => ({
  name,
  passwordHash: `scrypt$hash-of-${name}`,
  home: `/home/${name}`,
  quotaBytes: null,
  readOnly: false,
  createdMs: 1000,
  ...o,
});

/** Users and bearer tokens (schema.ts users, tokens): unique names, only hashes, tokens die with their user. */
function userRowsContract(store: () => MetaStore): void {
  it('creates, reads back and lists users in name order', async () => {
    const m = store();
    const bob = await m.createUser(newUser('bob', { quotaBytes: 5 * 2 ** 40, readOnly: true }));
    assert.deepEqual({ ...bob, id: 0 }, {
      id: 0,
      name: 'bob',
      passwordHash: 'scrypt$hash-of-bob',
      home: '/home/bob',
      quotaBytes: 5 * 2 ** 40, // beyond 32 bits: a bigint column
      readOnly: true,
      createdMs: 1000,
      digestHa1: null,
    });
    await m.createUser(newUser('alice'));
    assert.deepEqual(await m.getUser('bob'), bob);
    assert.equal(await m.getUser('carol'), undefined);
    assert.deepEqual((await m.listUsers()).map((u) => [u.name, u.quotaBytes, u.readOnly]), [
      ['alice', null, false],
      ['bob', 5 * 2 ** 40, true],
    ]);
  });

  it('refuses a taken name with EEXIST, leaving the first user as it was', async () => {
    const m = store();
    await m.createUser(newUser('alice'));
    await rejectsCode(m.createUser(newUser('alice', { home: '/other' })), 'EEXIST');
    assert.equal((await m.getUser('alice'))?.home, '/home/alice');
    assert.equal((await m.listUsers()).length, 1);
    // Names are case-sensitive.
    await m.createUser(newUser('Alice'));
    assert.equal((await m.listUsers()).length, 2);
  });

  it('changes passwords and settings, ENOENT for a missing user', async () => {
    const m = store();
    await m.createUser(newUser('alice', { quotaBytes: 100 }));
    await m.setPassword('alice', 'scrypt$new', null);
    assert.equal((await m.getUser('alice'))?.passwordHash, 'scrypt$new');
    await rejectsCode(m.setPassword('nobody', 'x', null), 'ENOENT');

    let u = await m.updateUser('alice', { readOnly: true });
    assert.deepEqual([u.home, u.quotaBytes, u.readOnly], ['/home/alice', 100, true]);
    u = await m.updateUser('alice', { home: '/shared/alice', quotaBytes: null });
    assert.deepEqual([u.home, u.quotaBytes, u.readOnly], ['/shared/alice', null, true]);
    u = await m.updateUser('alice', {});
    assert.deepEqual(await m.getUser('alice'), u);
    assert.equal(u.passwordHash, 'scrypt$new');
    await rejectsCode(m.updateUser('nobody', { readOnly: true }), 'ENOENT');
  });

  it('keeps a Digest HA1 only when given, and replaces it with the password', async () => {
    const m = store();
    const alice = await m.createUser(newUser('alice', { digestHa1: 'ha1-old' }));
    assert.equal(alice.digestHa1, 'ha1-old');
    await m.setPassword('alice', 'scrypt$new', 'ha1-new');
    assert.deepEqual([(await m.getUser('alice'))?.passwordHash, (await m.getUser('alice'))?.digestHa1], ['scrypt$new', 'ha1-new']);
    // Digest switched off: the HA1 (password-equivalent for its realm) goes with the next password.
    await m.setPassword('alice', 'scrypt$newer', null);
    assert.equal((await m.getUser('alice'))?.digestHa1, null);
    assert.equal((await m.listUsers())[0]?.digestHa1, null);
    await m.createToken('alice', 'h-d', null, 1);
    await m.setPassword('alice', 'scrypt$newest', 'ha1-3');
    assert.equal((await m.userByTokenHash('h-d'))?.digestHa1, 'ha1-3');
  });

  it('stores tokens by hash and finds their user', async () => {
    const m = store();
    await m.createUser(newUser('alice'));
    await m.createUser(newUser('bob'));
    const t = await m.createToken('alice', 'h-a1', 'backup script', 2000);
    assert.deepEqual({ ...t, id: 0 }, { id: 0, userName: 'alice', tokenHash: 'h-a1', label: 'backup script', createdMs: 2000, lastUsedMs: null });
    await m.createToken('alice', 'h-a2', null, 3000);
    await m.createToken('bob', 'h-b1', null, 2500);
    assert.equal((await m.userByTokenHash('h-a2'))?.name, 'alice');
    assert.equal((await m.userByTokenHash('h-b1'))?.name, 'bob');
    assert.equal(await m.userByTokenHash('h-unknown'), undefined);
    assert.deepEqual((await m.listTokens('alice')).map((x) => [x.tokenHash, x.label]), [
      ['h-a1', 'backup script'],
      ['h-a2', null],
    ]);
    await rejectsCode(m.createToken('nobody', 'h-x', null, 1), 'ENOENT');
    await rejectsCode(m.createToken('bob', 'h-a1', null, 1), 'EEXIST');
    await rejectsCode(m.listTokens('nobody'), 'ENOENT');
  });

  it('records when a token was last used', async () => {
    const m = store();
    await m.createUser(newUser('alice'));
    await m.createToken('alice', 'h1', null, 1);
    assert.equal(await m.touchToken('h1', 5000), true);
    assert.equal(await m.touchToken('h-unknown', 5000), false);
    assert.equal((await m.listTokens('alice'))[0]?.lastUsedMs, 5000);
  });

  it("revokes a token only for its own user", async () => {
    const m = store();
    await m.createUser(newUser('alice'));
    await m.createUser(newUser('bob'));
    await m.createToken('alice', 'h1', null, 1);
    await m.createToken('alice', 'h2', null, 2);
    assert.equal(await m.revokeToken('bob', 'h1'), false);
    assert.equal((await m.userByTokenHash('h1'))?.name, 'alice');
    assert.equal(await m.revokeToken('alice', 'h1'), true);
    assert.equal(await m.revokeToken('alice', 'h1'), false);
    assert.equal(await m.userByTokenHash('h1'), undefined);
    assert.deepEqual((await m.listTokens('alice')).map((x) => x.tokenHash), ['h2']);
  });

  it('deletes a user with their tokens; the name can be reused and old tokens stay dead', async () => {
    const m = store();
    await m.createUser(newUser('alice'));
    await m.createUser(newUser('bob'));
    await m.createToken('alice', 'h1', null, 1);
    await m.createToken('bob', 'h2', null, 1);
    await m.deleteUser('alice');
    assert.equal(await m.getUser('alice'), undefined);
    assert.equal(await m.userByTokenHash('h1'), undefined);
    assert.equal((await m.userByTokenHash('h2'))?.name, 'bob');
    await rejectsCode(m.deleteUser('alice'), 'ENOENT');
    await m.createUser(newUser('alice'));
    assert.equal(await m.userByTokenHash('h1'), undefined);
    assert.deepEqual(await m.listTokens('alice'), []);
    // The hash is free again once its user is gone.
    await m.createToken('alice', 'h1', null, 2);
  });
}
