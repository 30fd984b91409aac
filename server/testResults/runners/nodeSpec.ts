/**
 * node --test's spec reporter (`--test-reporter=spec`, the default on a TTY): `▶ suite`, `✔ test (1ms)`,
 * `✖ test (1ms)` with the error indented under it, `﹣ test # SKIP`, `… # TODO`, a suite's own `✖ suite` line
 * closing it, the `ℹ tests 9` summary, then a `✖ failing tests:` section that repeats the failures (read only
 * for its `test at file:line:col` locations).
 */
import {
  SEP,
  NODE_FILE_ENTRY,
  indentOf,
  nodeSummaryTotals,
  parseLocation,
  parseStackLine,
  tidyErrorLine,
  type Draft,
  type LineReader,
  type DraftFailure,
} from '../draft';

const MARK = /^(\s*)(▶|✔|✖|﹣|-|✓|✗|×) (.*)$/;
const DURATION = /\s\([\d.]+m?s\)$/;
const DIRECTIVE = /\s#\s*(SKIP|TODO)\b.*$/i;
const SUMMARY = /^ℹ (tests|pass|fail|cancelled|skipped|todo) (\d+)$/;
const INSPECT_VALUE = /^\s*(expected|actual): (.*?),?$/;

export function parseNodeSpec(lines: LineReader): Draft {
  const draft: Draft = { runner: 'node', totals: null, tests: [], failures: [], testFiles: [] };
  const suites: { indent: number; name: string }[] = [];
  const summary = new Map<string, number>();
  let current: { failure: DraftFailure; indent: number; body: string[]; suite: boolean } | undefined;
  let afterFailing = false;
  let declared: ReturnType<typeof parseLocation>;
  const byLeaf = new Map<string, DraftFailure[]>();

  const closeFailure = () => {
    if (!current) return;
    readErrorBody(current.body, current.failure);
    // A suite's own ✖ line with nothing under it only says a child failed.
    if (current.failure.message.length || current.failure.frames.length) draft.failures.push(current.failure);
    else if (current.suite) draft.tests.pop();
    current = undefined;
  };

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const s = SUMMARY.exec(line);
    if (s) {
      closeFailure();
      summary.set(s[1], Number(s[2]));
      continue;
    }
    if (afterFailing) {
      // `test at test/math.test.js:7:5` then `✖ sums (2ms)`: the declaration of a failure listed above.
      const at = /^test at (.+)$/.exec(line.trim());
      if (at) declared = parseLocation(at[1]);
      const m = MARK.exec(line);
      if (m && m[2] === '✖' && declared) {
        // Listed by their own name, without their suites, in the order they failed.
        const f = byLeaf.get(m[3].replace(DURATION, '').trim())?.shift();
        if (f) {
          f.declared = declared;
          f.file ??= declared.file;
        }
        declared = undefined;
      }
      continue;
    }
    const m = MARK.exec(line);
    if (m && !(current && indentOf(line) > current.indent && m[2] === '-')) {
      closeFailure();
      const indent = m[1].length;
      let text = m[3];
      if (m[2] === '✖' && text.trim() === 'failing tests:') {
        afterFailing = true;
        for (const f of draft.failures) {
          const cut = f.name.lastIndexOf(SEP);
          const leaf = cut < 0 ? f.name : f.name.slice(cut + SEP.length);
          const list = byLeaf.get(leaf);
          if (list) list.push(f);
          else byLeaf.set(leaf, [f]);
        }
        continue;
      }
      let directive: string | undefined;
      const d = DIRECTIVE.exec(text);
      if (d) {
        directive = d[1].toUpperCase();
        text = text.slice(0, d.index);
      }
      const timed = DURATION.test(text);
      const name = text.replace(DURATION, '').trim();
      while (suites.length && suites[suites.length - 1].indent > indent) suites.pop();
      const top = suites[suites.length - 1];
      const closesSuite = top && top.indent === indent && top.name === name;
      if (m[2] === '▶') {
        // Opens a suite; Node 20 closes a passing one with `▶ name (1ms)`.
        if (closesSuite) suites.pop();
        else if (!timed) suites.push({ indent, name });
        continue;
      }
      if (closesSuite) suites.pop();
      const full = [...suites.filter((x) => x.indent < indent).map((x) => x.name), name].join(SEP);
      if (closesSuite && m[2] !== '✖') continue;
      const status = directive === 'TODO' ? 'todo' : directive === 'SKIP' ? 'skipped' : m[2] === '✖' || m[2] === '✗' || m[2] === '×' ? 'failed' : 'passed';
      draft.tests.push(suites.length === 0 && NODE_FILE_ENTRY.test(full) ? { name: full, status, file: full, entry: true } : { name: full, status });
      if (status === 'failed') current = { failure: { name: full, message: [], frames: [] }, indent, body: [], suite: closesSuite };
      continue;
    }
    if (current) current.body.push(line);
  }
  closeFailure();

  draft.totals = nodeSummaryTotals(summary, draft.tests);
  return draft;
}

/** The error under a failed test: message lines, the stack, then util.inspect's `{ actual: …, expected: … }`. */
function readErrorBody(body: string[], failure: DraftFailure): void {
  let inStack = false;
  for (let i = 0; i < body.length; i++) {
    const line = body[i];
    if (/^\s*at \S/.test(line)) {
      inStack = true;
      const frame = parseStackLine(line.replace(/ \{$/, ''));
      if (frame) failure.frames.push(frame);
      continue;
    }
    if (!inStack) {
      failure.message.push(failure.message.length === 0 ? tidyErrorLine(line) : line);
      continue;
    }
    const v = INSPECT_VALUE.exec(line);
    if (v) {
      let value = v[2];
      // A multi-line value: until the line that closes it at the key's indentation.
      if (/[[{]$/.test(value)) {
        const indent = indentOf(line);
        const parts = [value];
        while (i + 1 < body.length && !(indentOf(body[i + 1]) <= indent && /^\s*[\]}]/.test(body[i + 1]))) parts.push(body[++i].slice(indent));
        if (i + 1 < body.length) parts.push(body[++i].trim().replace(/,$/, ''));
        value = parts.join('\n');
      }
      if (v[1] === 'expected') failure.expected = value;
      else failure.actual = value;
    }
  }
}
