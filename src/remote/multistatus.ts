// A streaming parser of WebDAV 207 Multi-Status bodies (RFC 4918 §13, §14.16): yields one
// DAV:response at a time as the bytes arrive, so listing a folder of a million entries never holds
// the whole document. Namespace-aware (saxes), no DTDs, property values kept as element trees.
import { SaxesParser } from 'saxes';
import { FsError } from '../core/errors.js';

export const DAV_NS = 'DAV:';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** A parsed element: expanded name, attributes (namespace declarations dropped), content in order. */
export interface XmlNode {
  ns: string;
  local: string;
  attrs: { ns: string; local: string; value: string }[];
  children: (XmlNode | string)[];
}

/** One DAV:propstat: the properties that share a status (200 found, 404 missing, 403 refused…). */
export interface PropStat {
  status: number;
  props: XmlNode[];
}

/** One DAV:response: its resource, a status when the whole resource failed, its propstats. */
export interface DavResponse {
  href: string;
  status: number | null;
  propstats: PropStat[];
}

/** Deepest nesting accepted; real property values stay far below it. */
const MAX_DEPTH = 64;

interface Frame {
  ns: string;
  local: string;
  /** Set inside a property: the element being built. */
  node?: XmlNode;
  /** Set for DAV:href and DAV:status: their text. */
  text?: string;
}

/** Status code of a `HTTP/1.1 200 OK` line (0 when unreadable). */
export function statusOfLine(line: string): number {
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/i.exec(line);
  return m ? Number(m[1]) : 0;
}

/** Parses a multistatus body, yielding each DAV:response once its end tag has arrived. */
export async function* parseMultistatus(body: AsyncIterable<Uint8Array>): AsyncGenerator<DavResponse> {
  const ready: DavResponse[] = [];
  const parser = multistatusParser((r) => ready.push(r));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const feed = (text: string, end: boolean) => {
    try {
      parser.write(text);
      if (end) parser.close();
    } catch (err) {
      if (err instanceof FsError) throw err;
      throw new FsError('EIO', `malformed multistatus from the server: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`);
    }
  };
  for await (const chunk of body) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new FsError('EIO', 'multistatus from the server is not valid UTF-8');
    }
    feed(text, false);
    while (ready.length) yield ready.shift()!;
  }
  feed(decoder.decode(), true);
  while (ready.length) yield ready.shift()!;
}

/** The 200-status properties of a response, by Clark name `{ns}local`. */
export function foundProps(r: DavResponse): Map<string, XmlNode> {
  const out = new Map<string, XmlNode>();
  for (const ps of r.propstats) {
    if (ps.status < 200 || ps.status > 299) continue;
    for (const p of ps.props) out.set(`{${p.ns}}${p.local}`, p);
  }
  return out;
}

/** Concatenated text content of an element and its descendants. */
export function textOf(node: XmlNode): string {
  return node.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

function multistatusParser(emit: (r: DavResponse) => void): SaxesParser<{ xmlns: true }> {
  const parser = new SaxesParser<{ xmlns: true }>({ xmlns: true });
  const stack: Frame[] = [];
  let response: DavResponse | undefined;
  let propstat: PropStat | undefined;
  const isDav = (f: { ns: string; local: string } | undefined, local: string) => f?.ns === DAV_NS && f.local === local;

  parser.on('error', (err) => {
    throw err;
  });
  // No DTD means no entity declarations: nothing to expand, nothing external to fetch (XXE).
  parser.on('doctype', () => {
    throw new FsError('EIO', 'multistatus from the server has a DOCTYPE');
  });
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_DEPTH) throw new FsError('EIO', `multistatus nested deeper than ${MAX_DEPTH} elements`);
    const frame: Frame = { ns: tag.uri, local: tag.local };
    const parent = stack.at(-1);
    const depth = stack.length;
    if (depth === 0 && !isDav(frame, 'multistatus')) throw new FsError('EIO', `expected DAV:multistatus, got {${tag.uri}}${tag.local}`);
    if (parent?.node) {
      frame.node = element(tag);
      parent.node.children.push(frame.node);
    } else if (depth === 1 && isDav(frame, 'response')) {
      response = { href: '', status: null, propstats: [] };
    } else if (depth === 2 && response && isDav(frame, 'propstat')) {
      propstat = { status: 0, props: [] };
    } else if ((depth === 2 || depth === 3) && (isDav(frame, 'href') || isDav(frame, 'status'))) {
      frame.text = '';
    } else if (depth === 4 && propstat && isDav(parent, 'prop')) {
      frame.node = element(tag);
      propstat.props.push(frame.node);
    }
    stack.push(frame);
  });
  const onText = (t: string) => {
    const top = stack.at(-1);
    if (top?.node) {
      const kids = top.node.children;
      const last = kids.length - 1;
      if (typeof kids[last] === 'string') kids[last] += t;
      else kids.push(t);
    } else if (top?.text !== undefined) top.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    const frame = stack.pop()!;
    const depth = stack.length;
    if (frame.text !== undefined) {
      const owner = stack.at(-1);
      if (response && isDav(owner, 'response')) {
        if (frame.local === 'href' && response.href === '') response.href = frame.text.trim();
        else if (frame.local === 'status') response.status = statusOfLine(frame.text);
      } else if (propstat && isDav(owner, 'propstat') && frame.local === 'status') {
        propstat.status = statusOfLine(frame.text);
      }
    } else if (depth === 2 && propstat && isDav(frame, 'propstat')) {
      response?.propstats.push(propstat);
      propstat = undefined;
    } else if (depth === 1 && response && isDav(frame, 'response')) {
      emit(response);
      response = undefined;
    }
  });
  return parser;
}

function element(tag: { uri: string; local: string; attributes: Record<string, { uri: string; local: string; value: string }> }): XmlNode {
  const attrs: XmlNode['attrs'] = [];
  for (const a of Object.values(tag.attributes)) {
    // `xmlns` and `xmlns:p` are declarations, not attributes; the serializer writes its own.
    if (a.uri !== XMLNS_NS) attrs.push({ ns: a.uri, local: a.local, value: a.value });
  }
  return { ns: tag.uri, local: tag.local, attrs, children: [] };
}
