import * as assert from 'node:assert/strict';
import { lineDelta, unifiedDiff } from '../server/agent/diff';

describe('line diff', () => {
  it('produces unified hunks with context', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n');
    const after = ['a', 'b', 'c', 'D', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n');
    assert.equal(unifiedDiff(before, after, 1), ['@@ -3,3 +3,3 @@', ' c', '-d', '+D', ' e', '@@ -10,1 +10,2 @@', ' j', '+k'].join('\n'));
  });

  it('handles empty sides and identical text', () => {
    // An empty text has no lines: creating or emptying a file adds or removes lines only, as diff(1) writes it.
    assert.equal(unifiedDiff('', 'x'), '@@ -0,0 +1,1 @@\n+x');
    assert.equal(unifiedDiff('x', ''), '@@ -1,1 +0,0 @@\n-x');
    assert.equal(unifiedDiff('same\n', 'same\n'), '');
  });

  it('counts added and removed lines', () => {
    assert.deepEqual(lineDelta('a\nb\nc\n', 'a\nB\nc\nd\n'), { linesAdded: 2, linesRemoved: 1 });
    assert.deepEqual(lineDelta('x\n', 'x\n'), { linesAdded: 0, linesRemoved: 0 });
  });

  it('caps huge diffs', () => {
    const before = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join('\n');
    const after = Array.from({ length: 3000 }, (_, i) => `LINE ${i}`).join('\n');
    const diff = unifiedDiff(before, after, 3, 1000);
    assert.ok(diff.length < 1100);
    assert.match(diff, /diff cut at 1000 characters/);
  });
});
