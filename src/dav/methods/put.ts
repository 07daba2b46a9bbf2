// PUT: streams the body into the Vfs as a new version; the old one stays until the commit.
import type { DavRequest } from '../context.js';
import { FsError } from '../../core/errors.js';

export async function handlePut(req: DavRequest): Promise<void> {
  const { ctx, vfs, path } = req;
  const declared = ctx.get('Content-Length');
  // Finder sends chunked bodies with X-Expected-Entity-Length instead of Content-Length.
  const expected = declared !== '' ? Number(declared) : ctx.get('X-Expected-Entity-Length') !== '' ? Number(ctx.get('X-Expected-Entity-Length')) : undefined;
  if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0)) throw new FsError('EINVAL', 'bad Content-Length');
  if (expected !== undefined && expected > req.options.maxUpload) {
    ctx.status = 413;
    ctx.body = 'request body too large\n';
    return;
  }
  try {
    const { stat, created } = await vfs.write(path, ctx.req, {
      expectedSize: expected,
      contentType: ctx.get('Content-Type') || null,
    });
    ctx.set('ETag', `"${stat.etag}"`);
    ctx.status = created ? 201 : 204;
  } catch (err) {
    // RFC 4918 §9.7.1: a missing parent collection is a 409 Conflict, not a 404.
    if (err instanceof FsError && err.code === 'ENOENT') {
      throw new FsError('ENOTDIR', 'parent folder does not exist', { cause: err });
    }
    throw err;
  }
}
