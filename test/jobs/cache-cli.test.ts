// `davfs-bridge cache stats|purge` run in-process (commander, no child process), and the marker
// by which a server claims its cache folder so these commands do not run beside it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { hashChunk } from '../../src/chunks/chunk-hash.js';
import { DiskChunkCache } from '../../src/chunks/disk-cache.js';
import { claimCacheDir, registerCache } from '../../src/cli/cache.js';
import { pseudoRandomBytes } from '../helpers/core.js';

const quiet = pino({ level: 'silent' });

/** A data folder whose cache holds `chunks` chunks of 10,000 bytes. */
async function dataWithCache(chunks: number): Promise<{ data: string; cacheDir: string }> {
  const data = mkdtempSync(join(tmpdir(), 'davfs-cache-cli-'));
  const cacheDir = join(data, 'cache');
  const cache = new DiskChunkCache({ dir: cacheDir, maxBytes: 1024 * 1024 });
  await cache.open();
  for (let i = 0; i < chunks; i++) {
    const bytes = pseudoRandomBytes(10_000, i + 1);
    await cache.put(hashChunk(bytes), bytes);
  }
  await cache.close();
  return { data, cacheDir };
}

/** Runs `davfs-bridge <args>` with only the cache verb registered; returns what it printed. */
async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerCache(program);
  const printed: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => printed.push(parts.join(' '));
  try {
    await program.parseAsync(['node', 'davfs-bridge', ...args]);
  } finally {
    console.log = log;
  }
  return printed.join('\n');
}

/** The pid of a process that has exited (a stale marker). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('cache CLI', () => {
  it('stats reports size, chunks and staging', async () => {
    const { data, cacheDir } = await dataWithCache(5);
    const line = await cli(['cache', 'stats', '--data', data, '--cache-size', '1MiB']);
    assert.equal(line, `cache ${cacheDir}: 48.8KiB of 1MiB (4.8%) in 5 chunks; staging 0 chunks (0B) waiting for upload`);
    const json = JSON.parse(await cli(['cache', 'stats', '--json', '--data', data, '--cache-size', '1MiB'])) as Record<string, unknown>;
    assert.deepEqual([json.bytes, json.entries, json.limitBytes, json.stagedEntries], [50_000, 5, 1024 * 1024, 0]);
  });

  it('purge goes down to the low-water mark by default, or to --to', async () => {
    const { data } = await dataWithCache(10);
    // 100,000 bytes cached; low_water 0.8 of 100KiB = 81,920 bytes: two chunks must go.
    let line = await cli(['cache', 'purge', '--data', data, '--cache-size', '100KiB']);
    assert.match(line, /^cache purge: evicted 2 chunks \(19\.5KiB\); now 78\.1KiB of 100KiB in 8 chunks \(target 80KiB\)$/);
    line = await cli(['cache', 'purge', '--to', '0', '--data', data, '--cache-size', '100KiB']);
    assert.match(line, /evicted 8 chunks .* now 0B of 100KiB in 0 chunks/);
    await assert.rejects(cli(['cache', 'purge', '--to', 'lots', '--data', data]), /EINVAL: --to: "lots" is not a size/);
  });

  it('refuses while a live server claims the folder, not after it is gone', async () => {
    const { data, cacheDir } = await dataWithCache(1);
    // The test runner that started this process stands in for a live server.
    writeFileSync(join(cacheDir, 'server.pid'), `${process.ppid}\n`);
    for (const verb of ['stats', 'purge']) {
      await assert.rejects(cli(['cache', verb, '--data', data]), new RegExp(`EBUSY: the cache ${cacheDir} is in use by a server \\(pid ${process.ppid}\\)`));
    }
    writeFileSync(join(cacheDir, 'server.pid'), `${deadPid()}\n`);
    assert.match(await cli(['cache', 'stats', '--data', data]), /in 1 chunks/);
  });

  it('claimCacheDir marks the folder and unmarks it only if still its own', async () => {
    const { cacheDir } = await dataWithCache(0);
    const marker = join(cacheDir, 'server.pid');
    let release = await claimCacheDir(cacheDir, quiet);
    assert.equal(readFileSync(marker, 'utf8'), `${process.pid}\n`);
    await release();
    assert.equal(existsSync(marker), false);

    release = await claimCacheDir(cacheDir, quiet);
    writeFileSync(marker, `${process.ppid}\n`); // another server took over meanwhile
    await release();
    assert.equal(readFileSync(marker, 'utf8'), `${process.ppid}\n`);
  });
});
