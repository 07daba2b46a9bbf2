// The mapping of a user's visible paths onto the tree (tenancy/namespace.ts), and Digest nonces.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DigestNonces } from '../../src/auth/digest-nonce.js';
import { isFsError } from '../../src/core/errors.js';
import { Namespace } from '../../src/tenancy/namespace.js';

const ns = new Namespace({
  name: 'alice',
  home: '/home/alice',
  readOnly: false,
  quotaBytes: 1000,
  shares: [
    { name: 'team', path: '/projects/team', rights: 'rw' },
    { name: 'docs', path: '/', rights: 'r' },
  ],
});

describe('Namespace', () => {
  it('maps the home to / and each share to /<name>', () => {
    assert.equal(ns.resolve('/').real, '/home/alice');
    assert.equal(ns.resolve('/a/b.txt').real, '/home/alice/a/b.txt');
    assert.equal(ns.resolve('/team').real, '/projects/team');
    assert.equal(ns.resolve('/team/x').real, '/projects/team/x');
    assert.equal(ns.resolve('/teamwork/x').real, '/home/alice/teamwork/x', 'a prefix of a share name is not the share');
    assert.equal(ns.resolve('/docs/etc').real, '/etc', 'a share of the whole tree');
    assert.deepEqual(ns.resolve('/team').mount.quota, undefined);
    assert.deepEqual(ns.resolve('/x').mount.quota, { root: '/home/alice', maxBytes: 1000 });
  });

  it('maps tree paths back through the mount they came from', () => {
    assert.equal(ns.toVisible(ns.home, '/home/alice/a'), '/a');
    assert.equal(ns.toVisible(ns.home, '/home/alice'), '/');
    assert.equal(ns.toVisible(ns.home, '/home/alicea'), undefined);
    assert.equal(ns.toVisible(ns.shareAt('/team')!, '/projects/team/x/y'), '/team/x/y');
    assert.equal(ns.toVisible(ns.shareAt('/docs')!, '/etc/passwd'), '/docs/etc/passwd');
  });

  it('refuses traversal, writes to read-only shares and changes of mount points', () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return isFsError(err) ? err.code : String(err);
      }
    };
    assert.equal(code(() => ns.resolve('/../bob')), 'EACCES');
    assert.equal(code(() => ns.resolve('/a\\..\\b')), 'EINVAL');
    assert.equal(code(() => ns.resolve('/a\u0000')), 'EINVAL');
    assert.equal(code(() => ns.resolveWritable('/docs/x')), 'EACCES');
    assert.equal(code(() => ns.resolveWritable('/team/x')), 'ok');
    assert.equal(code(() => ns.resolveMember('/team')), 'EACCES');
    assert.equal(code(() => ns.resolveMember('/')), 'EACCES');
    const readOnly = new Namespace({ ...ns.view, readOnly: true });
    assert.equal(code(() => readOnly.resolveWritable('/x')), 'EACCES');
    assert.equal(code(() => readOnly.resolveWritable('/team/x')), 'EACCES');
  });
});

describe('DigestNonces', () => {
  it('accepts its own fresh nonces, calls old ones stale and forged ones invalid', () => {
    let now = 1_000_000;
    const key = Buffer.alloc(32, 7);
    const nonces = new DigestNonces(key, 60_000, () => now);
    const n = nonces.issue();
    assert.equal(nonces.check(n), 'valid');
    now += 60_001;
    assert.equal(nonces.check(n), 'stale');
    assert.equal(new DigestNonces(Buffer.alloc(32, 8), 60_000, () => now).check(nonces.issue()), 'invalid', 'another key');
    assert.equal(nonces.check(`${(now + 1).toString(36)}.${n.split('.')[1]}`), 'invalid', 'time changed');
    assert.equal(nonces.check('garbage'), 'invalid');
  });
});
