// Configuration: defaults, precedence (file < env < flags), and one clear message per bad value.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, DEFAULT_CONFIG_FILE, ENV_SETTINGS, loadConfig } from '../../src/config/config.js';
import { formatSize, parseSize } from '../../src/config/size.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'davfs-config-'));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  it('uses the embedded default under ./data with nothing set', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.data, resolve('data'));
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 }, 'every interface: authentication is on');
    assert.equal(c.auth.enabled, true);
    assert.equal(c.auth.digest, false);
    assert.deepEqual(c.tls, { cert: '', key: '', selfSigned: false });
    assert.equal(c.store, `file://${resolve('data/objects')}`);
    assert.equal(c.meta, `sqlite://${resolve('data/meta.db')}`);
    assert.equal(c.cache.dir, resolve('data/cache'));
    assert.equal(c.cache.size, 2 * 1024 ** 3);
    assert.deepEqual(c.chunking, { minSize: 1024 * 1024, avgSize: 4 * 1024 * 1024, maxSize: 16 * 1024 * 1024 });
  });

  it('applies file < env < flags', () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'listen: 0.0.0.0:9000\ncache:\n  size: 1GiB\ndata: /srv/x\n');
    const c = loadConfig({ file, env: { DAVFS_CACHE_SIZE: '3GiB', DAVFS_DATA: '/srv/y' }, flags: { data: '/srv/z' } });
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 9000 });
    assert.equal(c.cache.size, 3 * 1024 ** 3);
    assert.equal(c.data, '/srv/z');
    assert.equal(c.store, 'file:///srv/z/objects');
  });

  it('documents every environment variable in config/default.yaml', () => {
    const text = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
    for (const env of Object.keys(ENV_SETTINGS)) assert.match(text, new RegExp(`env ${env}\\b`), env);
    const keys = (t: Record<string, unknown>, p = ''): string[] =>
      Object.entries(t).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${p}${k}.`) : [`${p}${k}`]));
    assert.deepEqual(keys(parse(text)).sort(), Object.values(ENV_SETTINGS).sort());
  });

  it('write-back waits 5 s of quiet before uploading unless told otherwise', () => {
    assert.equal(loadConfig({ env: {} }).writeBackDelayMs, 5000);
    assert.equal(loadConfig({ env: { DAVFS_WRITE_BACK_DELAY: '0' } }).writeBackDelayMs, 0);
    assert.equal(loadConfig({ env: {}, flags: { write_back_delay: '1m30s' } }).writeBackDelayMs, 90_000);
    assert.ok(problems(() => loadConfig({ env: { DAVFS_WRITE_BACK_DELAY: '5' } })).some((x) => x.startsWith('write_back_delay:')));
  });

  it('reads ahead 8 chunks with 6 downloads at once unless told otherwise', () => {
    const defaults = loadConfig({ env: {} });
    assert.equal(defaults.readAhead, 8);
    assert.equal(defaults.downloadConcurrency, 6);
    assert.equal(loadConfig({ env: { DAVFS_DOWNLOAD_CONCURRENCY: '8' } }).downloadConcurrency, 8);
    assert.ok(problems(() => loadConfig({ env: { DAVFS_DOWNLOAD_CONCURRENCY: '0' } })).some((x) => x.startsWith('download_concurrency:')));
  });

  it('checks downloaded chunks unless told not to', () => {
    assert.equal(loadConfig({ env: {} }).verifyDownloads, true);
    assert.equal(loadConfig({ env: { DAVFS_VERIFY_DOWNLOADS: 'false' } }).verifyDownloads, false);
    assert.ok(problems(() => loadConfig({ env: { DAVFS_VERIFY_DOWNLOADS: 'no' } })).some((x) => x.startsWith('verify_downloads:')));
  });

  it('names each bad value with its setting', () => {
    const p = problems(() =>
      loadConfig({ env: { DAVFS_LISTEN: 'nope', DAVFS_CACHE_SIZE: 'lots', DAVFS_STORE: 'ftp://x', DAVFS_UPLOAD_CONCURRENCY: '0' } }),
    );
    assert.equal(p.length, 4, p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('listen:') && x.includes('HOST:PORT')));
    assert.ok(p.some((x) => x.startsWith('cache.size:') && x.includes('not a size')));
    assert.ok(p.some((x) => x.startsWith('store:')));
    assert.ok(p.some((x) => x.startsWith('upload_concurrency:')));
  });

  it('refuses unknown settings and unreadable files', () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'cahce:\n  size: 1GiB\n');
    assert.match(problems(() => loadConfig({ file, env: {} }))[0]!, /unknown setting "cahce"/);
    assert.match(problems(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }))[0]!, /cannot read config file/);
    writeFileSync(file, 'listen: [\n');
    assert.match(problems(() => loadConfig({ file, env: {} }))[0]!, /not valid YAML/);
  });

  it('checks chunking sizes are ordered', () => {
    assert.match(problems(() => loadConfig({ env: { DAVFS_CHUNKING_MIN: '8MiB' } }))[0]!, /min < avg < max/);
  });

  it('parses IPv6 listen addresses', () => {
    assert.deepEqual(loadConfig({ env: {}, flags: { listen: '[::1]:8081' } }).listen, { host: '::1', port: 8081 });
  });
});

describe('sizes', () => {
  it('parses binary and decimal units', () => {
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize(12), 12);
    assert.equal(parseSize('512KiB'), 512 * 1024);
    assert.equal(parseSize('2 GiB'), 2 * 1024 ** 3);
    assert.equal(parseSize('10GB'), 10 * 1000 ** 3);
    assert.equal(parseSize('1.5MiB'), 1.5 * 1024 ** 2);
    assert.throws(() => parseSize('12 parsecs'), /not a size/);
    assert.throws(() => parseSize(-1), /whole number/);
    assert.equal(formatSize(2 * 1024 ** 3), '2GiB');
  });
});
