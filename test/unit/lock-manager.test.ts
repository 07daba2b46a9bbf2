// LockManager over a real SqlMetaStore (SQLite in memory): the RFC 4918 cases one by one, then
// thousands of random LOCK/UNLOCK/refresh/write-check steps against an in-memory model, checking
// after every step that no two live locks conflict and that the store holds exactly the model's locks.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { isFsError } from '../../src/core/errors.js';
import { isSameOrInside } from '../../src/core/paths.js';
import {
  LockConflictError,
  LockedError,
  LockManager,
  LockPrincipalError,
  LockTokenError,
  lockCovers,
  parseTimeout,
  timeoutHeader,
  type Lock,
  type LockDepth,
  type LockScope,
} from '../../src/locks/lock-manager.js';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';

const T0 = 1_000_000;

async function openMeta(): Promise<SqlMetaStore> {
  const meta = new SqlMetaStore(new SqliteDriver(':memory:'));
  await meta.open();
  return meta;
}

function rejectsWith<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E, check: (e: E) => void = () => {}): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    check(err);
    return true;
  });
}

describe('LockManager', () => {
  let meta: SqlMetaStore;
  let clock: number;
  let locks: LockManager;
  const take = (path: string, o: { depth?: LockDepth; scope?: LockScope; principal?: string | null; timeout?: number | 'infinite' } = {}) =>
    locks.lock({ path, depth: o.depth ?? 0, scope: o.scope ?? 'exclusive', ownerXml: null, principal: o.principal ?? null, timeout: o.timeout });

  beforeEach(async () => {
    meta = await openMeta();
    clock = T0;
    locks = new LockManager(meta, { maxTimeoutS: 3600, defaultTimeoutS: 600 }, () => clock);
  });
  afterEach(() => meta.close());

  describe('taking locks (§9.10, compatibility table §9.10.5)', () => {
    it('grants a lock with a urn:uuid token and the owner XML', async () => {
      const owner = '<D:owner xmlns:D="DAV:"><D:href>http://example.org/~ejw/contact.html</D:href></D:owner>';
      const l = await locks.lock({ path: '/docs/', depth: 'infinity', scope: 'exclusive', ownerXml: owner, principal: 'ann', timeout: 100 });
      assert.match(l.token, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual({ ...l, token: '' }, {
        token: '',
        root: '/docs',
        depth: 'infinity',
        scope: 'exclusive',
        ownerXml: owner,
        principal: 'ann',
        timeoutS: 100,
        expiresMs: T0 + 100_000,
        createdMs: T0,
      });
      assert.notEqual((await take('/other')).token, l.token);
    });

    it('refuses any second lock beside an exclusive one', async () => {
      await take('/a');
      await rejectsWith(take('/a'), LockConflictError, (e) => assert.deepEqual(e.paths, ['/a']));
      await rejectsWith(take('/a', { scope: 'shared' }), LockConflictError);
    });

    it('lets shared locks share, and refuses an exclusive one among them', async () => {
      await take('/s', { scope: 'shared', principal: 'ann' });
      await take('/s', { scope: 'shared', principal: 'bob' });
      await rejectsWith(take('/s'), LockConflictError, (e) => assert.deepEqual(e.paths, ['/s']));
      assert.equal((await locks.discover('/s')).length, 2);
    });

    it('extends a depth-infinity lock over every member, and only then', async () => {
      await take('/c', { depth: 'infinity' });
      await rejectsWith(take('/c/x/y'), LockConflictError, (e) => assert.deepEqual(e.paths, ['/c']));
      await take('/c0/x');
      await take('/c0'); // depth 0 does not reach the member /c0/x
      await rejectsWith(take('/c0', { depth: 'infinity', scope: 'shared' }), LockConflictError, (e) => assert.deepEqual(e.paths, ['/c0', '/c0/x']));
      await take('/cc'); // a sibling whose name starts with the same letters is not a member
    });

    it('is an FsError EBUSY, so a front without a special case still answers 423', async () => {
      await take('/a');
      await assert.rejects(take('/a'), (e: unknown) => isFsError(e, 'EBUSY') && (e as LockConflictError).condition === 'no-conflicting-lock');
    });
  });

  describe('timeouts (§10.7)', () => {
    it('grants the default, caps at the maximum and gives Infinite the maximum', async () => {
      assert.equal((await take('/1')).timeoutS, 600);
      assert.equal((await take('/2', { timeout: 10 })).timeoutS, 10);
      assert.equal((await take('/3', { timeout: 99_999 })).timeoutS, 3600);
      assert.equal((await take('/4', { timeout: 'infinite' })).timeoutS, 3600);
      assert.equal((await take('/5', { timeout: 0 })).timeoutS, 1);
    });

    it('reports the seconds remaining', async () => {
      const l = await take('/t', { timeout: 100 });
      assert.equal(locks.timeoutHeader(l), 'Second-100');
      clock += 30_500;
      assert.equal(locks.timeoutHeader(l), 'Second-70');
      assert.equal(timeoutHeader(l, T0 + 200_000), 'Second-0');
    });

    it('grants infinite locks when the maximum is Infinity', async () => {
      const unlimited = new LockManager(meta, { maxTimeoutS: Infinity }, () => clock);
      const l = await unlimited.lock({ path: '/inf', depth: 0, scope: 'exclusive', ownerXml: null, principal: null, timeout: 'infinite' });
      assert.equal(l.expiresMs, null);
      assert.equal(timeoutHeader(l), 'Infinite');
      clock += 1e12;
      assert.equal((await unlimited.discover('/inf')).length, 1);
    });

    it('lets a lapsed lock go', async () => {
      const l = await take('/e', { timeout: 10 });
      clock += 9_999;
      await rejectsWith(take('/e'), LockConflictError);
      clock += 1;
      assert.deepEqual(await locks.discover('/e'), []);
      await rejectsWith(locks.refresh('/e', l.token, 10), LockTokenError);
      await take('/e');
    });

    it('parses the Timeout header: first understood value wins, garbage means the default', () => {
      const cases: [string | undefined, number | 'infinite' | undefined][] = [
        [undefined, undefined],
        ['', undefined],
        ['Second-3600', 3600],
        ['second-10', 10],
        ['Infinite', 'infinite'],
        ['Infinite, Second-4100000000', 'infinite'],
        ['Second-4100000000', 4_100_000_000],
        ['Second-99999999999', 2 ** 32 - 1],
        ['Extend-5, Second-60', 60],
        ['  Second-5 ,Infinite', 5],
        ['Second-', undefined],
        ['Second--5', undefined],
        ['Second-1.5', undefined],
        ['Seconds-5', undefined],
        ['garbage', undefined],
      ];
      for (const [header, want] of cases) assert.equal(parseTimeout(header), want, String(header));
    });
  });

  describe('refresh (§9.10.2)', () => {
    it('restarts the timeout', async () => {
      const l = await take('/r', { timeout: 60 });
      clock += 50_000;
      const r = await locks.refresh('/r', l.token, 60);
      assert.equal(r.expiresMs, clock + 60_000);
      assert.equal(r.token, l.token);
      clock += 50_000;
      assert.equal((await locks.discover('/r')).length, 1);
    });

    it('accepts a member of a depth-infinity lock (litmus indirect_refresh)', async () => {
      const l = await take('/coll', { depth: 'infinity' });
      assert.equal((await locks.refresh('/coll/lockme.txt', l.token, undefined)).root, '/coll');
    });

    it('refuses a token that does not cover the request URI with 412 lock-token-matches-request-uri', async () => {
      const l = await take('/r');
      const check = (e: LockTokenError) => {
        assert.equal(e.status, 412);
        assert.equal(e.condition, 'lock-token-matches-request-uri');
      };
      await rejectsWith(locks.refresh('/r/x', l.token, 10), LockTokenError, check);
      await rejectsWith(locks.refresh('/other', l.token, 10), LockTokenError, check);
      await rejectsWith(locks.refresh('/r', 'urn:uuid:bogus', 10), LockTokenError, check);
    });

    it('lets only the owner refresh when a principal is given', async () => {
      const l = await take('/r', { principal: 'ann' });
      await rejectsWith(locks.refresh('/r', l.token, 10, 'bob'), LockPrincipalError);
      await locks.refresh('/r', l.token, 10, 'ann');
    });
  });

  describe('unlock (§9.11)', () => {
    it('removes the lock', async () => {
      const l = await take('/u');
      await locks.unlock('/u', l.token, null);
      assert.deepEqual(await locks.discover('/u'), []);
      await take('/u');
    });

    it('accepts any URL in the lock scope', async () => {
      const l = await take('/u', { depth: 'infinity' });
      await locks.unlock('/u/deep/er', l.token, null);
      assert.deepEqual(await locks.discover('/u'), []);
    });

    it('answers 409 lock-token-matches-request-uri for a bogus token or a URL outside the lock', async () => {
      const l = await take('/u');
      const check = (e: LockTokenError) => {
        assert.equal(e.status, 409);
        assert.equal(e.condition, 'lock-token-matches-request-uri');
      };
      await rejectsWith(locks.unlock('/u', 'opaquelocktoken:foobar', null), LockTokenError, check); // litmus notowner_lock
      await rejectsWith(locks.unlock('/u/x', l.token, null), LockTokenError, check);
      await locks.unlock('/u', l.token, null);
      await rejectsWith(locks.unlock('/u', l.token, null), LockTokenError, check);
    });

    it("refuses another principal's lock with 403", async () => {
      const l = await take('/u', { principal: 'ann' });
      await rejectsWith(locks.unlock('/u', l.token, 'bob'), LockPrincipalError, (e) => assert.equal(e.code, 'EACCES'));
      await rejectsWith(locks.unlock('/u', l.token, null), LockPrincipalError);
      await locks.unlock('/u', l.token, 'ann');
    });
  });

  describe('discovery (§15.8)', () => {
    it('lists the locks covering a resource, and a whole tree at once', async () => {
      const top = await take('/d', { depth: 'infinity', scope: 'shared' });
      const own = await take('/d/f', { scope: 'shared' });
      await take('/d/g/h', { scope: 'shared' });
      await take('/e');
      assert.deepEqual((await locks.discover('/d/f')).map((l) => l.token).sort(), [top.token, own.token].sort());
      assert.deepEqual((await locks.discover('/d/x')).map((l) => l.token), [top.token]);
      const tree = await locks.discoverTree('/d/g');
      assert.deepEqual(tree.map((l) => l.root).sort(), ['/d', '/d/g/h']);
      assert.deepEqual(tree.filter((l) => lockCovers(l, '/d/g/h')).length, 2);
      assert.deepEqual(tree.filter((l) => lockCovers(l, '/d/g')).length, 1);
    });

    it('forgets the locks within a deleted or moved tree, and purges lapsed ones', async () => {
      await take('/m', { depth: 'infinity', scope: 'shared' });
      await take('/m/n', { scope: 'shared' });
      await take('/mm');
      await take('/p', { timeout: 1 });
      assert.equal(await locks.releaseWithin('/m'), 2);
      assert.deepEqual((await locks.discoverTree('/')).map((l) => l.root).sort(), ['/mm', '/p']);
      clock += 1000;
      assert.equal(await locks.purgeExpired(), 1);
    });
  });

  describe('write checks (§7.1, §6.4, §10.4.1)', () => {
    const write = (path: string, tokens: string[], o: { depth?: LockDepth; principal?: string | null } = {}) =>
      locks.assertCanWrite({ path, depth: o.depth ?? 0, tokens, principal: o.principal ?? null });

    it('passes an unlocked resource', async () => {
      await take('/elsewhere');
      await write('/free', []);
      await write('/', [], { depth: 0 });
    });

    it('refuses a locked resource without the token with 423 lock-token-submitted (litmus notowner_modify)', async () => {
      const l = await take('/lockme');
      await rejectsWith(write('/lockme', []), LockedError, (e) => {
        assert.deepEqual(e.paths, ['/lockme']);
        assert.equal(e.condition, 'lock-token-submitted');
        assert.equal(e.code, 'EBUSY');
      });
      await rejectsWith(write('/lockme', [`${l.token}x`]), LockedError); // litmus cond_put_corrupt_token
      await write('/lockme', [l.token]);
    });

    it('accepts a token only from the principal who took the lock (§6.4)', async () => {
      const l = await take('/mine', { principal: 'ann' });
      await rejectsWith(write('/mine', [l.token], { principal: 'bob' }), LockedError);
      await rejectsWith(write('/mine', [l.token], { principal: null }), LockedError);
      await write('/mine', [l.token], { principal: 'ann' });
    });

    it('protects the members of a depth-infinity lock, which its token unlocks (§10.4.10)', async () => {
      const l = await take('/coll', { depth: 'infinity' });
      await rejectsWith(write('/coll/lockme.txt', []), LockedError, (e) => assert.deepEqual(e.paths, ['/coll']));
      await write('/coll/lockme.txt', [l.token]);
      await write('/collx', []);
    });

    it('checks everything below for a depth-infinity change (DELETE of a folder)', async () => {
      const inner = await take('/dir/sub/file', { principal: 'ann' });
      await write('/dir', [], { depth: 0 });
      await rejectsWith(write('/dir', [], { depth: 'infinity' }), LockedError, (e) => assert.deepEqual(e.paths, ['/dir/sub/file']));
      await write('/dir', [inner.token], { depth: 'infinity', principal: 'ann' });
    });

    it('lets any holder of a shared lock write, and nobody else', async () => {
      const ann = await take('/shared', { scope: 'shared', principal: 'ann' });
      const bob = await take('/shared', { scope: 'shared', principal: 'bob' });
      await rejectsWith(write('/shared', [], { principal: 'carl' }), LockedError, (e) => assert.deepEqual(e.paths, ['/shared']));
      await write('/shared', [ann.token], { principal: 'ann' });
      await write('/shared', [bob.token], { principal: 'bob' });
      await rejectsWith(write('/shared', [ann.token], { principal: 'bob' }), LockedError);
    });

    it('needs a held lock for every locked resource of a depth-infinity change', async () => {
      const ann = await take('/t/a', { scope: 'shared', principal: 'ann' });
      await take('/t/b', { scope: 'shared', principal: 'bob' });
      await rejectsWith(write('/t', [ann.token], { depth: 'infinity', principal: 'ann' }), LockedError, (e) => assert.deepEqual(e.paths, ['/t/b']));
      // A shared lock ann holds on the folder covers /t/b too, and any holder of a shared lock may write.
      const top = await take('/t', { depth: 'infinity', scope: 'shared', principal: 'ann' });
      await write('/t', [top.token], { depth: 'infinity', principal: 'ann' });
      await rejectsWith(write('/t', [], { depth: 'infinity', principal: 'ann' }), LockedError, (e) => assert.deepEqual(e.paths, ['/t', '/t/a', '/t/b']));
    });

    it('counts locks rooted at a member of a depth-infinity lock root separately from it', async () => {
      const zero = await take('/z', { scope: 'shared', principal: 'ann' });
      const inf = await take('/z', { depth: 'infinity', scope: 'shared', principal: 'bob' });
      await write('/z', [zero.token], { principal: 'ann' });
      // ann's depth-0 lock does not reach /z's members, which bob's lock covers.
      await rejectsWith(write('/z', [zero.token], { depth: 'infinity', principal: 'ann' }), LockedError, (e) => assert.deepEqual(e.paths, ['/z']));
      await write('/z', [inf.token], { depth: 'infinity', principal: 'bob' });
    });
  });
});

// ---- Randomized: LOCK/UNLOCK/refresh/write checks against a model ----

/** mulberry32: a small seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelLock {
  token: string;
  root: string;
  infinite: boolean;
  scope: LockScope;
  principal: string | null;
  expiresMs: number;
}

// Paths chosen to trip LIKE (`_`, `%`), SQLite's case-insensitive LIKE (`/A`) and prefixes (`/ab`).
const UNIVERSE = ['/', '/a', '/a/b', '/a/b/c', '/a/B', '/a_b', '/axb', '/a%', '/A', '/ab', '/c'];
const PRINCIPALS = ['ann', 'bob', null] as const;
const MAX_S = 60;
const DEFAULT_S = 20;

/** The model's own statement of coverage: the root, and with depth infinity everything strictly inside. */
const modelCovers = (l: ModelLock, p: string) => l.root === p || (l.infinite && p !== l.root && isSameOrInside(p, l.root));
const modelOverlap = (a: ModelLock, b: ModelLock) => modelCovers(a, b.root) || modelCovers(b, a.root);
/** A member of `p` that is no path of the universe (so no lock is rooted there). */
const memberOf = (p: string) => (p === '/' ? '/~member' : `${p}/~member`);

describe('LockManager randomized against a model', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps locks consistent over 2000 random steps (seed ${seed})`, async () => {
      const meta = await openMeta();
      let clock = T0;
      const locks = new LockManager(meta, { maxTimeoutS: MAX_S, defaultTimeoutS: DEFAULT_S }, () => clock);
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const model = new Map<string, ModelLock>();
      const everIssued: string[] = [];
      const live = () => [...model.values()].filter((l) => l.expiresMs > clock);
      const counts = { lock: 0, lockRefused: 0, unlock: 0, refresh: 0, writeOk: 0, writeLocked: 0 };
      const randomTimeout = (): number | 'infinite' | undefined => pick([undefined, 'infinite', 0, 1 + Math.floor(rnd() * 90)]);
      const granted = (t: number | 'infinite' | undefined) => (t === undefined ? DEFAULT_S : t === 'infinite' ? MAX_S : Math.max(1, Math.min(t, MAX_S)));
      const someToken = () => {
        const alive = live();
        if (alive.length > 0 && rnd() < 0.6) return pick(alive).token;
        return everIssued.length > 0 && rnd() < 0.8 ? pick(everIssued) : `urn:uuid:bogus-${Math.floor(rnd() * 3)}`;
      };
      /** Mostly the lock's own root and principal, sometimes anything. */
      const pathFor = (token: string) => model.get(token)?.root !== undefined && rnd() < 0.6 ? model.get(token)!.root : pick(UNIVERSE);
      const principalFor = (token: string) => (model.has(token) && rnd() < 0.7 ? model.get(token)!.principal : pick(PRINCIPALS));
      /** What the model says a token operation on `path` should throw, if anything. */
      const tokenProblem = (token: string, path: string, principal: string | null | undefined) => {
        const l = model.get(token);
        if (!l || l.expiresMs <= clock || !modelCovers(l, path)) return LockTokenError;
        if (principal !== undefined && l.principal !== null && l.principal !== principal) return LockPrincipalError;
        return null;
      };

      try {
        for (let step = 0; step < 2000; step++) {
          const r = rnd();
          const where = `seed ${seed} step ${step}`;
          if (r < 0.35) {
            const req = { path: pick(UNIVERSE), depth: pick([0, 'infinity'] as const), scope: pick(['exclusive', 'shared'] as const), principal: pick(PRINCIPALS), timeout: randomTimeout() };
            const mine: ModelLock = { token: '', root: req.path, infinite: req.depth === 'infinity', scope: req.scope, principal: req.principal, expiresMs: clock + granted(req.timeout) * 1000 };
            const blocking = live().filter((l) => modelOverlap(l, mine) && (l.scope === 'exclusive' || mine.scope === 'exclusive'));
            try {
              const got = await locks.lock({ ...req, ownerXml: null });
              assert.equal(blocking.length, 0, `${where}: lock on ${req.path} should have conflicted`);
              assert.equal(got.expiresMs, mine.expiresMs, where);
              model.set(got.token, { ...mine, token: got.token });
              everIssued.push(got.token);
              counts.lock++;
            } catch (err) {
              if (!(err instanceof LockConflictError)) throw err;
              assert.deepEqual([...err.paths].sort(), [...new Set(blocking.map((l) => l.root))].sort(), where);
              counts.lockRefused++;
            }
          } else if (r < 0.55) {
            const token = someToken();
            const path = pathFor(token);
            const principal = principalFor(token);
            const problem = tokenProblem(token, path, principal);
            try {
              await locks.unlock(path, token, principal);
              assert.equal(problem, null, `${where}: unlock should have failed`);
              model.delete(token);
              counts.unlock++;
            } catch (err) {
              assert.ok(problem && err instanceof problem, `${where}: unlock threw ${String(err)}, model expected ${problem?.name ?? 'success'}`);
            }
          } else if (r < 0.7) {
            const token = someToken();
            const path = pathFor(token);
            const principal = rnd() < 0.3 ? undefined : principalFor(token);
            const timeout = randomTimeout();
            const problem = tokenProblem(token, path, principal);
            try {
              const got = await locks.refresh(path, token, timeout, principal);
              assert.equal(problem, null, `${where}: refresh should have failed`);
              model.get(token)!.expiresMs = clock + granted(timeout) * 1000;
              assert.equal(got.expiresMs, model.get(token)!.expiresMs, where);
              counts.refresh++;
            } catch (err) {
              assert.ok(problem && err instanceof problem, `${where}: refresh threw ${String(err)}, model expected ${problem?.name ?? 'success'}`);
            }
          } else if (r < 0.93) {
            const path = pick(UNIVERSE);
            const depth = pick([0, 'infinity'] as const);
            const principal = pick(PRINCIPALS);
            const tokens = everIssued.filter(() => rnd() < 0.3);
            // Brute force over every resource the change reaches: each path of the universe in
            // scope, and a member of each (a resource no lock is rooted at).
            const inScope = depth === 0 ? [path] : UNIVERSE.filter((p) => isSameOrInside(p, path)).flatMap((p) => [p, memberOf(p)]);
            const blocked = new Set<string>();
            for (const p of inScope) {
              const cover = live().filter((l) => modelCovers(l, p));
              const held = cover.some((l) => tokens.includes(l.token) && (l.principal === null || l.principal === principal));
              if (cover.length > 0 && !held) for (const l of cover) blocked.add(l.root);
            }
            try {
              await locks.assertCanWrite({ path, depth, tokens, principal });
              assert.equal(blocked.size, 0, `${where}: write to ${path} should have been refused`);
              counts.writeOk++;
            } catch (err) {
              if (!(err instanceof LockedError)) throw err;
              assert.deepEqual(err.paths, [...blocked].sort(), where);
              counts.writeLocked++;
            }
          } else if (r < 0.98) {
            clock += Math.floor(rnd() * 30_000);
            if (rnd() < 0.3) await locks.purgeExpired();
          } else {
            const path = pick(UNIVERSE);
            await locks.releaseWithin(path);
            for (const [t, l] of model) if (isSameOrInside(l.root, path)) model.delete(t);
          }

          // Invariants: the store holds exactly the model's live locks, and no two conflict.
          const stored: Lock[] = await locks.discoverTree('/');
          assert.deepEqual(stored.map((l) => l.token).sort(), live().map((l) => l.token).sort(), `${where}: stored locks differ from the model`);
          for (const a of stored) {
            for (const b of stored) {
              if (a === b || (a.scope === 'shared' && b.scope === 'shared')) continue;
              assert.ok(!lockCovers(a, b.root) && !lockCovers(b, a.root), `${where}: ${a.scope} ${a.root} overlaps ${b.scope} ${b.root}`);
            }
          }
        }
      } finally {
        await meta.close();
      }
      // The run must have exercised every outcome, or it proves little.
      for (const [k, n] of Object.entries(counts)) assert.ok(n > 10, `only ${n} × ${k}`);
    });
  }
});
