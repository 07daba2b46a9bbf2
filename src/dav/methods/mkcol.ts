// MKCOL (RFC 4918 §9.3): creates one collection; 415 with a body, 409 without a parent, 405 when
// something is already there.
import { FsError } from '../../core/errors.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { guardWrite, memberChange } from '../preconditions.js';

export async function handleMkcol(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  const length = Number(ctx.get('Content-Length') || '0');
  if (length > 0 || ctx.get('Transfer-Encoding')) throw new DavError(415, 'MKCOL with a body is not supported');
  await guardWrite(req, tokens, memberChange(path, 0));
  try {
    await vfs.mkdir(path);
  } catch (err) {
    if (err instanceof FsError && err.code === 'EEXIST') throw new DavError(405, 'the resource exists');
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) throw new DavError(409, 'parent collection does not exist');
    throw err;
  }
  ctx.status = 201;
}
