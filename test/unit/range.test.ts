// Range header parsing (RFC 9110 §14.1.2), including suffix ranges and unsatisfiable ones.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../src/dav/range.js';

describe('parseRange', () => {
  const cases: [string | undefined, number, unknown][] = [
    [undefined, 100, { kind: 'none' }],
    ['bytes=0-9', 100, { kind: 'ranges', ranges: [{ start: 0, end: 9 }] }],
    ['bytes=90-', 100, { kind: 'ranges', ranges: [{ start: 90, end: 99 }] }],
    ['bytes=-10', 100, { kind: 'ranges', ranges: [{ start: 90, end: 99 }] }],
    ['bytes=-500', 100, { kind: 'ranges', ranges: [{ start: 0, end: 99 }] }],
    ['bytes=50-500', 100, { kind: 'ranges', ranges: [{ start: 50, end: 99 }] }],
    ['bytes=0-0,-1', 100, { kind: 'ranges', ranges: [{ start: 0, end: 0 }, { start: 99, end: 99 }] }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-5', 100, { kind: 'none' }],
    ['items=0-5', 100, { kind: 'none' }],
    ['bytes=x-y', 100, { kind: 'none' }],
  ];
  for (const [h, size, want] of cases) it(`${h} of ${size}`, () => assert.deepEqual(parseRange(h, size), want));
});
