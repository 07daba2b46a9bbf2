// `npm run bench:fuse`: our FUSE mount (durable, and with write_mode writeback, which acknowledges
// a close once the file is spooled locally, as rclone's cache does) against `rclone mount --vfs-cache-mode full` over the same
// S3 server (s3rver, as test/helpers/s3rver.ts starts it), in one run, runs interleaved. Prints a
// markdown table of medians. Needs root (drop_caches), fusermount and rclone; a few GiB of disk.
//   BENCH_RUNS (3), BENCH_FUSE_MIB (1024), BENCH_FUSE_FILES (10000),
//   BENCH_FUSE_MOUNTS (durable,writeback,unverified,rclone: which mounts to measure; unverified is
//   write-back with verify_downloads false, the work rclone does on a cold read)
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { startS3rver } from '../test/helpers/s3rver.js';
import { randomBytes } from './random-data.js';
import { ourMount, rcloneMount, type MountUnderTest } from './fuse-mounts.js';
import { median, printTable, type BenchRow } from './table.js';

const MiB = 1 << 20;
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizeMiB = Number(process.env.BENCH_FUSE_MIB ?? 1024);
const files = Number(process.env.BENCH_FUSE_FILES ?? 10_000);

/** Runs a command to completion; returns its wall time in ms (it must succeed). */
function run(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t;
}

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** A child process creates `n` files of 100 bytes in `dir` (write + close each), then stats them. */
const SMALL_FILES = `
const fs = require('fs'); const crypto = require('crypto');
const [dir, n] = [process.argv[1], Number(process.argv[2])];
fs.mkdirSync(dir);
const t = performance.now();
for (let i = 0; i < n; i++) fs.writeFileSync(dir + '/f' + i, crypto.randomBytes(100));
for (let i = 0; i < n; i++) if (fs.statSync(dir + '/f' + i).size !== 100) throw new Error('bad size');
console.log(performance.now() - t);
`;

type Series = Record<string, number[]>;

async function oneRun(m: MountUnderTest, src: string, i: number, s: Series): Promise<void> {
  const push = (k: string, v: number) => (s[k] ??= []).push(v);
  const mibps = (ms: number) => sizeMiB / (ms / 1000);
  const file = `big-${i}`;
  // CPU seconds of the mount and of the S3 server over a phase: on 2 cores they share the machine.
  const cpu = () => ({ mount: cpuSeconds(m.pid()), server: cpuSeconds(s3.pid) });
  const pushCpu = (k: string, from: { mount: number; server: number }) => {
    const now = cpu();
    push(`${k}:mount`, now.mount - from.mount);
    push(`${k}:server`, now.server - from.server);
  };
  // Every mount's write starts from the same state: nothing dirty left by the phases before (the
  // source file just written, another mount's cache) and the source read from disk. Before, only
  // the first mount of a run found the source in the page cache; the later ones read it after
  // the first one's drop_caches.
  dropCaches();
  await m.start();
  const t = performance.now();
  let c0 = cpu();
  push('write', mibps(run('dd', [`if=${src}`, `of=${join(m.mnt, file)}`, 'bs=1M', 'status=none'])));
  await m.stored(file, { size: sizeMiB * MiB });
  push('writeStored', mibps(performance.now() - t));
  pushCpu('writeStored', c0);
  await m.stop();
  m.clearCache();
  dropCaches();
  await m.start();
  const read = () => mibps(run('dd', [`if=${join(m.mnt, file)}`, 'of=/dev/null', 'bs=1M', 'status=none']));
  c0 = cpu();
  push('readCold', read());
  pushCpu('readCold', c0);
  push('readAgain', read());
  dropCaches();
  push('readLocalCache', read());
  const t0 = performance.now();
  const small = spawnSync(process.execPath, ['-e', SMALL_FILES, join(m.mnt, `small-${i}`), String(files)], { encoding: 'utf8' });
  if (small.status !== 0) throw new Error(`small files on ${m.name}: ${small.stderr}`);
  push('small', files / (Number(small.stdout.trim()) / 1000));
  await m.stored(`small-${i}`, { count: files });
  push('smallStored', files / ((performance.now() - t0) / 1000));
  await m.stop();
}

const ROWS: [key: string, name: string, unit: string][] = [
  ['write', `dd write ${sizeMiB} MiB (close returned)`, 'MiB/s'],
  ['writeStored', `dd write ${sizeMiB} MiB until in the object store`, 'MiB/s'],
  ['readCold', `dd read ${sizeMiB} MiB, cold (caches emptied, remounted)`, 'MiB/s'],
  ['readAgain', `dd read ${sizeMiB} MiB again (cached)`, 'MiB/s'],
  ['readLocalCache', `dd read ${sizeMiB} MiB after drop_caches (local cache only)`, 'MiB/s'],
  ['small', `${files} small files: create (write+close) + stat`, 'files/s'],
  ['smallStored', `${files} small files until in the object store`, 'files/s'],
];

const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'davfs-fuse-bench-'));
const s3 = await startS3rver();
const chosen = (process.env.BENCH_FUSE_MOUNTS ?? 'durable,writeback,unverified,rclone').split(',');
const candidates: [string, () => MountUnderTest][] = [
  ['durable', () => ourMount(s3, root)],
  ['writeback', () => ourMount(s3, root, { writeBack: true })],
  ['unverified', () => ourMount(s3, root, { writeBack: true, verify: false })],
  ['rclone', () => rcloneMount(s3, root)],
];
const mounts = candidates.filter(([id]) => chosen.includes(id)).map(([, make]) => make());
const series = new Map(mounts.map((m) => [m.name, {} as Series]));
try {
  const src = join(root, 'random.bin');
  for (let i = 0; i < runs; i++) {
    // New bytes every run: each mount keeps its store and metadata across runs, and a
    // content-addressed store would otherwise write runs 2 and 3 by dedup, uploading nothing.
    await pipeline(Readable.from(randomBytes(sizeMiB * MiB, `fuse-bench-${i}`)), createWriteStream(src));
    for (const m of mounts) {
      console.error(`run ${i + 1}/${runs}: ${m.name}`);
      await oneRun(m, src, i, series.get(m.name)!);
    }
  }
  const rows: BenchRow[] = [];
  for (const [key, name, unit] of ROWS) {
    for (const m of mounts) {
      const sr = series.get(m.name)!;
      const v = sr[key] ?? [];
      const mountCpu = sr[`${key}:mount`];
      const serverCpu = sr[`${key}:server`];
      const note = mountCpu && serverCpu ? `CPU s: mount ${median(mountCpu).toFixed(1)}, S3 server ${median(serverCpu).toFixed(1)}` : undefined;
      rows.push({ name: `${name} — ${m.name}`, median: median(v), unit, runs: v, ...(note === undefined ? {} : { note }) });
    }
  }
  printTable(rows);
} finally {
  for (const m of mounts) await m.stop().catch(() => undefined);
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
}
