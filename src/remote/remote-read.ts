// Reading over WebDAV: folder listings (PROPFIND Depth 1, streamed) and file bytes (ranged GETs
// through the block cache, keyed by ETag so a replaced version is never served).
import { FsError } from '../core/errors.js';
import { normalizePath, parentOf } from '../core/paths.js';
import type { ByteRange, Stat } from '../vfs/types.js';
import { StaleVersionError } from './block-reader.js';
import { nothing, STAT_BODY, type RemoteSession } from './remote-session.js';

/**
 * PROPFIND Depth 1, parsed and yielded as the multistatus streams in; every entry also fills the
 * attribute cache. Entries come in the server's order: davfs-bridge and rclone send name order;
 * for a server that does not, a warning is logged (sorting would mean holding the whole folder).
 */
export async function* list(s: RemoteSession, path: string): AsyncGenerator<Stat> {
  const p = normalizePath(path);
  let last: string | undefined;
  for await (const r of s.propfind(p, '1', STAT_BODY)) {
    const rp = s.http.pathOf(r.href);
    if (rp === undefined || (r.status !== null && r.status !== 200)) continue;
    const e = s.remember(rp, r);
    if (rp === p) {
      if (e.stat.kind !== 'dir') throw new FsError('ENOTDIR', `${p} is not a folder`);
      continue;
    }
    if (parentOf(rp) !== p) continue;
    if (last !== undefined && e.stat.name < last && !s.warnedOrder) {
      s.warnedOrder = true;
      s.log.warn({ url: s.http.shownUrl, path: p }, 'the server lists folders out of name order; entries are passed on in its order');
    }
    last = e.stat.name;
    yield e.stat;
  }
}

/**
 * Ranged GETs through the block cache. A cached stat may name a version the server replaced: its
 * blocks then answer 412 (If-Match), and the read starts once more from a fresh PROPFIND.
 */
export async function read(s: RemoteSession, path: string, range?: ByteRange): Promise<{ stat: Stat; body: AsyncGenerator<Buffer> }> {
  const p = normalizePath(path);
  for (let attempt = 0; ; attempt++) {
    const fresh = attempt > 0;
    const e = await s.entry(p, fresh);
    if (!e) throw new FsError('ENOENT', `${p} does not exist`);
    const st = e.stat;
    if (st.kind !== 'file') throw new FsError('EISDIR', `${p} is a folder`);
    const r = range ?? { start: 0, end: st.size - 1 };
    if (r.start < 0 || r.end >= st.size || (r.start > r.end && st.size > 0)) {
      if (!fresh) continue; // the file may have grown since we cached its size
      throw new FsError('EINVAL', `range ${r.start}-${r.end} is outside ${st.size} bytes`);
    }
    if (st.size === 0) return { stat: st, body: nothing() };
    try {
      return { stat: st, body: await s.blocks.read(st, r.start, r.end) };
    } catch (err) {
      if (!(err instanceof StaleVersionError)) throw err;
      s.attrs.touch(p);
      if (fresh) throw new FsError('EIO', `${p} keeps changing on the server; try again`);
    }
  }
}
