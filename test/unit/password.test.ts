// auth/password.ts and auth/user-name.ts: scrypt hashes that carry their parameters and salt,
// constant-time verification that never throws on a bad stored value, and bearer tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SCRYPT_PARAMS, TOKEN_PREFIX, hashPassword, hashToken, newToken, randomPassword, tokenId, verifyPassword } from '../../src/auth/password.js';
import { checkUserName } from '../../src/auth/user-name.js';
import { FsError } from '../../src/core/errors.js';

describe('password hashing', () => {
  it('verifies the password it hashed and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
    assert.equal(await verifyPassword('correct horse battery stapl', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts: two hashes of one password differ, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.notEqual(a.split('$')[4], b.split('$')[4]);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  it('stores its parameters, a 16-byte salt and a 32-byte hash', async () => {
    const parts = (await hashPassword('pw')).split('$');
    assert.equal(parts.length, 6);
    assert.deepEqual(parts.slice(0, 4), ['scrypt', String(SCRYPT_PARAMS.N), '8', '1']);
    assert.ok(SCRYPT_PARAMS.N >= 2 ** 15);
    assert.equal(Buffer.from(parts[4]!, 'base64').length, 16);
    assert.equal(Buffer.from(parts[5]!, 'base64').length, 32);
  });

  it('verifies with the parameters stored in the hash, not the current defaults', async () => {
    // A hash made with N = 2^14 (a weaker past default) still verifies.
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync('old', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const stored = `scrypt$${2 ** 14}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('old', stored), true);
    assert.equal(await verifyPassword('new', stored), false);
  });

  it('refuses tampered and malformed stored values without throwing', async () => {
    const stored = await hashPassword('secret');
    const parts = stored.split('$');
    const flipped = Buffer.from(parts[5]!, 'base64');
    flipped[0]! ^= 1;
    const bad = [
      [...parts.slice(0, 5), flipped.toString('base64')].join('$'), // one bit of the hash
      [...parts.slice(0, 4), Buffer.alloc(16).toString('base64'), parts[5]].join('$'), // another salt
      ['scrypt', String(2 ** 16), ...parts.slice(2)].join('$'), // another N
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // N asking for gigabytes
      ['bcrypt', ...parts.slice(1)].join('$'),
      parts.slice(0, 5).join('$'),
      `${stored}$extra`,
      [...parts.slice(0, 5), '!!notbase64'].join('$'),
      [...parts.slice(0, 5), Buffer.alloc(4).toString('base64')].join('$'), // hash too short
      '',
      'secret',
    ];
    for (const b of bad) assert.equal(await verifyPassword('secret', b), false, b);
  });

  it('hashes the NFC form, so a password typed on macOS and on Windows is the same', async () => {
    const stored = await hashPassword('caf\u00e9-pass');
    assert.equal(await verifyPassword('cafe\u0301-pass', stored), true);
  });
});

describe('tokens and generated passwords', () => {
  it('makes unique prefixed tokens whose hash is the stable SHA-256 of the token', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const { token, hash } = newToken();
      assert.ok(token.startsWith(TOKEN_PREFIX));
      assert.ok(token.length >= TOKEN_PREFIX.length + 43, token); // 32 bytes in base64url
      assert.match(hash, /^[0-9a-f]{64}$/);
      assert.equal(hashToken(token), hash);
      assert.equal(hashToken(token), hashToken(token));
      assert.ok(!seen.has(token));
      seen.add(token);
    }
    // The known SHA-256 test vector: the hash is plain SHA-256 of the UTF-8 string.
    assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(tokenId(hashToken('abc')), 'ba7816bf8f01');
  });

  it('generates long random passwords', () => {
    const a = randomPassword();
    assert.ok(a.length >= 20);
    assert.match(a, /^[A-Za-z0-9_-]+$/);
    assert.notEqual(a, randomPassword());
  });

  it('never starts a generated password with "-" (tools would take it for an option)', () => {
    // 1 in 64 base64url strings start with '-': 2,000 draws would meet ~31 of them.
    for (let i = 0; i < 2000; i++) assert.notEqual(randomPassword()[0], '-');
  });
});

describe('user names', () => {
  it('accepts 1–64 of [A-Za-z0-9._-] not starting with a dot', () => {
    for (const ok of ['a', 'alice', 'Bob.Smith', 'x_y-z', '0', 'a'.repeat(64), '-dash', 'a..b']) assert.equal(checkUserName(ok), ok);
  });

  it('refuses everything else with EINVAL', () => {
    const bad = ['', '.', '..', '.hidden', 'a'.repeat(65), 'al ice', 'a/b', 'a\\b', 'a:b', 'é', 'a\u0000', 'a@b', '../x'];
    for (const b of bad) assert.throws(() => checkUserName(b), (err: unknown) => err instanceof FsError && err.code === 'EINVAL', JSON.stringify(b));
  });
});
