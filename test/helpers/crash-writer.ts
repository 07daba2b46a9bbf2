// Child process for the crash tests: opens the store under DIR through the real composition root
// and writes SIZE pseudo-random bytes to PATH, printing progress, so the parent can SIGKILL it at
// any point. Usage: node --import tsx test/helpers/crash-writer.ts DIR PATH SIZE SEED
import { openCore } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { progressBody } from './core.js';

const [dir, path, sizeText, seedText] = process.argv.slice(2);
const size = Number(sizeText);
const config = loadConfig({ env: {}, flags: { data: dir } });
const core = await openCore(config, createLogger('warn'));

await core.vfs.write(path!, progressBody(size, Number(seedText)));
process.stdout.write('committed\n');
await core.close();
