// COPY and MOVE (RFC 4918 §9.8, §9.9): metadata-only operations; dead properties travel with the
// resource, locks do not (§7.5: a lock belongs to its URL).
import { isSameOrInside } from '../../core/paths.js';
import { FsError } from '../../core/errors.js';
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { parseDepth } from '../depth.js';
import { destinationPath } from '../href.js';
import { guardWrite, memberChange } from '../preconditions.js';

export async function handleCopyMove(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  const isMove = ctx.method === 'MOVE';
  const dest = destinationPath(ctx.get('Destination') || undefined, ctx.get('Host') || undefined);
  if ('crossServer' in dest) throw new DavError(502, 'the destination is on another server');
  const overwrite = (ctx.get('Overwrite') || 'T').trim().toUpperCase();
  if (overwrite !== 'T' && overwrite !== 'F') throw new DavError(400, 'Overwrite must be T or F');
  const src = await vfs.stat(path);
  // §9.9.2: MOVE of a collection is always Depth: infinity; for a file the header changes nothing.
  const depth = parseDepth(ctx.get('Depth') || undefined, 'infinity', isMove && src.kind === 'dir' ? ['infinity'] : [0, 'infinity']);
  if (dest.path === path) throw new DavError(403, 'source and destination are the same');
  if (src.kind === 'dir' && isSameOrInside(dest.path, path)) throw new DavError(403, 'cannot copy or move a collection into itself');

  const existing = await vfs.tryStat(dest.path).catch(() => {
    throw new DavError(409, 'destination parent collection does not exist');
  });
  if (existing && overwrite === 'F') throw new DavError(412, 'the destination exists and Overwrite is F');
  const targets = [...memberChange(dest.path, 'infinity')];
  if (isMove) targets.push(...memberChange(path, 'infinity'));
  await guardWrite(req, tokens, targets);

  try {
    if (isMove) {
      await vfs.move(path, dest.path, { overwrite: true });
      await req.locks.releaseWithin(path);
    } else {
      await vfs.copy(path, dest.path, { overwrite: true, recursive: depth === 'infinity' });
    }
  } catch (err) {
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) throw new DavError(409, 'destination parent collection does not exist');
    throw err;
  }
  ctx.status = existing ? 204 : 201;
}
