/**
 * vitest's default reporter into a pipe (v3): ` RUN  v3.2.7 /root`, a line per test file
 * (` ❯ test/x.test.ts (8 tests | 4 failed)`), the tests of failing files under it (`× suite > test 8ms`, `✓`, `↓`),
 * then `⎯ Failed Tests 4 ⎯` and a block per failure headed ` FAIL  file > suite > test` with the error, a
 * `- Expected / + Received` diff, ` ❯ file:line:col` frames and code excerpts; finally ` Tests  4 failed | 3 passed (7)`.
 */
import {
  SEP,
  isCodeFrameLine,
  parseStackLine,
  readDiff,
  tidyErrorLine,
  totalsOfCounts,
  trimBlank,
  type Draft,
  type LineReader,
  type DraftFailure,
} from '../draft';

const ROOT = /^\s*RUN\s+v\d[^\s]*\s+(\S.*)$/;
const FILE = /^\s*(?:✓|❯|×|↓|✗|·)\s+(\S+)\s+\(\d+ tests?\b[^)]*\)/;
const COUNTS = /\((\d+) tests?\b([^)]*)\)/;
const SKIPPED = /(\d+) (?:skipped|todo)\b/;
const TEST = /^(\s+)(✓|×|↓|✗) (.+?)(?: \d+m?s)?$/;
const TEST_FILE = /\.[cm]?[jt]sx?$/;
const HEADER = /^\s*FAIL\s+(\S.*)$/;
const SEPARATOR = /^⎯{2,}/;
const TOTALS = /^\s*Tests\s+(.+)\(\d+\)\s*$/;
const SUMMARY_START = /^\s*(?:Test Files|Snapshots)\s+\d/;

export function parseVitest(lines: LineReader): Draft {
  const draft: Draft = { runner: 'vitest', totals: null, tests: [], failures: [], testFiles: [] };
  let base: string | undefined;
  let file: string | undefined;
  let group: DraftFailure[] = [];
  let body: string[] = [];

  const closeGroup = () => {
    for (const failure of group) readBody(body, failure, base);
    draft.failures.push(...group);
    group = [];
    body = [];
  };

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    const r = ROOT.exec(line);
    if (r && !base) {
      base = r[1].trim();
      continue;
    }
    const h = HEADER.exec(line);
    if (h) {
      // Headers in a row share the error that follows them.
      if (body.some((l) => l.trim())) closeGroup();
      const [filePart, ...names] = h[1].replace(/\s+\[ .* \]$/, '').split(' > ');
      const failure: DraftFailure = { name: names.length ? names.join(SEP) : filePart.trim(), file: filePart.trim(), message: [], frames: [] };
      group.push(failure);
      continue;
    }
    if (SEPARATOR.test(line.trim()) || SUMMARY_START.test(line)) {
      closeGroup();
    }
    const t = TOTALS.exec(line);
    if (t) {
      draft.totals = totalsOfCounts(t[1], /(\d+) (failed|passed|skipped|todo)/g);
      continue;
    }
    if (group.length) {
      body.push(line);
      continue;
    }
    const f = FILE.exec(line);
    if (f) {
      file = f[1];
      draft.testFiles.push({ file, base });
      const counts = COUNTS.exec(line);
      if (counts) (draft.fileCounts ??= []).push({ file, base, tests: Number(counts[1]), skipped: Number(SKIPPED.exec(counts[2])?.[1] ?? 0) });
      continue;
    }
    const m = TEST.exec(line);
    if (m) {
      // Under a file line; or, with --reporter=verbose, each line starts with its file.
      let parts = m[3].split(' > ');
      let testFile = file;
      if (parts.length > 1 && (parts[0] === file || TEST_FILE.test(parts[0]))) {
        testFile = parts[0];
        parts = parts.slice(1);
        if (testFile !== file) draft.testFiles.push({ file: testFile, base });
      }
      if (!testFile) continue;
      // A todo is listed as skipped (↓); only the totals tell them apart.
      const status = m[2] === '✓' ? 'passed' : m[2] === '↓' ? 'skipped' : 'failed';
      draft.tests.push({ name: parts.join(SEP), status, file: testFile, base });
    }
  }
  closeGroup();
  // vitest 4 lists a failing file's tests by their own names; its failure headers give the suites too.
  for (const f of draft.failures) {
    const leaf = draft.tests.find((t) => t.status === 'failed' && t.file === f.file && t.name !== f.name && f.name.endsWith(SEP + t.name));
    if (leaf) leaf.name = f.name;
  }
  // A passing file lists no tests; failures not already listed still count. A file that failed to load (its
  // header names no test) is an entry, not a test.
  const listed = new Set(draft.tests.map((t) => t.name));
  for (const f of draft.failures) {
    if (!listed.has(f.name))
      draft.tests.push(f.name === f.file ? { name: f.name, status: 'failed', file: f.file, entry: true } : { name: f.name, status: 'failed', file: f.file });
  }
  return draft;
}

function readBody(raw: string[], failure: DraftFailure, base: string | undefined): void {
  const lines = trimBlank(raw);
  let inFrames = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();
    if (trimmed.startsWith('❯ ')) {
      const frame = parseStackLine(trimmed);
      if (frame) {
        if (base) frame.base = base;
        failure.frames.push(frame);
      }
      inFrames = true;
      continue;
    }
    if (isCodeFrameLine(line) || inFrames) continue;
    failure.message.push(failure.message.length === 0 ? tidyErrorLine(line) : line);
    const value = /^(Expected|Received): (.*)$/.exec(trimmed);
    if (value) {
      if (value[1] === 'Received') failure.actual ??= value[2];
      else failure.expected ??= value[2];
    }
    if (trimmed === '- Expected' && lines[i + 1]?.trim() === '+ Received') {
      const { values } = readDiff(lines, i + 2, { indent: 0, stop: (l) => l.trim().startsWith('❯ '), minus: 'expected', width: 2 });
      if (values && failure.expected === undefined) {
        failure.expected = values.expected;
        failure.actual = values.actual;
      }
    }
  }
  if (base && failure.file) failure.file = joinBase(base, failure.file);
}

function joinBase(base: string, file: string): string {
  return /^(?:\/|[A-Za-z]:[\\/])/.test(file) ? file : `${base.replace(/[\\/]+$/, '')}/${file}`;
}
