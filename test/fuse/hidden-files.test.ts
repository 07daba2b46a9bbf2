// The journal of files unlinked while open: what a crashed mount left is removed at the next
// mount, and nothing but libfuse's hidden names can be removed through it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.js';
import { HiddenFiles } from '../../src/fuse/hidden-files.js';
import { bytesOf, makeTestCore } from '../helpers/core.js';

const HIDDEN = '/docs/.fuse_hidden0000002a00000001';
const log = createLogger('silent');

describe('hidden-file journal', () => {
  it('removes at the next mount the hidden files a killed mount listed, and only those', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.mkdir('/docs');
      for (const p of [HIDDEN, '/docs/.fuse_hidden0000002b00000001', '/docs/report.txt']) await core.vfs.write(p, bytesOf(Buffer.from(p)));
      const journal = join(core.dir, 'hidden-files.json');
      const before = new HiddenFiles(journal);
      await before.added(HIDDEN);
      await before.added('/docs/.fuse_hidden0000002b00000001');
      await before.removed('/docs/.fuse_hidden0000002b00000001'); // released normally: libfuse removed it
      // The process dies here: the next mount's journal object starts empty and reads the file.
      const removed = await new HiddenFiles(journal).sweep(core.vfs, log);
      assert.deepEqual(removed, [HIDDEN]);
      assert.equal(await core.vfs.tryStat(HIDDEN), undefined);
      assert.ok(await core.vfs.tryStat('/docs/.fuse_hidden0000002b00000001'), 'a name no longer listed is left alone');
      assert.ok(await core.vfs.tryStat('/docs/report.txt'));
      assert.equal(existsSync(journal), false, 'the journal is emptied');
    } finally {
      await core.close();
    }
  });

  it('ignores names that are not libfuse hidden names, a garbled journal and a missing one', async () => {
    const core = await makeTestCore();
    try {
      await core.vfs.write('/precious.txt', bytesOf(Buffer.from('keep')));
      const journal = join(core.dir, 'hidden-files.json');
      writeFileSync(journal, JSON.stringify(['/precious.txt', '/', 42, '/.fuse_hidden../../x']));
      assert.deepEqual(await new HiddenFiles(journal).sweep(core.vfs, log), []);
      assert.ok(await core.vfs.tryStat('/precious.txt'));
      writeFileSync(journal, '{not json');
      assert.deepEqual(await new HiddenFiles(journal).sweep(core.vfs, log), []);
      assert.deepEqual(await new HiddenFiles(journal).sweep(core.vfs, log), []);
    } finally {
      await core.close();
    }
  });
});
