// Stats from PROPFIND responses: live properties (RFC 4918 §15) for kind, size, ETag, times and
// type; POSIX attributes (mode, uid, gid) and a precise mtime kept as dead properties in our own
// namespace, so setAttributes works on any server that stores dead properties.
import { baseName } from '../core/paths.js';
import type { SetAttributes } from '../vfs/file-system.js';
import type { DeadProp, PropPatch, Stat } from '../vfs/types.js';
import { DAV_NS, foundProps, textOf, type DavResponse } from './multistatus.js';
import { serializeNode, type PropName } from './request-xml.js';

/** Where this client keeps attributes the protocol has no live property for. */
export const ATTR_NS = 'urn:davfs-bridge:';

const dav = (local: string): PropName => ({ ns: DAV_NS, local });
const attr = (local: string): PropName => ({ ns: ATTR_NS, local });

/** What every stat PROPFIND asks for (by name: smaller answers than allprop, and no lockdiscovery). */
export const STAT_PROPS: PropName[] = [
  dav('resourcetype'),
  dav('getcontentlength'),
  dav('getetag'),
  dav('getlastmodified'),
  dav('creationdate'),
  dav('getcontenttype'),
  attr('mode'),
  attr('uid'),
  attr('gid'),
  attr('mtime'),
];

/** Live properties of RFC 4918 §15 and RFC 4331: never reported as dead properties. */
const LIVE = new Set([
  'resourcetype',
  'creationdate',
  'getlastmodified',
  'getcontentlength',
  'getcontenttype',
  'getcontentlanguage',
  'getetag',
  'lockdiscovery',
  'supportedlock',
  'quota-used-bytes',
  'quota-available-bytes',
]);

/** A stat plus what the server says about the version it describes (see mtimeValue). */
export interface RemoteEntry {
  stat: Stat;
  /** The server's ETag (quoted, as sent) and Last-Modified second: changes whenever the server changes the resource. */
  validator: string;
}

/**
 * The mtime dead property: `<ms> <validator>`. WebDAV has no settable mtime (getlastmodified is
 * protected, and davfs-bridge's front does not take Win32LastModifiedTime), so a chosen mtime is
 * stored beside the version it was set on; once the server changes the resource (new ETag or
 * Last-Modified — a write, or a new member of a folder), the server's own time counts again.
 */
export function mtimeValue(mtimeMs: number, validator: string): string {
  return `${Math.round(mtimeMs)} ${validator}`;
}

/** The PROPPATCH for setAttributes: null removes an attribute, undefined leaves it. */
export function attributePatch(attrs: SetAttributes, validator: string): PropPatch[] {
  const ops: PropPatch[] = [];
  const put = (name: string, value: number | null | undefined) => {
    if (value === undefined) return;
    if (value === null) ops.push({ op: 'remove', ns: ATTR_NS, name });
    else ops.push({ op: 'set', prop: { ns: ATTR_NS, name, value: `<a:${name} xmlns:a="${ATTR_NS}">${value}</a:${name}>` } });
  };
  put('mode', attrs.mode);
  put('uid', attrs.uid);
  put('gid', attrs.gid);
  if (attrs.mtimeMs !== undefined) {
    ops.push({ op: 'set', prop: { ns: ATTR_NS, name: 'mtime', value: `<a:mtime xmlns:a="${ATTR_NS}">${mtimeValue(attrs.mtimeMs, validator)}</a:mtime>` } });
  }
  return ops;
}

/** The stat a PROPFIND response describes; `id` gives the node id of a path (see PathIds). */
export function entryOf(path: string, r: DavResponse, id: number): RemoteEntry {
  const found = foundProps(r);
  const text = (p: PropName): string | undefined => {
    const node = found.get(`{${p.ns}}${p.local}`);
    return node === undefined ? undefined : textOf(node).trim();
  };
  const resourcetype = found.get(`{${DAV_NS}}resourcetype`);
  const isDir = resourcetype?.children.some((c) => typeof c !== 'string' && c.ns === DAV_NS && c.local === 'collection') ?? false;
  const rawEtag = isDir ? undefined : text(dav('getetag'));
  const serverMtimeMs = dateMs(text(dav('getlastmodified'))) ?? 0;
  const validator = `${rawEtag || '-'} ${Math.floor(serverMtimeMs / 1000)}`;
  const chosen = text(attr('mtime'))?.split(' ');
  const mtimeMs = chosen && chosen.slice(1).join(' ') === validator && /^\d+$/.test(chosen[0]!) ? Number(chosen[0]) : serverMtimeMs;
  const stat: Stat = {
    path,
    name: baseName(path),
    kind: isDir ? 'dir' : 'file',
    id,
    size: isDir ? 0 : (intOf(text(dav('getcontentlength'))) ?? 0),
    etag: rawEtag ? unquoteEtag(rawEtag) : null,
    mtimeMs,
    birthMs: dateMs(text(dav('creationdate'))) ?? serverMtimeMs,
    // WebDAV has no change time: the server's last modification is the closest it says.
    ctimeMs: serverMtimeMs,
    contentType: isDir ? null : text(dav('getcontenttype')) || null,
    mode: intOf(text(attr('mode'))),
    uid: intOf(text(attr('uid'))),
    gid: intOf(text(attr('gid'))),
  };
  return { stat, validator };
}

/** Dead properties of a response (allprop): everything but live properties and our attributes. */
export function deadPropsOf(r: DavResponse): DeadProp[] {
  const out: DeadProp[] = [];
  for (const node of foundProps(r).values()) {
    if (node.ns === ATTR_NS || (node.ns === DAV_NS && LIVE.has(node.local))) continue;
    out.push({ ns: node.ns, name: node.local, value: serializeNode(node) });
  }
  return out.sort((a, b) => (a.ns === b.ns ? cmp(a.name, b.name) : cmp(a.ns, b.ns)));
}

/** `"abc"` → `abc`; a weak `W/"abc"` keeps its marker (`W/abc`) so no If-Match is built from it. */
export function unquoteEtag(raw: string): string {
  const weak = raw.startsWith('W/');
  const body = weak ? raw.slice(2) : raw;
  const bare = body.startsWith('"') && body.endsWith('"') && body.length >= 2 ? body.slice(1, -1) : body;
  return weak ? `W/${bare}` : bare;
}

/** If-Match value for a Stat.etag, or undefined for a weak one (RFC 9110 §13.1.1: strong comparison). */
export function ifMatchOf(etag: string | null): string | undefined {
  return etag === null || etag.startsWith('W/') ? undefined : `"${etag}"`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function intOf(s: string | undefined): number | null {
  if (s === undefined || !/^-?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function dateMs(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
