import * as assert from 'node:assert/strict';
import { Diagnostic } from 'vscode-languageserver';
import { anchorText, linesRange, relocate } from '../server/lsp/diagnostics';
import { numberedListing, parseFindings } from '../server/review/findings';

describe('review findings', () => {
  it('numbers the listing from 1', () => {
    assert.equal(numberedListing('a.js', 'x\ny'), 'File: a.js\n\n1| x\n2| y');
  });

  it('reads bare and fenced JSON', () => {
    const bare = parseFindings('{"findings":[{"line":1,"endLine":1,"severity":"error","message":"m"}]}', 3);
    assert.deepEqual(bare, { ok: true, findings: [{ line: 1, endLine: 1, severity: 'error', message: 'm' }], dropped: [] });
    const fenced = parseFindings(
      'Here you go:\n```json\n{"findings":[{"line":2,"endLine":3,"severity":"hint","message":"m","fix":{"replacement":"z"}}]}\n```',
      3,
    );
    assert.deepEqual(fenced.ok && fenced.findings, [{ line: 2, endLine: 3, severity: 'hint', message: 'm', fix: { replacement: 'z' } }]);
  });

  it('says why malformed JSON fails', () => {
    const bad = parseFindings('{"findings": [ {"line": 1,', 3);
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /not valid JSON/);
    assert.match(!(parseFindings('{"issues": []}', 3) as any).ok ? (parseFindings('{"issues": []}', 3) as any).error : '', /no "findings" array/);
  });

  it('drops findings that do not fit the document, and overlapping fixes', () => {
    const reply = JSON.stringify({
      findings: [
        { line: 0, endLine: 1, severity: 'error', message: 'before the start' },
        { line: 4, endLine: 9, severity: 'error', message: 'past the end' },
        { line: 3, endLine: 2, severity: 'error', message: 'backwards' },
        { line: 1, endLine: 1, severity: 'fatal', message: 'bad severity' },
        { line: 1.5, endLine: 2, severity: 'error', message: 'fractional' },
        { line: 1, endLine: 2, severity: 'warning', message: 'kept with fix', fix: { replacement: 'a\nb' } },
        { line: 2, endLine: 3, severity: 'info', message: 'kept, overlapping fix dropped', fix: { replacement: 'c' } },
        { line: 5, severity: 'hint', message: 'endLine defaults to line' },
      ],
    });
    const parsed = parseFindings(reply, 5);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.findings.map((f) => [f.line, f.endLine, f.message, Boolean(f.fix)]),
      [
        [1, 2, 'kept with fix', true],
        [2, 3, 'kept, overlapping fix dropped', false],
        [5, 5, 'endLine defaults to line', false],
      ],
    );
    assert.equal(parsed.dropped.length, 6);
    assert.match(parsed.dropped.join('\n'), /outside 1-5[\s\S]*unknown severity[\s\S]*overlaps another fix/);
  });
});

describe('diagnostics anchored to their lines', () => {
  const lines = ['a', 'b', 'target', 'c'];
  const on = (line: number): Diagnostic => ({
    range: linesRange(lines, line, line),
    message: 'm',
    data: { kind: 'test', anchor: anchorText(lines, line, line) },
  });

  it('stay put when their lines are unchanged, move when lines are added or removed above', () => {
    const d = on(3);
    assert.equal(relocate(d, lines), d);
    assert.equal(relocate(d, ['x', 'y', ...lines])?.range.start.line, 4);
    assert.equal(relocate(d, ['target', 'c'])?.range.start.line, 0);
  });

  it('go to the nearest copy of their text, and away when it is gone', () => {
    assert.equal(relocate(on(3), ['target', 'a', 'b', 'target'])?.range.start.line, 3);
    assert.equal(relocate(on(3), ['a', 'b', 'fixed', 'c']), undefined);
  });
});
