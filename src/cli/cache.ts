// `davfs-bridge cache stats|purge [--to SIZE]`: the node's disk cache of chunks, offline. Also the
// marker by which `serve` claims a cache folder, so these commands do not run beside a server.
//
// Why offline only: opening a cache empties its tmp/ folder, where a running server is writing,
// and a purge behind the server's back leaves its in-memory index wrong. A running server purges
// its own cache (the cache-purge job) and reports its figures at /.well-known/davfs-bridge/status.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { formatSize, parseSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { openChunkCache } from '../app.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

/** In the cache folder's root, beside chunks/, staging/ and tmp/ (which the cache manages). */
const OWNER_FILE = 'server.pid';

/**
 * Marks `dir` as used by this process; the returned function removes the mark. Never refuses: a
 * mark left by a crash may name a reused process id, and serve must always start. Another live
 * owner is logged (two processes on one cache folder is a mistake the cache does not survive).
 */
export async function claimCacheDir(dir: string, log: Logger): Promise<() => Promise<void>> {
  const other = await cacheOwner(dir);
  if (other !== undefined) log.warn({ cacheDir: dir, pid: other }, 'another live process marked this cache folder as its own');
  const file = join(dir, OWNER_FILE);
  await writeFile(file, `${process.pid}\n`);
  return async () => {
    if ((await cacheOwner(dir, true)) === process.pid) await rm(file, { force: true });
  };
}

/** The live process (other than this one, unless `includeSelf`) that claimed `dir`. */
async function cacheOwner(dir: string, includeSelf = false): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(join(dir, OWNER_FILE), 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return includeSelf ? pid : undefined;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return pid;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

interface CacheFlags extends StoreFlags {
  to?: string;
  json?: boolean;
}

export function registerCache(program: Command): void {
  const cache = program.command('cache').description("the node's local disk cache of chunks (with the server stopped)");
  addStoreOptions(cache.command('stats').description('size, chunk count and staging area of the cache'))
    .option('--json', 'print the figures as JSON')
    .action(async (flags: CacheFlags) => {
      const config = loadConfig(configSources(flags));
      await refuseIfServed(config.cache.dir);
      const c = await openChunkCache(config);
      try {
        const s = c.stats();
        if (flags.json) {
          console.log(JSON.stringify({ dir: c.dir, limitBytes: c.maxBytes, ...s }));
        } else {
          console.log(
            `cache ${c.dir}: ${formatSize(s.bytes)} of ${formatSize(c.maxBytes)} (${percent(s.bytes, c.maxBytes)}) in ${s.entries} chunks; ` +
              `staging ${s.stagedEntries} chunks (${formatSize(s.stagedBytes)}) waiting for upload`,
          );
        }
      } finally {
        await c.close();
      }
    });
  addStoreOptions(cache.command('purge').description('evict least recently used chunks down to a size'))
    .option('--to <size>', 'size to purge down to, e.g. 1GiB or 0 (default: jobs.cache_purge.low_water of cache.size)')
    .action(async (flags: CacheFlags) => {
      const config = loadConfig(configSources(flags));
      let target = Math.floor(config.cache.size * config.jobs.cachePurge.lowWater);
      if (flags.to !== undefined) {
        try {
          target = parseSize(flags.to);
        } catch (err) {
          throw new FsError('EINVAL', `--to: ${(err as Error).message}`);
        }
      }
      await refuseIfServed(config.cache.dir);
      const c = await openChunkCache(config);
      try {
        const r = await c.purgeTo(target);
        const s = c.stats();
        console.log(
          `cache purge: evicted ${r.entries} chunks (${formatSize(r.bytes)}); now ${formatSize(s.bytes)} of ${formatSize(c.maxBytes)} ` +
            `in ${s.entries} chunks (target ${formatSize(target)})`,
        );
      } finally {
        await c.close();
      }
    });
}

async function refuseIfServed(dir: string): Promise<void> {
  const pid = await cacheOwner(dir);
  if (pid !== undefined) {
    throw new FsError(
      'EBUSY',
      `the cache ${dir} is in use by a server (pid ${pid}); its cache-purge job purges it and ` +
        `GET /.well-known/davfs-bridge/status shows its figures (if no server runs, delete ${join(dir, OWNER_FILE)})`,
    );
  }
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}
