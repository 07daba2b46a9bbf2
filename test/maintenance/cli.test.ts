// `davfs-bridge gc` and `davfs-bridge fsck` as an operator runs them, on a data folder written
// through the real composition root: exit codes and the one-line summaries.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { chunkKey } from '../../src/chunks/chunk-hash.js';
import { bytesOf, pseudoRandomBytes } from '../helpers/core.js';
import { runCli } from '../helpers/server-process.js';

const lastLine = (out: string) => out.trim().split('\n').at(-1) ?? '';

/** Writes a few files (and some garbage) under `dir`; returns the first chunk of /docs/report.bin. */
async function writeData(dir: string): Promise<string> {
  const core = await openCore(loadConfig({ env: {}, flags: { data: dir } }), createLogger('silent'));
  try {
    await core.vfs.write('/keep.bin', bytesOf(pseudoRandomBytes(1_500_000, 1), 65536));
    await core.vfs.mkdir('/docs');
    await core.vfs.write('/docs/report.bin', bytesOf(pseudoRandomBytes(1_500_000, 2), 65536));
    await core.vfs.write('/keep.bin', bytesOf(pseudoRandomBytes(1_500_000, 3), 65536)); // garbage, young
    const node = await core.meta.getNode((await core.vfs.stat('/docs/report.bin')).id);
    return (await core.meta.readContent(node!.contentId!)).chunks[0]!.hash;
  } finally {
    await core.close();
  }
}

describe('gc and fsck commands', () => {
  it('report, summarise in one line and exit 1 only on unrepaired problems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-maint-'));
    const lostChunk = await writeData(dir);
    const data = ['--data', dir];
    try {
      // The configured grace (1 day) protects the fresh garbage; a dry run may look closer.
      const dry = await runCli(['gc', '--dry-run', ...data]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(lastLine(dry.stdout), /^gc \(dry run\): would delete 0 unreferenced chunks and 0 orphan objects, would free 0B, kept 0 younger/);
      const close = await runCli(['gc', '--dry-run', '--grace', '0', ...data]);
      assert.equal(close.code, 0, close.stderr);
      assert.match(lastLine(close.stdout), /^gc \(dry run\): would delete [1-9]\d* unreferenced chunks and 0 orphan objects, would free \d/);
      const short = await runCli(['gc', '--grace', '1m', ...data]);
      assert.equal(short.code, 1);
      assert.match(short.stderr, /grace period 1m is too short/);

      const healthy = await runCli(['fsck', '--deep', ...data]);
      assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
      assert.match(lastLine(healthy.stdout), /^fsck: checked \d+ chunks \(.+ read and hashed\); found 0 metadata problems, 0 damaged chunks, 0 orphans; 0 repairs; no problems left in /);

      rmSync(join(dir, 'objects', chunkKey(lostChunk)));
      const broken = await runCli(['fsck', '--repair', ...data]);
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      assert.match(broken.stdout, new RegExp(`problem: chunk ${lostChunk} is missing .*affected files: /docs/report\\.bin`));
      assert.match(lastLine(broken.stdout), /^fsck: .*1 damaged chunks.*; 1 problems not repaired in /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
