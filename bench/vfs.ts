// Vfs benchmarks: 1 GiB write/read on the local store and on s3rver, range read of the last MiB
// of 2 GiB, move of a 10,000-file folder, and bytes uploaded for a 1 MiB edit in 1 GiB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ChunkStore } from '../src/chunks/chunk-store.js';
import { DiskChunkCache } from '../src/chunks/disk-cache.js';
import { DEFAULT_CHUNKING } from '../src/chunks/fastcdc.js';
import { SqlMetaStore } from '../src/meta/sql-meta-store.js';
import { SqliteDriver } from '../src/meta/sqlite-driver.js';
import { LocalObjectStore } from '../src/store/local-store.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { S3ObjectStore } from '../src/store/s3-store.js';
import { Vfs } from '../src/vfs/vfs.js';
import { s3StoreOptions, startS3rver } from '../test/helpers/s3rver.js';
import { drain, randomBytes } from './random-data.js';
import { median, type BenchRow } from './table.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

interface Bench {
  vfs: Vfs;
  meta: SqlMetaStore;
  cache: DiskChunkCache;
  chunks: ChunkStore;
  close(): Promise<void>;
}

async function open(objects: ObjectStore, dir: string): Promise<Bench> {
  await objects.open();
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')));
  await meta.open();
  const cache = new DiskChunkCache({ dir: join(dir, 'cache'), maxBytes: 4 * GiB, syncStaging: false });
  await cache.open();
  const chunks = new ChunkStore(objects, cache, { stageUploads: false });
  const vfs = new Vfs(meta, chunks, { chunking: DEFAULT_CHUNKING, inlineMax: 32 * 1024, uploadConcurrency: 4, readAhead: 4 });
  return { vfs, meta, cache, chunks, close: async () => (await meta.close(), await objects.close()) };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const mibps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

async function throughputRows(label: string, b: Bench, size: number, runs: number): Promise<BenchRow[]> {
  const w: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const path = `/${label}-${i}.bin`;
    w.push(mibps(size, await timed(() => b.vfs.write(path, randomBytes(size, `${label}-${i}`)))));
    await b.chunks.idle();
    await b.cache.purgeTo(0);
    cold.push(mibps(size, await timed(async () => drain((await b.vfs.read(path)).body))));
    warm.push(mibps(size, await timed(async () => drain((await b.vfs.read(path)).body))));
    await b.vfs.remove(path);
  }
  const gib = `${size / GiB} GiB`;
  return [
    { name: `vfs write ${gib} (${label})`, median: median(w), unit: 'MiB/s', runs: w },
    { name: `vfs read ${gib} cold cache (${label})`, median: median(cold), unit: 'MiB/s', runs: cold },
    { name: `vfs read ${gib} warm cache (${label})`, median: median(warm), unit: 'MiB/s', runs: warm },
  ];
}

/** Reference for the write rows: the object store alone, 1 MiB objects, 4 PUTs in flight. */
async function storeReferenceRow(label: string, objects: ObjectStore, size: number, runs: number): Promise<BenchRow> {
  const results: number[] = [];
  for (let r = 0; r < runs; r++) {
    const keys: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let i = 0;
    const ms = await timed(async () => {
      for await (const piece of randomBytes(size, `ref-${label}-${r}`)) {
        const key = `ref/${r}/${i++}`;
        keys.push(key);
        const p: Promise<void> = objects.put(key, piece).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 4) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });
    results.push(mibps(size, ms));
    await objects.delete(keys);
  }
  return { name: `reference: raw PUT of ${size / GiB} GiB in 1 MiB objects (${label})`, median: median(results), unit: 'MiB/s', runs: results, note: 'the store alone, same run' };
}

async function rangeRows(b: Bench, size: number, runs: number): Promise<BenchRow[]> {
  await b.vfs.write('/big.bin', randomBytes(size, 'big'));
  const cold: number[] = [];
  const warm: number[] = [];
  const fetched: number[] = [];
  const range = { start: size - MiB, end: size - 1 };
  await b.chunks.idle();
  for (let i = 0; i < runs; i++) {
    await b.cache.purgeTo(0);
    const before = b.chunks.stats().bytesFromStore;
    cold.push(await timed(async () => drain((await b.vfs.read('/big.bin', range)).body)));
    fetched.push((b.chunks.stats().bytesFromStore - before) / MiB);
    warm.push(await timed(async () => drain((await b.vfs.read('/big.bin', range)).body)));
  }
  const note = `fetched ${median(fetched).toFixed(2)} MiB from the store (covering chunks only)`;
  return [
    { name: `range read last 1 MiB of ${size / GiB} GiB, cold`, median: median(cold), unit: 'ms', runs: cold, note },
    { name: `range read last 1 MiB of ${size / GiB} GiB, cached`, median: median(warm), unit: 'ms', runs: warm, note: 'target ≤ 3 ms' },
  ];
}

async function moveRows(b: Bench, files: number, runs: number): Promise<BenchRow[]> {
  const dir = await b.vfs.mkdir('/tree');
  const content = { size: 3, etag: 'bench-inline', inline: Buffer.from('abc'), chunks: [] };
  for (let i = 0; i < files; i++) await b.meta.commitFile({ parentId: dir.id, name: `f${i}`, content, mtimeMs: 0 });
  const times: number[] = [];
  let at = '/tree';
  for (let i = 0; i < runs; i++) {
    const to = `/moved-${i}`;
    times.push(await timed(() => b.vfs.move(at, to)));
    at = to;
  }
  return [{ name: `move a folder of ${files} files`, median: median(times), unit: 'ms', runs: times, note: 'target < 20 ms' }];
}

async function editRows(b: Bench, size: number): Promise<BenchRow[]> {
  await b.vfs.write('/edit.bin', randomBytes(size, 'edit'));
  const patch = { offset: Math.floor(size / 2), data: Buffer.alloc(MiB, 0x5a) };
  let before = b.chunks.stats().bytesToStore;
  await b.vfs.write('/edit.bin', randomBytes(size, 'edit', patch));
  const full = (b.chunks.stats().bytesToStore - before) / MiB;
  const patch2 = Buffer.alloc(MiB, 0x33);
  before = b.chunks.stats().bytesToStore;
  await b.vfs.writeRange('/edit.bin', Math.floor(size / 3), MiB, (async function* () { yield patch2; })());
  const partial = (b.chunks.stats().bytesToStore - before) / MiB;
  return [
    { name: `re-PUT ${size / GiB} GiB with 1 MiB changed mid-file`, median: full, unit: 'MiB uploaded', runs: [full], note: 'target ≤ 8 MiB' },
    { name: `partial update of 1 MiB in ${size / GiB} GiB`, median: partial, unit: 'MiB uploaded', runs: [partial], note: 'target ≤ 8 MiB' },
  ];
}

export async function benchVfs(): Promise<BenchRow[]> {
  const size = Number(process.env.BENCH_SIZE_MIB ?? 1024) * MiB;
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'davfs-bench-'));
  try {
    const local = await open(new LocalObjectStore(join(dir, 'objects')), join(dir, 'local'));
    rows.push(await storeReferenceRow('local store', local.chunks.objects, size, runs));
    rows.push(...(await throughputRows('local store', local, size, runs)));
    rows.push(...(await rangeRows(local, 2 * size, 5)));
    await local.vfs.remove('/big.bin');
    rows.push(...(await moveRows(local, 10_000, 5)));
    rows.push(...(await editRows(local, size)));
    await local.close();

    const s3 = await startS3rver();
    try {
      const b = await open(new S3ObjectStore(s3StoreOptions(s3)), join(dir, 's3'));
      rows.push(await storeReferenceRow('s3rver', b.chunks.objects, size, runs));
      rows.push(...(await throughputRows('s3rver', b, size, runs)));
      await b.close();
    } finally {
      await s3.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
