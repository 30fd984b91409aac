/**
 * jest's default reporter: `PASS file` / `FAIL file` per test file, with `--verbose` (or a single file) the tests
 * under it (`✓ name (3 ms)`, `✕`, `○ skipped name`, `✎ todo name`, suites as indented titles); then one block per
 * failure headed `● suite › test` holding the message, `Expected:`/`Received:` (or a snapshot's diff), a code
 * excerpt and the stack; finally `Tests:       1 failed, 1 skipped, 2 passed, 4 total`.
 */
import {
  FailureBlocks,
  SEP,
  indentOf,
  isCodeFrameLine,
  parseStackLine,
  readDiff,
  tidyErrorLine,
  totalsOfCounts,
  trimBlank,
  type Draft,
  type LineReader,
  type DraftFailure,
  type RawFrame,
} from '../draft';

/** `PASS test/x.test.js`, with the time of a slow file: `(19.1 s)` (jest 25+), `(19.104s)` (older jests). */
const FILE = /^\s*(PASS|FAIL)\s+(\S.*?)(?:\s+\([\d.]+ ?m?s(?:, [^)]*)?\))?\s*$/;
const VERBOSE = /^(\s+)(✓|✕|○|✎|√|×) (.*?)(?: \(\d+(?:\.\d+)? m?s\))?$/;
const HEADER = /^\s*● (.+)$/;
const TOTALS = /^Tests:\s+(.*\d+ total)\s*$/;
const SUITE_FAILED = 'Test suite failed to run';
const END_OF_BLOCKS = /^(?:Test Suites:|Snapshot Summary|\s*› \d+ snapshots? (?:failed|written|obsolete))/;

export function parseJest(lines: LineReader): Draft {
  const draft: Draft = { runner: 'jest', totals: null, tests: [], failures: [], testFiles: [] };
  let file: string | undefined;
  let suites: { indent: number; name: string }[] = [];
  const blocks = new FailureBlocks(draft.failures, readBlock);

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const f = FILE.exec(line);
    if (f) {
      blocks.close();
      file = f[2];
      suites = [];
      draft.testFiles.push({ file });
      continue;
    }
    const h = HEADER.exec(line);
    if (h && h[1].trim() !== 'Console') {
      const failure: DraftFailure = { name: h[1].trim(), message: [], frames: [] };
      if (file) failure.file = file;
      blocks.open(failure);
      continue;
    }
    const t = TOTALS.exec(line);
    if (t) {
      blocks.close();
      draft.totals = totalsOfCounts(t[1], /(\d+) (failed|passed|skipped|todo|pending)/g);
      continue;
    }
    if (END_OF_BLOCKS.test(line)) {
      blocks.close();
      continue;
    }
    if (blocks.add(line)) continue;
    if (!file) continue;
    // The verbose listing under a file header.
    const v = VERBOSE.exec(line);
    const indent = indentOf(line);
    if (v) {
      while (suites.length && suites[suites.length - 1].indent >= indent) suites.pop();
      let name = v[3];
      let status: 'passed' | 'failed' | 'skipped' | 'todo' =
        v[2] === '✓' || v[2] === '√' ? 'passed' : v[2] === '✎' ? 'todo' : v[2] === '○' ? 'skipped' : 'failed';
      if (status === 'skipped' && name.startsWith('skipped ')) name = name.slice('skipped '.length);
      if (status === 'todo' && name.startsWith('todo ')) name = name.slice('todo '.length);
      if (v[2] === '○' && name.startsWith('todo ')) {
        status = 'todo';
        name = name.slice('todo '.length);
      }
      draft.tests.push({ name: [...suites.map((x) => x.name), name].join(SEP), status, file });
    } else if (line.trim() && indent >= 2) {
      while (suites.length && suites[suites.length - 1].indent >= indent) suites.pop();
      suites.push({ indent, name: line.trim() });
    }
  }
  blocks.close();

  // Without --verbose jest names only the failures: list those. A suite that failed to run is an entry, not a test.
  const listed = draft.tests.length > 0;
  for (const f of draft.failures) {
    if (f.name === SUITE_FAILED) draft.tests.push({ name: f.file ?? f.name, status: 'failed', file: f.file, entry: true });
    else if (!listed) draft.tests.push({ name: f.name, status: 'failed', file: f.file });
  }
  return draft;
}

/** Message lines up to the code excerpt or the stack; `Expected:`/`Received:` pairs and diffs; the frames. */
function readBlock(raw: string[], failure: DraftFailure): void {
  const lines = trimBlank(raw);
  const message: string[] = [];
  let inCode = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    if (/^at \S/.test(trimmed)) {
      const frame: RawFrame | undefined = parseStackLine(trimmed);
      if (frame) failure.frames.push(frame);
      inCode = true;
      continue;
    }
    if (isCodeFrameLine(line)) {
      inCode = true;
      continue;
    }
    if (inCode) continue;
    message.push(message.length === 0 ? tidyErrorLine(line) : line);
    const value = /^(Expected|Received|Snapshot)(?: (?:value|length|substring|pattern|message|constructor|path))?: (.*)$/.exec(trimmed);
    if (value) {
      if (value[1] === 'Received') failure.actual ??= value[2];
      else failure.expected ??= value[2];
    }
    // `- Expected  - 1` / `+ Received  + 1` (or Snapshot), a blank line, then the diff.
    if (/^- (Expected|Snapshot)\b/.test(trimmed) && /^\+ Received\b/.test(lines[i + 1]?.trim() ?? '')) {
      const diff = readDiff(lines, i + 2, {
        indent: indentOf(line),
        stop: (l) => isCodeFrameLine(l) || /^\s*at \S/.test(l),
        minus: 'expected',
        width: 2,
      }).values;
      if (diff && failure.expected === undefined) {
        failure.expected = diff.expected;
        failure.actual = diff.actual;
      }
    }
  }
  failure.message = message;
}
