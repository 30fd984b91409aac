/**
 * Reports sized for events and prompts: `boundReport` keeps totals and failures first and cuts the test list, then
 * messages, then failures until the JSON fits; `failureSummary` is the one-line digest.
 */
import type { TestFailure, TestReport } from '../protocol/testReport';
import { SEP } from './draft';
import { clip } from './finish';

const MAX_TEST_FILES = 50;
const MAX_FAILURES = 50;

/** A copy of `report` whose JSON is at most `maxChars` long (as far as its fixed parts allow), `truncated` when cut. */
export function boundReport(report: TestReport, maxChars = 16_000): TestReport {
  const size = (r: TestReport) => JSON.stringify(r).length;
  if (size(report) <= maxChars) return report;
  const out: TestReport = {
    runner: report.runner,
    totals: report.totals,
    tests: [],
    failures: report.failures.slice(0, MAX_FAILURES).map((f) => shrinkFailure(f, 1000)),
    testFiles: report.testFiles.slice(0, MAX_TEST_FILES),
    filesRun: report.filesRun.slice(0, MAX_TEST_FILES),
    // The copy's list of tests is cut, so it no longer names them all.
    namesAll: false,
    truncated: true,
  };
  // Failures tighter and fewer until they fit with no tests at all.
  for (const limit of [400, 160]) {
    if (size(out) <= maxChars) break;
    out.failures = out.failures.map((f) => shrinkFailure(f, limit));
  }
  while (out.failures.length > 1 && size(out) > maxChars) out.failures = out.failures.slice(0, Math.floor(out.failures.length / 2));
  if (size(out) > maxChars) {
    out.testFiles = out.testFiles.slice(0, 5);
    out.filesRun = out.filesRun.slice(0, 5);
  }
  // As many tests as still fit, failed ones first.
  const ordered = [...report.tests.filter((t) => t.status === 'failed'), ...report.tests.filter((t) => t.status !== 'failed')];
  let lo = 0;
  let hi = ordered.length;
  const base = size(out);
  if (base < maxChars) {
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (base + JSON.stringify(ordered.slice(0, mid)).length - 2 <= maxChars) lo = mid;
      else hi = mid - 1;
    }
  }
  out.tests = ordered.slice(0, lo);
  return out;
}

function shrinkFailure(f: TestFailure, limit: number): TestFailure {
  const out: TestFailure = { ...f, message: clip(f.message, limit) };
  if (f.expected !== undefined) out.expected = clip(f.expected, Math.ceil(limit / 2));
  if (f.actual !== undefined) out.actual = clip(f.actual, Math.ceil(limit / 2));
  if (f.stack !== undefined) {
    if (limit < 400) delete out.stack;
    else out.stack = clip(f.stack, limit / 2);
  }
  return out;
}

const SHORT_NAMES = 3;

/** `2 failed, 14 passed — add sums, formats -3d`: counts, then the short names of a few failed tests. */
export function failureSummary(report: TestReport): string {
  const t = report.totals;
  const failed = t ? t.failed : report.failures.length;
  const counts: string[] = [];
  if (failed || !t) counts.push(`${failed} failed`);
  if (t) {
    counts.push(`${t.passed} passed`);
    if (t.skipped) counts.push(`${t.skipped} skipped`);
    if (t.todo) counts.push(`${t.todo} todo`);
  }
  let line = t || report.failures.length ? counts.join(', ') : 'no test counts';
  const names: string[] = [];
  for (const f of report.failures) {
    const cut = f.name.lastIndexOf(SEP);
    const short = cut < 0 ? f.name : f.name.slice(cut + SEP.length);
    if (!names.includes(short)) names.push(short);
  }
  if (names.length) line += ` — ${names.slice(0, SHORT_NAMES).join(', ')}${names.length > SHORT_NAMES ? ', …' : ''}`;
  return line;
}
