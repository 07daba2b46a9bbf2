// Path rules of the core: every path the Vfs accepts is absolute, normalised and unable to escape
// the root. Fronts decode their wire format (percent-encoding, NFD from Finder) and then call
// `normalizePath`, so the rules live in one place.
import { FsError } from './errors.js';

/** Longest single name we accept (ext4 and most clients stop at 255 bytes). */
export const MAX_NAME_BYTES = 255;
/** Longest path we accept; deeper trees are refused rather than walked. */
export const MAX_PATH_BYTES = 4096;

/**
 * Turns a client path into the canonical form `/a/b` (root is `/`). Refuses `..`, `.`-only
 * segments that would escape, NUL and other control characters, backslashes (Windows clients send
 * them as separators and some servers let them through as names — a classic traversal), and
 * over-long names. Names are NFC-normalised so that `é` typed on macOS (NFD) and on Windows (NFC)
 * name the same file.
 */
export function normalizePath(input: string): string {
  if (typeof input !== 'string') throw new FsError('EINVAL', 'path must be a string');
  if (Buffer.byteLength(input) > MAX_PATH_BYTES) throw new FsError('EINVAL', 'path too long');
  const parts: string[] = [];
  for (const raw of input.split('/')) {
    if (raw === '' || raw === '.') continue;
    if (raw === '..') throw new FsError('EACCES', 'path may not contain ".."');
    parts.push(checkName(raw));
  }
  return '/' + parts.join('/');
}

/** Validates one path segment and returns it NFC-normalised. */
export function checkName(raw: string): string {
  const name = raw.normalize('NFC');
  if (name === '' || name === '.' || name === '..') throw new FsError('EINVAL', `invalid name "${name}"`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new FsError('EINVAL', 'name contains a control character');
  if (name.includes('\\')) throw new FsError('EINVAL', 'name contains a backslash');
  if (name.includes('/')) throw new FsError('EINVAL', 'name contains a slash');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new FsError('EINVAL', 'name too long');
  return name;
}

/** Splits a normalised path into its segments (`/` → []). */
export function splitPath(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** Parent of a normalised path; the root has none. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Last segment of a normalised path ('' for the root). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True if `inner` is `outer` or lies below it. */
export function isSameOrInside(inner: string, outer: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(outer + '/');
}
