// JobScheduler: scheduled runs on a seconds schedule are recorded and logged, disabled jobs never
// run, a run never overlaps itself, failures are recorded, stop() waits; and the four standard jobs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Logger } from '../../src/core/log.js';
import { hashChunk } from '../../src/chunks/chunk-hash.js';
import { LockManager } from '../../src/locks/lock-manager.js';
import { JobScheduler, type Job } from '../../src/jobs/scheduler.js';
import { CACHE_PURGE, GC, LOCK_SWEEP, SNAPSHOT, standardJobs, type JobSettings } from '../../src/jobs/standard-jobs.js';
import { listSnapshots } from '../../src/maintenance/snapshot.js';
import { bytesOf, makeTestCore, pseudoRandomBytes } from '../helpers/core.js';

const EVERY_SECOND = '*/1 * * * * *';

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const quiet = pino({ level: 'silent' });

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function settings(over: Partial<Record<keyof JobSettings, Partial<JobSettings[keyof JobSettings]>>> = {}): JobSettings {
  const off = { enabled: false, cron: EVERY_SECOND };
  return {
    cachePurge: { ...off, highWater: 0.9, lowWater: 0.5, ...over.cachePurge },
    lockSweep: { ...off, ...over.lockSweep },
    gc: { ...off, graceMs: 60 * 60_000, ...over.gc },
    snapshot: { ...off, keep: 3, ...over.snapshot },
  };
}

describe('JobScheduler', { concurrency: true }, () => {
  it('runs the cache purge job on a seconds schedule, records and logs it', async () => {
    const core = await makeTestCore({ cacheBytes: 100_000 });
    for (let i = 0; i < 12; i++) {
      const data = pseudoRandomBytes(8000, i + 1);
      await core.cache.put(hashChunk(data), data);
    }
    assert.ok(core.cache.stats().bytes > 90_000, 'cache filled above the high-water mark');
    const { log, lines } = capturingLogger();
    const jobs = standardJobs({ ...core, locks: new LockManager(core.meta) }, settings({ cachePurge: { enabled: true } }));
    const scheduler = new JobScheduler(jobs, log);
    scheduler.start();
    try {
      await until('a purge run', () => (scheduler.get(CACHE_PURGE)?.runs ?? 0) >= 1, 3000);
      const s = scheduler.get(CACHE_PURGE)!;
      assert.equal(s.outcome, 'ok');
      assert.equal(s.failures, 0);
      assert.ok(s.lastStart && s.lastEnd && s.lastDurationMs !== null);
      assert.ok(s.nextRun !== null && Date.parse(s.nextRun) > Date.now() - 1000);
      const result = s.lastResult as { purged: boolean; after: number };
      assert.equal(result.purged, true);
      assert.ok(core.cache.stats().bytes <= 50_000, `purged to the low-water mark, got ${core.cache.stats().bytes}`);
      assert.ok(result.after <= 50_000);
      const logged = lines().find((l) => l.job === CACHE_PURGE && l.msg === 'job done');
      assert.ok(logged, 'a log line for the run');
      assert.equal(logged.reason, 'scheduled');
      // Jobs left disabled are listed but never scheduled.
      for (const name of [LOCK_SWEEP, GC, SNAPSHOT]) {
        const other = scheduler.get(name)!;
        assert.equal(other.enabled, false);
        assert.equal(other.runs, 0, name);
        assert.equal(other.nextRun, null);
      }
    } finally {
      await scheduler.stop();
      await core.close();
    }
  });

  it('never runs a disabled job', async () => {
    let calls = 0;
    const scheduler = new JobScheduler([{ name: 'off', cron: EVERY_SECOND, enabled: false, run: async () => ({ calls: ++calls }) }], quiet);
    scheduler.start();
    await sleep(2200);
    await scheduler.stop();
    assert.equal(calls, 0);
    assert.deepEqual(
      { runs: scheduler.get('off')!.runs, lastStart: scheduler.get('off')!.lastStart, outcome: scheduler.get('off')!.outcome },
      { runs: 0, lastStart: null, outcome: null },
    );
  });

  it('skips (and logs) a firing while the previous run of the job goes on', async () => {
    let active = 0;
    let most = 0;
    const slow: Job = {
      name: 'slow',
      cron: EVERY_SECOND,
      enabled: true,
      run: async () => {
        most = Math.max(most, ++active);
        await sleep(2300);
        active--;
        return {};
      },
    };
    const { log, lines } = capturingLogger();
    const scheduler = new JobScheduler([slow], log);
    scheduler.start();
    await until('a skipped firing', () => (scheduler.get('slow')?.skipped ?? 0) >= 1, 4000);
    assert.equal(scheduler.get('slow')!.running, true);
    await scheduler.stop(); // waits for the run in progress
    assert.equal(active, 0);
    assert.equal(most, 1, 'never two runs at once');
    assert.equal(scheduler.get('slow')!.runs, 1);
    assert.ok(lines().some((l) => l.job === 'slow' && String(l.msg).includes('skipped')));
  });

  it('records a failed run with its message, and a later success clears it', async () => {
    let fail = true;
    const scheduler = new JobScheduler(
      [
        {
          name: 'flaky',
          cron: '0 0 1 1 *',
          enabled: true,
          run: async () => {
            if (fail) throw new Error('store unreachable');
            return { fine: true };
          },
        },
      ],
      quiet,
    );
    let s = await scheduler.runNow('flaky');
    assert.deepEqual([s.outcome, s.message, s.failures, s.runs, s.running], ['error', 'store unreachable', 1, 1, false]);
    fail = false;
    s = await scheduler.runNow('flaky', 'test');
    assert.deepEqual([s.outcome, s.message, s.failures, s.runs], ['ok', null, 1, 2]);
    assert.deepEqual(s.lastResult, { fine: true });
    await scheduler.stop();
  });

  it('runNow waits for a run in progress, then runs again', async () => {
    let calls = 0;
    const order: string[] = [];
    const scheduler = new JobScheduler(
      [
        {
          name: 'j',
          cron: '0 0 1 1 *',
          enabled: false,
          run: async () => {
            const n = ++calls;
            order.push(`start ${n}`);
            await sleep(100);
            order.push(`end ${n}`);
            return { n };
          },
        },
      ],
      quiet,
    );
    const first = scheduler.runNow('j');
    const second = scheduler.runNow('j');
    await Promise.all([first, second]);
    assert.deepEqual(order, ['start 1', 'end 1', 'start 2', 'end 2']);
    assert.deepEqual(scheduler.get('j')!.lastResult, { n: 2 });
  });

  it('refuses bad definitions', async () => {
    const job = (name: string, cron: string): Job => ({ name, cron, enabled: true, run: async () => ({}) });
    assert.throws(() => new JobScheduler([job('a', 'every minute')], quiet), /not a cron expression/);
    assert.throws(() => new JobScheduler([job('a', '* * * * *'), job('a', '* * * * *')], quiet), /two jobs named a/);
    await assert.rejects(new JobScheduler([], quiet).runNow('nope'), /no job named nope/);
  });
});

describe('standard jobs', () => {
  it('lock-sweep removes lapsed locks, gc and snapshot run against the store', async () => {
    const core = await makeTestCore();
    let clock = Date.now();
    const locks = new LockManager(core.meta, { maxTimeoutS: 60 }, () => clock);
    try {
      await locks.lock({ path: '/x', depth: 0, scope: 'exclusive', ownerXml: null, principal: null, timeout: 10 });
      await core.vfs.write('/file', bytesOf(pseudoRandomBytes(100_000, 7)));
      const scheduler = new JobScheduler(standardJobs({ ...core, locks }, settings()), quiet);
      clock += 11_000;
      assert.deepEqual((await scheduler.runNow(LOCK_SWEEP)).lastResult, { removed: 1 });

      const gc = await scheduler.runNow(GC);
      assert.equal(gc.outcome, 'ok', gc.message ?? '');
      assert.equal((gc.lastResult as { chunksDeleted: number }).chunksDeleted, 0);

      for (let i = 0; i < 4; i++) {
        const snap = await scheduler.runNow(SNAPSHOT);
        assert.equal(snap.outcome, 'ok', snap.message ?? '');
        await sleep(2); // distinct millisecond names
      }
      assert.equal((await listSnapshots(core.objects)).length, 3, 'keeps jobs.snapshot.keep');
      await scheduler.stop();
    } finally {
      await core.close();
    }
  });

  it('refuses a GC grace period that could delete chunks of uploads in progress', async () => {
    const core = await makeTestCore();
    try {
      assert.throws(() => standardJobs({ ...core, locks: new LockManager(core.meta) }, settings({ gc: { graceMs: 1000 } })), /jobs\.gc\.grace/);
    } finally {
      await core.close();
    }
  });
});
