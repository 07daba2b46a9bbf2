// The command line's heap tuning gives way to a heap-growing factor the user set themselves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growingPercentGiven } from '../../src/cli/heap-tuning.js';

describe('growingPercentGiven', () => {
  it('sees the flag in either spelling, and nothing else', () => {
    assert.equal(growingPercentGiven([]), false);
    assert.equal(growingPercentGiven(['--import', 'tsx', '', '--max-old-space-size=512']), false);
    assert.equal(growingPercentGiven(['--heap-growing-percent=50']), true);
    assert.equal(growingPercentGiven(['--heap_growing_percent=50']), true);
    assert.equal(growingPercentGiven(['--heap-growing-percents=1']), false);
  });
});
