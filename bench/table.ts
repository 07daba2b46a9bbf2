// Shared shape of benchmark results and the table printer used by bench/run.ts.

export interface BenchRow {
  /** What was measured, e.g. "chunker+sha256 (256K/1M/4M)". */
  name: string;
  /** Median of the runs. */
  median: number;
  unit: string;
  /** All run values, so the spread is visible. */
  runs: number[];
  /** Free text: bytes fetched, reference figure, target met or not. */
  note?: string;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function printTable(rows: BenchRow[]): void {
  const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
  const cells = rows.map((r) => [r.name, fmt(r.median), r.unit, r.runs.map(fmt).join(' '), r.note ?? '']);
  const head = ['benchmark', 'median', 'unit', 'runs', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => '| ' + c.map((x, i) => x.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const c of cells) console.log(line(c));
}
