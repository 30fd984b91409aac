import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProviderErrorKind, RejectReason, RunFinishedEvent, RunOutcome, StopReason } from '../protocol/events';
import type { TestReport } from '../protocol/testReport';
import { boundReport, failureSummary, parseTestOutput, runnerOfCommand } from '../testResults';
import { Provider, ProviderError } from '../providers/types';
import { askModel, Emit } from './askModel';
import { describeChange } from './diff';
import { findGaming, type Gaming } from './gaming';
import { checkIntegrity } from './integrity';
import type { FinishReason } from './editBlocks';
import { Attempt, buildPrompt, summarize, SYSTEM_PROMPT, WHOLE_FILE_MAX_BYTES } from './prompt';
import { type Edits, readEdits } from './replyEdits';
import { failureSignature, STUCK_AFTER, StuckDetector } from './stuck';
import { runTests, tailOf, TestRunResult } from './testRunner';
import { looksLikeTestFile, ResumeFrom, WorkingSet } from './workingSet';
import { toPosix, writeAtomic } from '../foundation/workspace';

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
  /** Test files shown to the model (`-f`): read-only, like every test file. */
  testFiles: ContextFile[];
  /** Files shown for context (the target's local imports, `--context`), nearest first; the non-test ones may be edited. */
  context: ContextFile[];
  /** A short list of the workspace's files, for orientation. */
  workspaceFiles: string[];
  maxRuns: number;
  provider: Provider;
  model: string;
  budgetUsd: number | null;
  budgetMs: number | null;
  /** Asked before each model call: why today's spend (every process's) stops the run, or undefined to go on. */
  dailyBudget?: () => string | undefined;
  /** Leave the last attempt in place when the run does not pass. */
  keep: boolean;
  /** Where the original and each attempt are kept. */
  runDir: string;
  /** The failing result of a test run made just before (an auto-fix check): used as iteration 0's, not repeated. */
  firstTest?: TestedRun;
  /** Going on from an earlier run: its originals, iteration count and what its attempts taught (`maxRuns` counts from 0 still). */
  resume?: ResumeFrom & { runId: string; attempts: Attempt[] };
  /** Tests first: the test file the user accepted, written once the run has started, before its first test. */
  generatedTests?: { abs: string; contents: string; drafts: number; edited: boolean };
  signal: AbortSignal;
  emit: Emit;
}

/** A file as the model is shown it: workspace-relative path, LF text without a BOM. */
export interface ContextFile {
  path: string;
  contents: string;
}

/** Characters of failing output sent to the model and kept in events: the tail, where the failures are. */
export const OUTPUT_TAIL_CHARS = 8000;
/** The most a reply may be; with search/replace blocks a reply rarely needs a tenth of it. */
export const MAX_OUTPUT_TOKENS = 16_384;

/** The budget ran out (money or time); the run stops as failed, not as an error. */
class BudgetStop extends Error {
  constructor(readonly reason: 'budget_usd' | 'budget_time') {
    super(reason);
  }
}

/**
 * The write → test → fix loop. Tests first (already passing: done, no model call); then each iteration sends
 * the files, the command and the failures to the model, applies the edits it answers with (search/replace
 * blocks for any file it was shown and may change, or the whole target file), and runs the tests again, until
 * they pass or the budget or max runs ends. Every original is kept in `runDir` and put back unless the run
 * passed or the user asked to keep the last attempt.
 */
export async function runLoop(input: LoopInput): Promise<RunFinishedEvent['outcome']> {
  const { emit, runId } = input;
  const started = performance.now();
  const rel = toPosix(path.relative(input.root, input.file));
  const relToRoot = (p: string) => toPosix(path.relative(input.root, p));
  let reportedTestFiles: ReadonlySet<string> = new Set(input.testFiles.map((file) => file.path));
  const files = new WorkingSet(
    input.root,
    input.runDir,
    { abs: input.file, rel },
    new Set(input.context.filter((file) => !looksLikeTestFile(file.path)).map((file) => file.path)),
    () => reportedTestFiles,
    runId,
    input.resume,
  );

  emit({
    type: 'run.started',
    runId,
    file: rel,
    files: files.editableFiles(),
    testCommand: input.testCommand,
    runner: runnerOfCommand(input.testCommand, input.cwd),
    provider: input.provider.name,
    model: input.model,
    maxRuns: input.maxRuns,
    budgetUsd: input.budgetUsd,
    budgetMs: input.budgetMs,
    prompt: input.prompt,
    originalPath: relToRoot(files.originalPath),
    pid: process.pid,
    testFiles: input.testFiles.map((file) => file.path),
    ...(input.resume ? { resumedFrom: input.resume.runId } : {}),
  });
  if (input.generatedTests) {
    const { abs, contents, drafts, edited } = input.generatedTests;
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    writeAtomic(abs, contents);
    emit({ type: 'tests.generated', runId, file: rel, testFile: relToRoot(abs), bytes: Buffer.byteLength(contents), drafts, edited });
  }

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
  let iteration = input.resume?.iteration ?? 0;
  const finish = (outcome: RunOutcome, reason: StopReason, error?: string, errorKind?: ProviderErrorKind): RunOutcome => {
    clearTimeout(budgetTimer);
    input.signal.removeEventListener('abort', onCancel);
    const touched = files.touched();
    const restoreError = outcome !== 'passed' && touched.length > 0 && !input.keep ? files.restoreAll() : undefined;
    const restored = outcome !== 'passed' && touched.length > 0 && !input.keep && restoreError === undefined;
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
      files: touched,
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
    // A module whose docstrings pytest runs is no test file: it stays fixable, and its examples stay as they are.
    const doctests = doctestModules(baseline.report, (file) => files.read(file));
    reportedTestFiles = new Set([...reportedTestFiles, ...baseline.report.testFiles].filter((file) => !doctests.has(file)));
    if (reportedTestFiles.has(rel)) return finish('error', 'test_file', `${rel} is a test file: micro-agent fixes the code under test and never edits tests`);
    if (baseline.report.runner === 'unknown') {
      // Said once, where the user looks: the CLI prints it, the editor shows it; the verdict is only the exit code.
      emit({
        type: 'log',
        runId,
        level: 'warn',
        message: `micro-agent cannot read this test runner's output (${input.testCommand}): a pass here is the exit code alone`,
      });
    }
    let last = baseline;
    const stuck = new StuckDetector();
    stuck.baseline(failureSignature(baseline.report, baseline.output));
    const attempts: Attempt[] = [...(input.resume?.attempts ?? [])];
    const stuckStop = () =>
      finish('failed', 'stuck', `the last ${STUCK_AFTER} iterations brought nothing new (the same reply or the same failing tests again)`);
    const reject = (reason: RejectReason, message: string) => {
      emit({ type: 'edit.rejected', runId, iteration, reason, message });
      attempts.push({ iteration, kind: 'rejected', reason, message });
    };
    while (iteration < input.maxRuns) {
      const stop = stopped();
      if (stop) return stop;
      if (input.budgetUsd !== null && costUsd >= input.budgetUsd) return finish('failed', 'budget_usd');
      const dailyStop = input.dailyBudget?.();
      if (dailyStop) return finish('failed', 'budget_daily', dailyStop);
      iteration++;
      emit({ type: 'run.iteration', runId, iteration, maxRuns: input.maxRuns });

      const current = files.read(rel) ?? '';
      const prompt = buildPrompt({
        file: rel,
        contents: current,
        testCommand: input.testCommand,
        goal: input.prompt,
        testFiles: input.testFiles,
        context: input.context.map((file) => ({ path: file.path, contents: files.read(file.path) ?? file.contents, editable: !files.forbidden(file.path) })),
        workspaceFiles: input.workspaceFiles,
        report: last.report,
        testOutput: last.output,
        testExitCode: last.exitCode,
        attempts,
      });
      const maxTokens = Math.min(MAX_OUTPUT_TOKENS, Math.max(4096, Math.ceil(Math.min(current.length, WHOLE_FILE_MAX_BYTES) / 2)));
      const request = { model: input.model, system: SYSTEM_PROMPT, messages: prompt, maxTokens, signal: controller.signal };
      const reply = await askModel(input.provider, request, emit, { runId, iteration });
      if (reply.metrics.costUsd === null) unpricedCalls++;
      else costUsd += reply.metrics.costUsd;

      const edits = editsOf(reply.text, reply.finishReason, rel, files, input);
      const gaming = edits.ok
        ? findGaming(
            edits.files.map((file) => ({ ...file, before: files.read(file.path) })),
            doctests,
          )
        : undefined;
      const written = gaming ? gamingRejection(gaming) : edits.ok ? files.write(edits.files, iteration) : edits;
      if (!written.ok) {
        reject(written.reason, written.message);
        if (stuck.record(reply.text)) return stuckStop();
        continue;
      }
      for (const file of written.files) {
        const { before, after, ...rest } = file;
        const match = edits.ok ? edits.files.find((edit) => edit.path === file.file)?.match : undefined;
        emit({ type: 'edit.applied', runId, iteration, ...rest, ...describeChange(before, after), ...(match ? { match } : {}) });
      }

      const tested = await test();
      if (tested.passed) {
        const integrity = checkIntegrity(baseline.report, tested.report);
        if (integrity.ok) return finish('passed', 'tests_passed');
        // A faked pass: the attempt goes, the files are as they were before it, and the model is told why.
        files.revertLastWrite();
        reject('tests_missing', integrity.message);
        if (stuck.record(reply.text)) return stuckStop();
        continue;
      }
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

function gamingRejection({ path: file, line, why }: Gaming): Edits & { ok: false } {
  return {
    ok: false,
    reason: 'gaming',
    message:
      `${file}: the edit adds \`${line}\`, which ${why}. Nothing was written. Fix the code under test so that the tests pass as ` +
      'they are; never exit the process, detect the tests or change what they check.',
  };
}

/** Python modules the runner ran as tests (pytest's `--doctest-modules`) whose tests are the examples in their docstrings. */
function doctestModules(report: TestReport, read: (file: string) => string | null): Set<string> {
  const modules = new Set<string>();
  for (const file of new Set([...report.testFiles, ...report.filesRun])) {
    if (file.endsWith('.py') && !looksLikeTestFile(file) && read(file)?.includes('>>>')) modules.add(file);
  }
  return modules;
}

/**
 * What a reply asks to change (replyEdits.ts): edits for any file the model may change, or the whole target file.
 * Paths resolve against the files the model was shown; with only the target editable, an edit may name none.
 */
function editsOf(reply: string, finishReason: FinishReason, target: string, files: WorkingSet, input: LoopInput): Edits {
  const editable = files.editableFiles();
  return readEdits(reply, finishReason, {
    target,
    known: [...editable, ...input.testFiles.map((file) => file.path), ...input.workspaceFiles],
    only: editable.length === 1 ? target : null,
    exists: (rel) => fs.existsSync(path.resolve(input.root, rel)),
    read: (rel) => files.read(rel),
    forbidden: (rel) => files.forbidden(rel),
  });
}

/** A test run with what the runner said, read from its output. */
export type TestedRun = TestRunResult & { report: TestReport };

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
