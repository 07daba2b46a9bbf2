// Writing XML for WebDAV responses: escaping, property elements, and self-contained serialization of parsed elements.
import { DAV_NS, XML_NS, type XmlName } from './xml-name.js';

/** A parsed attribute; namespace declarations (`xmlns`, `xmlns:p`) are never kept as attributes. */
export interface XmlAttr {
  readonly name: XmlName;
  readonly value: string;
}

/** A parsed element: its expanded name, attributes, and child elements and text in document order. */
export interface XmlElement {
  readonly name: XmlName;
  readonly attrs: readonly XmlAttr[];
  readonly children: readonly XmlNode[];
}

export type XmlNode = XmlElement | string;

export const MULTISTATUS_OPEN = '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">';
export const MULTISTATUS_CLOSE = '</D:multistatus>';

// Characters XML 1.0 §2.2 forbids anywhere, even as character references: C0 controls other than
// tab/LF/CR, U+FFFE/U+FFFF and lone surrogates. A file name may hold them; the output must stay
// well-formed, so they become U+FFFD (hrefs are percent-encoded and lose nothing).
const NOT_XML_CHAR = '[^\\t\\n\\r\\u0020-\\uD7FF\\uE000-\\uFFFD\\u{10000}-\\u{10FFFF}]';
const TEXT_SPECIAL = new RegExp(`[&<>\\r]|${NOT_XML_CHAR}`, 'gu');
const ATTR_SPECIAL = new RegExp(`[&<>"\\t\\n\\r]|${NOT_XML_CHAR}`, 'gu');

const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;', // needed only after "]]", but always escaping it is simpler
  '"': '&quot;',
  // A literal CR would be normalised to LF by the reader (XML 1.0 §2.11), tab/LF in an attribute
  // to spaces (§3.3.3): character references keep them.
  '\r': '&#xD;',
  '\n': '&#xA;',
  '\t': '&#x9;',
};

const replaceChar = (ch: string): string => ENTITY[ch] ?? '\uFFFD';

/** Escape character data for use between tags. */
export function escapeXmlText(s: string): string {
  return s.replace(TEXT_SPECIAL, replaceChar);
}

/** Escape an attribute value for use inside double quotes. */
export function escapeXmlAttr(s: string): string {
  return s.replace(ATTR_SPECIAL, replaceChar);
}

/**
 * Start and end tag names for a property element in a response. DAV: uses the `D:` prefix that
 * MULTISTATUS_OPEN declares (some Mini-Redirector versions ignore elements in a default namespace);
 * other namespaces get a prefix declared on the element itself; no namespace is written unprefixed
 * with `xmlns=""` so it stays in no namespace whatever the enclosing elements declare.
 */
function propTag(name: XmlName): { open: string; close: string } {
  if (name.ns === DAV_NS) return { open: `D:${name.local}`, close: `D:${name.local}` };
  if (name.ns === '') return { open: `${name.local} xmlns=""`, close: name.local };
  return { open: `ns0:${name.local} xmlns:ns0="${escapeXmlAttr(name.ns)}"`, close: `ns0:${name.local}` };
}

/** A property element with the given (already serialized) content, e.g. `<D:getetag>"x"</D:getetag>`. */
export function propElement(name: XmlName, innerXml: string): string {
  const { open, close } = propTag(name);
  return innerXml === '' ? `<${open}/>` : `<${open}>${innerXml}</${close}>`;
}

/** An empty property element: names in propname responses (RFC 4918 §9.1) and 403/404 propstats. */
export function emptyPropElement(name: XmlName): string {
  return `<${propTag(name).open}/>`;
}

/**
 * Serialize `root` as self-contained XML: every namespace it or a descendant uses is declared on
 * the root (DAV: as `D`, others as ns0, ns1… in order of first use), and `xmlns=""` is added when
 * some element is in no namespace, so the string means the same wherever it is pasted. RFC 4918
 * §4.3 requires a dead property to keep its namespaces and the xml:lang in scope: pass the
 * xml:lang inherited from the ancestors as `inheritedLang`; it is written on the root unless the
 * root carries its own.
 */
export function serializeElement(root: XmlElement, inheritedLang?: string): string {
  const prefixes = new Map<string, string>([[XML_NS, 'xml']]);
  const declarations: string[] = [];
  let usesNoNamespace = false;
  let next = 0;
  const bind = (ns: string) => {
    if (prefixes.has(ns)) return;
    const prefix = ns === DAV_NS ? 'D' : `ns${next++}`;
    prefixes.set(ns, prefix);
    declarations.push(` xmlns:${prefix}="${escapeXmlAttr(ns)}"`);
  };
  const collect = (el: XmlElement) => {
    if (el.name.ns === '') usesNoNamespace = true;
    else bind(el.name.ns);
    for (const a of el.attrs) if (a.name.ns !== '') bind(a.name.ns);
    for (const c of el.children) if (typeof c !== 'string') collect(c);
  };
  collect(root);

  const qname = (n: XmlName) => (n.ns === '' ? n.local : `${prefixes.get(n.ns) ?? ''}:${n.local}`);
  const write = (el: XmlElement, extra: string): string => {
    let s = `<${qname(el.name)}${extra}`;
    for (const a of el.attrs) s += ` ${qname(a.name)}="${escapeXmlAttr(a.value)}"`;
    if (el.children.length === 0) return `${s}/>`;
    s += '>';
    for (const c of el.children) s += typeof c === 'string' ? escapeXmlText(c) : write(c, '');
    return `${s}</${qname(el.name)}>`;
  };

  let rootExtra = declarations.join('') + (usesNoNamespace ? ' xmlns=""' : '');
  const hasOwnLang = root.attrs.some((a) => a.name.ns === XML_NS && a.name.local === 'lang');
  if (!hasOwnLang && inheritedLang !== undefined) rootExtra += ` xml:lang="${escapeXmlAttr(inheritedLang)}"`;
  return write(root, rootExtra);
}
