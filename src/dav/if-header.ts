// The If request header (RFC 4918 §10.4): parsing its full grammar, evaluating it against the
// state of the resources it names, and listing the lock tokens it submits.
//
// Grammar (§10.4.2), with implied whitespace between tokens as in RFC 2616:
//   If = "If" ":" ( 1*No-tag-list | 1*Tagged-list )
//   No-tag-list = List
//   Tagged-list = Resource-Tag 1*List
//   List = "(" 1*Condition ")"
//   Condition = ["Not"] (State-token | "[" entity-tag "]")
//   State-token = Coded-URL            ; "<" absolute-URI ">"
//   Resource-Tag = "<" Simple-ref ">"
// A `<…>` outside a list is a Resource-Tag, inside one a state token. Tagged and untagged lists
// may not be mixed (§10.4.2); a header that does is malformed.

/** Throws for a header that does not follow the grammar: the front answers 400. */
export class IfHeaderError extends Error {
  constructor(message: string) {
    super(`malformed If header: ${message}`);
    this.name = 'IfHeaderError';
  }
}

export interface IfCondition {
  not: boolean;
  kind: 'token' | 'etag';
  /** The state token without its angle brackets, or the entity tag as given (quotes and W/ kept). */
  value: string;
}

export interface IfList {
  /** The Resource-Tag's URL as sent (absolute URL or path), or null for an untagged list (the Request-URI). */
  resource: string | null;
  /** All must hold (§10.4.3: a List is a conjunction). */
  conditions: IfCondition[];
}

export interface IfHeader {
  /** Any may hold (§10.4.3: the header is a disjunction of its lists). */
  lists: IfList[];
}

/** What evaluation needs to know of the resource a list names. */
export interface IfResource {
  path: string;
  /** Its current ETag, quoted or bare; null when the URL is unmapped or has none (§10.4.4). */
  etag: string | null;
  /** Tokens of the live locks covering it (§10.4.4: a lock token matches anywhere in the lock's scope). */
  tokens: string[];
}

/** Maps a list's resource (null: the Request-URI) to its state. Called at most once per resource. */
export type IfResolver = (resource: string | null) => IfResource | Promise<IfResource>;

/** A state token no lock ever has: `(<DAV:no-lock>)` is always false, `(Not <DAV:no-lock>)` always true (§10.4.8). */
export const NO_LOCK = 'DAV:no-lock';

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

export function parseIf(header: string): IfHeader {
  return new IfParser(header).parse();
}

class IfParser {
  private pos = 0;
  constructor(private readonly s: string) {}

  parse(): IfHeader {
    const lists: IfList[] = [];
    let tagged: boolean | undefined;
    let resource: string | null = null;
    let listsAfterTag = 0;
    this.skipSpace();
    if (this.done()) throw new IfHeaderError('empty');
    while (!this.done()) {
      const c = this.s[this.pos];
      if (c === '<') {
        if (tagged === false) throw new IfHeaderError('tagged and untagged lists mixed');
        if (tagged && listsAfterTag === 0) throw new IfHeaderError('a resource tag without a list');
        tagged = true;
        resource = this.codedUrl('resource tag');
        listsAfterTag = 0;
      } else if (c === '(') {
        tagged ??= false;
        lists.push({ resource: tagged ? resource : null, conditions: this.list() });
        listsAfterTag++;
      } else {
        throw new IfHeaderError(`unexpected "${c}" at ${this.pos}`);
      }
      this.skipSpace();
    }
    if (tagged && listsAfterTag === 0) throw new IfHeaderError('a resource tag without a list');
    return { lists };
  }

  /** List = "(" 1*Condition ")" */
  private list(): IfCondition[] {
    this.pos++; // "("
    const conditions: IfCondition[] = [];
    for (;;) {
      this.skipSpace();
      if (this.done()) throw new IfHeaderError('unclosed list');
      if (this.s[this.pos] === ')') {
        this.pos++;
        if (conditions.length === 0) throw new IfHeaderError('empty list');
        return conditions;
      }
      let not = false;
      // "Not" is a literal, so case-insensitive in HTTP's grammar (RFC 2616 §2.1).
      if (this.s.slice(this.pos, this.pos + 3).toLowerCase() === 'not') {
        not = true;
        this.pos += 3;
        this.skipSpace();
      }
      const c = this.s[this.pos];
      if (c === '<') conditions.push({ not, kind: 'token', value: this.codedUrl('state token') });
      else if (c === '[') conditions.push({ not, kind: 'etag', value: this.entityTag() });
      else throw new IfHeaderError(c === undefined ? 'unclosed list' : `unexpected "${c}" in a list at ${this.pos}`);
    }
  }

  /**
   * "<" … ">": a Coded-URL or a Resource-Tag. The RFC allows no whitespace inside; we trim it
   * and accept inner spaces (an unencoded path), since the closing ">" is unambiguous.
   */
  private codedUrl(what: string): string {
    const end = this.s.indexOf('>', this.pos + 1);
    if (end < 0) throw new IfHeaderError(`unclosed ${what}`);
    const value = this.s.slice(this.pos + 1, end).trim();
    if (value === '' || value.includes('<')) throw new IfHeaderError(`bad ${what}`);
    this.pos = end + 1;
    return value;
  }

  /**
   * "[" entity-tag "]", entity-tag = [ "W/" ] quoted-string (RFC 2616 §3.11). The quoted string
   * may hold "]", ")" or escaped quotes, so it is scanned, not split. Tolerated: whitespace inside
   * the brackets, and a bare unquoted tag (kept as given).
   */
  private entityTag(): string {
    this.pos++; // "["
    this.skipSpace();
    const start = this.pos;
    if (this.s.slice(this.pos, this.pos + 2).toUpperCase() === 'W/') this.pos += 2;
    if (this.s[this.pos] === '"') {
      this.pos++;
      for (;;) {
        const c = this.s[this.pos];
        if (c === undefined) throw new IfHeaderError('unclosed entity tag');
        this.pos += c === '\\' ? 2 : 1;
        if (c === '"') break;
      }
    } else {
      while (!this.done() && this.s[this.pos] !== ']' && !isSpace(this.s[this.pos])) this.pos++;
    }
    const value = this.s.slice(start, this.pos);
    this.skipSpace();
    if (this.s[this.pos] !== ']') throw new IfHeaderError('entity tag not closed by "]"');
    if (value === '' || value.toUpperCase() === 'W/') throw new IfHeaderError('empty entity tag');
    this.pos++;
    return value;
  }

  private skipSpace(): void {
    while (isSpace(this.s[this.pos])) this.pos++;
  }

  private done(): boolean {
    return this.pos >= this.s.length;
  }
}

/**
 * Evaluates the header (§10.4.3): a condition matches per §10.4.4 and `Not` inverts it; a list
 * holds when all its conditions do; and "the whole If header evaluates to true if and only if at
 * least one of the No-tag-list or Tagged-list productions evaluates to true". Tagged lists are
 * evaluated against their own resource — also when that is not a resource the method touches —
 * and lists naming the same resource are simply more alternatives. False means 412.
 */
export async function evaluateIf(h: IfHeader, resolve: IfResolver): Promise<boolean> {
  const seen = new Map<string | null, Promise<IfResource>>();
  const state = (resource: string | null): Promise<IfResource> => {
    let p = seen.get(resource);
    if (!p) {
      p = Promise.resolve(resolve(resource));
      seen.set(resource, p);
    }
    return p;
  };
  for (const list of h.lists) {
    const r = await state(list.resource);
    if (list.conditions.every((c) => conditionMatches(c, r) !== c.not)) return true;
  }
  return false;
}

/** §10.4.4: a token matches any lock covering the resource; an unmapped URL has no ETag and no lock. */
function conditionMatches(c: IfCondition, r: IfResource): boolean {
  if (c.kind === 'token') return r.tokens.includes(c.value);
  return r.etag !== null && strongEtagMatch(c.value, r.etag);
}

/**
 * Strong comparison (RFC 7232 §2.3.2; §10.4.4 lets the server choose strong or weak): both tags
 * strong and their opaque parts equal. Our ETags are strong, so `W/"…"` never matches. Quotes are
 * optional on either side so that the resolver may give the ETag bare.
 */
export function strongEtagMatch(a: string, b: string): boolean {
  if (/^W\//i.test(a) || /^W\//i.test(b)) return false;
  return unquote(a) === unquote(b);
}

function unquote(tag: string): string {
  return tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"') ? tag.slice(1, -1) : tag;
}

/**
 * The lock tokens the request submits, for the lock check (§7.1, §6.4): every token in the
 * header, whatever list it sits in, except those under `Not`, and except DAV:no-lock.
 *
 * RFC readings:
 *  - §10.4.1: "a state token counts as being submitted independently of whether the server
 *    actually has evaluated the state list it appears in, and also independently of whether or
 *    not the condition it expressed was found to be true" — so a token in a list that is false,
 *    or that names another resource, still counts. Litmus `cond_put_corrupt_token` relies on the
 *    converse: `(<bad-token>) (Not <DAV:no-lock>)` is true, yet submits no valid token: 423.
 *  - `Not <token>` we do not count, departing from the letter of §10.4.1: such a condition says
 *    the resource is *not* in that lock's state, so the client is not claiming the lock. Apache
 *    mod_dav likewise counts only positive token conditions.
 */
export function submittedTokens(h: IfHeader): string[] {
  const out = new Set<string>();
  for (const list of h.lists) {
    for (const c of list.conditions) if (c.kind === 'token' && !c.not && c.value !== NO_LOCK) out.add(c.value);
  }
  return [...out];
}
