// The Depth header (RFC 4918 §10.2): "0", "1" or "infinity"; each method says which it allows.
import { FsError } from '../core/errors.js';

export type Depth = 0 | 1 | 'infinity';

export function parseDepth(header: string | undefined, fallback: Depth, allowed: Depth[]): Depth {
  if (header === undefined || header === '') return fallback;
  const v = header.trim().toLowerCase();
  const depth: Depth | undefined = v === '0' ? 0 : v === '1' ? 1 : v === 'infinity' ? 'infinity' : undefined;
  if (depth === undefined || !allowed.includes(depth)) throw new FsError('EINVAL', `Depth: ${header} is not allowed here`);
  return depth;
}
