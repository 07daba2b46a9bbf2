// Throughput of the write path's CPU work: FastCDC chunking, chunk hashing (SHA-256 vs BLAKE3), both.
// Run alone: node --import tsx bench/chunker.ts
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { chunkStream, cutPoint, DEFAULT_CHUNKING } from '../src/chunks/fastcdc.js';
import { hashChunk, hashChunkAsync, HASH_ALGORITHM } from '../src/chunks/chunk-hash.js';
import { chunkAndHash } from '../src/chunks/chunk-worker.js';
import { median, printTable, type BenchRow } from './table.js';

const DATA_MIB = 256;
const RUNS = 5;
/** What an HTTP request body or a FUSE write stream hands the chunker. */
const INPUT_PIECE = 64 * 1024;
/** Pieces hashed in the hash-only rows: the average chunk size. */
const HASH_PIECE = DEFAULT_CHUNKING.avgSize;
/** Digests in flight when hashing on the thread pool beside the chunker. */
const ASYNC_HASHES_IN_FLIGHT = 4;

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function measure(name: string, note: string, work: () => Promise<void> | void): Promise<BenchRow> {
  await work(); // warm-up: JIT, page faults of first allocations
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    runs.push(DATA_MIB / seconds);
  }
  return { name, median: median(runs), unit: 'MiB/s', runs, note };
}

export async function benchChunker(): Promise<BenchRow[]> {
  // Random data: zeros would make every chunk maxSize and say nothing about real boundaries.
  const data = randomBytes(DATA_MIB * 1024 * 1024);
  const { minSize, avgSize, maxSize } = DEFAULT_CHUNKING;
  const sizes = `${minSize >> 10}K/${avgSize >> 20}M/${maxSize >> 20}M`;
  let chunks = 0;
  const rows: BenchRow[] = [];

  rows.push(
    await measure(`cutPoint over one buffer (${sizes})`, 'the gear-hash loop alone', () => {
      chunks = 0;
      for (let pos = 0; pos < data.length; chunks++) pos = cutPoint(data, pos, data.length);
    }),
  );
  const mean = () => `mean chunk ${Math.round(data.length / chunks / 1024)} KiB`;
  rows[rows.length - 1]!.note += `, ${chunks} chunks, ${mean()}`;

  rows.push(
    await measure(`chunkStream, 64 KiB inputs (${sizes})`, 'input copies and chunk copies included', async () => {
      for await (const chunk of chunkStream(pieces(data, INPUT_PIECE))) void chunk;
    }),
  );

  rows.push(
    await measure('sha256 (node:crypto), 1 MiB pieces', 'one thread', () => {
      for (let off = 0; off < data.length; off += HASH_PIECE) hashChunk(data.subarray(off, off + HASH_PIECE));
    }),
  );

  rows.push(
    await measure(`chunkStream + ${HASH_ALGORITHM} (sync)`, 'hash on the event loop, in turn', async () => {
      for await (const chunk of chunkStream(pieces(data, INPUT_PIECE))) hashChunk(chunk);
    }),
  );

  rows.push(
    await measure(
      `chunkStream + ${HASH_ALGORITHM} (hashChunkAsync)`,
      `on the hash worker, ${ASYNC_HASHES_IN_FLIGHT} in flight: the write path before chunk-worker.ts`,
      async () => {
        const pending: Promise<string>[] = [];
        for await (const chunk of chunkStream(pieces(data, INPUT_PIECE))) {
          pending.push(hashChunkAsync(chunk));
          if (pending.length >= ASYNC_HASHES_IN_FLIGHT) await pending.shift();
        }
        await Promise.all(pending);
      },
    ),
  );

  rows.push(
    await measure(`chunkAndHash (${HASH_ALGORITHM})`, 'cut and hashed on the chunk worker: the write path', async () => {
      for await (const c of chunkAndHash(pieces(data, INPUT_PIECE), DEFAULT_CHUNKING)) void c;
    }),
  );
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printTable(await benchChunker());
}
