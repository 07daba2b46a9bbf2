// Changing the tree over WebDAV: MKCOL, DELETE, MOVE and COPY (RFC 4918 §9.3, §9.6, §9.8, §9.9),
// with the attribute cache, block cache, path ids and held locks updated for what moved or went.
import { FsError, isFsError } from '../core/errors.js';
import { normalizePath, parentOf } from '../core/paths.js';
import type { Stat } from '../vfs/types.js';
import { discard } from './http-client.js';
import { within } from './path-ids.js';
import { list } from './remote-read.js';
import type { RemoteSession } from './remote-session.js';
import { statusError } from './status-errors.js';

/** MKCOL; with `parents`, missing ancestors first (only when the server says 409). */
export async function mkdir(s: RemoteSession, path: string, opts: { parents?: boolean } = {}): Promise<Stat> {
  const p = normalizePath(path);
  if (p === '/') {
    if (opts.parents) return s.stat('/');
    throw new FsError('EEXIST', '/ exists');
  }
  const res = await s.http.send('MKCOL', p, { dir: true, headers: s.ifHeaders({}, p) });
  await discard(res);
  if (res.status === 201 || res.status === 200) {
    s.changed(p);
    return s.stat(p);
  }
  if (res.status === 405) {
    // RFC 4918 §9.3.1: something is already mapped there.
    if (!opts.parents) throw new FsError('EEXIST', `${p} exists`);
    const there = await s.entry(p, true);
    if (there?.stat.kind === 'dir') return there.stat;
    throw new FsError('ENOTDIR', `${p} is a file, or a component of it is`);
  }
  if (res.status === 409 && opts.parents) {
    await mkdir(s, parentOf(p), opts);
    return mkdir(s, p, { parents: false }).catch(async (err: unknown) => {
      // Created meanwhile by someone else: mkdir -p is content with that.
      if (isFsError(err, 'EEXIST') && (await s.entry(p, true))?.stat.kind === 'dir') return s.stat(p);
      throw err;
    });
  }
  if (res.status === 409) throw await s.conflict(p, `MKCOL ${p}`);
  throw statusError(res.status, `MKCOL ${p}`);
}

/**
 * DELETE (always the whole tree, RFC 4918 §9.6.1). Without `recursive`, a folder is listed first
 * and refused with ENOTEMPTY if it has members — a check a concurrent writer can race.
 */
export async function remove(s: RemoteSession, path: string, opts: { recursive?: boolean } = {}): Promise<void> {
  const p = normalizePath(path);
  if (p === '/') throw new FsError('EACCES', 'the root cannot be removed');
  if (!opts.recursive) {
    const e = await s.entry(p, true);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    if (e.stat.kind === 'dir' && (await hasMembers(s, p))) throw new FsError('ENOTEMPTY', `${p} is not empty`);
  }
  const res = await s.request('DELETE', p, [200, 204, 207], { changes: [p] });
  // 207: some members could not be deleted (§9.6.1); the first failure says why.
  if (res.status === 207) await s.throwFirstFailure(res, `DELETE ${p}`);
  else await discard(res);
  s.changedTree(p);
  s.ids.forget(p);
}

/** MOVE with an absolute Destination URL; Overwrite: F answers 412, which is EEXIST here. */
export async function move(s: RemoteSession, from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
  const src = normalizePath(from);
  const dst = normalizePath(to);
  if (src === '/' || dst === '/') throw new FsError('EINVAL', 'the root cannot be moved or replaced');
  if (src === dst) return { stat: await s.stat(src), replaced: false };
  const res = await copyOrMove(s, 'MOVE', src, dst, opts.overwrite ?? false, 'infinity');
  s.changedTree(src);
  s.changedTree(dst);
  s.ids.move(src, dst);
  s.locks.dropWithin(src);
  return { stat: await s.stat(dst), replaced: res.status === 204 };
}

/** COPY (Depth infinity, or 0 for a folder without its members). */
export async function copy(s: RemoteSession, from: string, to: string, opts: { overwrite?: boolean; recursive?: boolean } = {}): Promise<{ stat: Stat; replaced: boolean }> {
  const src = normalizePath(from);
  const dst = normalizePath(to);
  if (dst === '/') throw new FsError('EINVAL', 'the root cannot be replaced');
  if (src === dst) {
    await s.stat(src);
    throw new FsError('EINVAL', 'source and destination are the same');
  }
  const recursive = opts.recursive ?? true;
  const res = await copyOrMove(s, 'COPY', src, dst, opts.overwrite ?? false, recursive ? 'infinity' : '0');
  s.changedTree(dst);
  s.ids.forget(dst);
  return { stat: await s.stat(dst), replaced: res.status === 204 };
}

async function copyOrMove(s: RemoteSession, method: 'COPY' | 'MOVE', src: string, dst: string, overwrite: boolean, depth: string): Promise<Response> {
  if (within(dst, src) && depth === 'infinity') throw new FsError('EINVAL', 'cannot move or copy a folder into itself');
  if (within(src, dst)) {
    // Replacing a folder with something inside it would delete the source first.
    await s.stat(src);
    throw new FsError(overwrite ? 'EINVAL' : 'EEXIST', overwrite ? 'cannot replace a folder that contains the source' : `${dst} exists`);
  }
  const headers = { Destination: s.http.urlOf(dst), Overwrite: overwrite ? 'T' : 'F', Depth: depth };
  const changes = method === 'MOVE' ? [src, dst] : [dst];
  const res = await s.request(method, src, [201, 204], { headers, changes, overrides: { 412: 'EEXIST' }, conflictAt: dst });
  await discard(res);
  return res;
}

async function hasMembers(s: RemoteSession, p: string): Promise<boolean> {
  for await (const _ of list(s, p)) return true;
  return false;
}
