// GroupSync: concurrent callers share fsyncs, and none is acknowledged by an fsync that
// began before it asked (that one may have missed its rename).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GroupSync } from '../../src/core/group-sync.js';
import { fsyncPath } from '../../src/core/fsync.js';

describe('GroupSync', () => {
  it('runs one fsync for a caller alone and one more for all who asked while it ran', async () => {
    const runs: { started: number; finish: () => void }[] = [];
    let clock = 0;
    const sync = new GroupSync(() => new Promise<void>((resolve) => runs.push({ started: ++clock, finish: resolve })));
    const done: number[] = [];
    const ask = (i: number) => {
      const askedAt = ++clock;
      void sync.sync().then(() => done.push(i));
      return askedAt;
    };
    const asked = [ask(0)];
    await Promise.resolve();
    for (let i = 1; i <= 5; i++) asked.push(ask(i));
    assert.equal(runs.length, 1, 'one fsync in flight; the others wait for the next');
    runs[0]!.finish();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done, [0]);
    assert.equal(runs.length, 2, 'the second fsync serves every caller that came during the first');
    assert.ok(runs[1]!.started > Math.max(...asked), 'it began after they all asked');
    runs[1]!.finish();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(done.sort(), [0, 1, 2, 3, 4, 5]);
    assert.equal(runs.length, 2);
  });

  it('passes a failed fsync to its callers, and the next caller gets a fresh one', async () => {
    let fail = true;
    let calls = 0;
    const sync = new GroupSync(async () => {
      calls++;
      if (fail) throw new Error('EIO');
    });
    await assert.rejects(sync.sync(), /EIO/);
    fail = false;
    await sync.sync();
    assert.equal(calls, 2);
  });

  it('fsyncs a real folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'davfs-group-sync-'));
    try {
      await Promise.all(Array.from({ length: 8 }, () => new GroupSync(() => fsyncPath(dir)).sync()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
