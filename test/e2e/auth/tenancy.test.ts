// Tenancy end to end through `serve`: each user's root is their home; shares appear inside it
// with their rights; read-only users and read-only shares refuse every write with 403; locks
// belong to whoever took them (RFC 4918 §6.4); nothing reaches outside a user's root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuth, runCli, startServe, type ServerProcess } from '../../helpers/server-process.js';

const LOCKINFO = '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
const PROPPATCH = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><A:t xmlns:A="urn:a">x</A:t></D:prop></D:set></D:propertyupdate>';

describe('tenancy', () => {
  let server: ServerProcess;
  let data: string;
  const as = (user: string) => ({ Authorization: basicAuth(user, `${user}-password`) });
  const req = (user: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
    fetch(new URL(path, server.url), { method, body: init.body, headers: { ...as(user), ...init.headers } });
  const adminReq = (method: string, path: string, init: RequestInit = {}) => server.fetch(path, { method, ...init });
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--data', data], {}, args.includes('--password-stdin') ? { stdin: `${args[2]}-password\n` } : {});
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  };
  /** Every path of the whole tree, as the admin (home /) sees it. */
  const wholeTree = async () => {
    const xml = await (await adminReq('PROPFIND', '/', { headers: { Depth: 'infinity' } })).text();
    return [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!)).sort();
  };

  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'davfs-tenancy-'));
    server = await startServe(['--data', data]);
    await cli('user', 'add', 'alice', '--password-stdin');
    await cli('user', 'add', 'bob', '--password-stdin');
    await cli('user', 'add', 'carol', '--password-stdin', '--read-only', '--home', '/home/alice');
    assert.equal((await adminReq('MKCOL', '/projects')).status, 201);
    assert.equal((await adminReq('PUT', '/projects/plan.txt', { body: 'plan' })).status, 201);
    await cli('share', 'add', 'team', '/projects');
    await cli('share', 'grant', 'team', 'alice', '--rights', 'rw');
    await cli('share', 'grant', 'team', 'bob', '--rights', 'r');
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  it("roots each user in their home, created on first use, which the admin sees in the whole tree", async () => {
    assert.equal((await req('alice', 'PUT', '/notes.txt', { body: 'alice notes' })).status, 201);
    assert.equal(await (await adminReq('GET', '/home/alice/notes.txt')).text(), 'alice notes');
    const list = await (await req('alice', 'PROPFIND', '/', { headers: { Depth: '1' } })).text();
    const hrefs = [...list.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
    assert.deepEqual(hrefs, ['/', '/notes.txt', '/team/'], 'home entries and the share, in name order');
    assert.equal((await req('bob', 'PROPFIND', '/', { headers: { Depth: '0' } })).status, 207, "bob's home exists on his first request");
  });

  it("keeps users out of each other's homes: 404 for what is not in their namespace", async () => {
    assert.equal((await req('bob', 'GET', '/notes.txt')).status, 404);
    assert.equal((await req('bob', 'GET', '/home/alice/notes.txt')).status, 404);
    assert.equal((await req('bob', 'LOCK', '/home/alice/notes.txt', { body: LOCKINFO })).status, 409, 'no such parent in his namespace');
    const copy = await req('bob', 'COPY', '/team/plan.txt', { headers: { Destination: new URL('/home/alice/stolen.txt', server.url).toString() } });
    assert.equal(copy.status, 409, 'the destination is inside his own root, where /home/alice does not exist');
    const move = await req('alice', 'MOVE', '/notes.txt', { headers: { Destination: new URL('/../bob/notes.txt', server.url).toString() } });
    assert.ok([400, 403, 409].includes(move.status), `MOVE out of the root → ${move.status}`);
    assert.equal((await adminReq('GET', '/home/alice/notes.txt')).status, 200, 'still in place');
    assert.equal((await adminReq('GET', '/home/bob/notes.txt')).status, 404);
  });

  it('refuses every write method with 403 for a read-only user, and lets them read', async () => {
    assert.equal(await (await req('carol', 'GET', '/notes.txt')).text(), 'alice notes');
    const writes: [string, string, Record<string, string>, string?][] = [
      ['PUT', '/new.txt', {}, 'x'],
      ['PUT', '/notes.txt', {}, 'overwrite'],
      ['PATCH', '/notes.txt', { 'Content-Type': 'application/x-sabredav-partialupdate', 'X-Update-Range': 'bytes=0-0' }, 'X'],
      ['DELETE', '/notes.txt', {}],
      ['MKCOL', '/dir', {}],
      ['COPY', '/notes.txt', { Destination: new URL('/copy.txt', server.url).toString() }],
      ['MOVE', '/notes.txt', { Destination: new URL('/moved.txt', server.url).toString() }],
      ['PROPPATCH', '/notes.txt', {}, PROPPATCH],
      ['LOCK', '/notes.txt', {}, LOCKINFO],
    ];
    for (const [method, path, headers, body] of writes) {
      assert.equal((await req('carol', method, path, { headers, body })).status, 403, `${method} ${path}`);
    }
    assert.equal(await (await adminReq('GET', '/home/alice/notes.txt')).text(), 'alice notes', 'unchanged');
  });

  it('mounts shares with their rights: read-write for alice, read-only for bob', async () => {
    assert.equal(await (await req('bob', 'GET', '/team/plan.txt')).text(), 'plan');
    assert.equal((await req('bob', 'PUT', '/team/plan.txt', { body: 'bob was here' })).status, 403);
    assert.equal((await req('bob', 'DELETE', '/team/plan.txt')).status, 403);
    assert.equal((await req('alice', 'PUT', '/team/plan.txt', { body: 'plan v2' })).status, 204);
    assert.equal(await (await adminReq('GET', '/projects/plan.txt')).text(), 'plan v2');
    // The mount point itself cannot be removed or replaced through the share.
    assert.equal((await req('alice', 'DELETE', '/team')).status, 403);
    assert.equal((await req('alice', 'MOVE', '/team', { headers: { Destination: new URL('/t2', server.url).toString() } })).status, 403);
    // Across mounts: copy a file from the share into the home.
    assert.equal((await req('alice', 'COPY', '/team/plan.txt', { headers: { Destination: new URL('/plan-copy.txt', server.url).toString() } })).status, 201);
    assert.equal(await (await adminReq('GET', '/home/alice/plan-copy.txt')).text(), 'plan v2');
    // Revoking takes effect at the next request.
    await cli('share', 'revoke', 'team', 'bob');
    assert.equal((await req('bob', 'GET', '/team/plan.txt')).status, 404);
  });

  it("lets only the lock's owner use its token (RFC 4918 §6.4), across users of one share", async () => {
    await cli('share', 'grant', 'team', 'bob', '--rights', 'rw');
    const lock = await req('alice', 'LOCK', '/team/plan.txt', { body: LOCKINFO });
    assert.equal(lock.status, 200);
    const token = lock.headers.get('lock-token')!;
    const discovery = await lock.text();
    assert.match(discovery, /<D:lockroot><D:href>\/team\/plan\.txt<\/D:href><\/D:lockroot>/, 'the lock root as alice sees it');
    assert.equal((await req('bob', 'PUT', '/team/plan.txt', { body: 'x' })).status, 423);
    assert.equal((await req('bob', 'PUT', '/team/plan.txt', { body: 'x', headers: { If: `(${token})` } })).status, 423, "alice's token does not work for bob");
    assert.equal((await req('bob', 'UNLOCK', '/team/plan.txt', { headers: { 'Lock-Token': token } })).status, 403);
    assert.equal((await req('alice', 'PUT', '/team/plan.txt', { body: 'v3', headers: { If: `(${token})` } })).status, 204);
    assert.equal((await req('alice', 'UNLOCK', '/team/plan.txt', { headers: { 'Lock-Token': token } })).status, 204);
  });

  it('refuses a table of path attacks; none reaches outside the root or creates anything', async () => {
    const before = await wholeTree();
    const raw = (path: string, method = 'GET', headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(server.url);
        const r = request({ host: u.hostname, port: u.port, method, path, headers: { ...as('bob'), ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        r.on('error', reject);
        r.end(method === 'PUT' ? 'evil' : undefined);
      });
    const attacks = [
      '/../alice/notes.txt',
      '/%2e%2e/alice/notes.txt',
      '/%2E%2E%2Falice%2Fnotes.txt',
      '/..%2falice/notes.txt',
      '/..%5calice%5cnotes.txt',
      '/a%00b',
      '/%c0%ae%c0%ae/alice',
      '/team/../../alice/notes.txt',
      '//home/alice/notes.txt',
    ];
    for (const path of attacks) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PROPFIND']) {
        const status = await raw(path, method);
        assert.ok([400, 403, 404, 409].includes(status), `${method} ${path} → ${status}`);
      }
    }
    const destinations = [
      new URL('/../alice/x', server.url).toString(),
      `${server.url}%2e%2e/alice/x`,
      'http://elsewhere.example/x',
      `${server.url.replace('127.0.0.1', 'localhost.invalid')}x`,
      '/%2e%2e/alice/x',
    ];
    assert.equal((await req('bob', 'PUT', '/mine.txt', { body: 'mine' })).status, 201);
    for (const dest of destinations) {
      for (const method of ['COPY', 'MOVE']) {
        const status = await raw('/mine.txt', method, { Destination: dest });
        assert.ok([400, 403, 409, 502].includes(status), `${method} → ${dest}: ${status}`);
      }
    }
    const ifOther = await raw('/mine.txt', 'PUT', { If: `<${new URL('/home/alice/notes.txt', server.url)}> (<urn:uuid:nope>)` });
    assert.ok([412, 423].includes(ifOther), `If naming another user's file → ${ifOther}`);
    const after = (await wholeTree()).filter((p) => p !== '/home/bob/mine.txt');
    assert.deepEqual(after, before);
  });
});
