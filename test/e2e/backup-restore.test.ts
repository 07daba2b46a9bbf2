// Through the real command line: serve a data folder, `backup`, delete the local metadata and the
// cache, `restore` from the object store alone, serve again: every file byte-identical, folders
// and properties intact. Also the status endpoint and the snapshot at shutdown.
// (`cache stats|purge` are tested in-process: test/jobs/cache-cli.test.ts.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServe } from '../helpers/server-process.js';
import { pseudoRandomBytes } from '../helpers/core.js';

// Small chunks, so that a few hundred KiB make many chunk objects.
const ENV = { DAVFS_CHUNKING_MIN: '16KiB', DAVFS_CHUNKING_AVG: '64KiB', DAVFS_CHUNKING_MAX: '256KiB', DAVFS_INLINE_MAX: '1KiB' };
const PROP = '<A:colour xmlns:A="urn:a">blue</A:colour>';

const FILES: [string, Buffer][] = [
  ['/big.bin', pseudoRandomBytes(1_500_000, 1)],
  ['/docs/report.bin', pseudoRandomBytes(300_000, 2)],
  ['/docs/deep/er/note.txt', Buffer.from('a small file, stored inline in its row')],
  ['/docs/empty.txt', Buffer.alloc(0)],
];

interface StatusBody {
  cache: { bytes: number; entries: number; limitBytes: number; hitRatio: number | null };
  chunks: { bytesToStore: number; bytesFromStore: number };
  jobs: { name: string; enabled: boolean; runs: number; outcome: string | null; nextRun: string | null }[];
}

const snapshots = (data: string) => {
  const dir = join(data, 'objects', 'meta', 'snapshots');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.db.gz')) : [];
};

describe('backup and restore (CLI)', () => {
  it('rebuilds a node from the bucket alone', async () => {
    const data = mkdtempSync(join(tmpdir(), 'davfs-backup-'));
    const args = ['--data', data];
    // No snapshot at shutdown this time: the restore must come from `backup`.
    let server = await startServe(args, { ...ENV, DAVFS_JOBS_SNAPSHOT_ENABLED: 'false' });
    let at = (p: string) => new URL(p, server.url).toString();
    for (const dir of ['/docs', '/docs/deep', '/docs/deep/er', '/empty-folder']) {
      assert.equal((await server.fetch(at(dir), { method: 'MKCOL' })).status, 201, dir);
    }
    for (const [path, body] of FILES) assert.equal((await server.fetch(at(path), { method: 'PUT', body })).status, 201, path);
    const patch = await server.fetch(at('/docs/report.bin'), {
      method: 'PROPPATCH',
      body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>${PROP}</D:prop></D:set></D:propertyupdate>`,
    });
    assert.equal(patch.status, 207);
    const etag = (await server.fetch(at('/big.bin'), { method: 'HEAD' })).headers.get('etag');
    assert.ok((await (await server.fetch(at('/big.bin'))).arrayBuffer()).byteLength === 1_500_000);

    // The status endpoint: cache, store traffic and every job.
    const health = await server.fetch(at('/healthz'));
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok');
    const res = await server.fetch(at('/.well-known/davfs-bridge/status'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const status = (await res.json()) as StatusBody;
    assert.equal(status.cache.limitBytes, 2 * 1024 ** 3);
    assert.ok(status.cache.bytes > 0 && status.cache.entries > 0, 'written chunks are cached');
    assert.ok(status.chunks.bytesToStore >= 1_800_000);
    assert.equal(typeof status.cache.hitRatio, 'number');
    assert.deepEqual(status.jobs.map((j) => [j.name, j.enabled]), [
      ['cache-purge', true],
      ['lock-sweep', true],
      ['gc', true],
      ['snapshot', false],
    ]);
    assert.ok(status.jobs.find((j) => j.name === 'gc')!.nextRun !== null);
    assert.equal((await server.fetch(at('/.well-known/davfs-bridge/status'), { method: 'PUT', body: 'x' })).status, 405);

    assert.equal(await server.stop(), 0);
    assert.deepEqual(snapshots(data), [], 'no snapshot at shutdown when the job is off');

    const backup = await runCli(['backup', ...args], ENV);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /^backup: meta\/snapshots\/\S+\.db\.gz \(.* gzipped\) in \S+\n$/);
    assert.equal(snapshots(data).length, 1);

    // Lose the node: metadata (with its WAL) and cache.
    for (const f of readdirSync(data)) if (f.startsWith('meta.db')) rmSync(join(data, f));
    rmSync(join(data, 'cache'), { recursive: true });

    const restore = await runCli(['restore', ...args], ENV);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /^restore: meta\/snapshots\/\S+ → .*meta\.db \(.*schema \d+\) in \S+\n$/);

    server = await startServe(args, ENV, server);
    at = (p: string) => new URL(p, server.url).toString();
    for (const [path, body] of FILES) {
      const got = await server.fetch(at(path));
      assert.equal(got.status, 200, path);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(body), `${path} byte-identical`);
    }
    assert.equal((await server.fetch(at('/big.bin'), { method: 'HEAD' })).headers.get('etag'), etag);
    const find = await server.fetch(at('/docs/report.bin'), {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:prop><A:colour xmlns:A="urn:a"/></D:prop></D:propfind>',
    });
    assert.match(await find.text(), />blue</);
    const root = await (await server.fetch(at('/'), { method: 'PROPFIND', headers: { Depth: '1' } })).text();
    for (const name of ['/docs/', '/empty-folder/', '/big.bin']) assert.ok(root.includes(`<D:href>${name}</D:href>`), name);
    const after = (await (await server.fetch(at('/.well-known/davfs-bridge/status'))).json()) as StatusBody;
    assert.ok(after.chunks.bytesFromStore >= 1_800_000, 'the chunks came from the bucket (the cache was deleted)');

    // Snapshots at shutdown (the job is on by default).
    assert.equal(await server.stop(), 0);
    assert.equal(snapshots(data).length, 2);
  });
});
