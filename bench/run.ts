// `npm run bench`: runs every benchmark and prints one table of medians (BENCH_ONLY=chunker|vfs).
import { benchChunker } from './chunker.js';
import { benchVfs } from './vfs.js';
import { printTable, type BenchRow } from './table.js';

const only = process.env.BENCH_ONLY;
const rows: BenchRow[] = [];
if (!only || only === 'chunker') rows.push(...(await benchChunker()));
if (!only || only === 'vfs') rows.push(...(await benchVfs()));
printTable(rows);
