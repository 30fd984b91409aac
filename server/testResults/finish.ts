/**
 * A draft → the report: paths resolved into the workspace, each failure's frames sorted into the test frame and
 * the source frame, messages tidied and capped.
 */
import type { TestCase, TestFailure, TestLocation, TestReport } from '../protocol/testReport';
import { dedent, trimBlank, type Draft, type DraftFailure, type RawFrame } from './draft';
import type { Resolver } from './paths';

const MAX_MESSAGE = 4000;
const MAX_VALUE = 2000;
const STACK_FRAMES = 5;

/** Test files by name, for frames no runner claimed: `*.test.js`, `*.spec.ts`, `__tests__/`, `test_x.py`, `x_test.go`. */
const TEST_FILE = /(?:^|\/)(?:__tests__|__mocks__)\/|\.(?:test|spec)\.[cm]?[jt]sx?$|(?:^|\/)test_[^/]*\.py$|_test\.(?:py|go)$|(?:^|\/)conftest\.py$/;
const TEST_DIR = /(?:^|\/)(?:tests?|spec)\//;

export function finish(draft: Draft, resolver: Resolver): TestReport {
  const testFiles: string[] = [];
  const known = new Set<string>();
  const addTestFile = (file: string | undefined) => {
    if (file && !known.has(file)) {
      known.add(file);
      testFiles.push(file);
    }
  };
  for (const t of draft.testFiles) addTestFile(resolver.resolve(t));
  const filesRun = new Set(testFiles);
  const failureFiles = draft.failures.map((f) => (f.file ? resolver.resolve({ file: f.file, base: f.declared?.base }) : undefined));
  for (const file of failureFiles) addTestFile(file);

  // Asked for every frame of every failure, of the same few files: each file's answer is kept.
  const byName = new Map<string, boolean>();
  const isTestFile = (file: string) => {
    if (known.has(file)) return true;
    let test = byName.get(file);
    if (test === undefined) {
      test = TEST_FILE.test(file) || TEST_DIR.test(file);
      byName.set(file, test);
    }
    return test;
  };
  const failures = draft.failures.map((f, i) => finishFailure(f, failureFiles[i], resolver, isTestFile));
  for (const f of failures) addTestFile(f.test?.file);

  const failedFile = new Map<string, string>();
  for (const f of failures) if (f.test && !failedFile.has(f.name)) failedFile.set(f.name, f.test.file);
  const tests: TestCase[] = draft.tests.map((t) => {
    // The case is its own frame (`file`, `base`): no object made per test to ask.
    const file = t.file ? resolver.resolve(t as { file: string; base?: string }) : failedFile.get(t.name);
    const test: TestCase = file ? { name: t.name, status: t.status, file } : { name: t.name, status: t.status };
    if (t.entry) test.entry = true;
    // Only the runner's own word counts as a file that ran: a file found from a failure's frames does not.
    if (file && t.file) filesRun.add(file);
    return test;
  });

  const report: TestReport = {
    runner: draft.runner,
    totals: draft.totals,
    tests,
    failures,
    testFiles,
    filesRun: [],
    namesAll: draft.namesAll ?? namesEvery(draft),
  };
  if (draft.fileCounts) {
    report.fileCounts = draft.fileCounts.map(({ file, base, tests: n, skipped }) => ({ file: resolver.resolve({ file, base }) ?? file, tests: n, skipped }));
    for (const count of report.fileCounts) filesRun.add(count.file);
  }
  report.filesRun = [...filesRun];
  return report;
}

/** Whether the named tests are every test the totals count: a reporter that lists only failing files names fewer. */
function namesEvery(draft: Draft): boolean {
  if (!draft.totals) return false;
  const { passed, failed, skipped, todo } = draft.totals;
  let named = 0;
  for (const t of draft.tests) if (!t.entry) named++;
  return named === passed + failed + skipped + todo;
}

function finishFailure(f: DraftFailure, file: string | undefined, resolver: Resolver, isTestFile: (file: string) => boolean): TestFailure {
  const frames: (TestLocation & { fn?: string })[] = [];
  for (const raw of f.frames) {
    const loc = locate(raw, resolver);
    if (loc) frames.push(loc);
  }
  const inTest = (loc: TestLocation) => loc.file === file || isTestFile(loc.file);
  const testIndex = frames.findIndex(inTest);
  let test: TestLocation | undefined = testIndex >= 0 ? plain(frames[testIndex]) : undefined;
  if (!test && f.declared) {
    const declared = locate(f.declared, resolver);
    if (declared) test = plain(declared);
  }
  // The code under test: the innermost workspace frame outside the tests, when it is deeper than the test frame.
  let sourceFrame: (TestLocation & { fn?: string }) | undefined;
  for (let i = 0, end = testIndex >= 0 ? testIndex : frames.length; i < end && !sourceFrame; i++) if (!inTest(frames[i])) sourceFrame = frames[i];
  const out: TestFailure = { name: f.name, message: tidyMessage(f.message) };
  if (f.expected !== undefined) out.expected = clip(f.expected, MAX_VALUE);
  if (f.actual !== undefined) out.actual = clip(f.actual, MAX_VALUE);
  if (test) out.test = test;
  if (sourceFrame) out.source = plain(sourceFrame);
  if (frames.length) {
    const parts: string[] = [];
    for (let i = 0; i < frames.length && i < STACK_FRAMES; i++) {
      const l = frames[i];
      parts.push(`${l.file}:${l.line}${l.column ? `:${l.column}` : ''}${l.fn ? ` (${l.fn})` : ''}`);
    }
    out.stack = parts.join('\n');
  }
  return out;
}

function locate(raw: RawFrame, resolver: Resolver): (TestLocation & { fn?: string }) | undefined {
  const file = resolver.resolve(raw);
  if (!file) return undefined;
  const loc: TestLocation & { fn?: string } = { file, line: raw.line };
  if (raw.column !== undefined) loc.column = raw.column;
  if (raw.fn) loc.fn = raw.fn;
  return loc;
}

const plain = (loc: TestLocation): TestLocation =>
  loc.column === undefined ? { file: loc.file, line: loc.line } : { file: loc.file, line: loc.line, column: loc.column };

/** Dedents, drops blank edges, keeps at most one blank line in a row, caps the length. */
export function tidyMessage(lines: string[]): string {
  const out: string[] = [];
  for (const line of dedent(trimBlank(lines))) {
    if (line === '' && out[out.length - 1] === '') continue;
    out.push(line);
  }
  return clip(out.join('\n'), MAX_MESSAGE);
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
