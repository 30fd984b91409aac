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
  /** Workspace-relative test files the runner reported. */
  testFiles: string[];
  /** Set when the report was shortened to fit (`boundReport`): lists cut, messages clipped. */
  truncated?: boolean;
}
