// `davfs-bridge backup`: ships a snapshot of the SQLite metadata to the object store now
// (maintenance/snapshot.ts), beside the ones the snapshot job makes; safe beside a running server.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { formatSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import { backupMetadata, type BackupReport, type SnapshotProgress } from '../maintenance/snapshot.js';
import { sqliteFileOf } from '../app.js';
import { jobProgress, type JobProgress } from './job-progress.js';
import { openStores } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

export function backupSummary(r: BackupReport): string {
  const pruned = r.deleted.length > 0 ? `, ${r.deleted.length} older deleted` : '';
  return `backup: ${r.key} (${formatSize(r.dbBytes)} → ${formatSize(r.compressedBytes)} gzipped${pruned}) in ${formatDuration(r.durationMs)}`;
}

/** Feeds snapshot progress to a progress line; bytes shown in KiB so the counts stay readable. */
export function snapshotProgress(progress: JobProgress): (p: SnapshotProgress) => void {
  return (p) => {
    if (p.phase === 'copy') progress.update('copy (pages)', p.done, p.total);
    else progress.update(`${p.phase} (KiB)`, Math.floor(p.done / 1024), Math.ceil(p.total / 1024));
  };
}

export function registerBackup(program: Command): void {
  addStoreOptions(program.command('backup').description('upload a snapshot of the metadata to the object store (meta/snapshots/)')).action(
    async (flags: StoreFlags) => {
      const config = loadConfig(configSources(flags));
      const file = sqliteFileOf(config.meta);
      if (file === undefined) throw new FsError('EINVAL', 'backup copies SQLite metadata; other databases rely on their own backups (e.g. pg_dump)');
      // Opening the store would create an empty database: a backup of nothing is a mistake.
      if (!existsSync(file)) throw new FsError('ENOENT', `no metadata database at ${file}`);
      const stores = await openStores(config);
      const progress = jobProgress();
      try {
        const report = await backupMetadata({
          meta: stores.meta,
          objects: stores.objects,
          now: Date.now,
          keep: config.jobs.snapshot.keep,
          onProgress: snapshotProgress(progress),
        });
        progress.stop();
        console.log(backupSummary(report));
      } finally {
        progress.stop();
        await stores.close();
      }
    },
  );
}
