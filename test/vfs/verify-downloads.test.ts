// verify_downloads from the configuration to the read path, over the embedded default store (a
// folder) and SQLite: a chunk the store changed (same length) is an I/O error by default, and
// comes through unchecked with verify_downloads false, which is the trade that setting makes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { isFsError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import { bytesOf, pseudoRandomBytes, readAll } from '../helpers/core.js';

const log = createLogger('fatal');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The one chunk object in the folder store under `data`. */
function onlyChunkFile(data: string): string {
  const root = join(data, 'objects', 'chunks');
  const files = readdirSync(root).flatMap((prefix) => readdirSync(join(root, prefix)).map((name) => join(root, prefix, name)));
  assert.equal(files.length, 1, files.join(', '));
  return files[0]!;
}

describe('verify_downloads', () => {
  it('a chunk changed in the store is EIO by default, and read as it is when the setting is off', async () => {
    const data = mkdtempSync(join(tmpdir(), 'davfs-verify-'));
    dirs.push(data);
    const content = pseudoRandomBytes(300_000, 9);
    const first = await openCore(loadConfig({ env: {}, flags: { data } }), log);
    await first.vfs.write('/f.bin', bytesOf(content));
    await first.close();

    const chunk = onlyChunkFile(data);
    const changed = readFileSync(chunk);
    changed[1234] = changed[1234]! ^ 0xff;
    writeFileSync(chunk, changed);
    const readWith = async (verify: string | undefined) => {
      rmSync(join(data, 'cache'), { recursive: true, force: true }); // every read goes to the store
      const flags = verify === undefined ? { data } : { data, verify_downloads: verify };
      const core = await openCore(loadConfig({ env: {}, flags }), log);
      try {
        return await readAll((await core.vfs.read('/f.bin')).body);
      } finally {
        await core.close();
      }
    };

    await assert.rejects(readWith(undefined), (err) => isFsError(err, 'EIO') && /corrupt/.test(err.message));
    const unchecked = await readWith('false');
    assert.equal(unchecked.length, content.length);
    assert.notDeepEqual(unchecked, content);
    assert.equal(unchecked[1234], content[1234]! ^ 0xff);
    assert.ok(unchecked.subarray(1235).equals(content.subarray(1235)));
  });
});
