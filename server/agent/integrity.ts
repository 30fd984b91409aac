/**
 * The verdict: whether a test run that exited 0 is a real pass, judged against the baseline (the run before any
 * change) with what the runner can actually show. A model can make a suite exit 0 without fixing anything: exit
 * the process from the module under test, make it load nothing, skip tests. So a pass must be at least as strong
 * as what the baseline could show, and a real pass is never rejected for lack of names. The rules:
 *
 *  1. Output the engine could not read at the baseline: the exit code alone decides (the run says so).
 *  2. The output still reads as the same runner's, with the closing summary it always prints: a process that
 *     vanished mid-run (`os._exit(0)`, jest's intercepted `process.exit`) prints none.
 *  3. At least one test ran.
 *  4. Every test file (go: package) the baseline ran, ran again.
 *  5. Identities, where both runs name their tests: every test the baseline ran, ran again and passed.
 *  6. Per-file counts, where a file's tests are counted (or all named) on both sides: as many ran, no more skipped.
 *  7. Totals, where both have them: as many ran; no more skipped (unless a file failed to load at the baseline).
 *
 * File-level entries (a file that failed to load, or named no test) are never tests: tests replaced by a passing
 * entry are a faked pass, while a file that failed to load at the baseline may rightly become its tests. Pure.
 */
import type { FileCount, TestCase, TestReport } from '../protocol/testReport';

export type Integrity = { ok: true } | { ok: false; message: string };

const NAMES_SHOWN = 8;
const RULE = 'Fix the code under test; never skip, remove or bypass tests, and never exit the process from the module.';

export function checkIntegrity(baseline: TestReport, after: TestReport): Integrity {
  if (baseline.runner === 'unknown') return { ok: true };
  const problems = shape(baseline, after);
  if (problems.length === 0) {
    problems.push(...files(baseline, after), ...identities(baseline, after), ...fileCounts(baseline, after), ...totals(baseline, after));
  }
  if (problems.length === 0) return { ok: true };
  return { ok: false, message: `the tests exited 0 but did not really pass: ${problems.join('; ')}. ${RULE}` };
}

/** Rules 2 and 3: the same runner, its summary, and at least one test run. */
function shape(baseline: TestReport, after: TestReport): string[] {
  if (after.runner !== baseline.runner) return [`the test output no longer reads as ${baseline.runner}'s: the suite did not run as before`];
  // go prints no counts, only a line a package; every other runner closes with its counts.
  if (after.runner !== 'go' && after.totals === null) return [`${after.runner} printed no summary: the test process ended before the runner finished`];
  const ran = executed(after);
  if (ran === 0 || (ran === null && after.runner === 'go' && passingEntries(after).length)) {
    const entries = passingEntries(after);
    return [`no test ran${entries.length ? ` (${names(entries)} reported as a passing file with no test in it)` : ''}`];
  }
  return [];
}

/** Rule 4. */
function files(baseline: TestReport, after: TestReport): string[] {
  const now = new Set(after.filesRun);
  if (now.size === 0) return [];
  const missing = baseline.filesRun.filter((file) => !now.has(file));
  return missing.length ? [`${missing.length === 1 ? '1 test file' : `${missing.length} test files`} that ran before did not run: ${names(missing)}`] : [];
}

/** Rule 5, for each test the baseline ran that the passing run names, or would name were it there. */
function identities(baseline: TestReport, after: TestReport): string[] {
  const byKey = new Map<string, TestCase>();
  const byName = new Map<string, TestCase>();
  for (const test of after.tests) {
    if (test.entry) continue;
    byKey.set(key(test), test);
    if (!byName.has(test.name)) byName.set(test.name, test);
  }
  const passingEntries = new Set(after.tests.filter((t) => t.entry && t.status === 'passed').map((t) => t.file ?? t.name));
  const missing: string[] = [];
  const replaced = new Set<string>();
  const skipped: string[] = [];
  const failing: string[] = [];
  for (const test of baseline.tests) {
    if (test.entry || (test.status !== 'passed' && test.status !== 'failed')) continue;
    const now = (test.file !== undefined ? byKey.get(key(test)) : undefined) ?? byName.get(test.name);
    if (!now) {
      if (test.file !== undefined && passingEntries.has(test.file)) replaced.add(test.file);
      else if (after.namesAll) missing.push(test.name);
      continue;
    }
    if (now.status === 'skipped' || now.status === 'todo') skipped.push(test.name);
    else if (now.status === 'failed') failing.push(test.name);
  }
  const problems: string[] = [];
  if (replaced.size) problems.push(`named tests were replaced by a file that reported as one passing entry (it ran none of them): ${names([...replaced])}`);
  if (missing.length) problems.push(`${count(missing.length)} that ran before did not run: ${names(missing)}`);
  if (skipped.length) problems.push(`${count(skipped.length)} newly skipped: ${names(skipped)}`);
  if (failing.length) problems.push(`${count(failing.length)} still failing: ${names(failing)}`);
  return problems;
}

/** Rule 6. */
function fileCounts(baseline: TestReport, after: TestReport): string[] {
  const before = countsByFile(baseline);
  const now = countsByFile(after);
  const problems: string[] = [];
  for (const [file, was] of before) {
    const is = now.get(file);
    if (!is) continue;
    const ranBefore = was.tests - was.skipped;
    const ranNow = is.tests - is.skipped;
    if (ranNow < ranBefore) problems.push(`${file} ran ${ranNow} ${ranNow === 1 ? 'test' : 'tests'}; it had ${ranBefore}`);
    else if (is.skipped > was.skipped) problems.push(`${file} skipped ${is.skipped}; it had ${was.skipped}`);
  }
  return problems;
}

/** Rule 7. */
function totals(baseline: TestReport, after: TestReport): string[] {
  const ranBefore = executed(baseline);
  const ranNow = executed(after);
  const problems: string[] = [];
  if (ranBefore !== null && ranNow !== null && ranNow < ranBefore) problems.push(`the suite ran ${ranNow} tests; it had ${ranBefore}`);
  // A file that failed to load at the baseline may bring skipped tests of its own once it loads.
  const loadFailed = baseline.tests.some((t) => t.entry && t.status === 'failed');
  const skippedBefore = skippedCount(baseline);
  const skippedNow = skippedCount(after);
  if (!loadFailed && skippedBefore !== null && skippedNow !== null && skippedNow > skippedBefore) {
    problems.push(`${count(skippedNow - skippedBefore)} more skipped than before`);
  }
  return problems;
}

/** Tests that ran (passed or failed), entries left out: from the totals, else from the names when they are all there. */
function executed(report: TestReport): number | null {
  if (report.totals) return report.totals.passed + report.totals.failed;
  if (!report.namesAll) return null;
  return report.tests.filter((t) => !t.entry && (t.status === 'passed' || t.status === 'failed')).length;
}

function skippedCount(report: TestReport): number | null {
  if (report.totals) return report.totals.skipped + report.totals.todo;
  if (!report.namesAll) return null;
  return report.tests.filter((t) => !t.entry && (t.status === 'skipped' || t.status === 'todo')).length;
}

function passingEntries(report: TestReport): string[] {
  return report.tests.filter((t) => t.entry && t.status === 'passed').map((t) => t.file ?? t.name);
}

/** Each file's count: as the runner printed it, else from the names when they are all there. */
function countsByFile(report: TestReport): Map<string, FileCount> {
  const counts = new Map<string, FileCount>();
  if (report.namesAll) {
    for (const test of report.tests) {
      if (test.entry || test.file === undefined) continue;
      const c = counts.get(test.file) ?? { file: test.file, tests: 0, skipped: 0 };
      c.tests++;
      if (test.status === 'skipped' || test.status === 'todo') c.skipped++;
      counts.set(test.file, c);
    }
  }
  for (const c of report.fileCounts ?? []) counts.set(c.file, c);
  return counts;
}

function key(test: TestCase): string {
  return test.file === undefined ? test.name : `${test.file}\0${test.name}`;
}

function count(n: number): string {
  return n === 1 ? '1 test' : `${n} tests`;
}

function names(list: string[]): string {
  return list.slice(0, NAMES_SHOWN).join(', ') + (list.length > NAMES_SHOWN ? `, and ${list.length - NAMES_SHOWN} more` : '');
}
