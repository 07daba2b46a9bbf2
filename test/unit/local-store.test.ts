// LocalObjectStore beyond the shared contract: key validation, temp files, folder collisions, open().
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isFsError } from '../../src/core/errors.js';
import { LocalObjectStore, TEMP_PREFIX, checkLocalKey } from '../../src/store/local-store.js';
import type { ObjectInfo } from '../../src/store/object-store.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'davfs-local-unit-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(items: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of items) keys.push(item.key);
  return keys;
}

/** Every file and folder under `root`, as relative paths. */
async function tree(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).sort();
}

describe('LocalObjectStore key validation', () => {
  const refused: Array<[string, string]> = [
    ['', 'empty'],
    ['..', 'parent'],
    ['../escape', 'parent first'],
    ['a/../../escape', 'parent inside'],
    ['a/..', 'parent last'],
    ['.', 'dot'],
    ['a/./b', 'dot inside'],
    ['/etc/passwd', 'absolute'],
    ['a\\b', 'backslash (a separator on Windows)'],
    ['..\\escape', 'backslash parent'],
    ['a\0b', 'NUL'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash'],
    [`${TEMP_PREFIX}1234`, 'temp-file name'],
    [`chunks/${TEMP_PREFIX}x`, 'temp-file name in a folder'],
    [`a/${'x'.repeat(256)}`, 'segment over NAME_MAX'],
    ['k'.repeat(1025), 'key over 1,024 bytes'],
  ];
  for (const [key, why] of refused) {
    it(`refuses ${why}: ${JSON.stringify(key.length > 40 ? `${key.slice(0, 20)}…` : key)}`, async () => {
      assert.throws(() => checkLocalKey(key), (err) => isFsError(err, 'EINVAL'));
      const store = new LocalObjectStore(join(dir, 'refuse'));
      await store.open();
      await assert.rejects(store.put(key, Buffer.from('x')), (err) => isFsError(err, 'EINVAL'));
      await assert.rejects(store.get(key), (err) => isFsError(err, 'EINVAL'));
      await assert.rejects(store.getStream(key), (err) => isFsError(err, 'EINVAL'));
      await assert.rejects(store.head(key), (err) => isFsError(err, 'EINVAL'));
      await assert.rejects(store.delete(['ok', key]), (err) => isFsError(err, 'EINVAL'));
    });
  }

  it('wrote nothing anywhere while refusing', async () => {
    assert.deepEqual(await tree(join(dir, 'refuse')), []);
    assert.deepEqual((await readdir(dir)).sort(), ['refuse']);
  });

  const accepted = [
    'chunks/ab/ab12cd34ef56',
    'meta/snapshots/2024-05-01T10:00:00.000Z.sqlite',
    'a..b', // dots inside a name are harmless
    '.hidden',
    'x/...',
    'ünïcødé/名前',
  ];
  for (const key of accepted) {
    it(`accepts ${JSON.stringify(key)}`, async () => {
      checkLocalKey(key);
      const store = new LocalObjectStore(join(dir, 'accept'));
      await store.put(key, Buffer.from(key));
      assert.equal((await store.get(key)).toString(), key);
      assert.equal((await stat(join(dir, 'accept', key))).size, Buffer.byteLength(key));
    });
  }

  it('refuses list prefixes that climb out of the root', async () => {
    const store = new LocalObjectStore(join(dir, 'accept'));
    await assert.rejects(collect(store.list('../')), (err) => isFsError(err, 'EINVAL'));
    await assert.rejects(collect(store.list('a/../../')), (err) => isFsError(err, 'EINVAL'));
    await assert.rejects(collect(store.list('/etc/')), (err) => isFsError(err, 'EINVAL'));
    await assert.rejects(collect(store.list('a\0')), (err) => isFsError(err, 'EINVAL'));
  });
});

describe('LocalObjectStore temp files', () => {
  it('does not list a temp file left by a crashed write, nor count it as an object', async () => {
    const root = join(dir, 'temp');
    const store = new LocalObjectStore(root);
    await store.put('chunks/ab/abcd', Buffer.from('real'));
    // What a crash between write and rename leaves behind.
    await writeFile(join(root, 'chunks', 'ab', `${TEMP_PREFIX}5f3a9c`), 'half an obj');
    await writeFile(join(root, `${TEMP_PREFIX}top`), 'half');
    assert.deepEqual(await collect(store.list('')), ['chunks/ab/abcd']);
    assert.deepEqual(await collect(store.list('chunks/ab/')), ['chunks/ab/abcd']);
    assert.deepEqual(await collect(store.list(`chunks/ab/${TEMP_PREFIX.slice(0, 3)}`)), []);
    // A put next to the leftover still works and does not disturb it.
    await store.put('chunks/ab/abce', Buffer.from('second'));
    assert.deepEqual(await collect(store.list('chunks/')), ['chunks/ab/abcd', 'chunks/ab/abce']);
  });

  it('leaves no temp file behind after puts', async () => {
    const root = join(dir, 'clean');
    const store = new LocalObjectStore(root);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`k/${i % 3}`, Buffer.alloc(1000 * i, i))));
    assert.deepEqual(await tree(root), ['k', 'k/0', 'k/1', 'k/2']);
  });
});

describe('LocalObjectStore folders and files', () => {
  it('refuses a key under an object, and an object where a folder of keys is', async () => {
    const store = new LocalObjectStore(join(dir, 'collide'));
    await store.put('a', Buffer.from('file'));
    await assert.rejects(store.put('a/b', Buffer.from('x')), (err) => isFsError(err, 'EINVAL'));
    await store.put('d/e', Buffer.from('x'));
    await assert.rejects(store.put('d', Buffer.from('x')), (err) => isFsError(err, 'EINVAL'));
    assert.equal((await store.get('a')).toString(), 'file');
    await assert.rejects(store.getStream('d'), (err) => isFsError(err, 'ENOENT'));
    await store.delete(['d']); // a folder is not an object: nothing happens
    assert.equal((await store.get('d/e')).toString(), 'x');
  });

  it('reports the file time as mtimeMs, in head and list alike', async () => {
    const root = join(dir, 'mtime');
    const store = new LocalObjectStore(root);
    await store.put('m', Buffer.from('x'));
    const info = await store.head('m');
    assert.equal(info?.mtimeMs, (await stat(join(root, 'm'))).mtimeMs);
    const listed: ObjectInfo[] = [];
    for await (const item of store.list('')) listed.push(item);
    assert.deepEqual(listed, [info]);
  });
});

describe('LocalObjectStore.open()', () => {
  it('creates a missing root, nested', async () => {
    const root = join(dir, 'new', 'deeper', 'objects');
    await new LocalObjectStore(root).open();
    assert.ok((await stat(root)).isDirectory());
    assert.deepEqual(await tree(root), [], 'the write probe is gone');
  });

  it('fails with one clear EIO when the root cannot be a folder', async () => {
    await mkdir(join(dir, 'blocked'), { recursive: true });
    await writeFile(join(dir, 'blocked', 'file'), 'not a folder');
    const root = join(dir, 'blocked', 'file', 'objects');
    await assert.rejects(new LocalObjectStore(root).open(), (err) => {
      assert.ok(isFsError(err, 'EIO'));
      assert.match(err.message, /object directory .*blocked\/file\/objects is not usable: ENOTDIR/);
      return true;
    });
  });
});
