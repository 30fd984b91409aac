/**
 * A test run as a structured report: which runner printed the output, the totals it printed, every test it
 * named with its status, and where and why each failure happened. Built by server/testResults from the
 * runner's own output. Types only.
 */

/** The runners whose output is understood. `node` is node's built-in test runner (`node --test`, TAP or spec). */
export type TestRunner = 'node' | 'jest' | 'vitest' | 'mocha' | 'ava' | 'pytest' | 'go';

/** Skipped covers every kind of not-run (skip, pending, xfail); `todo` where the runner has it apart. */
export type TestStatus = 'passed' | 'failed' | 'skipped' | 'todo';

/** A place in a file: workspace-relative and '/'-separated when it resolves inside the workspace. */
export interface TestLocation {
  file: string;
  line: number;
  column?: number;
}

/** One test the runner named. `name` joins the enclosing suites with ' › ', e.g. 'math › add › sums'. */
export interface TestCase {
  name: string;
  status: TestStatus;
  /** The test file, workspace-relative, when the runner says which. */
  file?: string;
  /**
   * Set on a file-level entry, which is not a test: a test file that failed to load or ended before it named any
   * test (node's file-as-a-test, jest's "Test suite failed to run", pytest's collection errors, go's
   * `[no test files]` / `[setup failed]` / `[build failed]`). Never counted in `totals`.
   */
  entry?: true;
}

/** What the runner said ran in one test file (a package for go), where it prints counts per file. */
export interface FileCount {
  file: string;
  /** Tests it counted in the file, skipped ones included. */
  tests: number;
  skipped: number;
}

export interface TestFailure {
  /** The failed test's full name, as in `TestCase.name`. */
  name: string;
  /** What the runner printed about the failure, stack frames and code excerpts left out. */
  message: string;
  /** The expected and actual values where the runner prints them apart (assertion diffs, snapshots). */
  expected?: string;
  actual?: string;
  /** The innermost frame in a test file: usually the failing assertion. */
  test?: TestLocation;
  /** The innermost frame in a non-test workspace file, when the failure came from the code under test. */
  source?: TestLocation;
  /** A few workspace frames, innermost first, one a line. */
  stack?: string;
}

export interface TestTotals {
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
}

export interface TestReport {
  runner: TestRunner | 'unknown';
  /** As the runner counted them; null when it printed no counts (unknown output, `go test` without -v). */
  totals: TestTotals | null;
  tests: TestCase[];
  failures: TestFailure[];
  /** Workspace-relative test files the runner reported, and those its failures' frames point into. */
  testFiles: string[];
  /** The test files (go: packages) the runner itself said ran: its file lines and the files of the tests it named. */
  filesRun: string[];
  /**
   * Whether `tests` names every test that ran: true for reporters that list each test (TAP, node's spec, mocha's
   * spec, ava, jest's and vitest's verbose, pytest with `-rA`, go with `-v`), false for those that name only the
   * tests of failing files or only failures (jest's and vitest's default, pytest `-q`, go without `-v`).
   */
  namesAll: boolean;
  /** Per-file counts where the runner prints them (vitest's `✓ test/x.test.ts (21 tests)`); absent elsewhere. */
  fileCounts?: FileCount[];
  /** Set when the report was shortened to fit (`boundReport`): lists cut, messages clipped. */
  truncated?: boolean;
}
