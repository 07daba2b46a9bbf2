// The ObjectStore contract suite: one script of behaviours that every store implementation must pass.
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isFsError } from '../../src/core/errors.js';
import type { ObjectInfo, ObjectStore } from '../../src/store/object-store.js';
import { compareKeys } from '../../src/store/store-keys.js';

export interface ContractStore {
  store: ObjectStore;
  /** Stops servers and removes directories the factory made; called after close(). */
  teardown?: () => Promise<void>;
  /**
   * Keys for the pagination and batch-delete test. Default 1,100: more than S3's 1,000 keys per
   * list page and per DeleteObjects request. A store that is slow to write (Swift: ~100 PUTs/s
   * here) may use fewer keys with smaller pages and batches configured.
   */
  manyKeys?: number;
  /**
   * Known departures of a test server from the contract, each with its reason. They relax one
   * assertion and are reported as a test diagnostic; production stores declare none.
   */
  quirks?: {
    /** list() returns the right keys but not in UTF-8 byte order. */
    listOrder?: string;
    /** Racing PUTs to one key may leave a mix of their bodies (the server writes in place). */
    racingPuts?: string;
  };
}

const MiB = 1024 * 1024;

/**
 * Registers the suite for one implementation. The factory runs once, before the first test; every
 * test works under its own key prefix, and everything written is deleted at the end.
 */
export function objectStoreContract(name: string, factory: () => Promise<ContractStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ContractStore | undefined;
    const run = `contract-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    let tests = 0;
    /** A fresh key prefix for one test: tests never see each other's objects. */
    const fresh = (): string => `${run}/t${++tests}/`;
    const store = (): ObjectStore => {
      assert.ok(subject, 'the store factory failed');
      return subject.store;
    };
    const big = randomBytes(5 * MiB);

    before(async () => {
      subject = await factory();
      await subject.store.open();
    });

    after(async () => {
      if (subject === undefined) return;
      try {
        const left = await collect(subject.store.list(`${run}/`));
        await subject.store.delete(left.map((info) => info.key));
        await subject.store.close();
      } finally {
        await subject.teardown?.();
      }
    });

    it('open() can be called again on an open store', async () => {
      await store().open();
    });

    it('round-trips empty, small and 5 MiB objects', async () => {
      const p = fresh();
      const bodies = { empty: Buffer.alloc(0), small: Buffer.from('hello, object store\n'), big };
      for (const [key, body] of Object.entries(bodies)) await store().put(p + key, body);
      for (const [key, body] of Object.entries(bodies)) {
        assertSameBytes(await store().get(p + key), body, key);
        assert.equal((await store().head(p + key))?.size, body.length, `${key}: head size`);
      }
    });

    it('keeps all 256 byte values intact (binary safety)', async () => {
      const p = fresh();
      const all = Buffer.alloc(256 * 4, 0);
      for (let i = 0; i < all.length; i++) all[i] = i % 256;
      await store().put(`${p}bytes`, all);
      assertSameBytes(await store().get(`${p}bytes`), all, 'all bytes');
      assertSameBytes(await store().get(`${p}bytes`, { range: { start: 250, end: 260 } }), all.subarray(250, 261), 'range across the wrap');
      // Bytes that look like text encodings or HTTP framing must not be touched either.
      const tricky = Buffer.from('\r\n0\r\n\r\n\u0000\uFEFF\u00e9\ud83d\ude00', 'utf8');
      await store().put(`${p}tricky`, tricky);
      assertSameBytes(await store().get(`${p}tricky`), tricky, 'tricky');
    });

    it('overwrites: the last put wins, size included', async () => {
      const p = fresh();
      await store().put(`${p}k`, Buffer.from('first version, longer'));
      await store().put(`${p}k`, Buffer.from('second'));
      assert.equal((await store().get(`${p}k`)).toString(), 'second');
      assert.equal((await store().head(`${p}k`))?.size, 6);
      await store().put(`${p}k`, Buffer.alloc(0));
      assert.equal((await store().get(`${p}k`)).length, 0);
    });

    it('put is safe to repeat with the same bytes (a failed-looking PUT may have landed)', async () => {
      const p = fresh();
      const body = randomBytes(1000);
      await store().put(`${p}k`, body);
      await store().put(`${p}k`, body);
      assertSameBytes(await store().get(`${p}k`), body, 'repeated put');
    });

    it('neither the put buffer nor the returned buffer aliases stored bytes', async () => {
      const p = fresh();
      const body = Buffer.from('original');
      await store().put(`${p}k`, body);
      body.fill(0x58);
      const read = await store().get(`${p}k`);
      assert.equal(read.toString(), 'original');
      read.fill(0x59);
      assert.equal((await store().get(`${p}k`)).toString(), 'original');
    });

    it('returns the whole object whether or not the buffer offered with `into` fits it', async () => {
      const p = fresh();
      const body = big.subarray(0, MiB + 17);
      await store().put(`${p}k`, body);
      for (const size of [0, 100, MiB + 17, 2 * MiB]) {
        const into = Buffer.alloc(size, 0xee);
        const got = await store().get(`${p}k`, { into });
        assertSameBytes(got, body, `into of ${size} bytes`);
        // Where a store used the buffer, the bytes start at its beginning.
        if (got.buffer === into.buffer) assert.equal(got.byteOffset, into.byteOffset);
      }
    });

    it('reads byte ranges: first byte, middle, last byte, whole object', async () => {
      const p = fresh();
      const body = big.subarray(0, MiB + 17);
      await store().put(`${p}k`, body);
      const last = body.length - 1;
      const cases: Array<[number, number]> = [
        [0, 0],
        [0, 99],
        [4096, 4096 + 65536],
        [MiB - 1, MiB + 1],
        [last, last],
        [last - 9, last],
        [0, last],
      ];
      for (const [start, end] of cases) {
        assertSameBytes(await store().get(`${p}k`, { range: { start, end } }), body.subarray(start, end + 1), `range ${start}-${end}`);
      }
      await store().put(`${p}one`, Buffer.from('x'));
      assert.equal((await store().get(`${p}one`, { range: { start: 0, end: 0 } })).toString(), 'x');
    });

    it('refuses ranges outside the object with EINVAL', async () => {
      const p = fresh();
      await store().put(`${p}k`, Buffer.from('0123456789'));
      for (const [start, end] of [
        [5, 10], // runs past the end (S3 would silently shorten it)
        [10, 12], // starts at the end
        [7, 3], // backwards
        [-1, 3],
      ] as const) {
        await assert.rejects(store().get(`${p}k`, { range: { start, end } }), (err) => isFsError(err, 'EINVAL'), `range ${start}-${end}`);
      }
    });

    it('reports a missing key as ENOENT from get, ranged get and getStream', async () => {
      const p = fresh();
      await assert.rejects(store().get(`${p}missing`), (err) => isFsError(err, 'ENOENT'));
      await assert.rejects(store().get(`${p}missing`, { range: { start: 0, end: 0 } }), (err) => isFsError(err, 'ENOENT'));
      await assert.rejects(store().getStream(`${p}missing`), (err) => isFsError(err, 'ENOENT'));
      // A "folder" of other keys is not an object either.
      await store().put(`${p}dir/child`, Buffer.from('c'));
      await assert.rejects(store().get(`${p}dir`), (err) => isFsError(err, 'ENOENT'));
    });

    it('head gives size and a recent mtime, or undefined when missing', async () => {
      const p = fresh();
      const before = Date.now();
      await store().put(`${p}k`, Buffer.alloc(1234, 7));
      const info = await store().head(`${p}k`);
      assert.ok(info);
      assert.equal(info.key, `${p}k`);
      assert.equal(info.size, 1234);
      // S3 keeps LastModified in whole seconds, and servers' clocks differ a little from ours.
      assert.ok(Math.abs(info.mtimeMs - before) < 5 * 60_000, `mtime ${info.mtimeMs} vs now ${before}`);
      assert.equal(await store().head(`${p}missing`), undefined);
      assert.equal(await store().head(`${p}k/below`), undefined);
    });

    it('deletes present and missing keys; deleting nothing is fine', async () => {
      const p = fresh();
      await store().put(`${p}a`, Buffer.from('a'));
      await store().put(`${p}b`, Buffer.from('b'));
      await store().delete([`${p}a`, `${p}missing`, `${p}a`]);
      assert.equal(await store().head(`${p}a`), undefined);
      assert.equal((await store().get(`${p}b`)).toString(), 'b');
      await store().delete([]);
      await store().delete([`${p}missing`]);
      await assert.rejects(store().get(`${p}a`), (err) => isFsError(err, 'ENOENT'));
    });

    it('lists by prefix in key (UTF-8 byte) order, with sizes', async (t) => {
      const p = fresh();
      const unordered = subject?.quirks?.listOrder;
      if (unordered !== undefined) t.diagnostic(`known quirk, order not checked: ${unordered}`);
      const ordered = (infos: ObjectInfo[]): string[] => {
        const keys = keyList(infos);
        return unordered === undefined ? keys : keys.sort(compareKeys);
      };
      // "a-b" < "a/…" < "ab" in byte order ('-' 0x2d, '/' 0x2f, 'b' 0x62): a store walking folders
      // naively would list a/… before a-b.
      const keys = ['b', 'a/z', 'a-b', 'a/b/c', 'ab', 'a/b-', 'a0', 'Q', 'a/b/d', 'é', 'z'];
      await Promise.all(keys.map((k, i) => store().put(p + k, Buffer.alloc(i))));
      const expectAll = keys.map((k) => p + k).sort(compareKeys);
      const all = await collect(store().list(p));
      assert.deepEqual(ordered(all), expectAll);
      for (const info of all) assert.equal(info.size, keys.indexOf(info.key.slice(p.length)), `size of ${info.key}`);
      assert.deepEqual(ordered(await collect(store().list(`${p}a/`))), [`${p}a/b-`, `${p}a/b/c`, `${p}a/b/d`, `${p}a/z`]);
      assert.deepEqual(ordered(await collect(store().list(`${p}a/b`))), [`${p}a/b-`, `${p}a/b/c`, `${p}a/b/d`]);
      assert.deepEqual(ordered(await collect(store().list(`${p}a`))), expectAll.filter((k) => k.startsWith(`${p}a`)));
      assert.deepEqual(ordered(await collect(store().list(`${p}a/b/c`))), [`${p}a/b/c`]);
    });

    it('lists nothing for a prefix no key has, and everything for the empty prefix', async () => {
      const p = fresh();
      assert.deepEqual(await collect(store().list(`${p}nothing/`)), []);
      assert.deepEqual(await collect(store().list(`${p}nothing`)), []);
      await store().put(`${p}x`, Buffer.from('x'));
      const everything = keyList(await collect(store().list('')));
      assert.ok(everything.includes(`${p}x`));
      if (subject?.quirks?.listOrder === undefined) {
        assert.deepEqual(everything, [...everything].sort(compareKeys), 'whole-store listing is ordered');
      }
    });

    it('paginates list and batches delete over many keys', async (t) => {
      const p = fresh();
      const many = subject?.manyKeys ?? 1100;
      t.diagnostic(`${many} keys`);
      // Same-length names in a scrambled order: a flat folder, so even a quirky order is sorted here.
      const keys = Array.from({ length: many }, (_, i) => `${p}${String((i * 7919) % many).padStart(5, '0')}`);
      await inParallel(keys, 32, (key) => store().put(key, Buffer.from(key)));
      const listed = await collect(store().list(p));
      assert.equal(listed.length, many);
      assert.equal(new Set(keyList(listed)).size, many, 'no key listed twice across pages');
      assert.deepEqual(keyList(listed), [...keys].sort(compareKeys));
      await store().delete(keys);
      assert.deepEqual(await collect(store().list(p)), []);
    });

    it('handles concurrent puts to many keys and to one key', async (t) => {
      const p = fresh();
      const bodies = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 100));
      await Promise.all(bodies.map((body, i) => store().put(`${p}k${i}`, body)));
      const read = await Promise.all(bodies.map((_, i) => store().get(`${p}k${i}`)));
      read.forEach((body, i) => assertSameBytes(body, bodies[i] ?? Buffer.alloc(0), `k${i}`));
      // Racing writers to one key: the result is exactly one of them, never a mix.
      const rivals = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
      await Promise.all(rivals.map((body) => store().put(`${p}same`, body)));
      const winner = await store().get(`${p}same`);
      const racingPuts = subject?.quirks?.racingPuts;
      if (racingPuts === undefined) {
        assert.ok(rivals.some((body) => body.equals(winner)), 'the object is one of the bodies written');
      } else {
        t.diagnostic(`known quirk, racing PUTs not checked: ${racingPuts}`);
        assert.equal(winner.length, 64 * 1024, 'the object has the length every writer wrote');
      }
      assert.equal((await collect(store().list(`${p}same`))).length, 1, 'no leftovers listed');
    });

    it('streams objects with getStream (5 MiB and empty)', async () => {
      const p = fresh();
      await store().put(`${p}big`, big);
      await store().put(`${p}empty`, Buffer.alloc(0));
      assertSameBytes(await drain(await store().getStream(`${p}big`)), big, 'big stream');
      assertSameBytes(await drain(await store().getStream(`${p}empty`)), Buffer.alloc(0), 'empty stream');
      // A reader that stops early must be able to destroy the stream without errors or leaks.
      const stream = await store().getStream(`${p}big`);
      for await (const chunk of stream) {
        assert.ok(Buffer.isBuffer(chunk));
        break;
      }
      assert.ok(stream.destroyed);
    });
  });
}

async function collect(items: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function keyList(infos: ObjectInfo[]): string[] {
  return infos.map((info) => info.key);
}

async function drain(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) {
    assert.ok(Buffer.isBuffer(chunk), 'streams yield Buffers');
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Like assert.deepEqual on buffers, but says where they differ instead of printing megabytes. */
function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  if (actual.equals(expected)) return;
  let i = 0;
  while (actual[i] === expected[i]) i++;
  assert.fail(`${what}: first difference at byte ${i}`);
}

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
