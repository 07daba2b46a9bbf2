// Parsing of WebDAV request bodies (RFC 4918 §14): PROPFIND, PROPPATCH and LOCK, namespace-aware, without DTDs.
import { SaxesParser } from 'saxes';
import { DAV_NS, XML_NS, XMLNS_NS, xmlNameKey, type XmlName } from './xml-name.js';
import { serializeElement, type XmlAttr, type XmlElement, type XmlNode } from './write-xml.js';

/**
 * A request body that is not acceptable XML or not the element the method expects. The message
 * is short and safe to show to the client; the front answers 400 Bad Request with it.
 */
export class DavXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DavXmlError';
  }
}

/** Bodies above this are refused here too, whatever limit the caller applied while reading. */
export const MAX_XML_BYTES = 1024 * 1024;
/** Deepest element nesting accepted; real WebDAV bodies stay under ten. */
export const MAX_XML_DEPTH = 64;

/** RFC 4918 §9.1: what a PROPFIND asks for. `include` names extra properties for allprop (§14.8). */
export type PropfindRequest =
  | { kind: 'allprop'; include: XmlName[] }
  | { kind: 'propname' }
  | { kind: 'prop'; props: XmlName[] };

/**
 * One PROPPATCH instruction (RFC 4918 §9.2), in document order. `xml` is the whole property element,
 * self-contained (see serializeElement), to be stored and emitted verbatim in PROPFIND responses.
 */
export type ProppatchOp = { op: 'set'; name: XmlName; xml: string } | { op: 'remove'; name: XmlName };

/** A LOCK request body (RFC 4918 §14.11). `ownerXml` is the whole DAV:owner element, self-contained. */
export interface LockInfo {
  scope: 'exclusive' | 'shared';
  ownerXml: string | null;
}

/** RFC 4918 §9.1: "A client may choose not to submit a request body. An empty PROPFIND request body MUST be treated as if it were an 'allprop' request." */
export function parsePropfind(body: Buffer): PropfindRequest {
  if (isBlank(body)) return { kind: 'allprop', include: [] };
  const root = parseXmlDocument(body);
  expectRoot(root, 'propfind');
  const seen = new Map<string, XmlElement>();
  for (const child of davChildren(root)) {
    const local = child.name.local;
    if (local !== 'allprop' && local !== 'propname' && local !== 'prop' && local !== 'include') continue; // §17: ignore unknown
    if (seen.has(local)) throw new DavXmlError(`DAV:propfind holds more than one DAV:${local}`);
    seen.set(local, child);
  }
  const prop = seen.get('prop');
  const include = seen.get('include');
  const choices = ['allprop', 'propname', 'prop'].filter((k) => seen.has(k));
  if (choices.length !== 1) throw new DavXmlError('DAV:propfind must hold exactly one of DAV:allprop, DAV:propname, DAV:prop');
  // §14.20: DAV:include only qualifies DAV:allprop.
  if (include !== undefined && !seen.has('allprop')) throw new DavXmlError('DAV:include is only allowed with DAV:allprop');
  if (seen.has('allprop')) return { kind: 'allprop', include: include === undefined ? [] : propNames(include) };
  if (prop !== undefined) return { kind: 'prop', props: propNames(prop) };
  return { kind: 'propname' };
}

/**
 * RFC 4918 §9.2: DAV:propertyupdate holds DAV:set and DAV:remove instructions, each with a DAV:prop;
 * "instructions MUST either all be executed or none executed" and are processed in document order,
 * so the ops come back flattened in that order.
 */
export function parseProppatch(body: Buffer): ProppatchOp[] {
  const root = parseXmlDocument(body);
  expectRoot(root, 'propertyupdate');
  const ops: ProppatchOp[] = [];
  const rootLang = ownLang(root);
  for (const instruction of davChildren(root)) {
    const op = instruction.name.local;
    if (op !== 'set' && op !== 'remove') continue; // §17: ignore unknown
    const instructionLang = ownLang(instruction) ?? rootLang;
    const props = davChildren(instruction).filter((c) => c.name.local === 'prop');
    if (props.length === 0) throw new DavXmlError(`DAV:${op} must hold a DAV:prop`);
    for (const prop of props) {
      // §4.3: the xml:lang in scope belongs to a dead property's value, so it travels with it.
      const lang = ownLang(prop) ?? instructionLang;
      for (const p of elementChildren(prop)) {
        ops.push(op === 'set' ? { op, name: p.name, xml: serializeElement(p, lang) } : { op, name: p.name });
      }
    }
  }
  if (ops.length === 0) throw new DavXmlError('DAV:propertyupdate names no property');
  return ops;
}

/**
 * RFC 4918 §9.10: a LOCK body is a DAV:lockinfo with a lockscope (exclusive or shared), a locktype
 * (only DAV:write exists, §7) and an optional owner. No body at all is a lock refresh (§9.10.2): null.
 */
export function parseLockinfo(body: Buffer): LockInfo | null {
  if (isBlank(body)) return null;
  const root = parseXmlDocument(body);
  expectRoot(root, 'lockinfo');
  let scope: LockInfo['scope'] | undefined;
  let sawType = false;
  let ownerXml: string | null = null;
  for (const child of davChildren(root)) {
    const local = child.name.local;
    if (local === 'lockscope') {
      if (scope !== undefined) throw new DavXmlError('DAV:lockinfo holds more than one DAV:lockscope');
      const kinds = davChildren(child).filter((c) => c.name.local === 'exclusive' || c.name.local === 'shared');
      const only = kinds.length === 1 ? kinds[0] : undefined;
      if (only === undefined) throw new DavXmlError('DAV:lockscope must hold one of DAV:exclusive, DAV:shared');
      scope = only.name.local === 'exclusive' ? 'exclusive' : 'shared';
    } else if (local === 'locktype') {
      if (sawType) throw new DavXmlError('DAV:lockinfo holds more than one DAV:locktype');
      if (!davChildren(child).some((c) => c.name.local === 'write')) throw new DavXmlError('DAV:locktype must be DAV:write');
      sawType = true;
    } else if (local === 'owner') {
      if (ownerXml !== null) throw new DavXmlError('DAV:lockinfo holds more than one DAV:owner');
      ownerXml = serializeElement(child, ownLang(root));
    }
  }
  if (scope === undefined) throw new DavXmlError('DAV:lockinfo must hold DAV:lockscope');
  if (!sawType) throw new DavXmlError('DAV:lockinfo must hold DAV:locktype');
  return { scope, ownerXml };
}

/**
 * Parse a whole body into an element tree with expanded names. Comments and processing
 * instructions are dropped, CDATA becomes text, namespace declarations are not kept as attributes
 * (serializeElement declares what it needs). Any failure is a DavXmlError.
 */
export function parseXmlDocument(body: Buffer): XmlElement {
  const text = decode(body);
  interface Open {
    name: XmlName;
    attrs: XmlAttr[];
    children: XmlNode[];
  }
  const stack: Open[] = [];
  let root: Open | undefined;
  const parser = new SaxesParser<{ xmlns: true }>({ xmlns: true });
  parser.on('error', (err) => {
    throw new DavXmlError(`malformed XML: ${err.message.slice(0, 160)}`);
  });
  // No DTDs at all: no internal subset means no entity declarations, so no entity expansion
  // (billion laughs) and no external entities (XXE). saxes itself knows only the five predefined
  // entities and character references, and rejects any other entity reference.
  parser.on('doctype', () => {
    throw new DavXmlError('DOCTYPE is not allowed in WebDAV request bodies');
  });
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_XML_DEPTH) throw new DavXmlError(`XML nested deeper than ${MAX_XML_DEPTH} elements`);
    const attrs: XmlAttr[] = [];
    for (const a of Object.values(tag.attributes)) {
      if (a.uri !== XMLNS_NS) attrs.push({ name: { ns: a.uri, local: a.local }, value: a.value });
    }
    const el: Open = { name: { ns: tag.uri, local: tag.local }, attrs, children: [] };
    stack.at(-1)?.children.push(el);
    stack.push(el);
  });
  parser.on('closetag', () => {
    const el = stack.pop();
    if (stack.length === 0) root = el;
  });
  const addText = (t: string) => {
    const top = stack.at(-1);
    if (top === undefined) return; // whitespace around the root; saxes rejects anything else there
    const n = top.children.length;
    const last = top.children[n - 1];
    if (typeof last === 'string') top.children[n - 1] = last + t;
    else top.children.push(t);
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  try {
    parser.write(text).close();
  } catch (err) {
    if (err instanceof DavXmlError) throw err;
    throw new DavXmlError('malformed XML request body');
  }
  if (root === undefined) throw new DavXmlError('XML request body has no root element');
  return root;
}

// ---------------------------------------------------------------------------------------------

const isXmlSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

function checkSize(body: Buffer): void {
  if (body.length > MAX_XML_BYTES) throw new DavXmlError(`XML request body larger than ${MAX_XML_BYTES} bytes`);
}

/** No body, or only whitespace: treated as no body by PROPFIND (§9.1) and LOCK (§9.10.2). */
function isBlank(body: Buffer): boolean {
  checkSize(body);
  return body.every(isXmlSpace);
}

/**
 * Bytes to text. UTF-8 unless a byte order mark or the XML declaration says otherwise (XML 1.0
 * Appendix F); invalid bytes are an error rather than silently replaced characters.
 */
function decode(body: Buffer): string {
  checkSize(body);
  let label = 'utf-8';
  if (body[0] === 0xff && body[1] === 0xfe) label = 'utf-16le';
  else if (body[0] === 0xfe && body[1] === 0xff) label = 'utf-16be';
  else {
    const decl = /^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/.exec(body.subarray(0, 256).toString('latin1'));
    // A UTF-16 label on a body that starts with ASCII "<?xml" cannot be true (Appendix F): ignore it.
    if (decl?.[1] !== undefined && !/^utf-?16/i.test(decl[1])) label = decl[1].toLowerCase();
  }
  let text: string;
  try {
    text = new TextDecoder(label, { fatal: true }).decode(body);
  } catch {
    throw new DavXmlError(`XML request body is not valid ${label}`);
  }
  // Whitespace before the XML declaration is not well-formed (XML 1.0 §2.8), but some clients
  // send a leading newline; dropping it changes nothing else.
  return text.replace(/^[ \t\r\n]+/, '');
}

function expectRoot(root: XmlElement, local: string): void {
  if (root.name.ns !== DAV_NS || root.name.local !== local) {
    throw new DavXmlError(`root element must be DAV:${local}, not {${root.name.ns}}${root.name.local}`.slice(0, 200));
  }
}

const elementChildren = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => typeof c !== 'string');

/** Child elements in the DAV: namespace; others are extensions to ignore (RFC 4918 §17). */
const davChildren = (el: XmlElement): XmlElement[] => elementChildren(el).filter((c) => c.name.ns === DAV_NS);

const ownLang = (el: XmlElement): string | undefined => el.attrs.find((a) => a.name.ns === XML_NS && a.name.local === 'lang')?.value;

/** The names of the child elements of a DAV:prop or DAV:include, first occurrence kept. */
function propNames(el: XmlElement): XmlName[] {
  const seen = new Set<string>();
  const names: XmlName[] = [];
  for (const c of elementChildren(el)) {
    const key = xmlNameKey(c.name);
    if (!seen.has(key)) {
      seen.add(key);
      names.push(c.name);
    }
  }
  return names;
}
