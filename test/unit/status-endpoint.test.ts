// GET /.well-known/davfs-bridge/status and /healthz, served in front of the WebDAV tree by a real
// startServer over a test core: the figures move with traffic and job runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startServer } from '../../src/http/server.js';
import { LockManager } from '../../src/locks/lock-manager.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { nodeStatus, type NodeStatus } from '../../src/jobs/node-status.js';
import { CACHE_PURGE, standardJobs } from '../../src/jobs/standard-jobs.js';
import { makeTestCore, pseudoRandomBytes } from '../helpers/core.js';
import type { Vfs } from '../../src/vfs/vfs.js';

/** An in-process server over the whole tree, without authentication (this file tests the status endpoint). */
function serverOptions(vfs: Vfs, locks: LockManager) {
  return { tree: { vfs, locks }, dav: { maxUpload: 1e9, maxXmlBody: 1e6, allowInfiniteDepth: true }, auth: undefined, tls: undefined, listen: { host: '127.0.0.1', port: 0 } };
}

const log = pino({ level: 'silent' });
const STATUS = '/.well-known/davfs-bridge/status';

describe('status endpoint', () => {
  it('reports cache, store traffic and jobs; /healthz says ok', async () => {
    const core = await makeTestCore({ cacheBytes: 1024 * 1024 });
    const locks = new LockManager(core.meta);
    const scheduler = new JobScheduler(
      standardJobs(
        { ...core, locks },
        {
          cachePurge: { enabled: true, cron: '*/5 * * * *', highWater: 0.9, lowWater: 0.8 },
          lockSweep: { enabled: true, cron: '* * * * *' },
          gc: { enabled: false, cron: '0 * * * *', graceMs: 3_600_000 },
          snapshot: { enabled: false, cron: '0 */6 * * *', keep: 10 },
        },
      ),
      log,
    );
    scheduler.start();
    const startedMs = Date.now();
    const status = () => nodeStatus({ cache: core.cache, chunks: core.chunks, scheduler, startedMs });
    const server = await startServer({ ...serverOptions(core.vfs, locks), status }, log);
    const at = (p: string) => new URL(p, server.url).toString();
    const statusOf = async () => {
      const res = await fetch(at(STATUS));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      return (await res.json()) as NodeStatus;
    };
    try {
      let s = await statusOf();
      assert.deepEqual([s.cache.bytes, s.cache.entries, s.cache.limitBytes, s.cache.hitRatio], [0, 0, 1024 * 1024, null]);
      assert.equal(s.chunks.bytesToStore, 0);
      assert.deepEqual(
        s.jobs.map((j) => [j.name, j.enabled, j.runs, j.nextRun !== null]),
        [
          ['cache-purge', true, 0, true],
          ['lock-sweep', true, 0, true],
          ['gc', false, 0, false],
          ['snapshot', false, 0, false],
        ],
      );

      const body = pseudoRandomBytes(200_000, 3);
      assert.equal((await fetch(at('/f.bin'), { method: 'PUT', body })).status, 201);
      await core.chunks.idle();
      await core.cache.purgeTo(0); // so the next read must come from the store
      assert.ok(Buffer.from(await (await fetch(at('/f.bin'))).arrayBuffer()).equals(body));
      await core.chunks.idle();
      assert.ok(Buffer.from(await (await fetch(at('/f.bin'))).arrayBuffer()).equals(body));
      await scheduler.runNow(CACHE_PURGE);

      s = await statusOf();
      assert.equal(s.chunks.bytesToStore, 200_000);
      // The first GET fetched every chunk once; read-ahead racing the reader may fetch one twice.
      assert.ok(s.chunks.bytesFromStore >= 200_000 && s.chunks.bytesFromStore < 300_000, `${s.chunks.bytesFromStore} from the store`);
      assert.ok(s.cache.bytes === 200_000 && s.cache.entries > 1, JSON.stringify(s.cache));
      // The second GET is all hits. In the first, the reader's first chunk is always a miss, while
      // read-ahead may have cached some later ones before the reader asks (a hit): so the ratio is
      // above one half and below one, and where in between depends on timing.
      assert.ok(s.cache.hitRatio !== null && s.cache.hitRatio > 0.4 && s.cache.hitRatio < 1, `one read of two from the cache: ${s.cache.hitRatio}`);
      const purge = s.jobs.find((j) => j.name === 'cache-purge')!;
      assert.deepEqual([purge.runs, purge.outcome], [1, 'ok']);
      assert.deepEqual(purge.lastResult, { purged: false, bytes: 200_000, highWater: Math.floor(0.9 * 1024 * 1024) });
      assert.ok(s.uptimeS >= 0 && Date.parse(s.time) > 0);

      const health = await fetch(at('/healthz'));
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'ok');
      assert.equal((await fetch(at('/healthz'), { method: 'HEAD' })).status, 200);
      // Reserved paths: no WebDAV method reaches the tree there.
      for (const [path, method] of [
        ['/healthz', 'PUT'],
        [STATUS, 'DELETE'],
        [STATUS, 'PROPFIND'],
      ] as const) {
        const res = await fetch(at(path), { method, body: method === 'PUT' ? 'x' : undefined });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.get('allow'), 'GET, HEAD');
      }
      // Other /.well-known/ paths and the tree itself are WebDAV's.
      assert.equal((await fetch(at('/.well-known/other'))).status, 404);
      assert.equal((await fetch(at('/'), { method: 'PROPFIND', headers: { Depth: '0' } })).status, 207);
    } finally {
      await server.close();
      await scheduler.stop();
      await core.close();
    }
  });

  it('serves an empty object without a status source', async () => {
    const core = await makeTestCore();
    const locks = new LockManager(core.meta);
    const server = await startServer(serverOptions(core.vfs, locks), log);
    try {
      assert.deepEqual(await (await fetch(new URL(STATUS, server.url))).json(), {});
    } finally {
      await server.close();
      await core.close();
    }
  });
});
