// `davfs-bridge locks list|sweep`: the WebDAV locks in the metadata store (shared by every node),
// and the lock-sweep job run once by hand. Safe beside a running server: locks are database rows.
import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { LockManager } from '../locks/lock-manager.js';
import { openStores } from './open-stores.js';
import { addStoreOptions, configSources, type StoreFlags } from './serve.js';

export function registerLocks(program: Command): void {
  const locks = program.command('locks').description('WebDAV locks held in the metadata store');
  addStoreOptions(locks.command('list').description('list the unexpired locks')).action(async (flags: StoreFlags) => {
    await withLocks(flags, async (manager) => {
      const all = await manager.discoverTree('/');
      for (const l of all) {
        const expires = l.expiresMs === null ? 'never' : new Date(l.expiresMs).toISOString();
        console.log(`${l.root}\t${l.scope}\tdepth ${l.depth}\texpires ${expires}\t${l.principal ?? '-'}\t${l.token}`);
      }
      console.log(`locks: ${all.length} held`);
    });
  });
  addStoreOptions(locks.command('sweep').description('delete expired locks now (the lock-sweep job)')).action(async (flags: StoreFlags) => {
    await withLocks(flags, async (manager) => {
      console.log(`locks: ${await manager.purgeExpired()} expired lock(s) removed`);
    });
  });
}

async function withLocks(flags: StoreFlags, fn: (manager: LockManager) => Promise<void>): Promise<void> {
  const config = loadConfig(configSources(flags));
  const stores = await openStores(config);
  try {
    await fn(new LockManager(stores.meta, { maxTimeoutS: config.webdav.lockMaxTimeoutS }));
  } finally {
    await stores.close();
  }
}
