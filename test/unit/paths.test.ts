// Path rules: canonical form, and every way a client path could escape the root is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../src/core/errors.js';
import { baseName, isSameOrInside, joinPath, normalizePath, parentOf, splitPath } from '../../src/core/paths.js';

describe('normalizePath', () => {
  const ok: [string, string][] = [
    ['', '/'],
    ['/', '/'],
    ['//', '/'],
    ['/a', '/a'],
    ['a/b', '/a/b'],
    ['/a//b/', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/caf\u0065\u0301', '/caf\u00e9'], // Finder sends NFD; stored as NFC
    ['/with space/and%percent', '/with space/and%percent'],
  ];
  for (const [input, want] of ok) it(`accepts ${JSON.stringify(input)}`, () => assert.equal(normalizePath(input), want));

  const bad: [string, string][] = [
    ['/..', 'EACCES'],
    ['/a/../b', 'EACCES'],
    ['../etc/passwd', 'EACCES'],
    ['/a/..', 'EACCES'],
    ['/a\u0000b', 'EINVAL'],
    ['/a\nb', 'EINVAL'],
    ['/a\\..\\b', 'EINVAL'],
    ['/' + 'x'.repeat(256), 'EINVAL'],
    ['/' + 'a/'.repeat(2100), 'EINVAL'],
  ];
  for (const [input, code] of bad) {
    it(`refuses ${JSON.stringify(input.slice(0, 30))} with ${code}`, () => {
      assert.throws(() => normalizePath(input), (e: unknown) => e instanceof FsError && e.code === code);
    });
  }
});

describe('path helpers', () => {
  it('splits, joins and finds parents', () => {
    assert.deepEqual(splitPath('/'), []);
    assert.deepEqual(splitPath('/a/b'), ['a', 'b']);
    assert.equal(parentOf('/a/b'), '/a');
    assert.equal(parentOf('/a'), '/');
    assert.equal(baseName('/a/b'), 'b');
    assert.equal(joinPath('/', 'x'), '/x');
    assert.equal(joinPath('/a', 'x'), '/a/x');
  });
  it('knows what is inside what', () => {
    assert.ok(isSameOrInside('/a/b', '/a'));
    assert.ok(isSameOrInside('/a', '/a'));
    assert.ok(!isSameOrInside('/ab', '/a'));
    assert.ok(isSameOrInside('/x', '/'));
  });
});
