// `davfs-bridge fsck [--repair] [--deep]`: checks the store (maintenance/fsck.ts), prints each
// problem, each repair and a one-line summary; exits with 1 when problems remain unrepaired.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { formatSize } from '../config/size.js';
import { runFsck, stagedHashes, type FsckReport } from '../maintenance/fsck.js';
import { graceFrom } from './gc.js';
import { jobProgress } from './job-progress.js';
import { openStores } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface FsckFlags extends StoreFlags {
  repair?: boolean;
  deep?: boolean;
  grace?: string;
}

const PHASES = { metadata: 'metadata', chunks: 'chunks checked', orphans: 'objects listed' } as const;

export function fsckSummary(r: FsckReport, deep: boolean): string {
  const checked = `checked ${r.chunksChecked} chunks${deep ? ` (${formatSize(r.bytesVerified)} read and hashed)` : ''}`;
  const found = `${r.metadataProblems.length} metadata problems, ${r.damaged.length} damaged chunks, ${r.orphanCount} orphans`;
  const outcome = r.unrepaired.length === 0 ? 'no problems left' : `${r.unrepaired.length} problems not repaired`;
  return `fsck: ${checked}; found ${found}; ${r.repairs.length} repairs; ${outcome} in ${formatDuration(r.durationMs)}`;
}

export function registerFsck(program: Command): void {
  addStoreOptions(program.command('fsck').description('check metadata, chunks and orphan objects; --repair fixes what can be fixed'))
    .option('--repair', 'recompute refcounts, delete orphan objects older than the grace period')
    .option('--deep', 'also read every chunk and check its hash (reads the whole store)')
    .option('--grace <duration>', 'orphans younger than this may be uploads in progress (default: jobs.gc.grace)')
    .action(async (flags: FsckFlags) => {
      const config = loadConfig(configSources(flags));
      const repair = flags.repair === true;
      const deep = flags.deep === true;
      const graceMs = graceFrom(flags.grace, config.jobs.gc.graceMs, repair);
      const stores = await openStores(config);
      const progress = jobProgress();
      const staged = await stagedHashes(config.cache.dir);
      let report: FsckReport;
      try {
        report = await runFsck({
          meta: stores.meta,
          objects: stores.objects,
          deep,
          repair,
          graceMs,
          now: Date.now,
          isPending: (hash) => staged.has(hash),
          onProgress: (p) => progress.update(PHASES[p.phase], p.done, p.total),
        });
      } finally {
        progress.stop();
        await stores.close();
      }
      for (const o of report.orphans) console.log(`orphan: ${o.key} (${formatSize(o.size)}, modified ${new Date(o.mtimeMs).toISOString()})`);
      if (report.orphanCount > report.orphans.length) console.log(`orphan: … and ${report.orphanCount - report.orphans.length} more`);
      for (const key of report.foreignKeys) console.log(`foreign key under chunks/ (left alone): ${key}`);
      for (const line of report.repairs) console.log(`repaired: ${line}`);
      for (const line of report.unrepaired) console.log(`problem: ${line}`);
      if (report.damaged.some((d) => d.problem === 'missing')) {
        console.log('note: a chunk still waiting in the staging area of another node in write-back mode also shows as missing until it is uploaded');
      }
      console.log(fsckSummary(report, deep));
      if (report.unrepaired.length > 0) process.exitCode = 1;
    });
}

