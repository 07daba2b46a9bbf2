// Properties over WebDAV: POSIX attributes and a precise mtime as dead properties (PROPPATCH in
// the urn:davfs-bridge: namespace), dead properties for the WebDAV front (PROPFIND allprop), and
// RFC 4331 quota for usage().
import { FsError, isFsError } from '../core/errors.js';
import { normalizePath, parentOf } from '../core/paths.js';
import type { SetAttributes, Usage } from '../vfs/file-system.js';
import type { DeadProp, PropPatch, Stat } from '../vfs/types.js';
import { DAV_NS, foundProps, textOf } from './multistatus.js';
import { attributePatch, deadPropsOf } from './remote-stat.js';
import type { RemoteSession } from './remote-session.js';
import { propfindBody } from './request-xml.js';

/** RFC 4331 §3 lets a server omit quota-available-bytes; davfs-bridge says 2^50 when no quota applies. */
const NO_QUOTA_FROM = 2 ** 50;
/**
 * Up to this many entries of one folder, propsOf asks per entry (Depth 0, in parallel) rather than
 * for the whole folder (Depth 1) — which a caller paging through a huge folder would pay per page.
 */
const PROPS_PER_ENTRY_MAX = 16;

const ALLPROP_BODY = propfindBody('allprop');
const QUOTA_BODY = propfindBody([
  { ns: DAV_NS, local: 'quota-used-bytes' },
  { ns: DAV_NS, local: 'quota-available-bytes' },
]);

/**
 * PROPPATCH of the attribute dead properties (urn:davfs-bridge: mode, uid, gid, mtime). A server
 * that keeps no dead properties (rclone) refuses them: EACCES.
 */
export async function setAttributes(s: RemoteSession, path: string, attrs: SetAttributes): Promise<Stat> {
  const p = normalizePath(path);
  const e = await s.entry(p, true);
  if (!e) throw new FsError('ENOENT', `${p} does not exist`);
  const ops = attributePatch(attrs, e.validator);
  if (ops.length === 0) return e.stat;
  await s.proppatch(p, ops);
  s.attrs.touch(p);
  return s.stat(p);
}

/** PROPFIND allprop, Depth 0: the dead properties, each as a self-contained element. */
export async function getProps(s: RemoteSession, path: string): Promise<DeadProp[]> {
  const p = normalizePath(path);
  for await (const r of s.propfind(p, '0', ALLPROP_BODY)) {
    if (s.http.pathOf(r.href) === p) return deadPropsOf(r);
  }
  throw new FsError('ENOENT', `${p} does not exist`);
}

/**
 * Dead properties of many stats: one PROPFIND allprop Depth 1 per distinct parent folder, or per
 * entry where a folder contributes only a few (a page of a big folder asks for it once).
 */
export async function propsOf(s: RemoteSession, stats: Stat[]): Promise<Map<number, DeadProp[]>> {
  const out = new Map<number, DeadProp[]>();
  const byParent = new Map<string, Stat[]>();
  for (const st of stats) {
    const key = st.path === '/' ? '' : parentOf(st.path);
    byParent.set(key, [...(byParent.get(key) ?? []), st]);
  }
  const keep = (st: Stat, props: DeadProp[]) => props.length > 0 && out.set(st.id, props);
  for (const [parent, group] of byParent) {
    if (parent === '' || group.length <= PROPS_PER_ENTRY_MAX) {
      await Promise.all(group.map(async (st) => keep(st, await getProps(s, st.path).catch(ignoreMissing))));
      continue;
    }
    const wanted = new Map(group.map((st) => [st.path, st]));
    for await (const r of s.propfind(parent, '1', ALLPROP_BODY)) {
      const st = wanted.get(s.http.pathOf(r.href) ?? '');
      if (st) keep(st, deadPropsOf(r));
    }
  }
  return out;
}

/** PROPPATCH: all operations or none (the server's duty, RFC 4918 §9.2). */
export async function patchProps(s: RemoteSession, path: string, ops: PropPatch[]): Promise<void> {
  const p = normalizePath(path);
  if (ops.length === 0) {
    await s.stat(p);
    return;
  }
  await s.proppatch(p, ops);
}

/** RFC 4331 quota properties; no quota-available-bytes, or 2^50 and more, means no quota. */
export async function usage(s: RemoteSession, path: string): Promise<Usage> {
  const p = normalizePath(path);
  for await (const r of s.propfind(p, '0', QUOTA_BODY)) {
    const found = foundProps(r);
    const num = (local: string) => {
      const node = found.get(`{${DAV_NS}}${local}`);
      const n = node === undefined ? NaN : Number(textOf(node).trim());
      return Number.isFinite(n) && n >= 0 ? n : undefined;
    };
    const available = num('quota-available-bytes');
    return { usedBytes: num('quota-used-bytes') ?? 0, availableBytes: available === undefined || available >= NO_QUOTA_FROM ? null : available };
  }
  throw new FsError('ENOENT', `${p} does not exist`);
}

function ignoreMissing(err: unknown): DeadProp[] {
  if (isFsError(err, 'ENOENT')) return [];
  throw err;
}
