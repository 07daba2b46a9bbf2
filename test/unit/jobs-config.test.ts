// The `jobs` section of the configuration and the duration parser it uses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return assert.fail('expected a ConfigError');
}

describe('parseDuration', () => {
  const table: [string | number, number][] = [
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h 30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    [' 10M ', 600_000],
    ['0', 0],
    [0, 0],
    [2500, 2500],
  ];
  for (const [text, ms] of table) it(`${JSON.stringify(text)} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));

  for (const bad of ['', '30', 'h', '1x', '1h30', 'soon', '-1h', '1h-30m']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseDuration(bad), /is not a duration/));
  }
  it('refuses negative and fractional milliseconds', () => {
    assert.throws(() => parseDuration(-1), /whole number/);
    assert.throws(() => parseDuration(1.5), /whole number/);
  });

  it('formats back to the largest whole units', () => {
    assert.deepEqual([0, 500, 90_000, 5_400_000, 86_400_000 + 1000].map(formatDuration), ['0s', '500ms', '1m30s', '1h30m', '1d1s']);
    for (const ms of [1, 999, 61_000, 3_600_000, 90_061_001]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});

describe('jobs configuration', () => {
  it('has sensible defaults, all enabled', () => {
    const { jobs } = loadConfig({ env: {} });
    assert.deepEqual(jobs, {
      cachePurge: { enabled: true, cron: '*/5 * * * *', highWater: 0.9, lowWater: 0.8 },
      lockSweep: { enabled: true, cron: '* * * * *' },
      gc: { enabled: true, cron: '23 * * * *', graceMs: 86_400_000 },
      snapshot: { enabled: true, cron: '0 */6 * * *', keep: 10 },
    });
  });

  it('takes every setting from the environment', () => {
    const { jobs } = loadConfig({
      env: {
        DAVFS_JOBS_CACHE_PURGE_ENABLED: 'false',
        DAVFS_JOBS_CACHE_PURGE_CRON: '*/10 * * * * *',
        DAVFS_JOBS_CACHE_PURGE_HIGH_WATER: '0.95',
        DAVFS_JOBS_CACHE_PURGE_LOW_WATER: '0.5',
        DAVFS_JOBS_LOCK_SWEEP_ENABLED: 'false',
        DAVFS_JOBS_LOCK_SWEEP_CRON: '*/2 * * * *',
        DAVFS_JOBS_GC_ENABLED: 'false',
        DAVFS_JOBS_GC_CRON: '0 3 * * *',
        DAVFS_JOBS_GC_GRACE: '2h30m',
        DAVFS_JOBS_SNAPSHOT_ENABLED: 'false',
        DAVFS_JOBS_SNAPSHOT_CRON: '@hourly',
        DAVFS_JOBS_SNAPSHOT_KEEP: '3',
      },
    });
    assert.deepEqual(jobs, {
      cachePurge: { enabled: false, cron: '*/10 * * * * *', highWater: 0.95, lowWater: 0.5 },
      lockSweep: { enabled: false, cron: '*/2 * * * *' },
      gc: { enabled: false, cron: '0 3 * * *', graceMs: 9_000_000 },
      snapshot: { enabled: false, cron: '@hourly', keep: 3 },
    });
  });

  it('names each bad value with its setting', () => {
    const p = problems({
      DAVFS_JOBS_CACHE_PURGE_CRON: 'every five minutes',
      DAVFS_JOBS_GC_GRACE: '30',
      DAVFS_JOBS_SNAPSHOT_KEEP: '0',
      DAVFS_JOBS_LOCK_SWEEP_ENABLED: 'maybe',
      DAVFS_JOBS_CACHE_PURGE_LOW_WATER: '1.5',
    });
    assert.equal(p.length, 5, p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('jobs.cache_purge.cron:') && x.includes('not a cron expression') && x.includes('DAVFS_JOBS_CACHE_PURGE_CRON')));
    assert.ok(p.some((x) => x.startsWith('jobs.gc.grace:') && x.includes('not a duration')));
    assert.ok(p.some((x) => x.startsWith('jobs.snapshot.keep:')));
    assert.ok(p.some((x) => x.startsWith('jobs.lock_sweep.enabled:')));
    assert.ok(p.some((x) => x.startsWith('jobs.cache_purge.low_water:')));
  });

  it('needs low_water below high_water', () => {
    assert.deepEqual(problems({ DAVFS_JOBS_CACHE_PURGE_LOW_WATER: '0.9', DAVFS_JOBS_CACHE_PURGE_HIGH_WATER: '0.9' }), [
      'jobs.cache_purge: need low_water < high_water, got 0.9 / 0.9',
    ]);
  });
});
