// PATCH with SabreDAV's partial-update format (Content-Type application/x-sabredav-partialupdate,
// X-Update-Range: bytes=a-b | bytes=a- | bytes=-n | append): rewrites only the chunks it touches.
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { checkConditionals } from '../conditional.js';
import { guardWrite } from '../preconditions.js';
import { declaredLength } from './put.js';

export const PARTIAL_UPDATE_TYPE = 'application/x-sabredav-partialupdate';

export async function handlePatch(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  if ((ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase() !== PARTIAL_UPDATE_TYPE) {
    throw new DavError(415, `PATCH needs Content-Type: ${PARTIAL_UPDATE_TYPE}`);
  }
  const length = declaredLength(req);
  if (length === undefined) throw new DavError(411, 'PATCH needs a Content-Length');
  const stat = await vfs.stat(path);
  if (stat.kind === 'dir') throw new DavError(405, 'cannot PATCH a collection');
  checkConditionals(ctx, stat);
  await guardWrite(req, tokens, [{ path, depth: 0 }]);
  const offset = updateOffset(ctx.get('X-Update-Range'), stat.size, length);
  const res = await vfs.writeRange(path, offset, length, ctx.req, { ifEtag: stat.etag });
  ctx.set('ETag', `"${res.stat.etag}"`);
  ctx.status = 204;
}

function updateOffset(header: string, size: number, length: number): number {
  const h = header.trim().toLowerCase();
  if (h === 'append') return size;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h);
  if (!m || (m[1] === '' && m[2] === '')) throw new DavError(400, 'malformed X-Update-Range');
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n !== length || n > size) throw new DavError(416, 'X-Update-Range does not fit the file');
    return size - n;
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) - start + 1 !== length) throw new DavError(416, 'X-Update-Range does not match the body length');
  return start;
}
