// Model-based test of the Vfs: random sequences of write / partial update / truncate / mkdir /
// move / copy / remove / read against an in-memory model, with the store's invariants (refcounts,
// no orphan rows, every referenced chunk in the object store) checked after every step.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FsError } from '../../src/core/errors.js';
import { isSameOrInside, parentOf, splitPath } from '../../src/core/paths.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems, type TestCore } from '../helpers/core.js';

type Entry = { kind: 'dir' } | { kind: 'file'; data: Buffer };
type Model = Map<string, Entry>;

const PATHS = ['/a', '/b', '/d', '/d/a', '/d/b', '/d/e', '/d/e/a', '/e', '/e/a'];
const SIZES = [0, 1, 1024, 1025, 5000, 20000, 70000, 150000];

type Op =
  | { op: 'write'; path: string; size: number; seed: number }
  | { op: 'writeRange'; path: string; offset: number; size: number; seed: number }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'mkdir'; path: string }
  | { op: 'remove'; path: string }
  | { op: 'move'; from: string; to: string; overwrite: boolean }
  | { op: 'copy'; from: string; to: string; overwrite: boolean }
  | { op: 'read'; path: string; start: number; length: number };

/** Every run starts from this tree, so most random operations land on something that exists. */
const SETUP: Op[] = [
  { op: 'mkdir', path: '/d' },
  { op: 'mkdir', path: '/d/e' },
  { op: 'mkdir', path: '/e' },
  { op: 'write', path: '/a', size: 150000, seed: 1 },
  { op: 'write', path: '/d/a', size: 70000, seed: 2 },
  { op: 'write', path: '/e/a', size: 1000, seed: 3 },
];

const path = fc.constantFrom(...PATHS);
const size = fc.constantFrom(...SIZES);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path, size, seed: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('writeRange' as const), path, offset: fc.constantFrom(0, 10, 4000, 30000, 160000), size: fc.constantFrom(0, 1, 100, 9000, 40000), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path, size }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), path }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), from: path, to: path, overwrite: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copy' as const), from: path, to: path, overwrite: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), path, start: fc.nat(200000), length: fc.nat(80000) }) },
);

/** What the Vfs's path walk says about `p` in the model: the entry, or the error code. */
function resolve(m: Model, p: string): Entry | 'ENOENT' | 'ENOTDIR' {
  if (p === '/') return { kind: 'dir' };
  let cur = '';
  for (const name of splitPath(p)) {
    const parent = cur === '' ? ({ kind: 'dir' } as Entry) : m.get(cur)!;
    if (parent.kind !== 'dir') return 'ENOTDIR';
    cur += '/' + name;
    if (!m.has(cur)) return 'ENOENT';
  }
  return m.get(cur)!;
}

/** The parent of `p` must be a folder for anything to be created there. */
function parentCheck(m: Model, p: string): string | undefined {
  const parent = resolve(m, parentOf(p));
  if (typeof parent === 'string') return parent;
  return parent.kind === 'dir' ? undefined : 'ENOTDIR';
}

function subtree(m: Model, p: string): string[] {
  return [...m.keys()].filter((k) => isSameOrInside(k, p));
}

function applyWrite(m: Model, p: string, make: (old: Buffer) => Buffer): string | undefined {
  const err = parentCheck(m, p);
  if (err) return err;
  const cur = m.get(p);
  if (cur?.kind === 'dir') return 'EISDIR';
  m.set(p, { kind: 'file', data: make(cur?.kind === 'file' ? cur.data : Buffer.alloc(0)) });
  return undefined;
}

/** Applies `op` to the model; returns the expected error code, or undefined for success. */
function applyToModel(m: Model, o: Op): string | undefined {
  switch (o.op) {
    case 'write':
      return applyWrite(m, o.path, () => pseudoRandomBytes(o.size, o.seed));
    case 'writeRange':
      return applyWrite(m, o.path, (old) => {
        const end = o.offset + o.size;
        const out = Buffer.alloc(Math.max(old.length, end));
        old.copy(out);
        pseudoRandomBytes(o.size, o.seed).copy(out, o.offset);
        return out;
      });
    case 'truncate': {
      const e = resolve(m, o.path);
      if (typeof e === 'string') return e;
      if (e.kind === 'dir') return 'EISDIR';
      const out = Buffer.alloc(o.size);
      e.data.copy(out, 0, 0, Math.min(o.size, e.data.length));
      m.set(o.path, { kind: 'file', data: out });
      return undefined;
    }
    case 'mkdir': {
      const err = parentCheck(m, o.path);
      if (err) return err;
      if (m.has(o.path)) return 'EEXIST';
      m.set(o.path, { kind: 'dir' });
      return undefined;
    }
    case 'remove': {
      const e = resolve(m, o.path);
      if (typeof e === 'string') return e;
      for (const k of subtree(m, o.path)) m.delete(k);
      return undefined;
    }
    case 'move':
    case 'copy': {
      const src = resolve(m, o.from);
      if (typeof src === 'string') return src;
      const err = parentCheck(m, o.to);
      if (err) return err;
      const dstParent = parentOf(o.to);
      if (isSameOrInside(dstParent, o.from)) return 'EINVAL';
      const existing = m.get(o.to);
      if (o.from === o.to) return o.op === 'move' ? undefined : 'EINVAL';
      if (existing) {
        if (!o.overwrite) return 'EEXIST';
        if (existing.kind === 'dir' && isSameOrInside(o.from, o.to)) return 'EINVAL';
        for (const k of subtree(m, o.to)) m.delete(k);
      }
      const moved = subtree(m, o.from).map((k) => [k, m.get(k)!] as const);
      if (o.op === 'move') for (const [k] of moved) m.delete(k);
      for (const [k, v] of moved) m.set(o.to + k.slice(o.from.length), v);
      return undefined;
    }
    case 'read':
      return undefined;
  }
}

async function applyToVfs(core: TestCore, o: Op): Promise<void> {
  const v = core.vfs;
  switch (o.op) {
    case 'write':
      await v.write(o.path, bytesOf(pseudoRandomBytes(o.size, o.seed)));
      return;
    case 'writeRange':
      await v.writeRange(o.path, o.offset, o.size, bytesOf(pseudoRandomBytes(o.size, o.seed)));
      return;
    case 'truncate':
      await v.truncate(o.path, o.size);
      return;
    case 'mkdir':
      await v.mkdir(o.path);
      return;
    case 'remove':
      await v.remove(o.path, { recursive: true });
      return;
    case 'move':
      await v.move(o.from, o.to, { overwrite: o.overwrite });
      return;
    case 'copy':
      await v.copy(o.from, o.to, { overwrite: o.overwrite, recursive: true });
      return;
    case 'read':
      return;
  }
}

async function checkRead(core: TestCore, m: Model, o: Extract<Op, { op: 'read' }>): Promise<void> {
  const e = resolve(m, o.path);
  if (typeof e === 'string' || e.kind === 'dir' || e.data.length === 0) return;
  const start = o.start % e.data.length;
  const end = Math.min(start + o.length, e.data.length - 1);
  const { body } = await core.vfs.read(o.path, { start, end });
  assert.ok((await readAll(body)).equals(e.data.subarray(start, end + 1)), `range ${start}-${end} of ${o.path}`);
}

async function checkWholeTree(core: TestCore, m: Model): Promise<void> {
  const seen: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const s of core.vfs.list(dir)) {
      seen.push(s.path);
      const e = m.get(s.path);
      assert.equal(s.kind, e?.kind, `kind of ${s.path}`);
      if (s.kind === 'dir') await walk(s.path);
      else if (e?.kind === 'file') {
        assert.equal(s.size, e.data.length, `size of ${s.path}`);
        const got = e.data.length ? await readAll((await core.vfs.read(s.path)).body) : Buffer.alloc(0);
        assert.ok(got.equals(e.data), `content of ${s.path}`);
      }
    }
  };
  await walk('/');
  assert.deepEqual(seen.sort(), [...m.keys()].sort());
}

describe('Vfs against a model', () => {
  it('keeps data and invariants through random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'medium' }), async (randomOps) => {
        const ops = [...SETUP, ...randomOps];
        // A small cache (256 KiB) makes reads go back to the object store as well.
        const core = await makeTestCore({ cacheBytes: 256 * 1024 });
        const m: Model = new Map();
        try {
          for (const o of ops) {
            const want = applyToModel(m, o);
            let got: string | undefined;
            try {
              await applyToVfs(core, o);
            } catch (err) {
              if (!(err instanceof FsError)) throw err;
              got = err.code;
            }
            assert.equal(got, want, `${JSON.stringify(o)}`);
            if (o.op === 'read') await checkRead(core, m, o);
            assert.deepEqual(await storeProblems(core), [], `after ${JSON.stringify(o)}`);
          }
          await checkWholeTree(core, m);
        } finally {
          await core.close();
        }
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 60), endOnFailure: true },
    );
  });
});
