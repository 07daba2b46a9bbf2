// The `davfs-bridge` command line: one verb per file, errors printed as one clear line (main.ts runs it).
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { ConfigError } from '../config/config.js';
import { FsError } from '../core/errors.js';
import { registerServe } from './serve.js';
import { registerBackup } from './backup.js';
import { registerRestore } from './restore.js';
import { registerCache } from './cache.js';
import { registerGc } from './gc.js';
import { registerFsck } from './fsck.js';
import { registerLocks } from './locks.js';
import { registerUser } from './user.js';
import { registerToken } from './token.js';
import { registerMount } from './mount.js';
import { tuneHeap } from './heap-tuning.js';
import { registerShare } from './share.js';

tuneHeap();

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command()
  .name('davfs-bridge')
  .description('Serve S3-compatible object storage as a WebDAV drive')
  .version(pkg.version);
registerServe(program);
registerBackup(program);
registerRestore(program);
registerCache(program);
registerGc(program);
registerFsck(program);
registerLocks(program);
registerUser(program);
registerToken(program);
registerMount(program);
registerShare(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`davfs-bridge: ${err.message}`);
  else if (err instanceof FsError) console.error(`davfs-bridge: ${err.message}`);
  else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') console.error(`davfs-bridge: address in use: ${(err as Error).message}`);
  else console.error('davfs-bridge:', err);
  process.exit(1);
});
