/**
 * Whether an exit code of 0 is a real pass. A model can make a suite exit 0 without fixing anything: exit the
 * process from the module under test, skip the failing tests, delete them, make the suite load nothing. So when
 * the runner's report can be read, a pass also needs every test that ran before any change (the baseline) to
 * have run again and passed, no test newly skipped, and the total not to have dropped. (A failing entry that
 * vanished while the total held is no cheat: a test file that could not load is one failing entry before the
 * fix and its real tests after it; runners that name only failures list none of the passing ones.) Pure.
 */
import type { TestReport } from '../protocol/testReport';

export type Integrity = { ok: true } | { ok: false; message: string };

const NAMES_SHOWN = 8;
const RULE = 'Fix the code under test; never skip, remove or bypass tests, and never exit the process from the module.';

export function checkIntegrity(baseline: TestReport, after: TestReport): Integrity {
  // Output the engine cannot read: the exit code alone decides, as it did for the baseline.
  if (baseline.runner === 'unknown') return { ok: true };
  const ran = baseline.tests.filter((test) => test.status === 'passed' || test.status === 'failed');
  const now = new Map(after.tests.map((test) => [test.name, test.status]));
  const before = total(baseline);
  const afterTotal = total(after);
  const dropped = before !== null && afterTotal !== null && afterTotal < before;
  // A failing entry may rightly vanish when the suite now runs as many tests or more: a file that failed to
  // load (a syntax error in the module) was one failing entry, and is its real tests once fixed. A test that
  // passed before must always run again.
  const missing = ran.filter((test) => !now.has(test.name) && (dropped || test.status === 'passed')).map((test) => test.name);
  const skipped = ran.filter((test) => now.get(test.name) === 'skipped' || now.get(test.name) === 'todo').map((test) => test.name);
  const notPassing = ran.filter((test) => now.get(test.name) === 'failed').map((test) => test.name);
  const problems: string[] = [];
  if (after.runner === 'unknown') problems.push(`the test output no longer reads as ${baseline.runner}'s: the suite did not run as before`);
  if (missing.length) problems.push(`${count(missing.length)} that ran before did not run: ${names(missing)}`);
  if (skipped.length) problems.push(`${count(skipped.length)} newly skipped: ${names(skipped)}`);
  if (notPassing.length) problems.push(`${count(notPassing.length)} still failing: ${names(notPassing)}`);
  if (dropped) problems.push(`the suite ran ${afterTotal} tests; it had ${before}`);
  const moreSkipped = skippedCount(after) - skippedCount(baseline);
  if (moreSkipped > 0 && skipped.length === 0) problems.push(`${count(moreSkipped)} more skipped than before`);
  if (problems.length === 0) return { ok: true };
  return {
    ok: false,
    message: `the tests exited 0 but did not really pass: ${problems.join('; ')}. ${RULE}`,
  };
}

function total(report: TestReport): number | null {
  if (!report.totals) return report.tests.length || null;
  const { passed, failed, skipped, todo } = report.totals;
  return passed + failed + skipped + todo;
}

function skippedCount(report: TestReport): number {
  return report.totals ? report.totals.skipped + report.totals.todo : 0;
}

function count(n: number): string {
  return n === 1 ? '1 test' : `${n} tests`;
}

function names(list: string[]): string {
  return list.slice(0, NAMES_SHOWN).join(', ') + (list.length > NAMES_SHOWN ? `, and ${list.length - NAMES_SHOWN} more` : '');
}
