// Preconditions of every request: the If header (RFC 4918 §10.4), evaluated against resource
// state and lock tokens, and the lock check of state-changing methods (§7, §9: 423 Locked).
import { parentOf } from '../core/paths.js';
import type { DavRequest } from './context.js';
import { DavError } from './dav-error.js';
import { destinationPath } from './href.js';
import { evaluateIf, parseIf, submittedTokens } from './if-header.js';

/** A resource a method changes: the path, and whether the change covers everything below it. */
export interface WriteTarget {
  path: string;
  depth: 0 | 'infinity';
}

/**
 * Evaluates the If header, if any: 412 when it fails. Returns the lock tokens it submitted, which
 * the lock check then accepts (§10.4.1: a token in the If header is how a client proves it holds
 * a lock).
 */
export async function evaluateIfHeader(req: DavRequest): Promise<string[]> {
  const header = req.ctx.get('If');
  if (!header) return [];
  const parsed = parseIf(header);
  const ok = await evaluateIf(parsed, async (resource) => {
    const path = resource === null ? req.path : resourcePath(req, resource);
    const stat = path === null ? undefined : await req.vfs.tryStat(path).catch(() => undefined);
    const locks = path === null ? [] : await req.locks.discover(path);
    return { path: path ?? resource ?? req.path, etag: stat?.etag ? `"${stat.etag}"` : null, tokens: locks.map((l) => l.token) };
  });
  if (!ok) throw new DavError(412, 'the If header condition is false');
  return submittedTokens(parsed);
}

/** Refuses the request with 423 unless every lock on the targets was submitted by its owner. */
export async function guardWrite(req: DavRequest, tokens: string[], targets: WriteTarget[]): Promise<void> {
  for (const t of targets) {
    await req.locks.assertCanWrite({ path: t.path, depth: t.depth, tokens, principal: req.principal });
  }
}

/** Targets for creating or removing `path`: the resource and its parent's membership (§7.4). */
export function memberChange(path: string, depth: 0 | 'infinity'): WriteTarget[] {
  return path === '/' ? [{ path, depth }] : [{ path, depth }, { path: parentOf(path), depth: 0 }];
}

function resourcePath(req: DavRequest, url: string): string | null {
  try {
    const d = destinationPath(url, req.ctx.get('Host') || undefined);
    return 'path' in d ? d.path : null;
  } catch {
    return null;
  }
}
