// Real command-line WebDAV clients round-trip files through the server: rclone (copy a tree up,
// check it, move it, purge it), cadaver (scripted session) and curl.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pseudoRandomBytes } from '../helpers/core.js';
import { startServe, type ServerProcess } from '../helpers/server-process.js';

const run = promisify(execFile);

describe('native clients', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServe(['--data', mkdtempSync(join(tmpdir(), 'davfs-native-'))]);
  });
  after(async () => {
    await server.stop();
  });

  it('rclone copies a tree up, checks it byte for byte, moves and purges it', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'rclone-src-'));
    mkdirSync(join(tree, 'a/b'), { recursive: true });
    writeFileSync(join(tree, 'top.bin'), pseudoRandomBytes(3_000_000, 1));
    writeFileSync(join(tree, 'a/small.txt'), 'small file\n');
    writeFileSync(join(tree, 'a/b/ünïcode name.txt'), 'x'.repeat(50_000));
    writeFileSync(join(tree, 'a/b/empty'), '');
    // rclone 1.60's S3 code path fails while AWS_CA_BUNDLE is set (shared/README.md pitfall).
    const { user, password } = server.admin!;
    // rclone takes passwords only in its obscured form.
    const pass = (await run('rclone', ['obscure', password])).stdout.trim();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RCLONE_CONFIG_DAV_TYPE: 'webdav',
      RCLONE_CONFIG_DAV_URL: server.url,
      RCLONE_CONFIG_DAV_VENDOR: 'other',
      RCLONE_CONFIG_DAV_USER: user,
      RCLONE_CONFIG_DAV_PASS: pass,
    };
    delete env.AWS_CA_BUNDLE;
    const rclone = (...args: string[]) => run('rclone', ['--config', '/dev/null', ...args], { env });
    await rclone('copy', tree, 'dav:up');
    await rclone('check', tree, 'dav:up');
    await rclone('moveto', 'dav:up', 'dav:moved');
    await rclone('check', tree, 'dav:moved');
    const { stdout } = await rclone('lsf', '-R', 'dav:');
    assert.doesNotMatch(stdout, /^up\//m);
    await rclone('purge', 'dav:moved');
    const after = await rclone('lsf', 'dav:');
    assert.doesNotMatch(after.stdout, /moved/);
  });

  it('cadaver puts, lists, moves and gets a file in a scripted session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadaver-'));
    writeFileSync(join(dir, 'in.txt'), 'cadaver was here\n');
    const script = ['mkcol cad', 'cd cad', 'put in.txt', 'ls', 'move in.txt renamed.txt', 'get renamed.txt out.txt', 'quit', ''].join('\n');
    // cadaver (neon) reads credentials from ~/.netrc instead of prompting on a terminal.
    writeFileSync(join(dir, '.netrc'), `machine 127.0.0.1 login ${server.admin!.user} password ${server.admin!.password}\n`, { mode: 0o600 });
    const child = execFile('cadaver', [server.url], { cwd: dir, env: { ...process.env, HOME: dir } });
    child.stdin!.end(script);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    assert.match(out, /in\.txt/);
    assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'cadaver was here\n');
  });

  it('curl uploads with chunked transfer encoding and downloads a range', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'curl-'));
    const file = join(dir, 'c.bin');
    writeFileSync(file, pseudoRandomBytes(200_000, 4));
    const auth = `${server.admin!.user}:${server.admin!.password}`;
    const put = await run('curl', ['-s', '-u', auth, '-o', '/dev/null', '-w', '%{http_code}', '-T', file, '-H', 'Transfer-Encoding: chunked', new URL('/c.bin', server.url).toString()]);
    assert.equal(put.stdout, '201');
    const get = await run('curl', ['-s', '-u', auth, '-r', '100-199', new URL('/c.bin', server.url).toString()], { encoding: 'buffer' });
    assert.ok(Buffer.from(get.stdout).equals(readFileSync(file).subarray(100, 200)));
  });
});
