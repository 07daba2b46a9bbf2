// Runs the ObjectStore contract against every implementation: memory, local directory, s3rver and Swift's S3 API.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '../../src/store/local-store.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { S3ObjectStore } from '../../src/store/s3-store.js';
import { s3StoreOptions, startS3rver } from '../helpers/s3rver.js';
import { startSwift } from '../helpers/swift.js';
import { objectStoreContract } from './object-store.contract.js';

objectStoreContract('memory', async () => ({ store: new MemoryObjectStore() }));

objectStoreContract('local directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'davfs-local-store-'));
  return { store: new LocalObjectStore(join(dir, 'objects')), teardown: () => rm(dir, { recursive: true, force: true }) };
});

// With a key prefix inside the bucket, so the prefix mapping is under test too.
objectStoreContract('S3 on s3rver', async () => {
  const server = await startS3rver();
  return { store: new S3ObjectStore(s3StoreOptions(server, { prefix: 'nested/prefix/' })), teardown: () => server.stop() };
});

objectStoreContract("S3 on OpenStack Swift's S3 API", async () => {
  const server = await startSwift();
  return { store: new S3ObjectStore(s3StoreOptions(server)), teardown: () => server.stop() };
});
