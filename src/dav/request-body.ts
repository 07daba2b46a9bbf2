// Reads an XML request body into memory, refusing bodies over the configured limit (413) before
// they are read whole: XML bodies are small, and a huge one is an attack or a mistake.
import type { Context } from 'koa';
import type { DavRequest } from './context.js';
import { DavError } from './dav-error.js';

export async function readXmlBody(req: DavRequest): Promise<Buffer> {
  const limit = req.options.maxXmlBody;
  const declared = Number(req.ctx.get('Content-Length') || '0');
  if (declared > limit) throw new DavError(413, 'XML body too large');
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new DavError(413, 'XML body too large');
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * Answering before the request body was read (an early 4xx, a 401): drop the connection's
 * remaining input rather than leave a half-read body for the next request on this keep-alive socket.
 */
export function closeIfBodyUnread(ctx: Context): void {
  const hasBody = Number(ctx.get('Content-Length') || '0') > 0 || ctx.get('Transfer-Encoding') !== '';
  if (hasBody && !ctx.req.complete) ctx.set('Connection', 'close');
}
