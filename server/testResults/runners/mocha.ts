/**
 * mocha's spec reporter: suites as indented titles, `✔ test (5ms)`, `1) test` for a failure, `- test` pending;
 * `3 passing (60ms)` / `2 pending` / `1 failing`; then each failure: `1) suite` with the rest of its title on
 * indented lines ending in `:`, the error, mocha's `+ expected - actual` diff, and the stack.
 */
import {
  FailureBlocks,
  SEP,
  indentOf,
  parseStackLine,
  readDiff,
  tidyErrorLine,
  trimBlank,
  zeroTotals,
  type Draft,
  type DraftFailure,
  type LineReader,
} from '../draft';

const PASS = /^(\s*)(?:✔|✓|√) (.*?)(?: \(\d+ms\))?$/;
const FAIL = /^(\s*)(\d+)\) (.*)$/;
const PENDING = /^(\s*)- (.*)$/;
const COUNT = /^\s*(\d+) (passing|pending|failing)\b/;

export function parseMocha(lines: LineReader): Draft {
  const draft: Draft = { runner: 'mocha', totals: null, tests: [], failures: [], testFiles: [] };
  const suites: { indent: number; name: string }[] = [];
  const counts = new Map<string, number>();
  // The listing, up to the counts.
  for (let line = lines.peek(); line !== undefined; line = lines.peek()) {
    const c = COUNT.exec(line);
    if (c) {
      lines.next();
      counts.set(c[2], Number(c[1]));
      if (c[2] === 'failing') break;
      continue;
    }
    // Without `N failing`, whatever follows the counts is not the listing.
    if (counts.size && line.trim()) break;
    lines.next();
    if (!line.trim()) continue;
    const indent = indentOf(line);
    // The spec reporter indents everything it lists; a line at the margin is someone else's (npm's `> mocha`
    // banner, yarn's `$ mocha`, a console.log at load), never a suite.
    if (indent === 0) continue;
    while (suites.length && suites[suites.length - 1].indent >= indent) suites.pop();
    const name = (title: string) => [...suites.map((s) => s.name), title].join(SEP);
    let m: RegExpExecArray | null;
    if ((m = PASS.exec(line))) draft.tests.push({ name: name(m[2]), status: 'passed' });
    else if ((m = FAIL.exec(line))) draft.tests.push({ name: name(m[3]), status: 'failed' });
    else if ((m = PENDING.exec(line))) draft.tests.push({ name: name(m[2]), status: 'skipped' });
    else suites.push({ indent, name: line.trim() });
  }

  // The failures: `  1) math` + title lines until one ends with ':', then the body.
  const blocks = new FailureBlocks(draft.failures, readBody);
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    // `N) title`, at most 4 deep: a digit (or some whitespace, left to the pattern) after the indentation.
    const indent = indentOf(line);
    const c = line.charCodeAt(indent);
    const m = indent <= 4 && ((c >= 0x30 && c <= 0x39) || c <= 0x20 || c >= 0x80) ? FAIL.exec(line) : null;
    if (m) {
      const parts = [m[3].trim()];
      for (let next = lines.peek(); next?.trim() && !parts[parts.length - 1].endsWith(':') && parts.length < 50; next = lines.peek()) {
        parts.push(next.trim());
        lines.next();
      }
      parts[parts.length - 1] = parts[parts.length - 1].replace(/:$/, '');
      blocks.open({ name: parts.join(SEP), message: [], frames: [] });
      continue;
    }
    blocks.add(line);
  }
  blocks.close();

  if (counts.size) {
    const totals = zeroTotals();
    totals.passed = counts.get('passing') ?? 0;
    totals.failed = counts.get('failing') ?? 0;
    totals.skipped = counts.get('pending') ?? 0;
    draft.totals = totals;
  }
  return draft;
}

function readBody(raw: string[], failure: DraftFailure): void {
  const lines = trimBlank(raw);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    if (/^at \S/.test(trimmed)) {
      const frame = parseStackLine(trimmed);
      if (frame) failure.frames.push(frame);
      continue;
    }
    if (failure.frames.length) continue;
    if (trimmed === '+ expected - actual') {
      const { values, end } = readDiff(lines, i + 1, { indent: indentOf(line), stop: (l) => /^\s*at \S/.test(l), minus: 'actual', width: 1 });
      if (values) {
        failure.expected = values.expected;
        failure.actual = values.actual;
      }
      i = end - 1;
      continue;
    }
    // The error's first line is indented, the rest of its message is not.
    failure.message.push(failure.message.length === 0 ? tidyErrorLine(trimmed) : line);
  }
}
