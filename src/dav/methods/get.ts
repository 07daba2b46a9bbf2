// GET and HEAD: a file's bytes (whole or one range) with strong validators; a folder's listing.
import { Readable } from 'node:stream';
import type { DavRequest } from '../context.js';
import { parseRange } from '../range.js';

export async function handleGet(req: DavRequest): Promise<void> {
  const { ctx, vfs, path } = req;
  const stat = await vfs.stat(path);
  if (stat.kind === 'dir') {
    const names: string[] = [];
    for await (const e of vfs.list(path)) names.push(e.kind === 'dir' ? `${e.name}/` : e.name);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = names.join('\n') + (names.length ? '\n' : '');
    return;
  }
  ctx.set('ETag', `"${stat.etag}"`);
  ctx.set('Last-Modified', new Date(stat.mtimeMs).toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  ctx.type = stat.contentType ?? 'application/octet-stream';

  const range = parseRange(ctx.get('Range') || undefined, stat.size);
  if (range.kind === 'unsatisfiable') {
    ctx.status = 416;
    ctx.set('Content-Range', `bytes */${stat.size}`);
    return;
  }
  // Several ranges (multipart/byteranges) arrive with the full WebDAV front; until then the
  // first range is served, which RFC 9110 §14.2 allows.
  const r = range.kind === 'ranges' ? range.ranges[0]! : { start: 0, end: stat.size - 1 };
  if (range.kind === 'ranges') {
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${r.start}-${r.end}/${stat.size}`);
  } else {
    ctx.status = 200;
  }
  ctx.length = r.end - r.start + 1;
  if (ctx.method === 'HEAD' || stat.size === 0) {
    if (stat.size === 0) ctx.body = '';
    return;
  }
  const { body } = await vfs.read(path, r);
  ctx.body = Readable.from(body);
}
