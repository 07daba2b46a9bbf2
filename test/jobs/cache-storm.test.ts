// A read storm over several times more data than the cache holds, with the purge job running on
// a seconds schedule: the cache stays within its limit plus one chunk, and every read is correct.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { LockManager } from '../../src/locks/lock-manager.js';
import { JobScheduler } from '../../src/jobs/scheduler.js';
import { CACHE_PURGE, standardJobs } from '../../src/jobs/standard-jobs.js';
import { SMALL_CHUNKING, bytesOf, makeTestCore, pseudoRandomBytes, readAll } from '../helpers/core.js';

const LIMIT = 256 * 1024;
const MAX_CHUNK = SMALL_CHUNKING.maxSize;
const FILES = 8;
const FILE_SIZE = 200_000; // 1.6 MB in all: over six times the cache
const READERS = 6;

/** Bytes of the files in <cache>/chunks/ (what the LRU accounts for, as the disk sees it). */
function diskBytes(dir: string): number {
  let total = 0;
  for (const sub of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, sub))) {
      try {
        total += statSync(join(dir, sub, f)).size;
      } catch {
        // evicted between readdir and stat
      }
    }
  }
  return total;
}

describe('read storm', () => {
  it('keeps the cache within its limit plus one chunk and returns correct bytes', async (t) => {
    const core = await makeTestCore({ cacheBytes: LIMIT });
    const files = Array.from({ length: FILES }, (_, i) => pseudoRandomBytes(FILE_SIZE, i + 100));
    for (const [i, data] of files.entries()) await core.vfs.write(`/f${i}`, bytesOf(data));
    await core.chunks.idle();

    const jobs = standardJobs(
      { ...core, locks: new LockManager(core.meta) },
      {
        cachePurge: { enabled: true, cron: '*/1 * * * * *', highWater: 0.9, lowWater: 0.5 },
        lockSweep: { enabled: false, cron: '* * * * *' },
        gc: { enabled: false, cron: '* * * * *', graceMs: 3_600_000 },
        snapshot: { enabled: false, cron: '* * * * *', keep: 1 },
      },
    );
    const scheduler = new JobScheduler(jobs, pino({ level: 'silent' }));
    scheduler.start();

    let maxIndexed = 0;
    let maxOnDisk = 0;
    const sample = () => {
      maxIndexed = Math.max(maxIndexed, core.cache.stats().bytes);
      maxOnDisk = Math.max(maxOnDisk, diskBytes(join(core.dir, 'cache', 'chunks')));
    };
    const sampler = setInterval(sample, 5);

    let reads = 0;
    const until = Date.now() + 2200; // spans at least two purge runs
    const MIN_READS = 100;
    const reader = async (seed: number) => {
      let x = seed;
      const next = () => {
        // xorshift32: cheap, and spreads the reads over every file
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>>= 0);
      };
      // At least two purge runs, and a storm, not a drizzle, however slow the machine is today
      // (a busy CI machine once got only 45 reads into the 2.2 s).
      while (Date.now() < until || reads < MIN_READS) {
        const i = next() % FILES;
        const data = files[i]!;
        if (next() % 4 === 0) {
          const got = await readAll((await core.vfs.read(`/f${i}`)).body);
          assert.ok(got.equals(data), `whole /f${i}`);
        } else {
          const start = next() % data.length;
          const end = Math.min(data.length - 1, start + (next() % 60_000));
          const got = await readAll((await core.vfs.read(`/f${i}`, { start, end })).body);
          assert.ok(got.equals(data.subarray(start, end + 1)), `/f${i} bytes ${start}-${end}`);
        }
        reads++;
        sample();
      }
    };
    try {
      await Promise.all(Array.from({ length: READERS }, (_, i) => reader(i + 1)));
      await core.chunks.idle();
    } finally {
      clearInterval(sampler);
      await scheduler.stop();
    }
    sample();
    const purge = scheduler.get(CACHE_PURGE)!;
    await core.close();

    t.diagnostic(`${reads} reads, ${core.chunks.stats().bytesFromStore} bytes from the store, cache peak ${maxIndexed} indexed / ${maxOnDisk} on disk (limit ${LIMIT})`);
    assert.ok(core.chunks.stats().bytesFromStore > 2 * FILES * FILE_SIZE, 'the data did not fit: chunks were fetched again and again');
    assert.ok(maxIndexed <= LIMIT + MAX_CHUNK, `indexed ${maxIndexed} > ${LIMIT} + ${MAX_CHUNK}`);
    // Writes in flight reserve their room before writing (disk-cache.ts makeRoom), so the files on
    // disk obey the same bound as the index, however many readers, fills and read-aheads race.
    assert.ok(maxOnDisk <= LIMIT + MAX_CHUNK, `on disk ${maxOnDisk} > ${LIMIT} + ${MAX_CHUNK}`);
    assert.ok(purge.runs >= 2 && purge.failures === 0, `purge ran: ${JSON.stringify(purge)}`);
  });
});
