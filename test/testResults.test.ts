/**
 * server/testResults on real runners: each fixture project in test/fixtures/runners/ is copied to a temp folder and
 * its runner run live (node --test, jest, vitest, mocha, ava, pytest, go test), plain and with colour forced on;
 * the output is parsed and the report checked against the fixtures themselves (lines found by their `@fail:`
 * and `@source:` markers). pytest and go come from scripts/setup-e2e.sh: missing, these tests fail.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestFailure, TestLocation, TestReport } from '../server/protocol';
import { boundReport, failureSummary, parseTestOutput, stripAnsi } from '../server/testResults';
import { REPO } from './support/fixtures';
import { copyFixture, findGo, findPytest, goEnv, markerLine, removeRunnerCopies, runCommand, runnerEnv, type RunResult } from './support/runners';

const NODE = process.execPath;

after(removeRunnerCopies);
const bin = (...parts: string[]) => path.join(REPO, 'node_modules', ...parts);

function parse(root: string, run: RunResult, cwd = root): TestReport {
  return parseTestOutput(run.output, { root, cwd, exitCode: run.exitCode });
}

/** Runs the assertions; when one fails, the runner's output is in the message. */
function withOutput(run: RunResult, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- runner output (exit ${run.exitCode}) ---\n${run.output.slice(-6000)}`;
    throw err;
  }
}

function assertColoured(run: RunResult): void {
  assert.ok(run.output.includes('\x1b['), 'the runner printed colour');
}

/** The run with colour forced on printed colour, and reads as the same report as the plain run (each seen through `as`). */
function assertSameInColour(dir: string, color: RunResult, plain: RunResult, as = (report: TestReport) => report): void {
  assertColoured(color);
  withOutput(color, () => assert.deepEqual(as(parse(dir, color)), as(parse(dir, plain))));
}

/** The runner run twice at once in `dir`: plain, and with colour forced on (`colorArgs`). */
function runPlainAndColour(dir: string, args: string[], colorArgs: string[]): Promise<[RunResult, RunResult]> {
  return Promise.all([runCommand(dir, NODE, args, runnerEnv(false)), runCommand(dir, NODE, colorArgs, runnerEnv(true))]);
}

const statuses = (report: TestReport) => Object.fromEntries(report.tests.map((t) => [t.name, t.status]).sort(([a], [b]) => a.localeCompare(b)));

function failure(report: TestReport, name: string): TestFailure {
  const f = report.failures.find((x) => x.name === name);
  assert.ok(f, `no failure named ${name}; got ${report.failures.map((x) => x.name).join(', ')}`);
  return f;
}

function assertAt(loc: TestLocation | undefined, file: string, line: number, what: string): void {
  assert.ok(loc, `${what}: no location`);
  assert.deepEqual({ file: loc.file, line: loc.line }, { file, line }, what);
}

/** The same report whatever order a concurrent runner finished in. */
const sorted = (r: TestReport): TestReport => ({
  ...r,
  tests: [...r.tests].sort((a, b) => a.name.localeCompare(b.name)),
  failures: [...r.failures].sort((a, b) => a.name.localeCompare(b.name)),
  testFiles: [...r.testFiles].sort(),
});

/** The names of `assertMathFailures`' failures where the runner joins suite and test names (all but ava). */
const MATH_NAMES = { sums: 'math › add › sums', later: 'math › resolves later', div: 'math › divides by zero' };

/**
 * The failures every JS fixture has: `sums` (assertion, -1 vs 5), `resolves later` (async, 2 vs 3) and
 * `divides by zero` (a RangeError thrown in src/math.*), each at its marker.
 */
function assertMathFailures(report: TestReport, dir: string, testFile: string, srcFile: string, names: { sums: string; later: string; div: string }) {
  const sums = failure(report, names.sums);
  assert.equal(sums.expected, '5');
  assert.equal(sums.actual, '-1');
  assertAt(sums.test, testFile, markerLine(dir, testFile, '@fail:sums'), 'sums: test frame');
  assert.equal(sums.source, undefined, 'sums: the assertion is in the test');

  const later = failure(report, names.later);
  assert.equal(later.expected, '3');
  assert.equal(later.actual, '2');
  assertAt(later.test, testFile, markerLine(dir, testFile, '@fail:later'), 'later: test frame (after an await)');

  const div = failure(report, names.div);
  assert.match(div.message, /division by zero/);
  assert.match(div.message, /RangeError/);
  assertAt(div.test, testFile, markerLine(dir, testFile, '@fail:div'), 'div: test frame');
  assertAt(div.source, srcFile, markerLine(dir, srcFile, '@source:div'), 'div: source frame');
  assert.ok(div.stack?.split('\n')[0].startsWith(`${srcFile}:`), `div: the stack starts in the source: ${div.stack}`);
}

describe('test results: node --test', function () {
  this.timeout(60_000);
  const files = ['test/math.test.js', 'test/strings.test.js'];
  let dir: string;
  let tap: RunResult;
  let spec: RunResult;
  let specColor: RunResult;
  before(async () => {
    dir = copyFixture('node');
    [tap, spec, specColor] = await Promise.all([
      runCommand(dir, NODE, ['--test', ...files], runnerEnv(false)),
      runCommand(dir, NODE, ['--test', '--test-reporter=spec', ...files], runnerEnv(false)),
      runCommand(dir, NODE, ['--test', '--test-reporter=spec', ...files], runnerEnv(true)),
    ]);
  });

  const expectedTests = {
    'compares objects': 'failed',
    joins: 'passed',
    'math › add › keeps zero': 'passed',
    'math › add › sums': 'failed',
    'math › divides by zero': 'failed',
    'math › resolves later': 'failed',
    'math › skipped one': 'skipped',
    'math › todo one': 'todo',
    'top level passes': 'passed',
  };

  function assertNodeReport(report: TestReport) {
    assert.equal(report.runner, 'node');
    assert.deepEqual(report.totals, { passed: 3, failed: 4, skipped: 1, todo: 1 });
    assert.deepEqual(statuses(report), expectedTests);
    // The leaves only: a suite whose child failed is not a failure of its own, and no test fails twice.
    assert.deepEqual(report.failures.map((f) => f.name).sort(), ['compares objects', 'math › add › sums', 'math › divides by zero', 'math › resolves later']);
    assertMathFailures(report, dir, 'test/math.test.js', 'src/math.js', MATH_NAMES);
    const objects = failure(report, 'compares objects');
    assert.match(objects.message, /strictly deep-equal/);
    assert.match(objects.expected ?? '', /size: 2/);
    assert.match(objects.actual ?? '', /size: 1/);
    assertAt(objects.test, 'test/strings.test.js', markerLine(dir, 'test/strings.test.js', '@fail:objects'), 'objects: test frame');
    assert.deepEqual([...report.testFiles].sort(), files);
  }

  it('TAP, the default into a pipe: leaf tests with their suites, YAML values and frames', () => {
    assert.match(tap.output, /^TAP version 13$/m);
    withOutput(tap, () => assertNodeReport(parse(dir, tap)));
  });

  it('spec reporter, plain and in colour: the same report', () => {
    assert.match(spec.output, /^ℹ tests 9$/m);
    withOutput(spec, () => assertNodeReport(parse(dir, spec)));
    assertSameInColour(dir, specColor, spec);
  });
});

describe('test results: jest', function () {
  this.timeout(60_000);
  const jest = bin('jest', 'bin', 'jest.js');
  let dir: string;
  let plain: RunResult;
  let color: RunResult;
  let verbose: RunResult;
  before(async () => {
    dir = copyFixture('jest');
    [plain, color, verbose] = await Promise.all([
      runCommand(dir, NODE, [jest, '--ci'], runnerEnv(false)),
      runCommand(dir, NODE, [jest, '--ci', '--colors'], runnerEnv(true)),
      runCommand(dir, NODE, [jest, '--ci', '--verbose'], runnerEnv(false)),
    ]);
  });

  it('default reporter: a failure per `●` block with its own message, a snapshot diff, the totals', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assert.equal(report.runner, 'jest');
      assert.deepEqual(report.totals, { passed: 3, failed: 4, skipped: 1, todo: 1 });
      // Without --verbose jest names only the failing tests.
      assert.deepEqual(statuses(report), {
        'math › add › sums': 'failed',
        'math › divides by zero': 'failed',
        'math › formats': 'failed',
        'math › resolves later': 'failed',
      });
      assertMathFailures(report, dir, 'test/math.test.js', 'src/math.js', MATH_NAMES);
      // Each message is its own block's, not the first one's.
      assert.match(failure(report, MATH_NAMES.sums).message, /Expected: 5\nReceived: -1/);
      assert.match(failure(report, MATH_NAMES.later).message, /Expected: 3\nReceived: 2/);
      assert.doesNotMatch(failure(report, MATH_NAMES.div).message, /Expected/);
      const snapshot = failure(report, 'math › formats');
      assert.match(snapshot.message, /toMatchSnapshot/);
      assert.equal(snapshot.expected, '"-3"');
      assert.equal(snapshot.actual, '"-003"');
      assertAt(snapshot.test, 'test/math.test.js', markerLine(dir, 'test/math.test.js', '@fail:snapshot'), 'snapshot: test frame');
      assert.deepEqual(report.testFiles, ['test/math.test.js', 'test/strings.test.js']);
      assert.equal(failureSummary(report), '4 failed, 3 passed, 1 skipped, 1 todo — sums, resolves later, divides by zero, …');
    });
  });

  it('in colour: the same report', () => assertSameInColour(dir, color, plain));

  it('--verbose: every test under its suites, skipped and todo included', () => {
    const report = parse(dir, verbose);
    withOutput(verbose, () => {
      assert.deepEqual(statuses(report), {
        joins: 'passed',
        'math › add › keeps zero': 'passed',
        'math › add › sums': 'failed',
        'math › divides by zero': 'failed',
        'math › formats': 'failed',
        'math › resolves later': 'failed',
        'math › skipped one': 'skipped',
        'math › todo one': 'todo',
        'top level passes': 'passed',
      });
      assert.equal(report.tests.find((t) => t.name === 'joins')?.file, 'test/strings.test.js');
      assert.deepEqual(report.failures, parse(dir, plain).failures);
    });
  });
});

describe('test results: vitest (TypeScript tests)', function () {
  this.timeout(60_000);
  const vitest = bin('vitest', 'vitest.mjs');
  let dir: string;
  let plain: RunResult;
  let color: RunResult;
  before(async () => {
    dir = copyFixture('vitest');
    [plain, color] = await runPlainAndColour(dir, [vitest, 'run'], [vitest, 'run']);
  });

  it('`FAIL file > suite > test` blocks, `❯ file:line:col` frames, the snapshot mismatch, the totals', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assert.equal(report.runner, 'vitest');
      assert.deepEqual(report.totals, { passed: 3, failed: 4, skipped: 1, todo: 1 });
      // vitest lists a todo as skipped (↓); only its totals tell them apart. A passing file lists no tests.
      assert.deepEqual(statuses(report), {
        'math › add › keeps zero': 'passed',
        'math › add › sums': 'failed',
        'math › divides by zero': 'failed',
        'math › formats': 'failed',
        'math › resolves later': 'failed',
        'math › skipped one': 'skipped',
        'math › todo one': 'skipped',
        'top level passes': 'passed',
      });
      assertMathFailures(report, dir, 'test/math.test.mts', 'src/math.mts', MATH_NAMES);
      assert.match(failure(report, 'math › add › sums').message, /expected -1 to be 5/);
      const snapshot = failure(report, 'math › formats');
      assert.match(snapshot.message, /Snapshot `math > formats 1` mismatched/);
      assert.match(snapshot.expected ?? '', /^"+-3"+$/);
      assert.match(snapshot.actual ?? '', /^"+-003"+$/);
      assertAt(snapshot.test, 'test/math.test.mts', markerLine(dir, 'test/math.test.mts', '@fail:snapshot'), 'snapshot: test frame');
      assert.deepEqual(report.testFiles, ['test/math.test.mts', 'test/strings.test.mts']);
    });
  });

  it('in colour: the same report', () => assertSameInColour(dir, color, plain));
});

describe('test results: mocha', function () {
  this.timeout(60_000);
  const mocha = bin('mocha', 'bin', 'mocha.js');
  let dir: string;
  let plain: RunResult;
  let color: RunResult;
  before(async () => {
    dir = copyFixture('mocha');
    const args = [mocha, '--no-config', '--no-package', 'test/*.spec.js'];
    [plain, color] = await runPlainAndColour(dir, args, [...args, '--colors']);
  });

  it('spec reporter: suites from indentation, numbered failures, `+ expected - actual`', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assert.equal(report.runner, 'mocha');
      // mocha has no todo: a test without a body is pending, as a skipped one is.
      assert.deepEqual(report.totals, { passed: 3, failed: 3, skipped: 2, todo: 0 });
      assert.deepEqual(statuses(report), {
        'math › add › keeps zero': 'passed',
        'math › add › sums': 'failed',
        'math › divides by zero': 'failed',
        'math › resolves later': 'failed',
        'math › skipped one': 'skipped',
        'math › todo one': 'skipped',
        'strings › joins': 'passed',
        'top level passes': 'passed',
      });
      assertMathFailures(report, dir, 'test/math.spec.js', 'src/math.js', MATH_NAMES);
      assert.match(failure(report, 'math › add › sums').message, /^AssertionError: Expected values to be strictly equal:\n\n-1 !== 5$/);
      assert.equal(failure(report, 'math › divides by zero').message, 'RangeError: division by zero');
    });
  });

  it('in colour: the same report', () => assertSameInColour(dir, color, plain));
});

describe('test results: ava', function () {
  this.timeout(60_000);
  const ava = bin('ava', 'entrypoints', 'cli.mjs');
  let dir: string;
  let plain: RunResult;
  let color: RunResult;
  before(async () => {
    dir = copyFixture('ava');
    [plain, color] = await runPlainAndColour(dir, [ava], [ava, '--color']);
  });

  it('`✘ [fail]:` lines, the failure blocks with their difference, the counts', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assert.equal(report.runner, 'ava');
      assert.deepEqual(report.totals, { passed: 2, failed: 3, skipped: 1, todo: 1 });
      // Several files ran, so ava prefixes each title with its file: kept as the outer name.
      assert.deepEqual(statuses(report), {
        'math › add keeps zero': 'passed',
        'math › add sums': 'failed',
        'math › divides by zero': 'failed',
        'math › resolves later': 'failed',
        'math › skipped one': 'skipped',
        'math › todo one': 'todo',
        'strings › joins': 'passed',
      });
      assertMathFailures(report, dir, 'test/math.test.js', 'src/math.js', {
        sums: 'math › add sums',
        later: 'math › resolves later',
        div: 'math › divides by zero',
      });
      assert.match(failure(report, 'math › add sums').message, /Difference \(- actual, \+ expected\)/);
      assert.equal(report.tests.find((t) => t.name === 'math › add sums')?.file, 'test/math.test.js');
    });
  });

  it('in colour: the same report', () => assertSameInColour(dir, color, plain, sorted));
});

describe('test results: pytest', function () {
  this.timeout(60_000);
  let dir: string;
  let plain: RunResult;
  let color: RunResult;
  let verbose: RunResult;
  let quiet: RunResult;
  before(async () => {
    const python = findPytest();
    dir = copyFixture('pytest');
    const env = runnerEnv(false, { PYTHONDONTWRITEBYTECODE: '1' });
    const pytest = (...args: string[]) => runCommand(dir, python, ['-m', 'pytest', '-p', 'no:cacheprovider', ...args], env);
    [plain, color, verbose, quiet] = await Promise.all([pytest(), pytest('--color=yes'), pytest('-v'), pytest('-q', '-rA')]);
  });

  function assertPytestFailures(report: TestReport) {
    assert.equal(report.runner, 'pytest');
    assert.deepEqual(report.totals, { passed: 3, failed: 4, skipped: 1, todo: 0 });
    const test = 'tests/test_math.py';
    const sums = failure(report, 'TestAdd › test_sums');
    // The `E` lines are the message.
    assert.match(sums.message, /^assert -1 == 5\n\s*\+\s+where -1 = add\(2, 3\)$/);
    assertAt(sums.test, test, markerLine(dir, test, '@fail:sums'), 'sums: test frame');
    for (const [id, want] of [
      ['1-1-2', 'assert 0 == 2'],
      ['2-2-4', 'assert 0 == 4'],
    ]) {
      const f = failure(report, `test_param[${id}]`);
      assert.match(f.message, new RegExp(`^${want}`));
      assertAt(f.test, test, markerLine(dir, test, '@fail:param'), `param ${id}: test frame`);
    }
    const div = failure(report, 'test_div');
    assert.equal(div.message, 'ZeroDivisionError: integer division or modulo by zero');
    assertAt(div.test, test, markerLine(dir, test, '@fail:div'), 'div: test frame');
    assertAt(div.source, 'calc/mathlib.py', markerLine(dir, 'calc/mathlib.py', '@source:div'), 'div: source frame');
    assert.equal(report.failures.length, 4);
  }

  it('default: `FAILED` node ids, `E` lines as messages, parametrized ids, frames in tests and source', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assertPytestFailures(report);
      assert.deepEqual(statuses(report), { 'TestAdd › test_sums': 'failed', test_div: 'failed', 'test_param[1-1-2]': 'failed', 'test_param[2-2-4]': 'failed' });
      assert.deepEqual(report.testFiles, ['tests/test_math.py', 'tests/test_strings.py']);
    });
  });

  it('--color=yes: the same report', () => assertSameInColour(dir, color, plain));

  it('-v names every test; -q -rA names all but the skipped', () => {
    const all = {
      'TestAdd › test_keeps_zero': 'passed',
      'TestAdd › test_sums': 'failed',
      test_div: 'failed',
      test_joins: 'passed',
      'test_param[0-0-0]': 'passed',
      'test_param[1-1-2]': 'failed',
      'test_param[2-2-4]': 'failed',
      test_skipped: 'skipped',
    };
    const v = parse(dir, verbose);
    withOutput(verbose, () => {
      assertPytestFailures(v);
      assert.deepEqual(statuses(v), all);
      assert.equal(v.tests.find((t) => t.name === 'test_joins')?.file, 'tests/test_strings.py');
    });
    const q = parse(dir, quiet);
    withOutput(quiet, () => {
      assertPytestFailures(q);
      const { test_skipped: _skipped, ...named } = all;
      assert.deepEqual(statuses(q), named);
    });
  });
});

describe('test results: go test', function () {
  this.timeout(60_000);
  let dir: string;
  let brokenDir: string;
  let plain: RunResult;
  let verbose: RunResult;
  let inPackage: RunResult;
  let broken: RunResult;
  before(async () => {
    const go = findGo();
    dir = copyFixture('go');
    const env = runnerEnv(false, goEnv());
    // One at a time: they share the build cache, and the first fills it.
    plain = await runCommand(dir, go, ['test', '-count=1', './...'], env);
    verbose = await runCommand(dir, go, ['test', '-count=1', '-v', './...'], env);
    inPackage = await runCommand(path.join(dir, 'sub', 'strs'), go, ['test', '-count=1', '.'], env);
    // A test file that does not compile: `# pkg`, the compiler's errors, `FAIL pkg [build failed]`.
    brokenDir = copyFixture('go');
    const brokenTest = 'package strs\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) {\n\tReverse(1) // @fail:build\n}\n';
    fs.writeFileSync(path.join(brokenDir, 'sub', 'strs', 'broken_test.go'), brokenTest);
    broken = await runCommand(brokenDir, go, ['test', '-count=1', './sub/strs/'], env);
  });

  function assertGoFailures(report: TestReport) {
    assert.equal(report.runner, 'go');
    assert.deepEqual(report.failures.map((f) => f.name).sort(), ['TestDiv', 'TestLength', 'TestReverse › word']);
    const strs = 'sub/strs/strs_test.go';
    // Paths printed relative to the package folder, mapped through go.mod's module path.
    const word = failure(report, 'TestReverse › word');
    assert.match(word.message, /Reverse\("abc"\) = "cb", want "cba"/);
    assertAt(word.test, strs, markerLine(dir, strs, '@fail:word'), 'word: test frame');
    const length = failure(report, 'TestLength');
    assert.match(length.message, /len = 1, want 2/);
    assertAt(length.test, strs, markerLine(dir, strs, '@fail:length'), 'length: test frame');
    // A panic: the goroutine trace's absolute paths, the source frame first.
    const div = failure(report, 'TestDiv');
    assert.match(div.message, /^panic: runtime error: integer divide by zero/);
    assertAt(div.test, 'sub/boom/boom_test.go', markerLine(dir, 'sub/boom/boom_test.go', '@fail:div'), 'div: test frame');
    assertAt(div.source, 'sub/boom/boom.go', markerLine(dir, 'sub/boom/boom.go', '@source:div'), 'div: source frame');
    assert.deepEqual([...report.testFiles].sort(), ['sub/boom/boom_test.go', strs]);
  }

  it('plain `go test ./...`: the failures of packages in sub-folders; no counts printed, so no totals', () => {
    const report = parse(dir, plain);
    withOutput(plain, () => {
      assertGoFailures(report);
      assert.equal(report.totals, null);
      assert.deepEqual(statuses(report), { TestDiv: 'failed', TestLength: 'failed', 'TestReverse › word': 'failed' });
      assert.equal(failureSummary(report), '3 failed — TestDiv, word, TestLength');
    });
  });

  it('-v: every test, a parent with subtests counted as their suite', () => {
    const report = parse(dir, verbose);
    withOutput(verbose, () => {
      assertGoFailures(report);
      assert.deepEqual(report.totals, { passed: 3, failed: 3, skipped: 1, todo: 0 });
      assert.deepEqual(statuses(report), {
        TestAdd: 'passed',
        TestDiv: 'failed',
        TestEmpty: 'passed',
        TestLength: 'failed',
        'TestReverse › empty': 'passed',
        'TestReverse › word': 'failed',
        TestSkipped: 'skipped',
      });
    });
  });

  it('run inside the sub-package: paths still resolve into the workspace', () => {
    const report = parse(dir, inPackage, path.join(dir, 'sub', 'strs'));
    withOutput(inPackage, () => {
      assert.deepEqual(report.failures.map((f) => f.name).sort(), ['TestLength', 'TestReverse › word']);
      const strs = 'sub/strs/strs_test.go';
      assertAt(failure(report, 'TestLength').test, strs, markerLine(dir, strs, '@fail:length'), 'length: test frame');
    });
  });

  it('a build failure: the package fails, with the compiler error at its line', () => {
    const report = parse(brokenDir, broken);
    withOutput(broken, () => {
      assert.equal(report.runner, 'go');
      const build = failure(report, 'example.com/calc/sub/strs');
      assert.match(build.message, /cannot use 1 .* as string value/);
      const file = 'sub/strs/broken_test.go';
      assertAt(build.test, file, markerLine(brokenDir, file, '@fail:build'), 'build: error location');
    });
  });
});

describe('test results: unknown output, escapes, bounds', function () {
  this.timeout(60_000);

  it('output no runner printed: runner unknown, totals null, nothing listed', async () => {
    const run = await runCommand(REPO, NODE, ['-e', 'console.log("building…\\nerror: something broke at src/x.ts:3:4"); process.exit(2)'], runnerEnv(false));
    assert.deepEqual(parseTestOutput(run.output, { root: REPO, cwd: REPO, exitCode: run.exitCode }), {
      runner: 'unknown',
      totals: null,
      tests: [],
      failures: [],
      testFiles: [],
      filesRun: [],
      namesAll: false,
    });
    assert.equal(failureSummary(parseTestOutput('', { root: REPO, cwd: REPO, exitCode: 1 })), 'no test counts');
  });

  it('stripAnsi removes CSI, OSC hyperlinks, charset selections and C0 controls; a lone \\r rewinds the line', () => {
    assert.equal(stripAnsi('\x1b[1m\x1b[31mFAIL\x1b[39m\x1b[22m a.test.js'), 'FAIL a.test.js');
    assert.equal(stripAnsi('see \x1b]8;;file:///x/a.ts\x07a.ts\x1b]8;;\x07 and \x1b]8;;http://x\x1b\\x\x1b]8;;\x1b\\'), 'see a.ts and x');
    assert.equal(stripAnsi('\x1b(Bplain\x1b[?25l\x1b[2K\x9b1mx\x07\x08'), 'plainx');
    assert.equal(stripAnsi('10%\r50%\r100%\ndone\r\n'), '100%\ndone\n');
    assert.equal(stripAnsi('tab\tkept\n'), 'tab\tkept\n');
    // Malformed: an unterminated OSC ends with its line; nothing after it is lost.
    assert.equal(stripAnsi('a\x1b]8;;never closed\nnext line'), 'a\nnext line');
  });

  it('boundReport keeps totals and failures first and cuts the test list to fit', async () => {
    // A real run with many tests and long failure messages.
    const dir = copyFixture('node');
    const lines = ["const test = require('node:test');", "const assert = require('node:assert');"];
    for (let i = 0; i < 400; i++) lines.push(`test('case number ${i} with a rather long descriptive name', () => {});`);
    for (let i = 0; i < 30; i++) lines.push(`test('fails ${i}', () => assert.strictEqual('${'x'.repeat(300)}', 'y'));`);
    fs.writeFileSync(path.join(dir, 'test', 'many.test.js'), lines.join('\n'));
    const run = await runCommand(dir, NODE, ['--test', 'test/many.test.js'], runnerEnv(false));
    const report = parse(dir, run);
    assert.deepEqual(report.totals, { passed: 400, failed: 30, skipped: 0, todo: 0 });
    assert.ok(JSON.stringify(report).length > 16_000);
    const bounded = boundReport(report, 16_000);
    assert.ok(JSON.stringify(bounded).length <= 16_000, `${JSON.stringify(bounded).length}`);
    assert.equal(bounded.truncated, true);
    assert.deepEqual(bounded.totals, report.totals);
    assert.ok(bounded.failures.length >= 10, `${bounded.failures.length} failures kept`);
    assert.equal(bounded.tests[0].status, 'failed', 'failed tests come first');
    assert.ok(bounded.tests.length < report.tests.length);
    assert.equal(boundReport(bounded, 1_000_000), bounded, 'a report that fits is returned as is');
    assert.match(failureSummary(report), /^30 failed, 400 passed — fails 0, fails 1, fails 2, …$/);
  });

  it('parses 5 MB of real runner output in linear time', async () => {
    const dir = copyFixture('node');
    const run = await runCommand(dir, NODE, ['--test', 'test/math.test.js', 'test/strings.test.js'], runnerEnv(false));
    const context = { root: dir, cwd: dir, exitCode: 1 };
    const time = (text: string) => {
      parseTestOutput(text, context); // warm up
      const started = performance.now();
      const report = parseTestOutput(text, context);
      return { ms: performance.now() - started, report };
    };
    const mb = (n: number) => run.output.repeat(Math.ceil((n * 1024 * 1024) / run.output.length));
    const { ms, report } = time(mb(5));
    assert.equal(report.runner, 'node');
    assert.equal(report.failures.length, 4 * Math.ceil((5 * 1024 * 1024) / run.output.length));
    // The bench's goal is 50 ms; here only a bound no quadratic parser could meet on a loaded machine.
    assert.ok(ms < 3000, `${ms.toFixed(0)} ms for 5 MB`);
  });
});
