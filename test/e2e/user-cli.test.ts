// `davfs-bridge user …` and `token …` on a data folder, through the real CLI: what they print,
// what they refuse, and what they leave in the metadata store (only hashes). The tests are steps of
// one story on one data folder and run in order.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, tokenId, verifyPassword } from '../../src/auth/password.js';
import type { MetaStore } from '../../src/meta/meta-store.js';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { runCli } from '../helpers/server-process.js';

/** Runs `fn` on the data folder's metadata store, closed afterwards (the CLI opens it itself). */
async function withMeta<T>(data: string, fn: (m: MetaStore) => Promise<T>): Promise<T> {
  const m = new SqlMetaStore(new SqliteDriver(join(data, 'meta.db')));
  await m.open();
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}

describe('user and token CLI', () => {
  let data: string;
  const cli = (args: string[], stdin?: string) => runCli([...args, '--data', data], {}, { stdin });
  before(() => {
    data = mkdtempSync(join(tmpdir(), 'davfs-user-cli-'));
  });

  it('adds a user with a password from stdin; list shows it without any hash', async () => {
    const added = await cli(['user', 'add', 'alice', '--password-stdin', '--quota', '10GiB'], 'first-password\n');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^user added: alice\t\/home\/alice\tquota 10GiB\tread-write$/m);
    assert.doesNotMatch(added.stdout, /first-password|password for/);

    const user = await withMeta(data, (m) => m.getUser('alice'));
    assert.equal(user?.quotaBytes, 10 * 2 ** 30);
    assert.equal(await verifyPassword('first-password', user!.passwordHash), true, 'the trailing newline is not part of the password');

    const listed = await cli(['user', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^alice\t\/home\/alice\t/m);
    assert.match(listed.stdout, /users: 1/);
    assert.doesNotMatch(listed.stdout + listed.stderr, /scrypt|\$/);
  });

  it('generates and prints a password once when none is given; --home is normalised', async () => {
    const added = await cli(['user', 'add', 'bob', '--home', '//shared/./bob/', '--read-only']);
    assert.equal(added.code, 0, added.stderr);
    const m = /password for bob \(shown once; only its hash is stored\): (\S+)/.exec(added.stdout);
    assert.ok(m, added.stdout);
    const user = await withMeta(data, (s) => s.getUser('bob'));
    assert.equal(user?.home, '/shared/bob');
    assert.equal(user?.readOnly, true);
    assert.equal(await verifyPassword(m[1]!, user!.passwordHash), true);
    assert.match((await cli(['user', 'list'])).stdout, /^bob\t\/shared\/bob\tno quota\tread-only$/m);
  });

  it('refuses a duplicate user, a bad name, a bad home, a bad quota and a short password with exit 1', async () => {
    const dup = await cli(['user', 'add', 'alice', '--password-stdin'], 'another-password\n');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /davfs-bridge: EEXIST: user "alice" exists/);
    const refused: [string[], string | undefined, RegExp][] = [
      [['user', 'add', '.hidden'], undefined, /invalid user name/],
      [['user', 'add', 'a/b'], undefined, /invalid user name/],
      [['user', 'add', 'carol', '--home', '/a/../b'], undefined, /EACCES/],
      [['user', 'add', 'carol', '--quota', 'lots'], undefined, /--quota: "lots" is not a size/],
      [['user', 'add', 'carol', '--password-stdin'], 'short\n', /shorter than 8 characters/],
    ];
    for (const [args, stdin, message] of refused) {
      const r = await cli(args, stdin);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, message);
    }
    assert.equal((await withMeta(data, (m) => m.listUsers())).length, 2, 'nothing was added');
  });

  it('changes a password: the new one verifies, the old one no longer does', async () => {
    const before = (await withMeta(data, (m) => m.getUser('alice')))!.passwordHash;
    const r = await cli(['user', 'passwd', 'alice', '--password-stdin'], 'second-password\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /password of alice changed/);
    const after = (await withMeta(data, (m) => m.getUser('alice')))!.passwordHash;
    assert.notEqual(after, before);
    assert.equal(await verifyPassword('second-password', after), true);
    assert.equal(await verifyPassword('first-password', after), false);
    const missing = await cli(['user', 'passwd', 'nobody', '--password-stdin'], 'whatever-password\n');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT: no user "nobody"/);
  });

  it('creates a token printed once whose hash is stored, lists it by id and revokes it', async () => {
    const created = await cli(['token', 'create', 'alice', '--label', 'backups']);
    assert.equal(created.code, 0, created.stderr);
    const token = /token \(shown once; only its hash is stored\): (dvb_\S+)/.exec(created.stdout)?.[1];
    assert.ok(token, created.stdout);
    const hash = hashToken(token);
    assert.equal((await withMeta(data, (m) => m.userByTokenHash(hash)))?.name, 'alice');
    assert.match(created.stdout, new RegExp(`token id ${tokenId(hash)} created for alice`));

    const second = /(dvb_\S+)/.exec((await cli(['token', 'create', 'alice'])).stdout)![1]!;
    const listed = await cli(['token', 'list', 'alice']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${tokenId(hash)}\\tbackups\\tcreated `, 'm'));
    assert.match(listed.stdout, /tokens: 2/);
    assert.ok(!listed.stdout.includes(token) && !listed.stdout.includes(hash), 'neither the token nor its full hash is listed');

    // Unknown tokens and ids are refused before anything is revoked.
    const typo = await cli(['token', 'revoke', 'alice', tokenId(hash), 'dvb_not-a-token']);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /alice has no such token/);
    assert.equal((await withMeta(data, (m) => m.userByTokenHash(hash)))?.name, 'alice');
    // Another user cannot revoke alice's token.
    assert.equal((await cli(['token', 'revoke', 'bob', token])).code, 1);

    // By id (a prefix of the hash) and by the token itself.
    const byId = await cli(['token', 'revoke', 'alice', tokenId(hash).slice(0, 8)]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, new RegExp(`token revoked: ${tokenId(hash)}`));
    assert.equal(await withMeta(data, (m) => m.userByTokenHash(hash)), undefined);
    const byToken = await cli(['token', 'revoke', 'alice', second]);
    assert.equal(byToken.code, 0, byToken.stderr);
    assert.match((await cli(['token', 'list', 'alice'])).stdout, /tokens: 0/);
  });

  it('removes a user with their tokens', async () => {
    const token = /(dvb_\S+)/.exec((await cli(['token', 'create', 'bob'])).stdout)![1]!;
    const r = await cli(['user', 'rm', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /user removed: bob/);
    assert.equal(await withMeta(data, (m) => m.getUser('bob')), undefined);
    assert.equal(await withMeta(data, (m) => m.userByTokenHash(hashToken(token))), undefined);
    assert.doesNotMatch((await cli(['user', 'list'])).stdout, /^bob\t/m);
    const again = await cli(['user', 'rm', 'bob']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ENOENT: no user "bob"/);
  });

});
