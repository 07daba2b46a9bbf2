// The If header (RFC 4918 §10.4): table tests of the parser with every example of §10.4.6–10.4.11
// and the headers litmus sends, evaluation per §10.4.3/§10.4.4, submitted tokens, malformed headers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  IfHeaderError,
  evaluateIf,
  parseIf,
  strongEtagMatch,
  submittedTokens,
  type IfCondition,
  type IfHeader,
  type IfResource,
} from '../../src/dav/if-header.js';

const U1 = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';
const U2 = 'urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092';
const LITMUS = 'opaquelocktoken:b4c2a3f0-1f2e-4c5d-8e9f-0a1b2c3d4e5f';

const tok = (value: string, not = false): IfCondition => ({ not, kind: 'token', value });
const etag = (value: string, not = false): IfCondition => ({ not, kind: 'etag', value });
const untagged = (...lists: IfCondition[][]): IfHeader => ({ lists: lists.map((conditions) => ({ resource: null, conditions })) });

describe('parseIf', () => {
  const cases: { name: string; header: string; want: IfHeader }[] = [
    {
      name: 'RFC 4918 §10.4.6: No-tag Production',
      header: `(<${U1}>\n       ["I am an ETag"])\n       (["I am another ETag"])`,
      want: untagged([tok(U1), etag('"I am an ETag"')], [etag('"I am another ETag"')]),
    },
    {
      name: 'RFC 4918 §10.4.7: Using "Not" with No-tag Production',
      header: `(Not <${U1}>\n       <${U2}>)`,
      want: untagged([tok(U1, true), tok(U2)]),
    },
    {
      name: 'RFC 4918 §10.4.8: Causing a Condition to Always Evaluate to True',
      header: `(<${U1}>)\n       (Not <DAV:no-lock>)`,
      want: untagged([tok(U1)], [tok('DAV:no-lock', true)]),
    },
    {
      name: 'RFC 4918 §10.4.9: Tagged List If Header in COPY',
      header: `</resource1>\n       (<${U1}>\n       [W/"A weak ETag"]) (["strong ETag"])`,
      want: {
        lists: [
          { resource: '/resource1', conditions: [tok(U1), etag('W/"A weak ETag"')] },
          { resource: '/resource1', conditions: [etag('"strong ETag"')] },
        ],
      },
    },
    {
      name: 'RFC 4918 §10.4.10: Matching Lock Tokens with Collection Locks',
      header: `<http://www.example.com/specs/>\n       (<${U1}>)`,
      want: { lists: [{ resource: 'http://www.example.com/specs/', conditions: [tok(U1)] }] },
    },
    {
      name: 'RFC 4918 §10.4.11: Matching ETags on Unmapped URLs',
      header: '</specs/rfc2518.doc> (["4217"])',
      want: { lists: [{ resource: '/specs/rfc2518.doc', conditions: [etag('"4217"')] }] },
    },
    {
      name: 'RFC 4918 §10.4.11: … with Not',
      header: '</specs/rfc2518.doc> (Not ["4217"])',
      want: { lists: [{ resource: '/specs/rfc2518.doc', conditions: [etag('"4217"', true)] }] },
    },
    {
      name: 'RFC 4918 §9.10.8: Refreshing a Write Lock',
      header: '(<urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4>)',
      want: untagged([tok('urn:uuid:e71d4fae-5dec-22d6-fea5-00a0c91e6be4')]),
    },
    {
      name: 'litmus cond_put',
      header: `(<${LITMUS}> ["abc123"])`,
      want: untagged([tok(LITMUS), etag('"abc123"')]),
    },
    {
      name: 'litmus fail_cond_put',
      header: '(<DAV:no-lock> ["abc123"])',
      want: untagged([tok('DAV:no-lock'), etag('"abc123"')]),
    },
    { name: 'litmus fail_cond_put_unlocked', header: '(<DAV:no-lock>)', want: untagged([tok('DAV:no-lock')]) },
    {
      name: 'litmus cond_put_with_not',
      header: `(<${LITMUS}>) (Not <DAV:no-lock>)`,
      want: untagged([tok(LITMUS)], [tok('DAV:no-lock', true)]),
    },
    {
      name: 'litmus cond_put_corrupt_token',
      header: `(<${LITMUS}x>) (Not <DAV:no-lock>)`,
      want: untagged([tok(`${LITMUS}x`)], [tok('DAV:no-lock', true)]),
    },
    {
      name: 'litmus complex_cond_put',
      header: `(<${LITMUS}> ["abc123"]) (Not <DAV:no-lock> ["abc123"])`,
      want: untagged([tok(LITMUS), etag('"abc123"')], [tok('DAV:no-lock', true), etag('"abc123"')]),
    },
    {
      name: 'neon (litmus session) submitting a collection lock, tagged with an absolute URL',
      header: `<http://localhost:8080/litmus/lockcoll/> (<${LITMUS}>)`,
      want: { lists: [{ resource: 'http://localhost:8080/litmus/lockcoll/', conditions: [tok(LITMUS)] }] },
    },
    {
      name: 'several resources, several lists each',
      header: `</a> (<${U1}>) (<${U2}>) </b> (Not ["x"]) <http://h/c> (<${U2}> ["y"])`,
      want: {
        lists: [
          { resource: '/a', conditions: [tok(U1)] },
          { resource: '/a', conditions: [tok(U2)] },
          { resource: '/b', conditions: [etag('"x"', true)] },
          { resource: 'http://h/c', conditions: [tok(U2), etag('"y"')] },
        ],
      },
    },
    {
      name: 'tolerates extra whitespace, tabs, a lower-case not, Not without a space, spaces inside brackets',
      header: ` \t( not <${U1}>   [ "e" ]\t)(Not<${U2}>)  `,
      want: untagged([tok(U1, true), etag('"e"')], [tok(U2, true)]),
    },
    {
      name: 'keeps entity tags as given: ], ) and escaped quotes inside the quotes, bare tags',
      header: '(["a]b)c"] ["q\\"uote"] [bare] [W/"weak"])',
      want: untagged([etag('"a]b)c"'), etag('"q\\"uote"'), etag('bare'), etag('W/"weak"')]),
    },
    {
      name: 'a resource tag with an unencoded space',
      header: `</my file.txt> (<${U1}>)`,
      want: { lists: [{ resource: '/my file.txt', conditions: [tok(U1)] }] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(parseIf(c.header), c.want));
  }

  const malformed = [
    '',
    '   ',
    '(',
    '()',
    '( )',
    `(<${U1}>`,
    '(<>)',
    '(< >)',
    '(<a<b>)',
    '</only-a-tag>',
    '</a> </b> (<x>)',
    `(<${U1}>) </tagged> (<${U2}>)`,
    `</tagged> (<${U1}>) (<${U2}>) </dangling>`,
    `(<${U1}>) x`,
    `x (<${U1}>)`,
    '(Not)',
    '(Not Not <x>)',
    '(Nope <x>)',
    '(<x> y)',
    '([])',
    '([W/])',
    '(["a")',
    '(["unterminated])',
    '(["a" b])',
    '(["a"',
    '["a"]',
    '<x>',
  ];
  for (const header of malformed) {
    it(`refuses ${JSON.stringify(header)} with IfHeaderError`, () => assert.throws(() => parseIf(header), IfHeaderError));
  }
});

describe('evaluateIf (§10.4.3, §10.4.4)', () => {
  // The request URI is /doc: locked by U1, ETag "e1". /specs/ is a collection locked by U2
  // (depth infinity, so /specs/rfc2518.txt carries the same token). /specs/rfc2518.doc is unmapped.
  const state: Record<string, IfResource> = {
    '/doc': { path: '/doc', etag: '"e1"', tokens: [U1] },
    '/resource1': { path: '/resource1', etag: '"strong ETag"', tokens: [] },
    'http://www.example.com/specs/': { path: '/specs', etag: null, tokens: [U2] },
    '/specs/rfc2518.doc': { path: '/specs/rfc2518.doc', etag: null, tokens: [] },
    '/bare': { path: '/bare', etag: 'e1', tokens: [] },
    '/unlocked': { path: '/unlocked', etag: '"u"', tokens: [] },
  };
  const resolve = (r: string | null): IfResource => state[r ?? '/doc'] ?? { path: r ?? '', etag: null, tokens: [] };

  const cases: [string, boolean][] = [
    // §10.4.6: locked with U1 and ETag "I am an ETag", or ETag "I am another ETag".
    [`(<${U1}> ["I am an ETag"]) (["I am another ETag"])`, false],
    [`(<${U1}> ["e1"]) (["I am another ETag"])`, true],
    [`(<${U2}> ["e1"]) (["e1"])`, true],
    // §10.4.7: not locked by U1 and locked by U2.
    [`(Not <${U1}> <${U2}>)`, false],
    [`(Not <${U2}> <${U1}>)`, true],
    // §10.4.8: always true.
    [`(<${U2}>) (Not <DAV:no-lock>)`, true],
    // §10.4.9: the weak ETag never matches under strong comparison; the strong one does.
    [`</resource1> (<${U1}> [W/"A weak ETag"]) (["strong ETag"])`, true],
    [`</resource1> (<${U1}> [W/"strong ETag"])`, false],
    // §10.4.10: the token is compared to the tagged collection.
    [`<http://www.example.com/specs/> (<${U2}>)`, true],
    [`<http://www.example.com/specs/> (<${U1}>)`, false],
    // §10.4.11: an unmapped URL has no ETag.
    ['</specs/rfc2518.doc> (["4217"])', false],
    ['</specs/rfc2518.doc> (Not ["4217"])', true],
    // litmus, on the locked /doc (token U1, ETag "e1").
    [`(<${U1}> ["e1"])`, true], // cond_put
    ['(<DAV:no-lock> ["e1"])', false], // fail_cond_put
    ['(<DAV:no-lock>)', false], // fail_cond_put_unlocked (on any resource)
    [`(<${U1}>) (Not <DAV:no-lock>)`, true], // cond_put_with_not
    [`(<${U1}x>) (Not <DAV:no-lock>)`, true], // cond_put_corrupt_token: true here, then 423 as U1 is not submitted
    [`(<${U1}> ["e1"]) (Not <DAV:no-lock> ["e1"])`, true], // complex_cond_put
    [`(<${U1}> ["e2"]) (Not <DAV:no-lock> ["e2"])`, false], // fail_complex_cond_put
    // Tagged productions OR together (§10.4.3 "at least one of the … Tagged-list productions").
    [`</unlocked> (<${U1}>) </doc> (<${U1}>)`, true],
    [`</unlocked> (<${U1}>) </doc> (<${U2}>)`, false],
    ['</unlocked> (["u"])', true],
    // The resolver may give the ETag bare.
    ['</bare> (["e1"])', true],
    ['</bare> ([e1])', true],
    ['</bare> (Not ["e1"])', false],
  ];
  for (const [header, want] of cases) {
    it(`${header} → ${want}`, async () => assert.equal(await evaluateIf(parseIf(header), resolve), want));
  }

  it('asks the resolver once per resource, and accepts an async one', async () => {
    const asked: (string | null)[] = [];
    const h = parseIf(`</a> (<${U1}>) (<${U2}>) </b> (["x"]) </a> (["y"])`);
    const ok = await evaluateIf(h, async (r) => {
      asked.push(r);
      return { path: r ?? '/', etag: null, tokens: [] };
    });
    assert.equal(ok, false);
    assert.deepEqual(asked, ['/a', '/b']);
  });

  it('stops at the first list that holds', async () => {
    const asked: (string | null)[] = [];
    await evaluateIf(parseIf('</a> (Not <DAV:no-lock>) </b> (<x:y>)'), (r) => {
      asked.push(r);
      return { path: '/', etag: null, tokens: [] };
    });
    assert.deepEqual(asked, ['/a']);
  });
});

describe('submittedTokens (§10.4.1)', () => {
  const cases: [string, string[]][] = [
    [`(<${U1}>)`, [U1]],
    // Counted whatever the list evaluates to, and whatever resource it names.
    [`(<${U1}x>) (Not <DAV:no-lock>)`, [`${U1}x`]],
    [`</other> (<${U1}> ["nope"]) </doc> (<${U2}>)`, [U1, U2]],
    // Not under Not; DAV:no-lock never; each once.
    [`(Not <${U1}> <${U2}>) (<${U2}>)`, [U2]],
    ['(<DAV:no-lock>) (Not <DAV:no-lock>)', []],
    ['(["e1"])', []],
  ];
  for (const [header, want] of cases) it(header, () => assert.deepEqual(submittedTokens(parseIf(header)), want));
});

describe('strongEtagMatch', () => {
  it('compares opaque tags of strong ETags, quotes optional', () => {
    assert.equal(strongEtagMatch('"a"', '"a"'), true);
    assert.equal(strongEtagMatch('"a"', 'a'), true);
    assert.equal(strongEtagMatch('"a"', '"b"'), false);
    assert.equal(strongEtagMatch('W/"a"', '"a"'), false);
    assert.equal(strongEtagMatch('"a"', 'W/"a"'), false);
    assert.equal(strongEtagMatch('""', '""'), true);
  });
});
