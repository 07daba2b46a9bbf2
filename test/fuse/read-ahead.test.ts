// ReadAhead against a scripted FileSystem: how many range reads each access pattern costs, that
// out-of-order kernel requests are served from what was already pulled, and that a failed
// background pull surfaces as an error (never as a silent short read, which the kernel would take
// for the end of the file).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../src/core/errors.js';
import { ReadAhead } from '../../src/fuse/read-ahead.js';
import type { FileSystem } from '../../src/vfs/file-system.js';
import type { ByteRange } from '../../src/vfs/types.js';
import { pseudoRandomBytes } from '../helpers/core.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A file served in 256 KiB pieces, the ranges asked recorded; `failAt` breaks streams passing it. */
function fakeFs(data: Buffer, opts: { failAt?: number; piece?: number } = {}): { fs: FileSystem; ranges: ByteRange[] } {
  const ranges: ByteRange[] = [];
  const piece = opts.piece ?? 256 * KiB;
  const read = async (_path: string, range?: ByteRange) => {
    const r = range ?? { start: 0, end: data.length - 1 };
    if (r.start >= data.length) throw new FsError('EINVAL', 'range outside the file');
    ranges.push(r);
    async function* body(): AsyncGenerator<Buffer> {
      for (let pos = r.start; pos <= r.end; pos += piece) {
        if (opts.failAt !== undefined && pos + piece > opts.failAt) throw new FsError('EIO', 'store failed');
        yield data.subarray(pos, Math.min(pos + piece, r.end + 1));
      }
    }
    return { stat: {} as never, body: body() };
  };
  return { fs: { read } as unknown as FileSystem, ranges };
}

async function readAt(ra: ReadAhead, size: number, pos: number, len: number, version = 0): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const n = await ra.readInto('/f', version, size, buf, 0, pos, len);
  return buf.subarray(0, n);
}

describe('ReadAhead', () => {
  const data = pseudoRandomBytes(20 * MiB, 9);

  it('serves a sequential read of 20 MiB in 128 KiB requests from one stream', async () => {
    const { fs, ranges } = fakeFs(data);
    const ra = new ReadAhead(fs);
    const parts: Buffer[] = [];
    for (let pos = 0; pos < data.length; pos += 128 * KiB) parts.push(await readAt(ra, data.length, pos, 128 * KiB));
    assert.ok(Buffer.concat(parts).equals(data));
    assert.deepEqual(ranges, [{ start: 0, end: data.length - 1 }]);
    assert.deepEqual(ra.counts, { streams: 1, rangeReads: 0 });
  });

  it('serves two requests that arrive swapped (kernel read-ahead) without a new stream', async () => {
    const { fs, ranges } = fakeFs(data);
    const ra = new ReadAhead(fs);
    assert.ok((await readAt(ra, data.length, 0, 128 * KiB)).equals(data.subarray(0, 128 * KiB)));
    assert.ok((await readAt(ra, data.length, 256 * KiB, 128 * KiB)).equals(data.subarray(256 * KiB, 384 * KiB)));
    assert.ok((await readAt(ra, data.length, 128 * KiB, 128 * KiB)).equals(data.subarray(128 * KiB, 256 * KiB)));
    assert.equal(ranges.length, 1);
  });

  it('answers scattered small reads with exact ranges, and a jump far ahead with a new stream', async () => {
    const { fs, ranges } = fakeFs(data);
    const ra = new ReadAhead(fs);
    assert.ok((await readAt(ra, data.length, 5 * MiB, 4096)).equals(data.subarray(5 * MiB, 5 * MiB + 4096)));
    assert.ok((await readAt(ra, data.length, 1 * MiB, 4096)).equals(data.subarray(1 * MiB, 1 * MiB + 4096)));
    assert.deepEqual(ranges, [
      { start: 5 * MiB, end: 5 * MiB + 4095 },
      { start: 1 * MiB, end: 1 * MiB + 4095 },
    ]);
    // Reading on from where the last request ended is sequential: a stream from there.
    assert.ok((await readAt(ra, data.length, 1 * MiB + 4096, 4096)).equals(data.subarray(1 * MiB + 4096, 1 * MiB + 8192)));
    assert.deepEqual(ranges[2], { start: 1 * MiB + 4096, end: data.length - 1 });
    // 10 MiB further is beyond what skipping ahead is worth.
    await readAt(ra, data.length, 12 * MiB, 4096);
    assert.equal(ranges.length, 4);
  });

  it('is short at the end of the file and empty past it', async () => {
    const { fs } = fakeFs(data);
    const ra = new ReadAhead(fs);
    assert.equal((await readAt(ra, data.length, data.length - 100, 4096)).length, 100);
    assert.equal((await readAt(ra, data.length, data.length, 4096)).length, 0);
  });

  it('reads 0 bytes when the file is shorter than expected (it changed elsewhere)', async () => {
    const { fs } = fakeFs(data.subarray(0, MiB));
    const ra = new ReadAhead(fs);
    assert.equal((await readAt(ra, 4 * MiB, 2 * MiB, 4096)).length, 0);
  });

  it('starts a new stream for a new content version', async () => {
    const { fs, ranges } = fakeFs(data);
    const ra = new ReadAhead(fs);
    await readAt(ra, data.length, 0, 128 * KiB, 1);
    await readAt(ra, data.length, 128 * KiB, 128 * KiB, 2);
    assert.equal(ranges.length, 2);
  });

  it('fails the request that needs bytes a background pull could not fetch', async () => {
    const { fs } = fakeFs(data, { failAt: 3 * MiB });
    const ra = new ReadAhead(fs);
    let pos = 0;
    await assert.rejects(async () => {
      for (; pos < data.length; pos += 128 * KiB) {
        const got = await readAt(ra, data.length, pos, 128 * KiB);
        assert.ok(got.equals(data.subarray(pos, pos + 128 * KiB)), `bytes at ${pos}`);
      }
    }, /store failed/);
    assert.equal(pos, 3 * MiB, 'the first request needing bytes past the failure fails, none before');
  });
});
