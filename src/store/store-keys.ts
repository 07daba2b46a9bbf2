// Rules every ObjectStore shares: the order of keys in list() and the validity of a byte range.
import { FsError } from '../core/errors.js';

/**
 * S3 lists keys in the binary order of their UTF-8 bytes. JavaScript's `<` compares UTF-16 code
 * units, which disagrees for characters beyond U+FFFF against U+E000–U+FFFF; every store sorts
 * with this so that list() orders keys the same everywhere.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Throws FsError('EINVAL') unless start..end (inclusive) lies inside an object of `size` bytes.
 * (S3 itself would silently shorten a range that runs past the end; we refuse it everywhere instead.)
 */
export function checkRange(key: string, start: number, end: number, size: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
    throw new FsError('EINVAL', `range ${start}-${end} is outside object ${JSON.stringify(key)} of ${size} bytes`);
  }
}
