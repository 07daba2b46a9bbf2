// Opens only the object store and the metadata of a configuration, for maintenance commands (gc,
// fsck) that may run beside a live server: unlike openCore they leave the node's disk cache and
// staging area alone (opening the cache clears its temp folder, which a running server uses).
import type { Config } from '../config/config.js';
import { openMetaStore, openObjectStore, type Core } from '../app.js';

export interface Stores extends Pick<Core, 'objects' | 'meta'> {
  close(): Promise<void>;
}

export async function openStores(config: Config): Promise<Stores> {
  const objects = openObjectStore(config.store);
  await objects.open();
  const meta = openMetaStore(config.meta);
  try {
    await meta.open();
  } catch (err) {
    await objects.close().catch(() => undefined);
    throw err;
  }
  return {
    objects,
    meta,
    close: async () => {
      await meta.close();
      await objects.close();
    },
  };
}

/** Opens the stores of `config`, runs `fn` on the metadata store, and closes them whatever happens. */
export async function withMetaStore<T>(config: Config, fn: (meta: Core['meta']) => Promise<T>): Promise<T> {
  const stores = await openStores(config);
  try {
    return await fn(stores.meta);
  } finally {
    await stores.close();
  }
}
