// The WebDAV XML layer: request bodies from RFC 4918's examples and litmus, namespace variants, round trips, hostile input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import {
  DavXmlError,
  MAX_XML_BYTES,
  MAX_XML_DEPTH,
  parseLockinfo,
  parsePropfind,
  parseProppatch,
  parseXmlDocument,
  type LockInfo,
  type PropfindRequest,
  type ProppatchOp,
} from '../../src/dav/xml/parse-request.js';
import {
  MULTISTATUS_CLOSE,
  MULTISTATUS_OPEN,
  emptyPropElement,
  escapeXmlAttr,
  escapeXmlText,
  propElement,
  serializeElement,
  type XmlElement,
  type XmlNode,
} from '../../src/dav/xml/write-xml.js';
import { DAV_NS, XML_NS, davName, isDavName, parseXmlNameKey, sameXmlName, xmlNameKey, type XmlName } from '../../src/dav/xml/xml-name.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const n = (ns: string, local: string): XmlName => ({ ns, local });
const BOX = 'http://ns.example.com/boxschema/';
const LITMUS = 'http://example.com/neon/litmus/';

/** An independent reading of XML (saxes directly, nothing of ours): expanded names, attributes, text. */
interface Canon {
  name: string;
  attrs: [string, string][];
  children: (Canon | string)[];
}
function canon(xml: string): Canon {
  const parser = new SaxesParser<{ xmlns: true }>({ xmlns: true });
  const stack: Canon[] = [];
  let root: Canon | undefined;
  parser.on('opentag', (t) => {
    const attrs = Object.values(t.attributes)
      .filter((a) => a.uri !== 'http://www.w3.org/2000/xmlns/')
      .map((a): [string, string] => [`{${a.uri}}${a.local}`, a.value])
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const el: Canon = { name: `{${t.uri}}${t.local}`, attrs, children: [] };
    stack.at(-1)?.children.push(el);
    stack.push(el);
  });
  parser.on('closetag', () => {
    const el = stack.pop();
    if (stack.length === 0) root = el;
  });
  const text = (s: string) => {
    const top = stack.at(-1);
    if (!top) return;
    const last = top.children.at(-1);
    if (typeof last === 'string') top.children[top.children.length - 1] = last + s;
    else top.children.push(s);
  };
  parser.on('text', text);
  parser.on('cdata', text);
  parser.write(xml).close();
  assert.ok(root);
  return root;
}
/** The element reached by following element children with these expanded names from the root. */
function descend(c: Canon, ...path: string[]): Canon {
  let at = c;
  for (const name of path) {
    const next = at.children.find((x): x is Canon => typeof x !== 'string' && x.name === name);
    assert.ok(next, `no ${name} under ${at.name}`);
    at = next;
  }
  return at;
}
const elementKids = (c: Canon) => c.children.filter((x): x is Canon => typeof x !== 'string');
const withoutAttr = (c: Canon, name: string): Canon => ({ ...c, attrs: c.attrs.filter(([k]) => k !== name) });
const D = (local: string) => `{DAV:}${local}`;

/** Assert that `f` throws a DavXmlError (and nothing else). */
function rejects(f: () => unknown, why?: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof DavXmlError, `expected DavXmlError, got ${String(err)}`);
    if (why) assert.match(err.message, why);
    return true;
  });
}

describe('xml-name', () => {
  it('keys in Clark notation and back, even when the namespace holds "}"', () => {
    for (const name of [n(DAV_NS, 'getetag'), n('', 'nonamespace'), n('urn:x}y', 'z'), n(BOX, 'DingALing')]) {
      const key = xmlNameKey(name);
      assert.deepEqual(parseXmlNameKey(key), name);
    }
    assert.equal(xmlNameKey(davName('prop')), '{DAV:}prop');
    assert.equal(parseXmlNameKey('getetag'), undefined);
    assert.equal(parseXmlNameKey('{DAV:}'), undefined);
  });
  it('compares expanded names, not prefixes', () => {
    assert.ok(sameXmlName(n('urn:a', 'x'), { ns: 'urn:a', local: 'x' }));
    assert.ok(!sameXmlName(n('urn:a', 'x'), n('', 'x')));
    assert.ok(isDavName(davName('owner'), 'owner'));
    assert.ok(!isDavName(n('urn:a', 'owner'), 'owner'));
  });
});

describe('parsePropfind', () => {
  const cases: [string, string, PropfindRequest][] = [
    ['empty body means allprop (RFC 4918 §9.1)', '', { kind: 'allprop', include: [] }],
    ['whitespace-only body means allprop', ' \r\n\t', { kind: 'allprop', include: [] }],
    [
      'RFC 4918 §9.1.3 named properties',
      `<?xml version="1.0" encoding="utf-8" ?>
<D:propfind xmlns:D="DAV:">
  <D:prop xmlns:R="${BOX}">
    <R:bigbox/>
    <R:author/>
    <R:DingALing/>
    <R:Random/>
  </D:prop>
</D:propfind>`,
      { kind: 'prop', props: ['bigbox', 'author', 'DingALing', 'Random'].map((l) => n(BOX, l)) },
    ],
    ['RFC 4918 §9.1.4 propname', `<?xml version="1.0" encoding="utf-8" ?>\n<propfind xmlns="DAV:">\n  <propname/>\n</propfind>`, { kind: 'propname' }],
    ['RFC 4918 §9.1.5 allprop', `<?xml version="1.0" encoding="utf-8" ?>\n<D:propfind xmlns:D="DAV:">\n  <D:allprop/>\n</D:propfind>`, { kind: 'allprop', include: [] }],
    [
      'RFC 4918 §9.1.6 allprop with include',
      `<?xml version="1.0" encoding="utf-8" ?>
<D:propfind xmlns:D="DAV:">
  <D:allprop/>
  <D:include>
    <D:supported-live-property-set/>
    <D:supported-report-set/>
  </D:include>
</D:propfind>`,
      { kind: 'allprop', include: [davName('supported-live-property-set'), davName('supported-report-set')] },
    ],
    ['Z: prefix for DAV:', `<Z:propfind xmlns:Z="DAV:"><Z:prop><Z:getetag/></Z:prop></Z:propfind>`, { kind: 'prop', props: [davName('getetag')] }],
    [
      'default namespace, foreign property',
      `<propfind xmlns="DAV:"><prop><getetag/><x:foo xmlns:x="urn:x"/><bar xmlns="urn:y"/></prop></propfind>`,
      { kind: 'prop', props: [davName('getetag'), n('urn:x', 'foo'), n('urn:y', 'bar')] },
    ],
    [
      'litmus propnullns: property in no namespace',
      `<?xml version="1.0" encoding="utf-8" ?><propfind xmlns='DAV:'><prop><nonamespace xmlns=''/></prop></propfind>`,
      { kind: 'prop', props: [n('', 'nonamespace')] },
    ],
    [
      'prefix redeclared in a nested element',
      `<a:propfind xmlns:a="DAV:"><a:prop><a:getetag xmlns:a="urn:other"/><a:getetag/></a:prop></a:propfind>`,
      { kind: 'prop', props: [n('urn:other', 'getetag'), davName('getetag')] },
    ],
    ['litmus "extended <propfind>": unknown elements ignored (§17)', `<?xml version="1.0" encoding="utf-8" ?><propfind xmlns="DAV:"><foobar/><allprop/></propfind>`, { kind: 'allprop', include: [] }],
    ['foreign elements and xml:lang ignored', `<D:propfind xmlns:D="DAV:" xml:lang="en"><x:hint xmlns:x="urn:x"><D:prop/></x:hint><D:propname/></D:propfind>`, { kind: 'propname' }],
    ['repeated property named once', `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getetag/></D:prop></D:propfind>`, { kind: 'prop', props: [davName('getetag')] }],
    ['comments, PIs and CDATA whitespace around', `<!-- c --><?pi x?><D:propfind xmlns:D="DAV:"><!-- c --><![CDATA[ ]]><D:prop><?pi?><D:displayname/></D:prop></D:propfind>\n`, { kind: 'prop', props: [davName('displayname')] }],
    ['leading newline before the XML declaration tolerated', `\n<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`, { kind: 'allprop', include: [] }],
    ['empty DAV:prop', `<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>`, { kind: 'prop', props: [] }],
  ];
  for (const [title, body, want] of cases) it(title, () => assert.deepEqual(parsePropfind(b(body)), want));

  it('decodes UTF-16 with a byte order mark and a declared ISO-8859-1 body', () => {
    const xml = `<D:propfind xmlns:D="DAV:"><D:prop><x:größe xmlns:x="urn:x"/></D:prop></D:propfind>`;
    const want = { kind: 'prop', props: [n('urn:x', 'größe')] };
    assert.deepEqual(parsePropfind(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')])), want);
    assert.deepEqual(parsePropfind(Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${xml}`, 'latin1')), want);
    assert.deepEqual(parsePropfind(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b(xml)])), want);
  });
});

describe('parseProppatch', () => {
  it('RFC 4918 §9.2.2: set then remove, value kept with its whitespace and namespace', () => {
    const Z = 'http://ns.example.com/standards/z39.50/';
    const ops = parseProppatch(
      b(`<?xml version="1.0" encoding="utf-8" ?>
<D:propertyupdate xmlns:D="DAV:"
        xmlns:Z="${Z}">
  <D:set>
    <D:prop>
      <Z:Authors>
        <Z:Author>Jim Whitehead</Z:Author>
        <Z:Author>Roy Fielding</Z:Author>
      </Z:Authors>
    </D:prop>
  </D:set>
  <D:remove>
    <D:prop><Z:Copyright-Owner/></D:prop>
  </D:remove>
</D:propertyupdate>`),
    );
    assert.deepEqual(ops, [
      {
        op: 'set',
        name: n(Z, 'Authors'),
        xml:
          `<ns0:Authors xmlns:ns0="${Z}">\n        <ns0:Author>Jim Whitehead</ns0:Author>\n` +
          `        <ns0:Author>Roy Fielding</ns0:Author>\n      </ns0:Authors>`,
      },
      { op: 'remove', name: n(Z, 'Copyright-Owner') },
    ]);
  });

  const litmus: [string, string, ProppatchOp[]][] = [
    [
      'litmus propvalnspace: the value declares a namespace',
      `<?xml version="1.0" encoding="utf-8" ?><propertyupdate xmlns='DAV:'><set><prop><t:valnspace xmlns:t='${LITMUS}'><foo xmlns='http://bar'/></t:valnspace></prop></set></propertyupdate>`,
      [{ op: 'set', name: n(LITMUS, 'valnspace'), xml: `<ns0:valnspace xmlns:ns0="${LITMUS}" xmlns:ns1="http://bar"><ns1:foo/></ns0:valnspace>` }],
    ],
    [
      'litmus prophighunicode: a character outside the BMP',
      `<?xml version="1.0" encoding="utf-8" ?><propertyupdate xmlns='DAV:'><set><prop><high-unicode xmlns='${LITMUS}'>&#65536;</high-unicode></prop></set></propertyupdate>`,
      [{ op: 'set', name: n(LITMUS, 'high-unicode'), xml: `<ns0:high-unicode xmlns:ns0="${LITMUS}">\u{10000}</ns0:high-unicode>` }],
    ],
    [
      'litmus propnullns: a property in no namespace',
      `<?xml version="1.0" encoding="utf-8" ?><propertyupdate xmlns="DAV:"><set><prop><nonamespace xmlns="">randomvalue</nonamespace></prop></set></propertyupdate>`,
      [{ op: 'set', name: n('', 'nonamespace'), xml: `<nonamespace xmlns="">randomvalue</nonamespace>` }],
    ],
    [
      'litmus propsetremove: remove, set, set in document order (RFC 4918 §9.2)',
      `<?xml version="1.0" encoding="utf-8" ?><propertyupdate xmlns='DAV:'><remove><prop><removeset xmlns='${LITMUS}'/></prop></remove><set><prop><removeset xmlns='${LITMUS}'>x</removeset></prop></set><set><prop><removeset xmlns='${LITMUS}'>y</removeset></prop></set></propertyupdate>`,
      [
        { op: 'remove', name: n(LITMUS, 'removeset') },
        { op: 'set', name: n(LITMUS, 'removeset'), xml: `<ns0:removeset xmlns:ns0="${LITMUS}">x</ns0:removeset>` },
        { op: 'set', name: n(LITMUS, 'removeset'), xml: `<ns0:removeset xmlns:ns0="${LITMUS}">y</ns0:removeset>` },
      ],
    ],
    [
      'several properties in one prop, a DAV: one written with D:',
      `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>a &amp; b</D:displayname><x:e xmlns:x="urn:x"/></D:prop></D:set></D:propertyupdate>`,
      [
        { op: 'set', name: davName('displayname'), xml: `<D:displayname xmlns:D="DAV:">a &amp; b</D:displayname>` },
        { op: 'set', name: n('urn:x', 'e'), xml: `<ns0:e xmlns:ns0="urn:x"/>` },
      ],
    ],
    [
      'no-namespace element inside a default-namespaced value gets xmlns=""',
      `<propertyupdate xmlns="DAV:"><set><prop><v xmlns="urn:v"><w xmlns="">t</w></v></prop></set></propertyupdate>`,
      [{ op: 'set', name: n('urn:v', 'v'), xml: `<ns0:v xmlns:ns0="urn:v" xmlns=""><w>t</w></ns0:v>` }],
    ],
    [
      'xml:lang on the property element is kept; inherited xml:lang is written on it (§4.3)',
      `<D:propertyupdate xmlns:D="DAV:" xml:lang="en"><D:set><D:prop><x:a xmlns:x="urn:x">hi</x:a><x:b xmlns:x="urn:x" xml:lang="fr">salut</x:b></D:prop></D:set><D:set xml:lang="de"><D:prop><x:c xmlns:x="urn:x">hallo</x:c></D:prop></D:set></D:propertyupdate>`,
      [
        { op: 'set', name: n('urn:x', 'a'), xml: `<ns0:a xmlns:ns0="urn:x" xml:lang="en">hi</ns0:a>` },
        { op: 'set', name: n('urn:x', 'b'), xml: `<ns0:b xmlns:ns0="urn:x" xml:lang="fr">salut</ns0:b>` },
        { op: 'set', name: n('urn:x', 'c'), xml: `<ns0:c xmlns:ns0="urn:x" xml:lang="de">hallo</ns0:c>` },
      ],
    ],
    [
      'attributes: plain, namespaced and xml:space; special characters escaped',
      `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x" xmlns:y="urn:y" k="1 &lt; 2 &quot;q&quot;" y:k="&#9;&#10;" xml:space="preserve">&lt;tag&gt; &amp; ]]&gt; &#13;</x:a></D:prop></D:set></D:propertyupdate>`,
      [
        {
          op: 'set',
          name: n('urn:x', 'a'),
          xml: `<ns0:a xmlns:ns0="urn:x" xmlns:ns1="urn:y" k="1 &lt; 2 &quot;q&quot;" ns1:k="&#x9;&#xA;" xml:space="preserve">&lt;tag&gt; &amp; ]]&gt; &#xD;</ns0:a>`,
        },
      ],
    ],
  ];
  for (const [title, body, want] of litmus) it(title, () => assert.deepEqual(parseProppatch(b(body)), want));

  // Every `xml` must read back, alone and pasted anywhere, as the same names, attributes and text.
  const roundTrips: [string, string, string | undefined][] = [
    [
      'RFC 4918 §4.3 example (comment, CDATA, nested namespace, inherited xml:lang)',
      `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop xml:lang="en" xmlns:D="DAV:">
  <x:author xmlns:x='http://example.com/ns'>
    <x:name>Jane Doe</x:name>
    <!-- Jane's contact info -->
    <x:uri type='email'
           added='2005-11-26'>mailto:jane.doe@example.com</x:uri>
    <x:uri type='web'
           added='2005-11-27'>http://www.example.com</x:uri>
    <x:notes xmlns:h='http://www.w3.org/1999/xhtml'>
      Jane has been working way <h:em>too</h:em> long on the
      long-awaited revision of <![CDATA[<RFC2518>]]>.
    </x:notes>
  </x:author>
</D:prop></D:set></D:propertyupdate>`,
      'en',
    ],
    [
      'prefixes redeclared and default namespace switched and cleared in nested elements',
      `<p:propertyupdate xmlns:p="DAV:"><p:set><p:prop><p:v xmlns:p="urn:1" xmlns="urn:d"><p:w xmlns:p="urn:2"><e/><e xmlns=""/><p:x p:a="1"/></p:w><e/></p:v></p:prop></p:set></p:propertyupdate>`,
      undefined,
    ],
    [
      'DAV: elements inside a foreign property, high and low unicode, CRLF',
      `<propertyupdate xmlns="DAV:"><set><prop><v xmlns="urn:v"><href xmlns="DAV:">/a%20b</href>é€\u{1F600}&#x10FFFF;&#13;&#10;</v></prop></set></propertyupdate>`,
      undefined,
    ],
  ];
  for (const [title, body, lang] of roundTrips) {
    it(`round trip: ${title}`, () => {
      const ops = parseProppatch(b(body));
      const original = elementKids(descend(canon(body), D('set'), D('prop')));
      assert.equal(ops.length, original.length);
      ops.forEach((op, i) => {
        assert.equal(op.op, 'set');
        if (op.op !== 'set') return;
        const want = original[i]!;
        assert.equal(`{${op.name.ns}}${op.name.local}`, want.name);
        const got = canon(op.xml);
        if (lang !== undefined) assert.deepEqual(got.attrs.find(([k]) => k === `{${XML_NS}}lang`), [`{${XML_NS}}lang`, lang]);
        assert.deepEqual(withoutAttr(got, `{${XML_NS}}lang`), want);
        // Pasted under a hostile default namespace and a clashing prefix, as in a PROPFIND response.
        const pasted = canon(`<r xmlns="urn:evil" xmlns:ns0="urn:clash" xmlns:D="urn:notdav">${op.xml}</r>`);
        assert.deepEqual(elementKids(pasted)[0], got);
        // Idempotent: re-reading the stored form gives the same stored form.
        const again = parseProppatch(b(`<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>${op.xml}</D:prop></D:set></D:propertyupdate>`));
        assert.deepEqual(again, [op]);
      });
    });
  }

  it('round trip of random property values (fast-check)', () => {
    const nsA = fc.constantFrom('', DAV_NS, 'urn:a', 'urn:b', 'http://example.com/x?y="z"&w');
    const local = fc.constantFrom('a', 'b', 'c-d', 'é', 'x.y');
    const text = fc
      .string({ unit: 'binary', maxLength: 6 })
      .map((s) => s.replace(/[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, ''))
      .filter((s) => s !== '');
    const attr = fc.record({ name: fc.record({ ns: fc.constantFrom('', 'urn:a', 'urn:c', XML_NS), local }), value: text });
    const { tree } = fc.letrec<{ tree: XmlElement }>((tie) => ({
      tree: fc.record({
        name: fc.record({ ns: nsA, local }),
        attrs: fc.uniqueArray(attr, { maxLength: 3, selector: (a) => `{${a.name.ns}}${a.name.local}` }),
        children: fc.array(fc.oneof({ depthSize: 'small' }, text, tie('tree')), { maxLength: 4 }),
      }),
    }));
    const toCanon = (el: XmlElement): Canon => {
      const children: (Canon | string)[] = [];
      for (const c of el.children as XmlNode[]) {
        const last = children.at(-1);
        if (typeof c !== 'string') children.push(toCanon(c));
        else if (typeof last === 'string') children[children.length - 1] = last + c;
        else children.push(c);
      }
      const attrs = el.attrs.map((a): [string, string] => [`{${a.name.ns}}${a.name.local}`, a.value]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      return { name: `{${el.name.ns}}${el.name.local}`, attrs, children };
    };
    fc.assert(
      fc.property(tree, (el) => {
        const xml = serializeElement(el);
        assert.deepEqual(canon(xml), toCanon(el));
        const ops = parseProppatch(b(`<propertyupdate xmlns="DAV:"><set><prop>${xml}</prop></set></propertyupdate>`));
        assert.deepEqual(ops, [{ op: 'set', name: { ns: el.name.ns, local: el.name.local }, xml }]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseLockinfo', () => {
  const cases: [string, string, LockInfo | null][] = [
    ['empty body is a refresh (RFC 4918 §9.10.2)', '', null],
    ['whitespace-only body is a refresh', '\r\n', null],
    [
      'RFC 4918 §9.10.7 exclusive write lock with an owner',
      `<?xml version="1.0" encoding="utf-8" ?>
<D:lockinfo xmlns:D='DAV:'>
  <D:lockscope><D:exclusive/></D:lockscope>
  <D:locktype><D:write/></D:locktype>
  <D:owner>
    <D:href>http://example.org/~ejw/contact.html</D:href>
  </D:owner>
</D:lockinfo>`,
      { scope: 'exclusive', ownerXml: `<D:owner xmlns:D="DAV:">\n    <D:href>http://example.org/~ejw/contact.html</D:href>\n  </D:owner>` },
    ],
    ['shared, no owner, default namespace', `<lockinfo xmlns="DAV:"><locktype><write/></locktype><lockscope><shared/></lockscope></lockinfo>`, { scope: 'shared', ownerXml: null }],
    [
      'owner as text with a foreign element and inherited xml:lang (litmus, Windows)',
      `<Z:lockinfo xmlns:Z="DAV:" xml:lang="en"><Z:lockscope><Z:exclusive/></Z:lockscope><Z:locktype><Z:write/></Z:locktype><Z:owner>litmus &amp; co<x:who xmlns:x="urn:x"/></Z:owner><x:ext xmlns:x="urn:x"/></Z:lockinfo>`,
      { scope: 'exclusive', ownerXml: `<D:owner xmlns:D="DAV:" xmlns:ns0="urn:x" xml:lang="en">litmus &amp; co<ns0:who/></D:owner>` },
    ],
  ];
  for (const [title, body, want] of cases) it(title, () => assert.deepEqual(parseLockinfo(b(body)), want));

  it('ownerXml reads back as the same owner element', () => {
    const body = `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner xmlns="urn:o"><name>me</name><D:href>mailto:me@example.com</D:href></D:owner></D:lockinfo>`;
    const info = parseLockinfo(b(body));
    assert.ok(info?.ownerXml);
    assert.deepEqual(canon(info.ownerXml), descend(canon(body), D('owner')));
  });
});

describe('malformed and hostile bodies are DavXmlError, never anything else', () => {
  const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<D:propfind xmlns:D="DAV:"><D:prop><x:a xmlns:x="urn:x">&lol4;</x:a></D:prop></D:propfind>`;
  const xxe = `<?xml version="1.0"?><!DOCTYPE D:propertyupdate [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">&x;</x:a></D:prop></D:set></D:propertyupdate>`;
  const deep = (depth: number) => `<D:propfind xmlns:D="DAV:"><D:prop>${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}</D:prop></D:propfind>`;
  const parsers = { parsePropfind, parseProppatch, parseLockinfo };
  const cases: [string, keyof typeof parsers, string | Buffer, RegExp?][] = [
    ['unclosed tag', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:prop>`, /unclosed/],
    ['litmus propfind_invalid: not well-formed', 'parsePropfind', `<foo>`],
    ['litmus propfind_invalid2: prefix bound to the empty namespace', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>`],
    ['wrong root', 'parsePropfind', `<D:propertyupdate xmlns:D="DAV:"/>`, /root element must be DAV:propfind/],
    ['root in no namespace', 'parsePropfind', `<propfind><allprop/></propfind>`, /root element/],
    ['root in another namespace', 'parseLockinfo', `<D:lockinfo xmlns:D="urn:notdav"/>`, /root element/],
    ['billion laughs', 'parsePropfind', billionLaughs, /DOCTYPE/],
    ['XXE external entity', 'parseProppatch', xxe, /DOCTYPE/],
    ['a bare DOCTYPE', 'parseLockinfo', `<!DOCTYPE lockinfo><lockinfo xmlns="DAV:"/>`, /DOCTYPE/],
    ['undeclared entity', 'parseProppatch', `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><a>&x;</a></D:prop></D:set></D:propertyupdate>`],
    ['unbound prefix', 'parsePropfind', `<D:propfind><D:allprop/></D:propfind>`],
    ['duplicate expanded attribute', 'parseProppatch', `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><a xmlns:p="urn:p" xmlns:q="urn:p" p:x="1" q:x="2"/></D:prop></D:set></D:propertyupdate>`],
    ['two roots', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><D:propfind xmlns:D="DAV:"/>`],
    ['text after the root', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>junk`],
    ['not XML at all', 'parseProppatch', `hello`],
    ['empty PROPPATCH body', 'parseProppatch', ``],
    ['mismatched close tag', 'parseProppatch', `<D:propertyupdate xmlns:D="DAV:"><D:set></D:remove></D:propertyupdate>`],
    ['control character', 'parsePropfind', `<D:propfind xmlns:D="DAV:">\u0001<D:allprop/></D:propfind>`],
    ['invalid UTF-8', 'parsePropfind', Buffer.concat([b(`<D:propfind xmlns:D="DAV:"><D:prop><a`), Buffer.from([0xc3, 0x28]), b(`/></D:prop></D:propfind>`)])],
    ['unknown encoding', 'parsePropfind', `<?xml version="1.0" encoding="x-klingon"?><D:propfind xmlns:D="DAV:"/>`],
    [`nesting deeper than ${MAX_XML_DEPTH}`, 'parsePropfind', deep(MAX_XML_DEPTH - 1), /nested/],
    ['nesting 100,000 deep', 'parsePropfind', deep(100_000), /nested/],
    ['larger than 1 MiB', 'parsePropfind', Buffer.alloc(MAX_XML_BYTES + 1, 0x20), /larger/],
    ['propfind with two choices', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:allprop/><D:prop><D:getetag/></D:prop></D:propfind>`, /exactly one/],
    ['propfind with nothing', 'parsePropfind', `<D:propfind xmlns:D="DAV:"/>`, /exactly one/],
    ['propfind with two props', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:prop/><D:prop/></D:propfind>`, /more than one/],
    ['include without allprop', 'parsePropfind', `<D:propfind xmlns:D="DAV:"><D:propname/><D:include/></D:propfind>`, /include/],
    ['propertyupdate with no instruction', 'parseProppatch', `<D:propertyupdate xmlns:D="DAV:"/>`, /no property/],
    ['set without prop', 'parseProppatch', `<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>`, /DAV:prop/],
    ['lockinfo without lockscope', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>`, /lockscope/],
    ['lockinfo without locktype', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope></D:lockinfo>`, /locktype/],
    ['locktype other than write', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:read/></D:locktype></D:lockinfo>`, /write/],
    ['lockscope both exclusive and shared', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`, /lockscope/],
    ['lockscope in the wrong namespace', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`, /lockscope/],
    ['two owners', 'parseLockinfo', `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner/><D:owner/></D:lockinfo>`, /owner/],
  ];
  for (const [title, parser, body, why] of cases) {
    it(`${parser}: ${title}`, () => rejects(() => parsers[parser](typeof body === 'string' ? b(body) : body), why));
  }

  it(`accepts nesting of exactly ${MAX_XML_DEPTH}`, () => {
    // propfind and prop are two levels, the x elements the rest
    assert.deepEqual(parsePropfind(b(deep(MAX_XML_DEPTH - 2))), { kind: 'prop', props: [n('', 'x')] });
  });

  it('every truncation of a valid body parses or is a DavXmlError', () => {
    const bodies = [
      `<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop xmlns:R="${BOX}"><R:bigbox/><!-- c --><![CDATA[x]]></D:prop></D:propfind>`,
      `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x" xml:lang="fr">é&amp;&#65536;</x:a></D:prop></D:set></D:propertyupdate>`,
      `<D:lockinfo xmlns:D='DAV:'><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>`,
    ];
    for (const body of bodies) {
      const bytes = b(body);
      for (let i = 0; i < bytes.length; i++) {
        for (const parse of Object.values(parsers)) {
          try {
            parse(bytes.subarray(0, i));
          } catch (err) {
            assert.ok(err instanceof DavXmlError, `${String(err)} at ${i} of ${body}`);
          }
        }
      }
    }
  });

  it('random bytes and random XML-ish text parse or are a DavXmlError (fast-check)', () => {
    const xmlish = fc
      .array(fc.constantFrom('<', '>', '/', '&', ';', ':', '=', '"', 'D', 'x', 'xmlns', 'xmlns:D="DAV:"', '<!DOCTYPE', '<![CDATA[', ']]>', '<?', '?>', '<!--', '-->', ' ', '&#', 'prop', 'propfind', 'allprop'), { maxLength: 40 })
      .map((parts) => b(parts.join('')));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)), xmlish), (body) => {
        for (const parse of Object.values(parsers)) {
          try {
            parse(body);
          } catch (err) {
            assert.ok(err instanceof DavXmlError, String(err));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseXmlDocument', () => {
  it('keeps expanded names, attributes without namespace declarations, and merged text', () => {
    const el = parseXmlDocument(b(`<a:r xmlns:a="urn:a" xmlns="urn:d" k="v">x<![CDATA[<y>]]>z<c/></a:r>`));
    assert.deepEqual(el, {
      name: n('urn:a', 'r'),
      attrs: [{ name: n('', 'k'), value: 'v' }],
      children: ['x<y>z', { name: n('urn:d', 'c'), attrs: [], children: [] }],
    });
  });
});

describe('write-xml', () => {
  it('escapes text and attributes', () => {
    assert.equal(escapeXmlText(`a<b>&c"d'\r\n\t`), `a&lt;b&gt;&amp;c"d'&#xD;\n\t`);
    assert.equal(escapeXmlAttr(`a<b>&c"d'\r\n\t`), `a&lt;b&gt;&amp;c&quot;d'&#xD;&#xA;&#x9;`);
    assert.equal(escapeXmlText('\u{1F600}é'), '\u{1F600}é');
  });
  it('replaces characters XML cannot carry with U+FFFD', () => {
    assert.equal(escapeXmlText('a\u0001b\uFFFEc\uD800d'), 'a\uFFFDb\uFFFDc\uFFFDd');
    assert.equal(escapeXmlAttr('\u0000'), '\uFFFD');
  });
  it('writes property elements with D: for DAV:, a local prefix otherwise, xmlns="" for no namespace', () => {
    assert.equal(propElement(davName('getetag'), '"abc"'), '<D:getetag>"abc"</D:getetag>');
    assert.equal(propElement(davName('resourcetype'), ''), '<D:resourcetype/>');
    assert.equal(propElement(n('urn:x', 'foo'), 'bar'), '<ns0:foo xmlns:ns0="urn:x">bar</ns0:foo>');
    assert.equal(propElement(n('', 'foo'), 'bar'), '<foo xmlns="">bar</foo>');
    assert.equal(emptyPropElement(davName('getetag')), '<D:getetag/>');
    assert.equal(emptyPropElement(n('urn:a"b', 'foo')), '<ns0:foo xmlns:ns0="urn:a&quot;b"/>');
    assert.equal(emptyPropElement(n('', 'foo')), '<foo xmlns=""/>');
  });
  it('a multistatus built from these pieces reads back with the right names', () => {
    const names = [davName('getetag'), n('urn:x', 'foo'), n('', 'bar')];
    const xml =
      MULTISTATUS_OPEN +
      `<D:response><D:href>${escapeXmlText('/a&b')}</D:href><D:propstat><D:prop>` +
      names.map(emptyPropElement).join('') +
      propElement(n('urn:y', 'v'), '<ns0:inner xmlns:ns0="urn:z"/>') +
      `</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>` +
      MULTISTATUS_CLOSE;
    assert.ok(MULTISTATUS_OPEN.startsWith('<?xml version="1.0" encoding="utf-8"?>\n'));
    const root = canon(xml);
    assert.equal(root.name, D('multistatus'));
    const prop = descend(root, D('response'), D('propstat'), D('prop'));
    assert.deepEqual(
      elementKids(prop).map((c) => c.name),
      ['{DAV:}getetag', '{urn:x}foo', '{}bar', '{urn:y}v'],
    );
    assert.equal(elementKids(elementKids(prop)[3]!)[0]!.name, '{urn:z}inner');
    assert.equal(descend(root, D('response'), D('href')).children[0], '/a&b');
  });
  it('serializeElement declares DAV: as D and others as ns0, ns1… in order of first use', () => {
    const el: XmlElement = {
      name: n('urn:b', 'r'),
      attrs: [{ name: n('urn:a', 'k'), value: 'v' }],
      children: [{ name: davName('href'), attrs: [], children: ['/x'] }, { name: n('', 'e'), attrs: [], children: [] }],
    };
    assert.equal(serializeElement(el), '<ns0:r xmlns:ns0="urn:b" xmlns:ns1="urn:a" xmlns:D="DAV:" xmlns="" ns1:k="v"><D:href>/x</D:href><e/></ns0:r>');
    assert.equal(serializeElement(el, 'en').includes(' xml:lang="en"'), true);
  });
});
