// OPTIONS: what this server speaks, on every path including `/` (Windows' WebClient probes the
// root before anything else, and Office looks for MS-Author-Via).
import type { DavRequest } from '../context.js';

export const ALLOWED_METHODS = 'OPTIONS, GET, HEAD, PUT, PATCH, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';

export async function handleOptions(req: DavRequest): Promise<void> {
  const { ctx } = req;
  // Class 1 and 2 (RFC 4918 §18), plus SabreDAV's partial-update extension (PATCH).
  ctx.set('DAV', '1, 2, sabredav-partialupdate');
  ctx.set('MS-Author-Via', 'DAV');
  ctx.set('Allow', ALLOWED_METHODS);
  ctx.set('Accept-Ranges', 'bytes');
  ctx.status = 200;
  ctx.body = '';
}
