// `davfs-bridge gc [--dry-run] [--grace DURATION]`: one garbage collection of unreferenced chunks
// (maintenance/gc.ts), with a one-line summary at the end.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { formatSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import { MIN_GC_GRACE_MS, leaseHolder, runGc, type GcReport } from '../maintenance/gc.js';
import { jobProgress } from './job-progress.js';
import { openStores } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface GcFlags extends StoreFlags {
  dryRun?: boolean;
  grace?: string;
}

/**
 * The grace period: --grace, else the configured jobs.gc.grace. Below MIN_GC_GRACE_MS GC could
 * delete chunks of uploads in progress (maintenance/gc.ts says why), so that is refused unless
 * nothing is deleted (a dry run).
 */
export function graceFrom(flag: string | undefined, configured: number, deletes: boolean): number {
  let graceMs = configured;
  if (flag !== undefined) {
    try {
      graceMs = parseDuration(flag);
    } catch (err) {
      throw new FsError('EINVAL', `--grace: ${(err as Error).message}`);
    }
  }
  if (deletes && graceMs < MIN_GC_GRACE_MS) {
    throw new FsError('EINVAL', `grace period ${formatDuration(graceMs)} is too short: below ${formatDuration(MIN_GC_GRACE_MS)} uploads in progress could lose chunks`);
  }
  return graceMs;
}

export function gcSummary(r: GcReport): string {
  if (r.skipped !== undefined && r.chunksDeleted + r.orphansDeleted === 0) return `gc: skipped: ${r.skipped}`;
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const parts = [
    `${verb} ${r.chunksDeleted} unreferenced chunks and ${r.orphansDeleted} orphan objects`,
    `${r.dryRun ? 'would free' : 'freed'} ${formatSize(r.bytesFreed)}`,
    `kept ${r.keptYoung} younger than the grace period`,
  ];
  if (r.foreignKeys > 0) parts.push(`${r.foreignKeys} foreign keys under chunks/ left alone`);
  if (r.skipped !== undefined) parts.push(r.skipped);
  return `gc${r.dryRun ? ' (dry run)' : ''}: ${parts.join(', ')} in ${formatDuration(r.durationMs)}`;
}

export function registerGc(program: Command): void {
  addStoreOptions(program.command('gc').description('delete chunks unreferenced for longer than the grace period (one node at a time)'))
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .option('--grace <duration>', 'minimum age of garbage, e.g. 1h or 1d (default: jobs.gc.grace) [env DAVFS_JOBS_GC_GRACE]')
    .action(async (flags: GcFlags) => {
      const config = loadConfig(configSources(flags));
      const dryRun = flags.dryRun === true;
      const graceMs = graceFrom(flags.grace, config.jobs.gc.graceMs, !dryRun);
      const stores = await openStores(config);
      const progress = jobProgress();
      try {
        const report = await runGc({
          meta: stores.meta,
          objects: stores.objects,
          graceMs,
          dryRun,
          now: Date.now,
          holder: leaseHolder(),
          onProgress: (p) => progress.update(p.phase === 'unreferenced' ? 'unreferenced chunks' : 'objects listed', p.done),
        });
        progress.stop();
        console.log(gcSummary(report));
      } finally {
        progress.stop();
        await stores.close();
      }
    });
}
