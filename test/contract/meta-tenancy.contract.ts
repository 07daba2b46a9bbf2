// MetaStore contract, tenancy part: folder byte totals (schema.ts I7) after every kind of tree
// change, quota limits enforced inside the change's transaction, and shares with their grants.
// Called from meta-store.contract.ts, which checks consistency (I7 included) after each test.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_ID, type MetaStore, type NewUser, type QuotaLimit } from '../../src/meta/meta-store.js';
import { chunked, inline, rejectsCode } from '../helpers/meta-rows.js';

/** Folder ids by name for a small tree: /a, /a/b, /a/b/c, /x, /x/y. */
async function tree(m: MetaStore): Promise<Record<'a' | 'b' | 'c' | 'x' | 'y', number>> {
  const a = (await m.createDir(ROOT_ID, 'a', 1)).id;
  const b = (await m.createDir(a, 'b', 1)).id;
  const c = (await m.createDir(b, 'c', 1)).id;
  const x = (await m.createDir(ROOT_ID, 'x', 1)).id;
  const y = (await m.createDir(x, 'y', 1)).id;
  return { a, b, c, x, y };
}

/** treeBytes of each id, in order. */
async function totals(m: MetaStore, ...ids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) out.push(await m.treeBytes(id));
  return out;
}

/** Everything a refused change must leave as it was: the tree, every total, every chunk's refcount. */
async function state(m: MetaStore): Promise<unknown> {
  const nodes: unknown[] = [];
  const walk = async (id: number, path: string): Promise<void> => {
    for (const n of await m.listChildren(id, null, 1000)) {
      nodes.push([`${path}/${n.name}`, n.id, n.kind, n.contentId, n.size, await m.treeBytes(n.id)]);
      if (n.kind === 'dir') await walk(n.id, `${path}/${n.name}`);
    }
  };
  await walk(ROOT_ID, '');
  const chunks: unknown[] = [];
  for await (const c of m.listChunks()) chunks.push([c.hash, c.refcount]);
  return { nodes, chunks, used: await m.usedBytes() };
}

async function refusedWithoutChange(m: MetaStore, change: () => Promise<unknown>): Promise<void> {
  const before = await state(m);
  await rejectsCode(change(), 'ENOSPC');
  assert.deepEqual(await state(m), before);
  assert.deepEqual(await m.checkConsistency(), []);
}

export function treeBytesContract(store: () => MetaStore): void {
  it('adds a commit to every folder above the file, and the size change of a replacement', async () => {
    const m = store();
    const { a, b, c, x } = await tree(m);
    const f = await m.commitFile({ parentId: c, name: 'f', content: chunked([['t1', 100], ['t2', 20]]), mtimeMs: 1 });
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c, x, f.node.id), [120, 120, 120, 120, 0, 120]);
    // Node rows carry the same figure, however they are read.
    assert.deepEqual([f.node.treeBytes, (await m.getNode(a))?.treeBytes, (await m.lookup(b, 'c'))?.treeBytes], [120, 120, 120]);
    assert.deepEqual((await m.listChildren(ROOT_ID, null, 10)).map((n) => [n.name, n.treeBytes]), [['a', 120], ['x', 0]]);
    await m.commitFile({ parentId: b, name: 'g', content: inline('hello'), mtimeMs: 1 });
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c), [125, 125, 125, 120]);
    // Replacements: larger, smaller, same size.
    await m.commitFile({ parentId: c, name: 'f', content: chunked([['t3', 1000]]), mtimeMs: 2 });
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c), [1005, 1005, 1005, 1000]);
    await m.commitFile({ parentId: c, name: 'f', content: inline('z'), mtimeMs: 3 });
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c), [6, 6, 6, 1]);
    await m.commitFile({ parentId: b, name: 'g', content: inline('HELLO'), mtimeMs: 3 });
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c), [6, 6, 6, 1]);
    // Logical bytes: a content shared by two files counts twice.
    await m.commitFile({ parentId: x, name: 'same', content: inline('HELLO'), mtimeMs: 3 });
    assert.equal(await m.usedBytes(), 11);
    assert.equal(await m.treeBytes(x), 5);
    await rejectsCode(m.treeBytes(987654), 'ENOENT');
  });

  it('takes removed files and subtrees off their ancestors', async () => {
    const m = store();
    const { a, b, c } = await tree(m);
    const f = await m.commitFile({ parentId: c, name: 'f', content: chunked([['r1', 40]]), mtimeMs: 1 });
    await m.commitFile({ parentId: b, name: 'g', content: chunked([['r2', 2]]), mtimeMs: 1 });
    await m.commitFile({ parentId: a, name: 'h', content: inline('abc'), mtimeMs: 1 });
    await m.remove(f.node.id, false);
    assert.deepEqual(await totals(m, ROOT_ID, a, b, c), [5, 5, 2, 0]);
    await m.remove(b, true);
    assert.deepEqual(await totals(m, ROOT_ID, a), [3, 3]);
    assert.equal(await m.usedBytes(), 3);
  });

  it('moves bytes from the old ancestors to the new ones, and nothing for a rename', async () => {
    const m = store();
    const { a, b, c, x, y } = await tree(m);
    await m.commitFile({ parentId: c, name: 'f', content: chunked([['m1', 30]]), mtimeMs: 1 });
    const g = await m.commitFile({ parentId: b, name: 'g', content: chunked([['m2', 7]]), mtimeMs: 1 });
    // Move a folder holding 30 bytes from /a/b to /x/y.
    await m.move(c, y, 'c', false);
    assert.deepEqual(await totals(m, ROOT_ID, a, b, x, y, c), [37, 7, 7, 30, 30, 30]);
    // A rename in place changes no total.
    await m.move(c, y, 'renamed', false);
    assert.deepEqual(await totals(m, ROOT_ID, x, y, c), [37, 30, 30, 30]);
    // A file moved to another branch.
    await m.move(g.node.id, x, 'g', false);
    assert.deepEqual(await totals(m, ROOT_ID, a, b, x, y), [37, 0, 0, 37, 30]);
    // Overwriting: the replaced target's bytes leave; the moved ones arrive.
    const t = await m.commitFile({ parentId: a, name: 't', content: chunked([['m3', 500]]), mtimeMs: 1 });
    await m.move(g.node.id, a, 't', true);
    assert.deepEqual(await totals(m, ROOT_ID, a, x), [37, 7, 30]);
    assert.equal(await m.getNode(t.node.id), undefined);
    // Moving a node onto itself is a no-op.
    await m.move(g.node.id, a, 't', false);
    assert.deepEqual(await totals(m, ROOT_ID, a, x), [37, 7, 30]);
  });

  it("adds a copy's bytes: the whole subtree when recursive, nothing for a folder alone", async () => {
    const m = store();
    const { a, b, c, x } = await tree(m);
    await m.commitFile({ parentId: c, name: 'f', content: chunked([['c1', 11]]), mtimeMs: 1 });
    await m.commitFile({ parentId: b, name: 'g', content: inline('12345'), mtimeMs: 1 });
    const deep = await m.copy(b, x, 'b2', false, true);
    assert.deepEqual(await totals(m, ROOT_ID, a, x, deep.id), [32, 16, 16, 16]);
    const copiedC = await m.lookup(deep.id, 'c');
    assert.equal(await m.treeBytes(copiedC!.id), 11);
    const shallow = await m.copy(b, x, 'shallow', false, false);
    assert.deepEqual(await totals(m, ROOT_ID, x, shallow.id), [32, 16, 0]);
    // A file copy, then a copy that replaces a larger folder.
    await m.copy((await m.lookup(b, 'g'))!.id, x, 'g', false, false);
    assert.deepEqual(await totals(m, ROOT_ID, x), [37, 21]);
    await m.copy((await m.lookup(b, 'g'))!.id, x, 'b2', true, true);
    assert.deepEqual(await totals(m, ROOT_ID, x), [26, 10]);
  });
}

export function quotaContract(store: () => MetaStore): void {
  it('refuses a commit that takes a limited folder over its limit, and allows one up to it', async () => {
    const m = store();
    const { a, b, x } = await tree(m);
    const limits: QuotaLimit[] = [{ nodeId: a, maxBytes: 100 }];
    await m.commitFile({ parentId: b, name: 'f', content: chunked([['q1', 60]]), mtimeMs: 1, limits });
    await refusedWithoutChange(m, () => m.commitFile({ parentId: b, name: 'g', content: chunked([['q2', 30], ['q3', 11]]), mtimeMs: 1, limits }));
    // The refused chunks were never recorded: nothing points at them, so they need no upload check.
    assert.deepEqual(await m.hasChunks(['q2', 'q3']), new Set());
    await m.commitFile({ parentId: b, name: 'g', content: chunked([['q2', 30], ['q3', 10]]), mtimeMs: 1, limits });
    assert.equal(await m.treeBytes(a), 100);
    // Outside the limited folder the limit does not apply.
    await m.commitFile({ parentId: x, name: 'big', content: chunked([['q4', 1000]]), mtimeMs: 1, limits });
    assert.equal(await m.usedBytes(), 1100);
  });

  it('refuses a growing replacement without releasing the old content', async () => {
    const m = store();
    const { a, b } = await tree(m);
    const limits = [{ nodeId: a, maxBytes: 50 }];
    const f = await m.commitFile({ parentId: b, name: 'f', content: chunked([['o1', 40]]), mtimeMs: 1, limits });
    await refusedWithoutChange(m, () => m.commitFile({ parentId: b, name: 'f', content: chunked([['o1', 40], ['o2', 20]]), mtimeMs: 2, limits }));
    assert.deepEqual((await m.readContent(f.node.contentId!)).chunks.map((c) => c.hash), ['o1']);
    assert.deepEqual(await m.knownChunks(['o1', 'o2']), new Set(['o1']));
  });

  it('always allows a change that shrinks or keeps the usage, even above a lowered limit', async () => {
    const m = store();
    const { a, b } = await tree(m);
    await m.commitFile({ parentId: b, name: 'f', content: chunked([['s1', 80]]), mtimeMs: 1 });
    await m.commitFile({ parentId: b, name: 'g', content: chunked([['s2', 20]]), mtimeMs: 1 });
    // The administrator lowered the quota to 10: 100 bytes are in use.
    const limits = [{ nodeId: a, maxBytes: 10 }];
    await m.commitFile({ parentId: b, name: 'f', content: chunked([['s3', 50]]), mtimeMs: 2, limits });
    await m.commitFile({ parentId: b, name: 'f', content: chunked([['s4', 50]]), mtimeMs: 3, limits });
    await refusedWithoutChange(m, () => m.commitFile({ parentId: b, name: 'f', content: chunked([['s5', 51]]), mtimeMs: 4, limits }));
    await refusedWithoutChange(m, () => m.commitFile({ parentId: b, name: 'new', content: inline('1'), mtimeMs: 4, limits }));
    await m.commitFile({ parentId: b, name: 'empty', content: inline(''), mtimeMs: 4, limits });
    assert.equal(await m.treeBytes(a), 70);
  });

  it('checks every limit given: a nested one and an outer one', async () => {
    const m = store();
    const { a, b, c } = await tree(m);
    const limits = [
      { nodeId: a, maxBytes: 1000 },
      { nodeId: c, maxBytes: 10 },
    ];
    await m.commitFile({ parentId: b, name: 'f', content: chunked([['n1', 900]]), mtimeMs: 1, limits });
    await refusedWithoutChange(m, () => m.commitFile({ parentId: c, name: 'g', content: chunked([['n2', 11]]), mtimeMs: 1, limits }));
    await refusedWithoutChange(m, () => m.commitFile({ parentId: b, name: 'h', content: chunked([['n3', 101]]), mtimeMs: 1, limits }));
    await m.commitFile({ parentId: c, name: 'g', content: chunked([['n2', 10]]), mtimeMs: 1, limits });
  });

  it('says how far over the limit a refused change would go', async () => {
    const m = store();
    const { a } = await tree(m);
    await assert.rejects(m.commitFile({ parentId: a, name: 'f', content: chunked([['w1', 1025]]), mtimeMs: 1, limits: [{ nodeId: a, maxBytes: 1024 }] }), (err: Error) =>
      /ENOSPC.*1025 bytes.*limit of 1024/.test(err.message),
    );
  });

  it('refuses moving bytes into a limited folder from outside; moves out of it or within it are free', async () => {
    const m = store();
    const { a, b, c, x, y } = await tree(m);
    const limits = [{ nodeId: a, maxBytes: 100 }];
    await m.commitFile({ parentId: c, name: 'in', content: chunked([['v1', 90]]), mtimeMs: 1 });
    await m.commitFile({ parentId: y, name: 'out', content: chunked([['v2', 20]]), mtimeMs: 1 });
    await refusedWithoutChange(m, () => m.move(y, b, 'y', false, limits));
    const out = await m.lookup(y, 'out');
    await refusedWithoutChange(m, () => m.move(out!.id, a, 'out', false, limits));
    // Within the folder, and out of it, whatever the usage.
    await m.move(c, a, 'c', false, [{ nodeId: a, maxBytes: 1 }]);
    await m.move(c, x, 'c', false, limits);
    assert.deepEqual(await totals(m, a, x), [0, 110]);
    // Now there is room: the same move as before goes through.
    await m.move(y, b, 'y', false, limits);
    assert.deepEqual(await totals(m, a, b, x), [20, 20, 90]);
  });

  it('counts an overwritten target against a move: replacing a larger file makes room', async () => {
    const m = store();
    const { a, x } = await tree(m);
    const limits = [{ nodeId: a, maxBytes: 100 }];
    await m.commitFile({ parentId: a, name: 'f', content: chunked([['p1', 100]]), mtimeMs: 1 });
    const g = await m.commitFile({ parentId: x, name: 'g', content: chunked([['p2', 60]]), mtimeMs: 1 });
    await refusedWithoutChange(m, () => m.move(g.node.id, a, 'g', false, limits));
    await m.move(g.node.id, a, 'f', true, limits);
    assert.equal(await m.treeBytes(a), 60);
  });

  it('refuses a copy into a limited folder beyond its limit, leaving refcounts as they were', async () => {
    const m = store();
    const { a, b, c, x } = await tree(m);
    await m.commitFile({ parentId: c, name: 'f', content: chunked([['k1', 30], ['k2', 30]]), mtimeMs: 1 });
    const limits = [{ nodeId: x, maxBytes: 100 }];
    await m.copy(b, x, 'one', false, true, limits);
    // Shared contents still count in full: a second copy would bring /x to 120.
    await refusedWithoutChange(m, () => m.copy(b, x, 'two', false, true, limits));
    const f = (await m.lookup(c, 'f'))!;
    await refusedWithoutChange(m, () => m.copy(f.id, x, 'f', false, false, limits));
    // A folder alone copies no bytes.
    await m.copy(b, x, 'shallow', false, false, limits);
    // A copy within a limited folder is no move: it adds bytes too.
    await refusedWithoutChange(m, () => m.copy(c, a, 'c2', false, true, [{ nodeId: a, maxBytes: 119 }]));
    assert.deepEqual(await totals(m, a, x), [60, 60]);
  });
}

const user = (name: string): NewUser => ({ name, passwordHash: 'scrypt$x', home: `/home/${name}`, quotaBytes: null, readOnly: false, createdMs: 1 });

/** Users alice and bob, and shares by name → path. */
async function usersAndShares(m: MetaStore, shares: Record<string, string>): Promise<void> {
  await m.createUser(user('alice'));
  await m.createUser(user('bob'));
  for (const [name, path] of Object.entries(shares)) await m.createShare(name, path, 1);
}

export function shareContract(store: () => MetaStore): void {
  it('creates shares with a normalised path and lists them in name order', async () => {
    const m = store();
    const s = await m.createShare('team', '/projects//team/', 500);
    assert.deepEqual(s, { name: 'team', path: '/projects/team', createdMs: 500, grants: [] });
    await m.createShare('Alpha', '/a', 600);
    assert.deepEqual(await m.listShares(), [
      { name: 'Alpha', path: '/a', createdMs: 600, grants: [] },
      { name: 'team', path: '/projects/team', createdMs: 500, grants: [] },
    ]);
    await rejectsCode(m.createShare('team', '/elsewhere', 1), 'EEXIST');
    for (const bad of ['', '.hidden', 'a/b', 'a b', 'x'.repeat(65), '..']) await rejectsCode(m.createShare(bad, '/p', 1), 'EINVAL');
    await rejectsCode(m.createShare('up', '/a/../b', 1), 'EACCES');
    assert.equal((await m.listShares()).length, 2);
  });

  it('grants, regrants and revokes rights; each user sees their shares', async () => {
    const m = store();
    await usersAndShares(m, { team: '/projects/team', docs: '/docs' });
    await m.grantShare('team', 'bob', 'rw');
    await m.grantShare('team', 'alice', 'r');
    await m.grantShare('docs', 'alice', 'rw');
    assert.deepEqual((await m.listShares()).map((s) => [s.name, s.grants]), [
      ['docs', [{ userName: 'alice', rights: 'rw' }]],
      [
        'team',
        [
          { userName: 'alice', rights: 'r' },
          { userName: 'bob', rights: 'rw' },
        ],
      ],
    ]);
    assert.deepEqual(await m.sharesOfUser('alice'), [
      { name: 'docs', path: '/docs', rights: 'rw' },
      { name: 'team', path: '/projects/team', rights: 'r' },
    ]);
    // A second grant replaces the first.
    await m.grantShare('team', 'alice', 'rw');
    assert.deepEqual(await m.sharesOfUser('alice'), [
      { name: 'docs', path: '/docs', rights: 'rw' },
      { name: 'team', path: '/projects/team', rights: 'rw' },
    ]);
    assert.equal(await m.revokeShare('team', 'alice'), true);
    assert.equal(await m.revokeShare('team', 'alice'), false);
    assert.deepEqual((await m.sharesOfUser('alice')).map((s) => s.name), ['docs']);
    assert.deepEqual(await m.sharesOfUser('bob'), [{ name: 'team', path: '/projects/team', rights: 'rw' }]);
  });

  it('says ENOENT for unknown shares and users, EINVAL for unknown rights', async () => {
    const m = store();
    await m.createUser(user('alice'));
    await m.createShare('team', '/t', 1);
    await rejectsCode(m.grantShare('nope', 'alice', 'r'), 'ENOENT');
    await rejectsCode(m.grantShare('team', 'nobody', 'r'), 'ENOENT');
    await rejectsCode(m.grantShare('team', 'alice', 'w' as 'r'), 'EINVAL');
    await rejectsCode(m.revokeShare('nope', 'alice'), 'ENOENT');
    await rejectsCode(m.revokeShare('team', 'nobody'), 'ENOENT');
    await rejectsCode(m.sharesOfUser('nobody'), 'ENOENT');
    await rejectsCode(m.deleteShare('nope'), 'ENOENT');
    assert.deepEqual(await m.sharesOfUser('alice'), []);
  });

  it('deletes grants with their share and with their user', async () => {
    const m = store();
    await usersAndShares(m, { team: '/t', docs: '/d' });
    for (const s of ['team', 'docs']) for (const u of ['alice', 'bob']) await m.grantShare(s, u, 'r');
    await m.deleteShare('team');
    assert.deepEqual((await m.sharesOfUser('alice')).map((s) => s.name), ['docs']);
    await m.deleteUser('alice');
    assert.deepEqual((await m.listShares()).map((s) => [s.name, s.grants.map((g) => g.userName)]), [['docs', ['bob']]]);
    // A new user of the same name inherits nothing; a new share of the same name has no grants.
    await m.createUser(user('alice'));
    assert.deepEqual(await m.sharesOfUser('alice'), []);
    await m.createShare('team', '/t', 2);
    assert.deepEqual((await m.listShares()).find((s) => s.name === 'team')?.grants, []);
  });
}
