// Hashing in shared memory on a worker thread: the same names as on the event loop, for whole
// buffers and views at an offset, under concurrency, and without keeping a finished process alive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hashChunk, hashChunkAsync } from '../../src/chunks/chunk-hash.js';
import { chunkStream } from '../../src/chunks/fastcdc.js';
import { sha256InWorker } from '../../src/chunks/hash-worker.js';
import { concatShared, isShared, sharedBuffer } from '../../src/core/shared-memory.js';

function sharedCopy(bytes: Buffer): Buffer {
  const out = sharedBuffer(bytes.length);
  bytes.copy(out);
  return out;
}

describe('hash worker', () => {
  it('names shared bytes as createHash does, for whole buffers, views at an offset and empty ones', async () => {
    const bytes = randomBytes(3 << 20);
    const shared = sharedCopy(bytes);
    assert.equal(await sha256InWorker(shared), hashChunk(bytes));
    assert.equal(await sha256InWorker(shared.subarray(12_345, 2_000_000)), hashChunk(bytes.subarray(12_345, 2_000_000)));
    assert.equal(await sha256InWorker(sharedBuffer(0)), hashChunk(Buffer.alloc(0)));
  });

  it('answers 200 concurrent hashes each with its own result', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 37));
    const hashes = await Promise.all(inputs.map((b) => sha256InWorker(sharedCopy(b))));
    assert.deepEqual(hashes, inputs.map((b) => hashChunk(b)));
  });

  it('hashChunkAsync gives the same name for shared and ordinary bytes', async () => {
    const bytes = randomBytes(100_000);
    assert.equal(await hashChunkAsync(sharedCopy(bytes)), hashChunk(bytes));
    assert.equal(await hashChunkAsync(bytes), hashChunk(bytes));
  });

  it('the chunker cuts chunks into shared memory, and concatShared gathers parts there', async () => {
    const data = randomBytes(24 << 20);
    const seen: Buffer[] = [];
    const source = (async function* () {
      yield data;
    })();
    for await (const chunk of chunkStream(source)) seen.push(chunk);
    assert.ok(seen.length > 1);
    assert.ok(seen.every(isShared));
    assert.ok(!isShared(data));
    const gathered = concatShared(seen, data.length);
    assert.ok(isShared(gathered));
    assert.ok(gathered.equals(data));
  });

  it('lets a process that awaited a hash exit once it is done', () => {
    // An idle worker is unref'd: were it not, this child would never exit and spawnSync would time out.
    const script = `
      import { sha256InWorker } from './src/chunks/hash-worker.ts';
      const b = Buffer.from(new SharedArrayBuffer(3)); b.write('abc');
      console.log(await sha256InWorker(b));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
