// Writing over WebDAV: whole files as streamed PUTs; partial writes as one SabreDAV PATCH where the
// server offers it, else a rewrite (old bytes around the new, spooled locally, then one PUT
// conditional on the ETag read); truncation as either of those. An mtime asked for is set after.
import { FsError, isFsError } from '../core/errors.js';
import { normalizePath } from '../core/paths.js';
import { concat, exactly, zeros } from '../vfs/byte-sources.js';
import type { ByteSource, Stat, WriteOptions, WriteResult } from '../vfs/types.js';
import { StaleVersionError } from './block-reader.js';
import { discard } from './http-client.js';
import { ATTR_NS, ifMatchOf, mtimeValue } from './remote-stat.js';
import type { RemoteSession } from './remote-session.js';
import { spool } from './spool.js';

/** SabreDAV's partial-update format (sabre.io/dav/http-patch), which davfs-bridge serves too. */
export const PARTIAL_UPDATE_TYPE = 'application/x-sabredav-partialupdate';

/** A streamed PUT (chunked unless expectedSize gives the length), conditional on opts.ifEtag. */
export async function write(s: RemoteSession, path: string, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
  const p = normalizePath(path);
  if (p === '/') throw new FsError('EISDIR', '/ is a folder');
  const body = opts.expectedSize === undefined ? source : exactly(source, opts.expectedSize);
  return put(s, p, body, { ...opts, ifMatch: opts.ifEtag === undefined ? undefined : opts.ifEtag === null ? null : `"${opts.ifEtag}"` });
}

/**
 * With partial updates: one PATCH (`X-Update-Range: bytes=a-b`), the server rewriting only what
 * it touches. Without (e.g. rclone, Apache): the whole file again — old bytes from the block
 * cache around the new ones — in one PUT conditional on the ETag read, so a concurrent change
 * fails (EPRECONDITION) rather than being overwritten. A missing file is created zero-filled.
 */
export async function writeRange(s: RemoteSession, path: string, offset: number, length: number, source: ByteSource, opts: WriteOptions = {}): Promise<WriteResult> {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', 'offset and length must be non-negative integers');
  }
  const p = normalizePath(path);
  const e = (await s.entry(p)) ?? (await s.entry(p, true));
  if (e?.stat.kind === 'dir') throw new FsError('EISDIR', `${p} is a folder`);
  const data = exactly(source, length);
  if (!e || opts.ifEtag === null) {
    if (opts.ifEtag) throw new FsError('EPRECONDITION', `${p} does not exist`);
    return put(s, p, concat(zeros(offset), data), { ...opts, ifMatch: null, expectedSize: offset + length });
  }
  const st = e.stat;
  const ifMatch = opts.ifEtag === undefined ? undefined : `"${opts.ifEtag}"`;
  if (s.capabilities.partialUpdate) {
    const headers: Record<string, string> = {
      'Content-Type': PARTIAL_UPDATE_TYPE,
      // A zero-length update has no last byte to name; `a-` means "from a" to SabreDAV and to us.
      'X-Update-Range': length > 0 ? `bytes=${offset}-${offset + length - 1}` : `bytes=${offset}-`,
      'Content-Length': String(length),
    };
    if (ifMatch) headers['If-Match'] = ifMatch;
    const res = await s.request('PATCH', p, [200, 204], { headers, body: data, changes: [p], overrides: { 405: 'EISDIR' } });
    await discard(res);
    s.changed(p);
    return { stat: await afterWrite(s, p, opts.mtimeMs), created: false };
  }
  const end = offset + length;
  const body = concat(oldBytes(s, st, 0, Math.min(offset, st.size)), zeros(Math.max(offset - st.size, 0)), data, oldBytes(s, st, end, st.size));
  return rewrite(s, p, body, { ...opts, contentType: opts.contentType ?? st.contentType, ifMatch: ifMatch ?? ifMatchOf(st.etag) });
}

/** Growing is a partial write at the new end (PATCH, or PUT); shrinking PUTs the kept bytes — both conditional on the ETag. */
export async function truncate(s: RemoteSession, path: string, size: number): Promise<Stat> {
  if (!Number.isSafeInteger(size) || size < 0) throw new FsError('EINVAL', 'size must be a non-negative integer');
  const p = normalizePath(path);
  const e = await s.entry(p, true);
  if (!e) throw new FsError('ENOENT', `${p} does not exist`);
  const st = e.stat;
  if (st.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
  if (st.size === size) return st;
  // A weak ETag cannot be matched (If-Match compares strongly): then the update is unconditional.
  const ifEtag = ifMatchOf(st.etag) === undefined ? undefined : st.etag!;
  // Growing writes one zero byte at the new end: the gap before it is zero-filled by the server
  // (a PATCH past the end) or by writeRange's rewrite, so no run of zeros crosses the wire.
  if (size > st.size) return (await writeRange(s, p, size - 1, 1, zeros(1), { ifEtag })).stat;
  return (await rewrite(s, p, oldBytes(s, st, 0, size), { contentType: st.contentType, ifMatch: ifMatchOf(st.etag) })).stat;
}

/** The PUT behind write, writeRange's fallback and truncate; then a fresh stat (and mtime, if asked). */
async function put(s: RemoteSession, p: string, body: ByteSource, o: { contentType?: string | null; ifMatch?: string | null; expectedSize?: number; mtimeMs?: number }): Promise<WriteResult> {
  const headers: Record<string, string> = {};
  if (o.contentType) headers['Content-Type'] = o.contentType;
  if (o.ifMatch === null) headers['If-None-Match'] = '*';
  else if (o.ifMatch !== undefined) headers['If-Match'] = o.ifMatch;
  if (o.expectedSize !== undefined) headers['Content-Length'] = String(o.expectedSize);
  const res = await s.request('PUT', p, [200, 201, 204], { headers, body, changes: [p], overrides: { 405: 'EISDIR' }, conflictAt: p });
  await discard(res);
  s.changed(p);
  return { stat: await afterWrite(s, p, o.mtimeMs), created: res.status === 201 };
}

/**
 * The stat after a write; with `mtimeMs`, first the mtime property for the new version. That is
 * best effort: the bytes are written, and a server without dead properties keeps its own time.
 */
async function afterWrite(s: RemoteSession, p: string, mtimeMs: number | undefined): Promise<Stat> {
  const e = await s.entry(p, true);
  if (!e) throw new FsError('EIO', `${p} is gone right after it was written`);
  if (mtimeMs === undefined) return e.stat;
  try {
    await s.proppatch(p, [{ op: 'set', prop: { ns: ATTR_NS, name: 'mtime', value: `<a:mtime xmlns:a="${ATTR_NS}">${mtimeValue(mtimeMs, e.validator)}</a:mtime>` } }]);
  } catch (err) {
    s.log.debug({ err, path: p }, 'the server did not store the mtime of a write');
    return e.stat;
  }
  const stat = { ...e.stat, mtimeMs: Math.round(mtimeMs) };
  s.attrs.set(p, { stat, validator: e.validator });
  return stat;
}

/** A PUT of content made from the old version's bytes: spooled locally first (see spool.ts). */
async function rewrite(s: RemoteSession, p: string, body: ByteSource, o: { contentType?: string | null; ifMatch?: string; mtimeMs?: number }): Promise<WriteResult> {
  const local = await spool(s.spoolDir, body);
  try {
    return await put(s, p, local.body(), { ...o, expectedSize: local.size });
  } finally {
    await local.remove();
  }
}

/** Bytes [start, end) of a version read before a rewrite; a change meanwhile is EPRECONDITION. */
async function* oldBytes(s: RemoteSession, st: Stat, start: number, end: number): AsyncGenerator<Buffer> {
  if (start >= end) return;
  try {
    yield* await s.blocks.read(st, start, end - 1);
  } catch (err) {
    if (err instanceof StaleVersionError || isFsError(err, 'EIO')) throw new FsError('EPRECONDITION', `${st.path} changed on the server during the update`, { cause: err });
    throw err;
  }
}
