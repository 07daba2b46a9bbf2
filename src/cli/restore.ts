// `davfs-bridge restore [--force]`: rebuilds this node's SQLite metadata from the newest snapshot
// in the object store (DESIGN.md "Durability of metadata"). Needs only the object store: no
// metadata, no cache. Stop the server using the database first.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { formatDuration } from '../config/duration.js';
import { formatSize } from '../config/size.js';
import { FsError } from '../core/errors.js';
import { restoreMetadata } from '../maintenance/snapshot.js';
import { openMetaStore, openObjectStore, sqliteFileOf } from '../app.js';
import { snapshotProgress } from './backup.js';
import { jobProgress } from './job-progress.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

interface RestoreFlags extends StoreFlags {
  force?: boolean;
  snapshot?: string;
}

export function registerRestore(program: Command): void {
  addStoreOptions(program.command('restore').description('rebuild the SQLite metadata from the newest snapshot in the object store'))
    .option('--force', 'replace an existing metadata database (stop the server first)')
    .option('--snapshot <key>', 'restore this snapshot (e.g. meta/snapshots/2025-01-01T00:00:00.000Z.db.gz) instead of the newest')
    .action(async (flags: RestoreFlags) => {
      const config = loadConfig(configSources(flags));
      const metaFile = sqliteFileOf(config.meta);
      if (metaFile === undefined) throw new FsError('EINVAL', 'restore rebuilds SQLite metadata; other databases restore with their own tools (e.g. pg_restore)');
      const objects = openObjectStore(config.store);
      await objects.open();
      const progress = jobProgress();
      try {
        const r = await restoreMetadata({
          objects,
          metaFile,
          force: flags.force === true,
          key: flags.snapshot,
          openMeta: (file) => openMetaStore(`sqlite://${file}`),
          onProgress: snapshotProgress(progress),
        });
        progress.stop();
        console.log(
          `restore: ${r.key} → ${metaFile} (${formatSize(r.compressedBytes)} → ${formatSize(r.dbBytes)}, schema ${r.schemaVersion}) in ${formatDuration(r.durationMs)}`,
        );
      } finally {
        progress.stop();
        await objects.close();
      }
    });
}
