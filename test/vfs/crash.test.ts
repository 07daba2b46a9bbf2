// Crash and abort safety: a write whose input fails, or a process killed with SIGKILL at any
// point of a large write, leaves the previous version readable and the store consistent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openCore, type Core } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/core/log.js';
import { bytesOf, makeTestCore, pseudoRandomBytes, readAll, storeProblems } from '../helpers/core.js';

const WRITER = new URL('../helpers/crash-writer.ts', import.meta.url).pathname;

async function openData(dir: string): Promise<Core> {
  return openCore(loadConfig({ env: {}, flags: { data: dir } }), createLogger('silent'));
}

/** Runs the writer child and SIGKILLs it once it has reported `killAfter` bytes (or at commit). */
function runWriter(dir: string, path: string, size: number, seed: number, killAfter: number | 'never'): Promise<{ killed: boolean; committed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, path, String(size), String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let killed = false;
    let committed = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'committed') committed = true;
      const m = /^progress (\d+)$/.exec(line);
      if (!killed && killAfter !== 'never' && m && Number(m[1]) >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve({ killed, committed }));
  });
}

describe('crash safety', () => {
  it('an input stream that fails mid-way leaves the old version and no leaked references', async () => {
    const core = await makeTestCore();
    try {
      const v1 = pseudoRandomBytes(300_000, 1);
      await core.vfs.write('/f', bytesOf(v1));
      for (const failAt of [0, 5_000, 100_000, 299_999]) {
        async function* broken(): AsyncGenerator<Buffer> {
          yield* bytesOf(pseudoRandomBytes(failAt, 2));
          throw new Error('client went away');
        }
        await assert.rejects(core.vfs.write('/f', broken()), /client went away/);
        await assert.rejects(core.vfs.write('/new', broken()), /client went away/);
        assert.ok((await readAll((await core.vfs.read('/f')).body)).equals(v1), `old version after failure at ${failAt}`);
        assert.equal(await core.vfs.tryStat('/new'), undefined);
        assert.deepEqual(await storeProblems(core), []);
      }
      // A body shorter than announced (Content-Length) is refused the same way.
      await assert.rejects(core.vfs.write('/f', bytesOf(pseudoRandomBytes(1000, 3)), { expectedSize: 2000 }), /1000 bytes, 2000/);
      assert.ok((await readAll((await core.vfs.read('/f')).body)).equals(v1));
    } finally {
      await core.close();
    }
  });

  it('SIGKILL during a large write keeps the old version; a completed write survives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'davfs-crash-'));
    const v1 = pseudoRandomBytes(3 << 20, 7);
    let core = await openData(dir);
    await core.vfs.write('/big', bytesOf(v1, 1 << 20));
    await core.close();

    const size = 24 << 20;
    for (const killAfter of [1 << 20, 8 << 20, 16 << 20, size]) {
      const r = await runWriter(dir, '/big', size, 11, killAfter);
      assert.ok(r.killed, `writer was killed after ${killAfter} bytes`);
      // Kills well before the end must land before the commit, or this test proves nothing.
      if (killAfter <= size - (8 << 20)) assert.equal(r.committed, false);
      core = await openData(dir);
      try {
        assert.deepEqual(await storeProblems(core), []);
        const stat = await core.vfs.stat('/big');
        const got = await readAll((await core.vfs.read('/big')).body);
        if (r.committed) {
          assert.equal(stat.size, size);
        } else {
          assert.ok(got.equals(v1), `old version intact after a kill at ${killAfter}`);
        }
      } finally {
        await core.close();
      }
    }

    const done = await runWriter(dir, '/big', size, 11, 'never');
    assert.ok(done.committed);
    core = await openData(dir);
    try {
      const got = await readAll((await core.vfs.read('/big')).body);
      assert.equal(got.length, size);
      assert.ok(got.subarray(0, 1 << 20).equals(pseudoRandomBytes(1 << 20, 11)));
      assert.deepEqual(await storeProblems(core), []);
    } finally {
      await core.close();
    }
  });
});
