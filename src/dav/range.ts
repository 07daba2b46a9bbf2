// Parses the Range request header (RFC 9110 §14.1.2) into inclusive byte ranges.

export type RangeResult = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: { start: number; end: number }[] };

/**
 * `bytes=0-99`, `bytes=100-`, `bytes=-500` and lists of them. A header we cannot parse, or in
 * another unit, is ignored (§14.2: the server then sends the whole representation).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'none' };
  const ranges: { start: number; end: number }[] = [];
  for (const part of m[1]!.split(',')) {
    const p = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(part);
    if (!p || (p[1] === '' && p[2] === '')) return { kind: 'none' };
    if (p[1] === '') {
      const n = Number(p[2]);
      if (n > 0 && size > 0) ranges.push({ start: Math.max(size - n, 0), end: size - 1 });
      continue;
    }
    const start = Number(p[1]);
    const end = p[2] === '' ? size - 1 : Math.min(Number(p[2]), size - 1);
    if (p[2] !== '' && Number(p[2]) < start) return { kind: 'none' };
    if (start < size) ranges.push({ start, end });
  }
  return ranges.length ? { kind: 'ranges', ranges } : { kind: 'unsatisfiable' };
}
