/**
 * What a run leaves behind, acted on: its changes, undo and restore to a checkpoint, resume as a new run, tests
 * first's drafts, and closing the runs a dead process left open. Each reads the run's record under
 * `.micro-agent/runs/` as untrusted state and refuses what fails validation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { askModel } from '../agent/askModel';
import { MAX_OUTPUT_TOKENS } from '../agent/loop';
import { extractCode } from '../agent/prompt';
import { runHistory } from '../agent/runHistory';
import { ChangedSinceError, checkpointsOf, fileChanges, lastKept, readRecord, RecordError, restoreTo, RunRecord } from '../agent/runRecord';
import { buildTestsPrompt, TESTS_SYSTEM_PROMPT } from '../agent/testsPrompt';
import { toModelText } from '../agent/textFile';
import { isAlive } from '../foundation/runLock';
import { PathError, statePaths, toPosix } from '../foundation/workspace';
import type { RunOutcome } from '../protocol/events';
import { isRunId } from '../protocol/methods';
import type { InterruptedRunsParams, RestoreResult, ResumeRunParams, RunChanges, WriteTestsParams, WriteTestsResult } from '../protocol/methods';
import type { Planner } from './planner';
import type { Queries } from './queries';
import { checkShape, EngineError, EngineOptions, REQUEST_LIMITS, RunRequest } from './request';
import type { Runner } from './runner';

export class RunActions {
  private readonly interruptedRuns: InterruptedRunsParams['runs'] = [];

  constructor(
    private readonly options: EngineOptions,
    private readonly planner: Planner,
    private readonly runner: Runner,
    private readonly queries: Queries,
  ) {}

  /** Runs an earlier process left open (killed, crashed), closed as interrupted when this engine opened. */
  get interrupted(): InterruptedRunsParams['runs'] {
    return this.interruptedRuns;
  }

  /** What a run changed (default: the latest run), each file's diff from its original, and its checkpoints. */
  runChanges(runId?: string): RunChanges {
    const id = runId ?? this.queries.latestRun();
    const { record, runDir } = this.recordOf(id);
    return {
      runId: id,
      file: record.target,
      files: this.untrustedState(() => fileChanges(this.options.root, runDir, record)),
      checkpoints: checkpointsOf(record),
      restoredTo: record.restoredTo,
    };
  }

  /** Puts back the originals of every file a run changed (default: the latest run's). */
  undo(runId: string | undefined, force = false): RestoreResult {
    return this.restore(runId ?? this.queries.latestRun(), 0, force);
  }

  /**
   * Puts every file a run wrote back as attempt `iteration` left it (0: the originals). Refused while the run
   * (or another on its file) is going, and, unless `force`, when a file changed after the run last wrote it.
   */
  restore(runId: string, iteration: number, force = false): RestoreResult {
    const { record, runDir } = this.recordOf(runId);
    if (!Number.isInteger(iteration) || iteration < 0) throw new EngineError('invalid_params', 'iteration must be a whole number ≥ 0');
    const files = this.whileLocked(record, `restore-${runId}`, () => this.restoreRecord(record, runDir, iteration, force));
    return { runId, iteration, files };
  }

  /**
   * Goes on with a run that ended failed, cancelled or interrupted, as a new run (`resumedFrom`): its files put
   * back as its last kept attempt left them, its originals, what its attempts taught, its iteration count and
   * what is left of its budgets. `params` may override the model, the provider, the iterations and the budget.
   */
  async resume(params: ResumeRunParams): Promise<{ runId: string; done: Promise<RunOutcome> }> {
    if (typeof params?.runId !== 'string') throw new EngineError('invalid_params', 'runId is required');
    const { runId } = params;
    const { record, runDir } = this.recordOf(runId);
    const history = runHistory(runId, (id) => (this.queries.run(id) ? this.queries.runEvents(id) : undefined));
    if (!history) throw new EngineError('not_found', `no run ${runId} in the log`);
    const { started, finished } = history;
    if (!finished) throw new EngineError('run_in_progress', `run ${runId} is still going; cancel it first or wait for it to end`);
    if (finished.outcome === 'passed') throw new EngineError('invalid_params', `run ${runId} passed: there is nothing to resume (undo it, or start a new run)`);
    const left = started.maxRuns - finished.iterations;
    const added = params.maxRuns ?? (left > 0 ? left : started.maxRuns);
    const spent = (budget: number | null, used: number) => (budget === null ? undefined : budget - used);
    const budgetUsd = params.budgetUsd ?? spent(started.budgetUsd, finished.costUsd);
    if (budgetUsd !== undefined && budgetUsd <= 0)
      throw new EngineError('invalid_params', `run ${runId} spent its whole budget of $${started.budgetUsd}; give a new budget to resume it`);
    const budgetMs = spent(started.budgetMs, finished.durationMs);
    const request: RunRequest = {
      file: started.file,
      testCommand: started.testCommand,
      prompt: started.prompt ?? undefined,
      testFiles: started.testFiles,
      maxRuns: added,
      provider: params.provider ?? started.provider,
      model: params.model ?? (params.provider && params.provider !== started.provider ? undefined : started.model),
      budgetUsd,
      budgetSec: budgetMs === undefined ? undefined : Math.max(1, budgetMs / 1000),
    };
    const plan = await this.planner.plan(request, { targetMayBeMissing: record.originals[record.target] === null });
    plan.maxRuns = finished.iterations + added;
    const controller = this.runner.claim(plan);
    try {
      this.restoreRecord(record, runDir, lastKept(record), params.force === true);
      const originals = new Map(Object.entries(record.originals).map(([rel, copy]) => [rel, copy === null ? null : fs.readFileSync(path.join(runDir, copy))]));
      const resume = { runId, originals, iteration: finished.iterations, attempts: history.attempts };
      return { runId: plan.runId, done: this.runner.launch(plan, controller, undefined, resume) };
    } catch (err) {
      this.runner.unclaim(plan.runId);
      throw err;
    }
  }

  /**
   * Tests first: asks the model for the test file of `file` (which may not exist yet) from what it should do;
   * with `draft` and `feedback`, for a revision. Nothing is written: a run writes the draft the user accepts.
   */
  async writeTests(params: WriteTestsParams & { file: string }, signal?: AbortSignal): Promise<WriteTestsResult> {
    this.planner.refuseUntrusted();
    checkShape({
      file: params.file,
      testFile: params.testFile,
      prompt: params.prompt,
      testCommand: params.testCommand,
      provider: params.provider,
      model: params.model,
    });
    for (const key of ['draft', 'feedback'] as const) {
      const value = params[key];
      if (value !== undefined && (typeof value !== 'string' || value.length > REQUEST_LIMITS.promptChars))
        throw new EngineError('invalid_params', `${key} must be text of at most ${REQUEST_LIMITS.promptChars.toLocaleString('en-US')} characters`);
    }
    if (typeof params.prompt !== 'string' || !params.prompt.trim())
      throw new EngineError('invalid_params', 'say what the code should do (prompt): the tests are written from it');
    const target = this.planner.workspacePath(params.file);
    const testFile = this.planner.newTestFile(params.testFile);
    const settings = this.planner.resolve(params);
    this.planner.checkDailyBudget();
    const messages = buildTestsPrompt({
      file: target.rel,
      contents: fs.existsSync(target.abs) ? toModelText(this.planner.checkedPath(params.file).contents) : null,
      testFile: testFile.rel,
      goal: params.prompt.trim(),
      testCommand: params.testCommand?.trim() || settings.testCommand?.trim() || null,
      draft: params.draft,
      feedback: params.feedback?.trim() || undefined,
    });
    const request = { model: settings.model, system: TESTS_SYSTEM_PROMPT, messages, maxTokens: MAX_OUTPUT_TOKENS, signal };
    const reply = await askModel(this.planner.providerFor(settings), request, (event) => this.options.log.append(event), { iteration: null });
    const extracted = extractCode(reply.text, reply.finishReason, testFile.rel);
    if (!extracted.ok) throw new EngineError('invalid_params', `the model's test file could not be used: ${extracted.message}; ask again`);
    const previous = this.planner.testDrafts.get(testFile.abs);
    this.planner.testDrafts.set(testFile.abs, { drafts: (params.draft !== undefined ? (previous?.drafts ?? 1) : 0) + 1, last: extracted.code });
    return { testFile: testFile.rel, contents: extracted.code };
  }

  /** A run's record of its files, validated (`readRecord`), or a refusal saying why there is none or why it is not trusted. */
  recordOf(runId: unknown): { record: RunRecord; runDir: string } {
    if (!isRunId(runId)) throw new EngineError('invalid_params', 'runId must be a run id');
    const found = this.untrustedState(() => readRecord(this.options.root, runId));
    if (!found)
      throw new EngineError(
        'not_found',
        `no record of run ${runId}'s files under ${toPosix(path.relative(this.options.root, statePaths(this.options.root).runDir(runId)))}/ ` +
          '(an unknown run, or one from before micro-agent kept records)',
      );
    return found;
  }

  /**
   * Acts on state read back from `.micro-agent/` (a record, the files it names), turning a refusal of it into the
   * engine's `invalid_record`: nothing of such a record was applied.
   */
  untrustedState<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (err instanceof RecordError || err instanceof PathError) throw new EngineError('invalid_record', `refused: ${err.message}; nothing was changed`);
      throw err;
    }
  }

  /** Restores a record, turning its refusals into the engine's; logs `run.restored` when a file was written. */
  restoreRecord(record: RunRecord, runDir: string, iteration: number, force: boolean): string[] {
    let files: string[];
    try {
      files = this.untrustedState(() => restoreTo(this.options.root, runDir, record, iteration, force));
    } catch (err) {
      if (err instanceof ChangedSinceError)
        throw new EngineError(
          'changed_since',
          `${err.files.join(', ')} changed after run ${record.runId} last wrote ${err.files.length > 1 ? 'them' : 'it'}; force to overwrite`,
          err.files,
        );
      if (err instanceof RangeError) throw new EngineError('not_found', err.message);
      throw err;
    }
    this.options.log.append({ type: 'run.restored', runId: record.runId, iteration, files, forced: force });
    return files;
  }

  /** Runs `work` holding the run's file, so no run in any process writes it meanwhile. */
  whileLocked<T>(record: RunRecord, holder: string, work: () => T): T {
    const lock = this.runner.lockFile({ abs: path.join(this.options.root, record.target), rel: record.target }, holder);
    try {
      return work();
    } finally {
      lock.release();
    }
  }

  /** A run the log shows started but never finished belonged to a process that died; say so in the log. */
  closeInterrupted(): void {
    for (const run of this.queries.history.aggregator.unfinished()) {
      // Another process sharing this log (the CLI beside the editor) may still be running it.
      if (run.pid !== process.pid && isAlive(run.pid)) continue;
      // Closed as interrupted, with what the run got to; what is left to say differs for an eval's cell.
      const close = (rest: { evalId?: string; files: string[]; error: string }) =>
        this.options.log.append({
          type: 'run.finished',
          runId: run.runId,
          outcome: 'error',
          reason: 'interrupted',
          iterations: run.iterations,
          costUsd: run.costUsd,
          unpricedCalls: 0,
          durationMs: 0,
          restored: false,
          ...rest,
        });
      const { evalId } = run;
      if (evalId) {
        // An eval's cell ran in a copy that is gone: nothing of the workspace to put back, nothing to offer to undo.
        close({
          evalId,
          files: [],
          error:
            `run ${run.runId} of eval ${evalId} was interrupted (pid ${run.pid} stopped); it ran in an isolated copy, so no file of ` +
            `the workspace changed. micro-agent eval --resume ${evalId} runs the cell again`,
        });
        continue;
      }
      const kept = toPosix(path.relative(this.options.root, statePaths(this.options.root).runDir(run.runId)));
      let files = [run.file];
      let refused = '';
      try {
        files = Object.keys(readRecord(this.options.root, run.runId)?.record.originals ?? { [run.file]: null });
      } catch (err) {
        // A record that fails validation is named, never acted on: undo refuses it the same way.
        if (!(err instanceof RecordError || err instanceof PathError)) throw err;
        refused = `Its record is refused (${err.message}), so undo cannot put files back.`;
      }
      this.interruptedRuns.push({ runId: run.runId, file: run.file, files });
      close({
        files,
        error:
          `run ${run.runId} on ${run.file} was interrupted: its process (pid ${run.pid}) stopped; the original of ${run.file} is kept under ${kept}/. ` +
          (refused || `Its files are as it left them mid-run; to put the originals back: micro-agent undo ${run.runId}`),
      });
    }
  }
}
