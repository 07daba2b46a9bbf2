// PUT: streams the body into the Vfs as a new version (the old one stays until the commit). With
// Content-Range it writes only that range, as Apache mod_dav does — never a truncation.
import { FsError } from '../../core/errors.js';
import { checkConditionals } from '../conditional.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { guardWrite, memberChange } from '../preconditions.js';
import { ocMtimeMs } from '../client-mtime.js';

export async function handlePut(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  const existing = await vfs.tryStat(path).catch(missingParentToConflict);
  if (existing?.kind === 'dir') throw new DavError(405, 'cannot PUT to a collection');
  checkConditionals(ctx, existing);
  await guardWrite(req, tokens, existing ? [{ path, depth: 0 }] : memberChange(path, 0));

  const expected = declaredLength(req);
  if (expected !== undefined && expected > req.options.maxUpload) throw new DavError(413, 'request body too large');
  const contentType = ctx.get('Content-Type') || null;
  const contentRange = ctx.get('Content-Range');
  const mtimeMs = ocMtimeMs(ctx);
  try {
    const { stat, created } = contentRange
      ? await putRange(req, contentRange, expected, contentType)
      : await vfs.write(path, ctx.req, { expectedSize: expected, contentType, mtimeMs });
    ctx.set('ETag', `"${stat.etag}"`);
    if (mtimeMs !== undefined && !contentRange) ctx.set('X-OC-MTime', 'accepted');
    ctx.status = created ? 201 : 204;
  } catch (err) {
    missingParentToConflict(err);
  }
}

/** `Content-Range: bytes a-b/total` (or `/*`) on PUT writes bytes a..b in place. */
function putRange(req: DavRequest, header: string, expected: number | undefined, contentType: string | null) {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) throw new DavError(400, 'malformed Content-Range');
  const start = Number(m[1]);
  const length = Number(m[2]) - start + 1;
  if (length <= 0 || (expected !== undefined && expected !== length)) throw new DavError(400, 'Content-Range does not match the body length');
  return req.vfs.writeRange(req.path, start, length, req.ctx.req, { contentType });
}

/** Content-Length, or Finder's X-Expected-Entity-Length when it sends a chunked body. */
export function declaredLength(req: DavRequest): number | undefined {
  const raw = req.ctx.get('Content-Length') || req.ctx.get('X-Expected-Entity-Length');
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new DavError(400, 'bad Content-Length');
  return n;
}

/** RFC 4918 §9.7.1: a missing parent collection is 409 Conflict, not 404. */
export function missingParentToConflict(err: unknown): never {
  if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) throw new DavError(409, 'parent collection does not exist');
  throw err;
}
