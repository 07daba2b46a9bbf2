// GET and HEAD: a file's bytes (whole, one range, or several as multipart/byteranges) with strong
// validators; a folder as a plain HTML listing for browsers.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Stat } from '../../vfs/types.js';
import type { FileSystem } from '../../vfs/file-system.js';
import { checkConditionals } from '../conditional.js';
import type { DavRequest } from '../context.js';
import { renderListing } from '../html-listing.js';
import { parseRange } from '../range.js';

export async function handleGet(req: DavRequest): Promise<void> {
  const { ctx, vfs, path } = req;
  const stat = await vfs.stat(path);
  if (stat.kind === 'dir') {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = ctx.method === 'HEAD' ? '' : Readable.from(renderListing(vfs, stat));
    return;
  }
  ctx.set('ETag', `"${stat.etag}"`);
  ctx.set('Last-Modified', new Date(stat.mtimeMs).toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  if (checkConditionals(ctx, stat) === 304) {
    ctx.status = 304;
    return;
  }
  const type = stat.contentType ?? 'application/octet-stream';

  // If-Range (RFC 9110 §13.1.5): ranges only while the client's copy is current.
  const ifRange = ctx.get('If-Range');
  const rangeHeader = ifRange && ifRange !== `"${stat.etag}"` && Date.parse(ifRange) !== Math.floor(stat.mtimeMs / 1000) * 1000 ? undefined : ctx.get('Range') || undefined;
  const range = parseRange(rangeHeader, stat.size);
  if (range.kind === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${stat.size}`);
    return;
  }
  if (range.kind === 'none' || stat.size === 0) {
    ctx.status = 200;
    ctx.type = type;
    ctx.length = stat.size;
    if (ctx.method !== 'HEAD') ctx.body = stat.size === 0 ? '' : Readable.from((await vfs.read(path)).body);
    return;
  }
  ctx.status = 206;
  if (range.ranges.length === 1) {
    const r = range.ranges[0]!;
    ctx.type = type;
    ctx.set('Content-Range', `bytes ${r.start}-${r.end}/${stat.size}`);
    ctx.length = r.end - r.start + 1;
    if (ctx.method !== 'HEAD') ctx.body = Readable.from((await vfs.read(path, r)).body);
    return;
  }
  const boundary = randomBytes(12).toString('hex');
  const parts = range.ranges.map((r) => ({
    r,
    head: `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${stat.size}\r\n\r\n`,
  }));
  const tail = `\r\n--${boundary}--\r\n`;
  ctx.type = `multipart/byteranges; boundary=${boundary}`;
  ctx.length = parts.reduce((n, p) => n + Buffer.byteLength(p.head) + p.r.end - p.r.start + 1, 0) + Buffer.byteLength(tail);
  if (ctx.method !== 'HEAD') ctx.body = Readable.from(multipart(vfs, stat, parts, tail));
}

async function* multipart(vfs: FileSystem, stat: Stat, parts: { r: { start: number; end: number }; head: string }[], tail: string): AsyncGenerator<Buffer> {
  for (const p of parts) {
    yield Buffer.from(p.head);
    yield* (await vfs.read(stat.path, p.r)).body;
  }
  yield Buffer.from(tail);
}
