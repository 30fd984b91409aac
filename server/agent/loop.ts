import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProviderErrorKind, RunFinishedEvent, RunOutcome, StopReason } from '../protocol/events';
import type { TestReport } from '../protocol/testReport';
import { boundReport, failureSummary, parseTestOutput } from '../testResults';
import { Provider, ProviderError } from '../providers/types';
import { askModel, Emit } from './askModel';
import { lineDelta, unifiedDiff } from './diff';
import { checkIntegrity } from './integrity';
import { Attempt, buildPrompt, Extraction, judgeReply, summarize, SYSTEM_PROMPT } from './prompt';
import { failureSignature, STUCK_AFTER, StuckDetector } from './stuck';
import { runTests, tailOf, TestRunResult } from './testRunner';
import { shapeOf, TextShape, toFileText, toModelText } from './textFile';
import { MAX_FILE_BYTES, readSource, toPosix, writeAtomic } from '../workspace';

/** How a run's tests are run: the same for every iteration and for an auto-fix check. */
export interface TestSetup {
  testCommand: string;
  cwd: string;
  testTimeoutMs: number;
  /** The environment for the test command (API keys already removed). */
  testEnv: NodeJS.ProcessEnv;
}

export interface LoopInput extends TestSetup {
  runId: string;
  root: string;
  /** Absolute, already checked to be inside the workspace. */
  file: string;
  prompt: string | null;
  testFile: { path: string; contents: string } | null;
  maxRuns: number;
  provider: Provider;
  model: string;
  budgetUsd: number | null;
  budgetMs: number | null;
  /** Leave the last attempt in place when the run does not pass. */
  keep: boolean;
  /** Where the original and each attempt are kept. */
  runDir: string;
  /** The failing result of a test run made just before (an auto-fix check): used as iteration 0's, not repeated. */
  firstTest?: TestedRun;
  signal: AbortSignal;
  emit: Emit;
}

/** Characters of failing output sent to the model and kept in events: the tail, where the failures are. */
export const OUTPUT_TAIL_CHARS = 8000;
const MAX_OUTPUT_TOKENS = 16_384;

/** The budget ran out (money or time); the run stops as failed, not as an error. */
class BudgetStop extends Error {
  constructor(readonly reason: 'budget_usd' | 'budget_time') {
    super(reason);
  }
}

/**
 * The write → test → fix loop. Tests first (already passing: done, no model call); then each iteration sends
 * the file, the command and the failing output to the model, writes the whole new file it answers with, and
 * runs the tests again, until they pass or the budget or max runs ends. The original is kept in `runDir` and
 * put back unless the run passed or the user asked to keep the last attempt.
 */
export async function runLoop(input: LoopInput): Promise<RunFinishedEvent['outcome']> {
  const { emit, runId } = input;
  const started = performance.now();
  const rel = toPosix(path.relative(input.root, input.file));
  const relToRoot = (p: string) => toPosix(path.relative(input.root, p));
  const original = readSource(input.file, rel);
  // The model sees LF text without a BOM; what is written gets the file's BOM and dominant line ending back.
  const shape = shapeOf(original);
  fs.mkdirSync(input.runDir, { recursive: true });
  const originalPath = path.join(input.runDir, `original${path.extname(input.file)}`);
  fs.writeFileSync(originalPath, original);

  emit({
    type: 'run.started',
    runId,
    file: rel,
    testCommand: input.testCommand,
    provider: input.provider.name,
    model: input.model,
    maxRuns: input.maxRuns,
    budgetUsd: input.budgetUsd,
    budgetMs: input.budgetMs,
    prompt: input.prompt,
    originalPath: relToRoot(originalPath),
    pid: process.pid,
  });

  // One controller for the run: user cancel and the time budget both stop the call or test in flight.
  const controller = new AbortController();
  const onCancel = () => controller.abort(new Error('cancelled'));
  input.signal.addEventListener('abort', onCancel, { once: true });
  if (input.signal.aborted) onCancel();
  let timeBudgetHit = false;
  const budgetTimer =
    input.budgetMs === null
      ? undefined
      : setTimeout(() => {
          timeBudgetHit = true;
          controller.abort(new BudgetStop('budget_time'));
        }, input.budgetMs);

  let costUsd = 0;
  let unpricedCalls = 0;
  let iteration = 0;
  let written = false;
  const finish = (outcome: RunOutcome, reason: StopReason, error?: string, errorKind?: ProviderErrorKind): RunOutcome => {
    clearTimeout(budgetTimer);
    input.signal.removeEventListener('abort', onCancel);
    let restored = false;
    let restoreError: string | undefined;
    if (outcome !== 'passed' && written && !input.keep) {
      try {
        writeAtomic(input.file, original);
        restored = true;
      } catch (err) {
        restoreError = `could not put the original back (${(err as Error).message}); it is kept at ${relToRoot(originalPath)}`;
      }
    }
    const message = [error, restoreError].filter(Boolean).join('; ');
    emit({
      type: 'run.finished',
      runId,
      outcome,
      reason,
      iterations: iteration,
      costUsd,
      unpricedCalls,
      durationMs: Math.round(performance.now() - started),
      restored,
      ...(message ? { error: message } : {}),
      ...(errorKind ? { errorKind } : {}),
    });
    return outcome;
  };
  const stopped = (): RunOutcome | undefined => {
    if (input.signal.aborted) return finish('cancelled', 'cancelled');
    if (timeBudgetHit) return finish('failed', 'budget_time');
    return undefined;
  };

  const test = () => runTestsLogged({ ...input, signal: controller.signal }, runId, iteration, emit);

  try {
    // The baseline: what the suite said before any change; a later pass must cover what it ran.
    const baseline = input.firstTest ?? (await test());
    if (baseline.passed) return finish('passed', 'tests_passed');
    const testFiles = new Set([...baseline.report.testFiles, ...(input.testFile ? [input.testFile.path] : [])]);
    if (testFiles.has(rel)) return finish('error', 'test_file', `${rel} is a test file: micro-agent fixes the code under test and never edits tests`);
    let last = baseline;
    const stuck = new StuckDetector();
    stuck.baseline(failureSignature(baseline.report, baseline.output));
    const attempts: Attempt[] = [];
    // The model's view of the file: what the prompt shows, what diffs and "unchanged" compare against.
    let current = toModelText(original);
    let currentContents = original;
    const testFile = input.testFile && { path: input.testFile.path, contents: toModelText(input.testFile.contents) };
    const stuckStop = () =>
      finish('failed', 'stuck', `the last ${STUCK_AFTER} iterations brought nothing new (the same reply or the same failing tests again)`);
    while (iteration < input.maxRuns) {
      const stop = stopped();
      if (stop) return stop;
      if (input.budgetUsd !== null && costUsd >= input.budgetUsd) return finish('failed', 'budget_usd');
      iteration++;
      emit({ type: 'run.iteration', runId, iteration, maxRuns: input.maxRuns });

      const messages = buildPrompt({
        file: rel,
        contents: current,
        testCommand: input.testCommand,
        goal: input.prompt,
        testFile,
        report: last.report,
        testOutput: last.output,
        testExitCode: last.exitCode,
        attempts,
      });
      const maxTokens = Math.min(MAX_OUTPUT_TOKENS, Math.max(4096, Math.ceil(current.length / 2)));
      const reply = await askModel(input.provider, { model: input.model, system: SYSTEM_PROMPT, messages, maxTokens, signal: controller.signal }, emit, {
        runId,
        iteration,
      });
      if (reply.metrics.costUsd === null) unpricedCalls++;
      else costUsd += reply.metrics.costUsd;

      const verdict = judgeReply(reply.text, reply.finishReason, current, rel);
      const judged = verdict.ok ? forWriting(verdict.code, shape) : verdict;
      if (!judged.ok) {
        emit({ type: 'edit.rejected', runId, iteration, reason: judged.reason, message: judged.message });
        attempts.push({ iteration, kind: 'rejected', reason: judged.reason, message: judged.message });
        if (stuck.record(reply.text)) return stuckStop();
        continue;
      }
      const { code, contents, bytes } = judged;

      const attemptPath = path.join(input.runDir, `attempt-${iteration}${path.extname(input.file)}`);
      fs.writeFileSync(attemptPath, contents);
      writeAtomic(input.file, contents);
      written = true;
      emit({
        type: 'edit.applied',
        runId,
        iteration,
        file: rel,
        bytes,
        ...lineDelta(current, code),
        diff: unifiedDiff(current, code),
        attemptPath: relToRoot(attemptPath),
      });

      const tested = await test();
      if (tested.passed) {
        const integrity = checkIntegrity(baseline.report, tested.report);
        if (integrity.ok) return finish('passed', 'tests_passed');
        // A faked pass: the attempt goes, the file is as it was before it, and the model is told why.
        writeAtomic(input.file, currentContents);
        emit({ type: 'edit.rejected', runId, iteration, reason: 'tests_missing', message: integrity.message });
        attempts.push({ iteration, kind: 'rejected', reason: 'tests_missing', message: integrity.message });
        if (stuck.record(reply.text)) return stuckStop();
        continue;
      }
      current = code;
      currentContents = contents;
      last = tested;
      const stopAfterTest = stopped();
      if (stopAfterTest) return stopAfterTest;
      const summary = last.report.runner === 'unknown' ? summarize(last.output) : failureSummary(last.report);
      attempts.push({ iteration, kind: 'tested', exitCode: last.exitCode, timedOut: last.timedOut, summary });
      if (stuck.record(reply.text, failureSignature(last.report, last.output))) return stuckStop();
    }
    return finish('failed', 'max_runs');
  } catch (err) {
    const stop = stopped();
    if (stop) return stop;
    if (err instanceof ProviderError) return finish('error', 'provider_error', err.message, err.kind);
    return finish('error', 'internal_error', err instanceof Error ? err.message : String(err));
  }
}

type Rejection = Extract<Extraction, { ok: false }>;

/** A test run with what the runner said, read from its output. */
export type TestedRun = TestRunResult & { report: TestReport };

/**
 * The model's code as the file will hold it (its BOM and line ending back), or a rejection when that is larger
 * than the engine reads: what is written is bounded the same way as what is read, so a run never leaves a file
 * it would refuse next time.
 */
function forWriting(code: string, shape: TextShape): { ok: true; code: string; contents: string; bytes: number } | Rejection {
  const contents = toFileText(code, shape);
  const bytes = Buffer.byteLength(contents);
  if (bytes > MAX_FILE_BYTES) {
    const message = `the new file was ${Math.ceil(bytes / 1024)} KB; micro-agent writes files up to ${MAX_FILE_BYTES / 1024} KB: send a smaller whole file`;
    return { ok: false, reason: 'too_large', message };
  }
  return { ok: true, code, contents, bytes };
}

/**
 * One test run, logged: `test.started` before, `test.finished` after with the tail of the output and the
 * runner's report (bounded), read from the output once here for the loop, the event and the diagnostics.
 */
export async function runTestsLogged(setup: TestSetup & { signal: AbortSignal }, runId: string, iteration: number, emit: Emit): Promise<TestedRun> {
  emit({ type: 'test.started', runId, iteration, command: setup.testCommand });
  const result = await runTests({ command: setup.testCommand, cwd: setup.cwd, timeoutMs: setup.testTimeoutMs, signal: setup.signal, env: setup.testEnv });
  const report = parseTestOutput(result.output, { root: setup.cwd, cwd: setup.cwd, exitCode: result.exitCode });
  emit({
    type: 'test.finished',
    runId,
    iteration,
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: result.durationMs,
    passed: result.passed,
    timedOut: result.timedOut,
    cancelled: result.cancelled,
    outputTail: tailOf(result.output, OUTPUT_TAIL_CHARS),
    report: boundReport(report),
  });
  return { ...result, report };
}
