// Authentication end to end through `serve`: who gets 401, 429 and in; Basic, bearer tokens and
// Digest; the first start's admin; the throttle of failed logins per address and per name.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { basicAuth, runCli, startServe, type ServerProcess } from '../../helpers/server-process.js';

const run = promisify(execFile);
const METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK'];

/** A request from a chosen local address (127.0.0.x), so throttling per address can be seen. */
function from(localAddress: string, url: string, authorization: string | undefined): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = authorization ? { Authorization: authorization } : undefined;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, localAddress, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('authentication', () => {
  let server: ServerProcess;
  let data: string;
  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'davfs-auth-'));
    server = await startServe(['--data', data], { DAVFS_AUTH_MAX_FAILURES: '3', DAVFS_AUTH_FAILURE_WINDOW: '1m', DAVFS_AUTH_BLOCK: '2s' });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  it('creates admin on the first start, prints its password once and stores only a hash', async () => {
    assert.equal(server.admin?.user, 'admin');
    assert.match(server.admin!.password, /^[A-Za-z0-9_-]{24}$/);
    const list = await runCli(['user', 'list', '--data', data]);
    assert.match(list.stdout, /^admin\t\/\t/m);
    assert.ok(!list.stdout.includes(server.admin!.password));
    assert.ok(!server.stderr().includes(server.admin!.password), 'never in the log');
    assert.equal(server.output().split(server.admin!.password).length, 2, 'printed exactly once');
  });

  it('refuses every method without credentials with 401 and a Basic challenge, but answers OPTIONS and /healthz', async () => {
    for (const method of METHODS) {
      const res = await fetch(new URL('/x', server.url), { method });
      assert.equal(res.status, 401, method);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="davfs-bridge", charset="UTF-8"', method);
    }
    const options = await fetch(server.url, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.match(options.headers.get('dav') ?? '', /\b2\b/);
    assert.equal((await fetch(new URL('/healthz', server.url))).status, 200);
    assert.equal((await fetch(new URL('/.well-known/davfs-bridge/status', server.url))).status, 401, 'node figures need a login');
  });

  it('lets the right password in and keeps a wrong one out', async () => {
    assert.equal((await server.fetch('/a.txt', { method: 'PUT', body: 'a' })).status, 201);
    const wrong = await fetch(new URL('/a.txt', server.url), { headers: { Authorization: basicAuth('admin', 'not-it') } });
    assert.equal(wrong.status, 401);
    const nobody = await fetch(new URL('/a.txt', server.url), { headers: { Authorization: basicAuth('nobody', 'x') } });
    assert.equal(nobody.status, 401);
  });

  it('accepts a bearer token until it is revoked', async () => {
    const created = await runCli(['token', 'create', 'admin', '--data', data, '--label', 'script']);
    assert.equal(created.code, 0, created.stderr);
    const token = /dvb_\S+/.exec(created.stdout)![0];
    const bearer = { Authorization: `Bearer ${token}` };
    assert.equal(await (await fetch(new URL('/a.txt', server.url), { headers: bearer })).text(), 'a');
    assert.equal((await runCli(['token', 'revoke', 'admin', token, '--data', data])).code, 0);
    assert.equal((await fetch(new URL('/a.txt', server.url), { headers: bearer })).status, 401);
  });

  it('answers 429 with Retry-After after too many failures from one address, not for another address, and lets the user in after the block', async () => {
    const url = new URL('/a.txt', server.url).toString();
    const bad = basicAuth('admin', 'guess');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('127.0.0.5', url, bad)).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const blocked = await from('127.0.0.5', url, server.authorization);
    assert.equal(blocked.status, 429, 'the blocked address is refused even with the right password');
    assert.ok(Number(blocked.retryAfter) >= 1 && Number(blocked.retryAfter) <= 2, `Retry-After ${blocked.retryAfter}`);
    assert.equal((await from('127.0.0.6', url, server.authorization)).status, 200, 'another address is not affected');
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await from('127.0.0.5', url, server.authorization)).status, 200, 'in again after the block');
  });

  it('logs failed logins with the name but never the password', () => {
    assert.match(server.output(), /"user":"admin".*"msg":"failed login"/);
    assert.ok(!server.output().includes('guess'));
    assert.equal(server.output().split(server.admin!.password).length, 2, 'the password appears only in its one-time line');
  });
});

describe('Digest (auth.digest: true)', () => {
  let server: ServerProcess;
  let data: string;
  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'davfs-digest-'));
    server = await startServe(['--data', data], { DAVFS_AUTH_DIGEST: 'true' });
  });
  after(async () => {
    assert.equal(await server.stop(), 0);
  });

  it('offers Digest before Basic and logs users in with it (curl --digest)', async () => {
    const res = await fetch(server.url, { method: 'PROPFIND' });
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Digest realm="davfs-bridge", qop="auth", algorithm=MD5, nonce="[^"]+", Basic realm="davfs-bridge"/);
    // The CLI stores the Digest secret because it reads the same configuration as the server.
    const added = await runCli(['user', 'add', 'dora', '--password-stdin', '--data', data], { DAVFS_AUTH_DIGEST: 'true' }, { stdin: 'dora-secret\n' });
    assert.equal(added.code, 0, added.stderr);
    const file = join(data, 'upload.txt');
    writeFileSync(file, 'sent with Digest');
    const url = new URL('/d.txt', server.url).toString();
    const put = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', 'dora:dora-secret', '-T', file, url]);
    assert.equal(put.stdout, '201');
    const get = await run('curl', ['-s', '--digest', '-u', 'dora:dora-secret', url]);
    assert.equal(get.stdout, 'sent with Digest');
    const wrong = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--digest', '-u', 'dora:nope', url]);
    assert.equal(wrong.stdout, '401');
    // Basic still works for the same user.
    assert.equal((await fetch(url, { headers: { Authorization: basicAuth('dora', 'dora-secret') } })).status, 200);
  });
});
