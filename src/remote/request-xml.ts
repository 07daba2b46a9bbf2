// XML this client writes: PROPFIND, PROPPATCH and LOCK request bodies (RFC 4918 §14), and dead
// property values re-serialized from a multistatus as self-contained elements.
import { FsError } from '../core/errors.js';
import type { DeadProp, PropPatch } from '../vfs/types.js';
import { DAV_NS, type XmlNode } from './multistatus.js';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** An expanded property name. */
export interface PropName {
  ns: string;
  local: string;
}

export const escapeText = (s: string): string => s.replace(/[&<>\r]/g, (c) => ENTITIES[c]!);
export const escapeAttr = (s: string): string => s.replace(/[&<>"\t\n\r]/g, (c) => ENTITIES[c]!);
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#xD;', '\n': '&#xA;', '\t': '&#x9;' };

const HEAD = '<?xml version="1.0" encoding="utf-8"?>\n';

/** `<x:name xmlns:x="ns"/>`, in no namespace as `<name xmlns=""/>`. */
export function emptyElement(n: PropName): string {
  return n.ns === '' ? `<${n.local} xmlns=""/>` : `<x:${n.local} xmlns:x="${escapeAttr(n.ns)}"/>`;
}

/** PROPFIND for named properties, or allprop (RFC 4918 §9.1: dead properties come with it). */
export function propfindBody(names: PropName[] | 'allprop'): string {
  const inner = names === 'allprop' ? '<D:allprop/>' : `<D:prop>${names.map(emptyElement).join('')}</D:prop>`;
  return `${HEAD}<D:propfind xmlns:D="DAV:">${inner}</D:propfind>`;
}

/** PROPPATCH with the operations in order (§9.2: all or none). */
export function proppatchBody(ops: PropPatch[]): string {
  const parts = ops.map((o) =>
    o.op === 'set' ? `<D:set><D:prop>${propElementXml(o.prop)}</D:prop></D:set>` : `<D:remove><D:prop>${emptyElement({ ns: o.ns, local: o.name })}</D:prop></D:remove>`,
  );
  return `${HEAD}<D:propertyupdate xmlns:D="DAV:">${parts.join('')}</D:propertyupdate>`;
}

/** An exclusive write lock (§9.10), with an owner that says who holds it. */
export function lockinfoBody(owner: string): string {
  return `${HEAD}<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${escapeText(owner)}</D:owner></D:lockinfo>`;
}

/**
 * A dead property's value as the property element to send. The value is normally the whole
 * element (as the metadata store keeps it and getProps returns it); anything else is taken as the
 * element's inner XML and wrapped.
 */
export function propElementXml(p: DeadProp): string {
  const v = p.value.trim();
  const m = /^<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]/.exec(v);
  if (m && m[2] === p.name && v.endsWith('>')) return v;
  if (p.ns === '') return `<${p.name} xmlns="">${p.value}</${p.name}>`;
  return `<x:${p.name} xmlns:x="${escapeAttr(p.ns)}">${p.value}</x:${p.name}>`;
}

/**
 * A parsed element as self-contained XML: every namespace it uses declared on the root (DAV: as
 * `D`, others `ns0`, `ns1`… in order of first use; `xmlns=""` when some element has no
 * namespace). This is the form davfs-bridge stores dead properties in, so a value read back from
 * it is byte-for-byte the one the server keeps (RFC 4918 §4.3: namespaces and xml:lang preserved).
 */
export function serializeNode(root: XmlNode): string {
  const prefix = new Map<string, string>([[XML_NS, 'xml']]);
  let decls = '';
  let counter = 0;
  let noNamespace = false;
  const declare = (ns: string) => {
    if (ns === '') return;
    if (prefix.has(ns)) return;
    const p = ns === DAV_NS ? 'D' : `ns${counter++}`;
    prefix.set(ns, p);
    decls += ` xmlns:${p}="${escapeAttr(ns)}"`;
  };
  const visit = (n: XmlNode): void => {
    if (n.ns === '') noNamespace = true;
    declare(n.ns);
    n.attrs.forEach((a) => declare(a.ns));
    n.children.forEach((c) => typeof c !== 'string' && visit(c));
  };
  visit(root);
  const name = (ns: string, local: string) => (ns === '' ? local : `${prefix.get(ns)}:${local}`);
  const out = (n: XmlNode, extra: string): string => {
    const tag = name(n.ns, n.local);
    const attrs = n.attrs.map((a) => ` ${name(a.ns, a.local)}="${escapeAttr(a.value)}"`).join('');
    if (n.children.length === 0) return `<${tag}${extra}${attrs}/>`;
    const inner = n.children.map((c) => (typeof c === 'string' ? escapeText(c) : out(c, ''))).join('');
    return `<${tag}${extra}${attrs}>${inner}</${tag}>`;
  };
  return out(root, decls + (noNamespace ? ' xmlns=""' : ''));
}

/** The token from a Lock-Token header (`<urn:uuid:…>`, RFC 4918 §10.5). */
export function lockTokenOf(header: string | null): string {
  const raw = (header ?? '').trim();
  if (!raw) throw new FsError('EIO', 'the server granted a lock without a Lock-Token header');
  return raw.startsWith('<') && raw.endsWith('>') ? raw.slice(1, -1) : raw;
}
