// Runs the MetaStore contract against every implementation available in this process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlMetaStore } from '../../src/meta/sql-meta-store.js';
import { SqliteDriver } from '../../src/meta/sqlite-driver.js';
import { metaStoreContract } from './meta-store.contract.js';

metaStoreContract('SQLite in memory', async () => new SqlMetaStore(new SqliteDriver(':memory:')));
metaStoreContract('SQLite file (WAL)', async () => new SqlMetaStore(new SqliteDriver(join(mkdtempSync(join(tmpdir(), 'davfs-meta-')), 'meta.db'))));
// The FUSE mount's mode: commits are acknowledged before their WAL fsync (sync() makes them durable).
metaStoreContract('SQLite file (WAL), durable at sync()', async () =>
  new SqlMetaStore(new SqliteDriver(join(mkdtempSync(join(tmpdir(), 'davfs-meta-')), 'meta.db'), { durableCommits: false })),
);
