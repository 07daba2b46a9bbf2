// HTTP conditional requests (RFC 9110 §13.2.2 order): If-Match, If-Unmodified-Since,
// If-None-Match, If-Modified-Since, checked against a resource's strong ETag and mtime.
import type { Context } from 'koa';
import type { Stat } from '../vfs/types.js';
import { DavError } from './dav-error.js';

/** Entity tags in a list header; `*` matches any existing representation. */
function tagList(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter(Boolean);
}

const strongMatch = (tag: string, etag: string) => !tag.startsWith('W/') && tag === `"${etag}"`;
const weakMatch = (tag: string, etag: string) => tag.replace(/^W\//, '') === `"${etag}"`;

/**
 * Throws 412 (or returns 304 for safe methods) when a condition fails. `stat` is undefined when
 * the resource does not exist.
 */
export function checkConditionals(ctx: Context, stat: Stat | undefined): 304 | undefined {
  const safe = ctx.method === 'GET' || ctx.method === 'HEAD';
  const etag = stat?.etag ?? null;
  const ifMatch = ctx.get('If-Match');
  if (ifMatch) {
    const tags = tagList(ifMatch);
    const ok = stat !== undefined && (tags.includes('*') || (etag !== null && tags.some((t) => strongMatch(t, etag))));
    if (!ok) throw new DavError(412, 'If-Match failed');
  } else {
    const since = Date.parse(ctx.get('If-Unmodified-Since'));
    if (!Number.isNaN(since) && stat && Math.floor(stat.mtimeMs / 1000) * 1000 > since) throw new DavError(412, 'If-Unmodified-Since failed');
  }
  const ifNoneMatch = ctx.get('If-None-Match');
  if (ifNoneMatch) {
    const tags = tagList(ifNoneMatch);
    const matches = stat !== undefined && (tags.includes('*') || (etag !== null && tags.some((t) => weakMatch(t, etag))));
    if (matches) {
      if (safe) return 304;
      throw new DavError(412, 'If-None-Match failed');
    }
  } else if (safe && stat) {
    const since = Date.parse(ctx.get('If-Modified-Since'));
    if (!Number.isNaN(since) && Math.floor(stat.mtimeMs / 1000) * 1000 <= since) return 304;
  }
  return undefined;
}
