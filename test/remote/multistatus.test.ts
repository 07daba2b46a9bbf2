// The remote client's XML: the streaming multistatus parser (RFC 4918 examples, fed whole and byte
// by byte), dead-property serialization, and the request bodies it builds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isFsError } from '../../src/core/errors.js';
import { foundProps, parseMultistatus, statusOfLine, textOf, type DavResponse } from '../../src/remote/multistatus.js';
import { deadPropsOf, entryOf, unquoteEtag, ifMatchOf, mtimeValue } from '../../src/remote/remote-stat.js';
import { emptyElement, propElementXml, proppatchBody, serializeNode } from '../../src/remote/request-xml.js';

async function parse(xml: string, pieceSize = xml.length): Promise<DavResponse[]> {
  const bytes = Buffer.from(xml);
  async function* pieces() {
    for (let i = 0; i < bytes.length; i += pieceSize) yield bytes.subarray(i, i + pieceSize);
  }
  const out: DavResponse[] = [];
  for await (const r of parseMultistatus(pieces())) out.push(r);
  return out;
}

// RFC 4918 §9.1.3, "Retrieving Named Properties" (with the é of a name to check UTF-8 across pieces).
const RFC_9_1_3 = `<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:">
  <D:response xmlns:R="http://ns.example.com/boxschema/">
    <D:href>http://www.example.com/file-%C3%A9</D:href>
    <D:propstat>
      <D:prop>
        <R:bigbox><R:BoxType>Box type A</R:BoxType></R:bigbox>
        <R:author><R:Name>J.J. Johnson</R:Name></R:author>
      </D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
    <D:propstat>
      <D:prop><R:DingALing/><R:Random/></D:prop>
      <D:status>HTTP/1.1 403 Forbidden</D:status>
      <D:responsedescription> The user does not have access to the DingALing property. </D:responsedescription>
    </D:propstat>
  </D:response>
  <D:responsedescription> There has been an access violation error. </D:responsedescription>
</D:multistatus>`;

// RFC 4918 §9.1.5-like listing with a default namespace and a 404 response (as after a DELETE).
const LISTING = `<?xml version="1.0"?>
<multistatus xmlns="DAV:">
  <response><href>/dir/</href><propstat><prop><resourcetype><collection/></resourcetype><getlastmodified>Mon, 12 Jan 1998 09:25:56 GMT</getlastmodified></prop><status>HTTP/1.1 200 OK</status></propstat></response>
  <response><href>/dir/a%20b.txt</href><propstat><prop><resourcetype/><getcontentlength>4525</getcontentlength><getetag>"zzyzx"</getetag><getlastmodified>Mon, 12 Jan 1998 09:25:56 GMT</getlastmodified><creationdate>1997-12-01T17:42:21-08:00</creationdate><getcontenttype>text/html</getcontenttype><mode xmlns="urn:davfs-bridge:">33188</mode></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><uid xmlns="urn:davfs-bridge:"/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>
  <response><href>/dir/gone</href><status>HTTP/1.1 404 Not Found</status></response>
</multistatus>`;

describe('multistatus parser', () => {
  it('reads RFC 4918 §9.1.3 into responses and propstats, whole or byte by byte', async () => {
    for (const size of [Infinity, 1, 7]) {
      const [r, ...rest] = await parse(RFC_9_1_3, size);
      assert.equal(rest.length, 0);
      assert.equal(r!.href, 'http://www.example.com/file-%C3%A9');
      assert.equal(r!.status, null);
      assert.deepEqual(
        r!.propstats.map((ps) => [ps.status, ps.props.map((p) => p.local)]),
        [
          [200, ['bigbox', 'author']],
          [403, ['DingALing', 'Random']],
        ],
      );
      const found = foundProps(r!);
      assert.equal(textOf(found.get('{http://ns.example.com/boxschema/}author')!), 'J.J. Johnson');
      assert.equal(found.has('{http://ns.example.com/boxschema/}DingALing'), false);
    }
  });

  it('handles a default namespace, response-level statuses and several responses', async () => {
    const rs = await parse(LISTING, 13);
    assert.deepEqual(
      rs.map((r) => [r.href, r.status]),
      [
        ['/dir/', null],
        ['/dir/a%20b.txt', null],
        ['/dir/gone', 404],
      ],
    );
    const dir = entryOf('/dir', rs[0]!, 2).stat;
    assert.equal(dir.kind, 'dir');
    assert.equal(dir.etag, null);
    const file = entryOf('/dir/a b.txt', rs[1]!, 3);
    assert.deepEqual(
      { ...file.stat },
      {
        path: '/dir/a b.txt',
        name: 'a b.txt',
        kind: 'file',
        id: 3,
        size: 4525,
        etag: 'zzyzx',
        mtimeMs: Date.parse('Mon, 12 Jan 1998 09:25:56 GMT'),
        birthMs: Date.parse('1997-12-01T17:42:21-08:00'),
        ctimeMs: Date.parse('Mon, 12 Jan 1998 09:25:56 GMT'),
        contentType: 'text/html',
        mode: 33188,
        uid: null,
        gid: null,
      },
    );
    assert.equal(file.validator, `"zzyzx" ${Date.parse('Mon, 12 Jan 1998 09:25:56 GMT') / 1000}`);
  });

  it('yields each response as soon as it is complete', async () => {
    const head = '<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href></D:response>';
    let released!: () => void;
    const gate = new Promise<void>((resolve) => (released = resolve));
    async function* body() {
      yield Buffer.from(head);
      await gate;
      yield Buffer.from('<D:response><D:href>/b</D:href></D:response></D:multistatus>');
    }
    const it = parseMultistatus(body());
    assert.equal((await it.next()).value?.href, '/a', 'the first response arrives before the rest of the body');
    released();
    assert.equal((await it.next()).value?.href, '/b');
    assert.equal((await it.next()).done, true);
  });

  it('uses a mtime property only while the version it was set on is current', async () => {
    const at = (mtime: string, etag: string) =>
      `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/f</D:href><D:propstat><D:prop><D:resourcetype/><D:getetag>"${etag}"</D:getetag><D:getlastmodified>Mon, 12 Jan 1998 09:25:56 GMT</D:getlastmodified><a:mtime xmlns:a="urn:davfs-bridge:">${mtime}</a:mtime></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
    const validator = `"v1" ${Date.parse('Mon, 12 Jan 1998 09:25:56 GMT') / 1000}`;
    const [same] = await parse(at(mtimeValue(1234.4, validator), 'v1'));
    assert.equal(entryOf('/f', same!, 5).stat.mtimeMs, 1234);
    const [changed] = await parse(at(mtimeValue(1234, validator), 'v2'));
    assert.equal(entryOf('/f', changed!, 5).stat.mtimeMs, Date.parse('Mon, 12 Jan 1998 09:25:56 GMT'));
  });

  it('refuses what is not a well-formed multistatus, and DOCTYPEs', async () => {
    const bad = [
      '<D:multistatus xmlns:D="DAV:"><D:response>',
      '<html><body>not dav</body></html>',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><D:multistatus xmlns:D="DAV:"/>',
      '<D:multistatus xmlns:D="DAV:"><D:response><D:href>&undefined;</D:href></D:response></D:multistatus>',
    ];
    for (const xml of bad) {
      await assert.rejects(parse(xml), (err: unknown) => isFsError(err, 'EIO'), xml);
    }
    await assert.rejects(
      (async () => {
        for await (const _ of parseMultistatus((async function* () {
          yield Buffer.from([0x3c, 0xff, 0xfe]);
        })())) void _;
      })(),
      (err: unknown) => isFsError(err, 'EIO'),
    );
  });

  it('reads status lines', () => {
    assert.equal(statusOfLine('HTTP/1.1 207 Multi-Status'), 207);
    assert.equal(statusOfLine(' HTTP/2 424 Failed Dependency'), 424);
    assert.equal(statusOfLine('nonsense'), 0);
  });
});

describe('dead property values', () => {
  it('serializes parsed values self-contained, the way davfs-bridge stores them', async () => {
    const xml = `<D:multistatus xmlns:D="DAV:" xmlns:e="urn:example:"><D:response><D:href>/p</D:href><D:propstat><D:prop>
      <e:author xmlns:o="urn:other:" o:role="lead" xml:lang="en"><e:name>Ann &amp; Bo</e:name><o:mail>a@b.c</o:mail></e:author>
      <plain xmlns="">x &lt; y</plain><D:displayname>Shown</D:displayname><D:getetag>"e"</D:getetag><e:empty/>
      <e:wrapped xmlns:a="urn:davfs-bridge:"><a:mode>1</a:mode></e:wrapped><a:mode xmlns:a="urn:davfs-bridge:">420</a:mode>
    </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
    const [r] = await parse(xml, 5);
    assert.deepEqual(deadPropsOf(r!), [
      { ns: '', name: 'plain', value: '<plain xmlns="">x &lt; y</plain>' },
      { ns: 'DAV:', name: 'displayname', value: '<D:displayname xmlns:D="DAV:">Shown</D:displayname>' },
      {
        ns: 'urn:example:',
        name: 'author',
        value: '<ns0:author xmlns:ns0="urn:example:" xmlns:ns1="urn:other:" ns1:role="lead" xml:lang="en"><ns0:name>Ann &amp; Bo</ns0:name><ns1:mail>a@b.c</ns1:mail></ns0:author>',
      },
      { ns: 'urn:example:', name: 'empty', value: '<ns0:empty xmlns:ns0="urn:example:"/>' },
      { ns: 'urn:example:', name: 'wrapped', value: '<ns0:wrapped xmlns:ns0="urn:example:" xmlns:ns1="urn:davfs-bridge:"><ns1:mode>1</ns1:mode></ns0:wrapped>' },
    ]);
  });

  it('round-trips a serialized value unchanged', async () => {
    const value = '<ns0:x xmlns:ns0="urn:a:" xmlns="" ns0:k="v&quot;&#xA;"><y>t&#xD;</y><ns0:z/></ns0:x>';
    const [r] = await parse(`<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href><D:propstat><D:prop>${value}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`);
    assert.equal(serializeNode(r!.propstats[0]!.props[0]!), value);
  });

  it('sends whole elements as they are and wraps inner XML', () => {
    assert.equal(propElementXml({ ns: 'urn:a:', name: 'x', value: '<p:x xmlns:p="urn:a:">1</p:x>' }), '<p:x xmlns:p="urn:a:">1</p:x>');
    assert.equal(propElementXml({ ns: 'urn:a:', name: 'x', value: 'plain <b>bold</b>' }), '<x:x xmlns:x="urn:a:">plain <b>bold</b></x:x>');
    assert.equal(propElementXml({ ns: '', name: 'y', value: '2' }), '<y xmlns="">2</y>');
    assert.equal(emptyElement({ ns: 'urn:a&b:', local: 'n' }), '<x:n xmlns:x="urn:a&amp;b:"/>');
    assert.match(proppatchBody([{ op: 'remove', ns: 'urn:a:', name: 'x' }]), /<D:remove><D:prop><x:x xmlns:x="urn:a:"\/><\/D:prop><\/D:remove>/);
  });

  it('unquotes ETags, keeping weakness so no If-Match is built from a weak one', () => {
    assert.equal(unquoteEtag('"abc"'), 'abc');
    assert.equal(unquoteEtag('W/"abc"'), 'W/abc');
    assert.equal(unquoteEtag('bare'), 'bare');
    assert.equal(ifMatchOf('abc'), '"abc"');
    assert.equal(ifMatchOf('W/abc'), undefined);
    assert.equal(ifMatchOf(null), undefined);
  });
});
