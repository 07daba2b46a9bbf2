// DELETE (RFC 4918 §9.6): removes a resource and, for a collection, everything below it in one
// metadata transaction; locks rooted inside go with it.
import type { DavRequest } from '../context.js';
import { DavError } from '../dav-error.js';
import { checkConditionals } from '../conditional.js';
import { guardWrite, memberChange } from '../preconditions.js';

export async function handleDelete(req: DavRequest, tokens: string[]): Promise<void> {
  const { ctx, vfs, path } = req;
  if (path === '/') throw new DavError(403, 'the root collection cannot be deleted');
  const stat = await vfs.stat(path);
  // §9.6.1: a collection is always deleted with Depth: infinity.
  const depth = ctx.get('Depth').trim().toLowerCase();
  if (stat.kind === 'dir' && depth !== '' && depth !== 'infinity') throw new DavError(400, 'DELETE of a collection needs Depth: infinity');
  checkConditionals(ctx, stat);
  await guardWrite(req, tokens, memberChange(path, 'infinity'));
  await vfs.remove(path, { recursive: true });
  await req.locks.releaseWithin(path);
  ctx.status = 204;
}
