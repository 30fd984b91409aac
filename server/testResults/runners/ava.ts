/**
 * ava's default reporter: a line per test (`✔ file › title`, `✘ [fail]: file › title <reason>`, `- [skip] …`,
 * `- [todo] …`; the `file ›` prefix only when several files ran, kept as the outer name), a `─` rule, a block per
 * failure (title, `test/x.test.js:5`, a code excerpt, `Difference (- actual, + expected):` or the thrown error,
 * frames), another rule, then `3 tests failed` / `1 test skipped` / `1 test todo` / `2 tests passed`.
 */
import {
  FailureBlocks,
  indentOf,
  isCodeFrameLine,
  parseLocation,
  parseStackLine,
  readDiff,
  tidyErrorLine,
  trimBlank,
  zeroTotals,
  type Draft,
  type DraftFailure,
  type LineReader,
} from '../draft';

const PASS = /^\s*✔ (?:\[expected fail\] )?(.*?)(?: \(\d+(?:\.\d+)?m?s\))?$/;
const FAIL = /^\s*✘ \[(?:fail|timeout)\]: (.*)$/;
const SKIP = /^\s*- \[(skip|todo)\] (.*)$/;
const RULE = /^\s*─+\s*$/;
const COUNT = /^\s*(\d+) (?:tests? (passed|failed|skipped|todo)|(known failures?))\b/;
const LOCATION = /^\s*(\S+\.[cm]?[jt]sx?):(\d+)$/;
/** What ava appends to a failed test's line. */
const REASONS = [
  'Error thrown in test',
  'Rejected promise returned by test',
  'Test finished without running any assertions',
  'Promise returned by test never resolved',
  'Timed out while running tests',
  'Observable returned by test never completed',
  'Assertion failed',
];

export function parseAva(lines: LineReader): Draft {
  const draft: Draft = { runner: 'ava', totals: null, tests: [], failures: [], testFiles: [] };
  const failed = new Map<string, number>(); // listed name (reason stripped) → index in draft.tests
  const counts = zeroTotals();
  let sawCount = false;
  let sawPassed = false;
  let rules = 0;
  const blocks = new FailureBlocks(draft.failures, readBody);

  let previous = '';
  for (let line = lines.next(); line !== undefined; previous = line, line = lines.next()) {
    const c = COUNT.exec(line);
    if (c) {
      blocks.close();
      sawCount = true;
      const n = Number(c[1]);
      if (c[3] || c[2] === 'passed') {
        counts.passed += n;
        sawPassed = true;
      } else if (c[2] === 'failed') counts.failed += n;
      else if (c[2] === 'skipped') counts.skipped += n;
      else counts.todo += n;
      continue;
    }
    if (RULE.test(line)) {
      blocks.close();
      rules++;
      continue;
    }
    if (rules === 0) {
      let m: RegExpExecArray | null;
      if ((m = FAIL.exec(line))) {
        let name = m[1].trim();
        for (const reason of REASONS) if (name.endsWith(' ' + reason)) name = name.slice(0, -reason.length - 1);
        failed.set(name, draft.tests.length);
        draft.tests.push({ name, status: 'failed' });
      } else if ((m = SKIP.exec(line))) draft.tests.push({ name: m[2].trim(), status: m[1] === 'todo' ? 'todo' : 'skipped' });
      else if ((m = PASS.exec(line))) draft.tests.push({ name: m[1].trim(), status: 'passed' });
      continue;
    }
    // A failure's title: two-space indent after a blank line, naming a failed test (or followed by its location).
    const title = line.trim();
    const isTitle =
      indentOf(line) === 2 && previous.trim() === '' && (failed.has(title) || (lines.peek(0)?.trim() === '' && LOCATION.test(lines.peek(1) ?? '')));
    if (isTitle) {
      blocks.open({ name: title, message: [], frames: [] });
      continue;
    }
    blocks.add(line);
  }
  blocks.close();

  for (const f of draft.failures) {
    const index = failed.get(f.name);
    if (index !== undefined && f.file) draft.tests[index].file = f.file;
  }
  if (sawCount) {
    // With failures, ava prints no `N tests passed`: count the ✔ lines.
    if (!sawPassed) counts.passed = draft.tests.filter((t) => t.status === 'passed').length;
    draft.totals = counts;
  }
  return draft;
}

function readBody(raw: string[], failure: DraftFailure): void {
  const lines = trimBlank(raw);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    const loc = LOCATION.exec(line);
    if (loc && !failure.declared) {
      failure.declared = parseLocation(trimmed);
      failure.file = loc[1];
      continue;
    }
    if (/^(?:at|›) \S/.test(trimmed)) {
      const frame = parseStackLine(trimmed);
      if (frame) failure.frames.push(frame);
      continue;
    }
    if (isCodeFrameLine(line)) continue;
    if (/^Difference \(- actual, \+ expected\):$/.test(trimmed)) {
      const { values } = readDiff(lines, i + 1, {
        indent: indentOf(line),
        stop: (l) => !l.trim() || /^\s*(?:at|›) \S/.test(l),
        minus: 'actual',
        width: 2,
      });
      if (values) {
        failure.expected = values.expected;
        failure.actual = values.actual;
      }
    }
    failure.message.push(tidyErrorLine(line));
  }
}
