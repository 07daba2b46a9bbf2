// Expanded XML names (namespace URI + local name): how WebDAV identifies properties (RFC 4918 §4.3, §4.5).

/**
 * An expanded name. `ns` is the namespace URI, `''` for an element in no namespace (litmus
 * `propnullns`); `local` is the NCName after the prefix. Prefixes are never part of a name.
 */
export interface XmlName {
  readonly ns: string;
  readonly local: string;
}

/** The WebDAV namespace (RFC 4918 §21). Note the colon: it is a URI, not a prefix. */
export const DAV_NS = 'DAV:';
/** Bound to the `xml` prefix by the Namespaces spec; carries `xml:lang` and `xml:space`. */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
/** The namespace of `xmlns` / `xmlns:p` declarations themselves. */
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export const davName = (local: string): XmlName => ({ ns: DAV_NS, local });

/** `{ns}local` (Clark notation): a string key for maps and sets, and for storage. */
export const xmlNameKey = (n: XmlName): string => `{${n.ns}}${n.local}`;

/**
 * Inverse of `xmlNameKey`. The namespace may itself contain `}` (it is any URI) but a local name
 * cannot, so the last `}` ends the namespace. Returns undefined for a string that is not a key.
 */
export function parseXmlNameKey(key: string): XmlName | undefined {
  const close = key.lastIndexOf('}');
  if (!key.startsWith('{') || close < 1 || close === key.length - 1) return undefined;
  return { ns: key.slice(1, close), local: key.slice(close + 1) };
}

export const sameXmlName = (a: XmlName, b: XmlName): boolean => a.ns === b.ns && a.local === b.local;

/** True when `n` is `DAV:<local>`. */
export const isDavName = (n: XmlName, local: string): boolean => n.ns === DAV_NS && n.local === local;
