// Child process for the write-back crash test: opens the store under DIR in writeback mode through
// the real composition root, makes every PUT hang (an unreachable store), writes SIZE pseudo-random
// bytes to PATH printing progress, prints "committed" once the write is acknowledged (what the PUT's
// 201 waits for), then waits for the parent's SIGKILL: no upload can have finished by then.
// Usage: node --import tsx test/helpers/writeback-writer.ts DIR PATH SIZE SEED
import { openCore } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { progressBody } from './core.js';

const [dir, path, sizeText, seedText] = process.argv.slice(2);
const size = Number(sizeText);
const config = loadConfig({ env: {}, flags: { data: dir, write_mode: 'writeback' } });
const core = await openCore(config, createLogger('warn'));
// The ChunkStore and its uploader share this instance, so from here on every upload hangs.
core.objects.put = () => new Promise<void>(() => undefined);

await core.vfs.write(path!, progressBody(size, Number(seedText)));
process.stdout.write(`committed ${core.chunks.pendingUploads().length}\n`);
// Hung PUTs and unref'd backoff timers do not keep a process alive: this does, until the kill.
setInterval(() => undefined, 60_000);
