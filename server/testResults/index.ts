/**
 * Test results: a test run's output → a structured report (runner, totals, every test named with its status, and
 * for each failure its message, expected/actual values and test and source locations). The runner is recognised
 * from the output itself; escapes are stripped first; paths come back workspace-relative. Understands node's test
 * runner (TAP and spec), jest, vitest, mocha, ava, pytest and go test; anything else is `runner: 'unknown'` with
 * null totals, where the exit code alone decides. Parsing is line by line and linear in the output's size.
 */
import type { TestReport } from '../protocol/testReport';
import { stripAnsi } from './ansi';
import { detect, type OutputKind } from './detect';
import { LineReader, type Draft } from './draft';
import { finish } from './finish';
import { createResolver, nodeFileSystem, type TestFileSystem } from './paths';
import { parseAva } from './runners/ava';
import { parseGo } from './runners/go';
import { parseJest } from './runners/jest';
import { parseMocha } from './runners/mocha';
import { parseNodeSpec } from './runners/nodeSpec';
import { parsePytest } from './runners/pytest';
import { parseTap } from './runners/tap';
import { parseVitest } from './runners/vitest';

export { stripAnsi } from './ansi';
export { boundReport, failureSummary } from './bound';
export { nodeFileSystem, type TestFileSystem } from './paths';
export { withReportFlags } from './reportFlags';
export { runnerOfCommand } from './commandRunner';

export interface ParseContext {
  /** The workspace root: paths inside it come back relative to it. */
  root: string;
  /** Where the test command ran: relative paths in the output are read against it. */
  cwd: string;
  /** The command's exit code; the verdict when the output is not understood (totals null). */
  exitCode: number | null;
  /** Reads go.mod and checks candidate files; the real disk unless a test hands in another. */
  fs?: TestFileSystem;
}

const PARSERS: Record<OutputKind, (lines: LineReader) => Draft> = {
  tap: parseTap,
  nodeSpec: parseNodeSpec,
  jest: parseJest,
  vitest: parseVitest,
  mocha: parseMocha,
  ava: parseAva,
  pytest: parsePytest,
  go: parseGo,
};

export function emptyReport(): TestReport {
  return { runner: 'unknown', totals: null, tests: [], failures: [], testFiles: [], filesRun: [], namesAll: false };
}

export function parseTestOutput(output: string, context: ParseContext): TestReport {
  const text = stripAnsi(output);
  const kind = detect(text);
  if (!kind) return emptyReport();
  const draft = PARSERS[kind](new LineReader(text));
  return finish(draft, createResolver(context.root, context.cwd, context.fs ?? nodeFileSystem));
}
