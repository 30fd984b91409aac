/**
 * An eval from start to end: the options checked, the tasks mined (git history, mutants, a tasks file), the spec
 * kept, then every task × model cell run, `concurrency` at a time, each in its own copy (`cell.ts`), with
 * `eval.started`, one `eval.cell` per cell and `eval.finished` in the log. Cancelling stops the running cells (their
 * loops cancel, their copies go) and starts no more; `resume` runs the cells that have no result yet.
 */
import { randomBytes } from 'node:crypto';
import type { DailyCap } from '../alerts/dailyCap';
import { type Env, resolveSettings } from '../foundation/config';
import { acquireRunLock, LockHeldError, type RunLock } from '../foundation/runLock';
import { STATE_DIR_NAME } from '../foundation/workspace';
import { withReportFlags } from '../testResults';
import { Planner } from '../engine/planner';
import { checked, EngineError, type EngineOptions } from '../engine/request';
import type { EvalCell, EvalCellJob, EvalCellResult, EvalPlan, EvalReport, EvalSummary, EvalTaskSpec, StartEvalParams } from '../protocol/eval';
import { isEvalId } from '../protocol/eval';
import { isProviderName, unknownProviderMessage } from '../protocol/providers';
import { parseModel, runCell } from './cell';
import { checkRange, type MiningSetup, tasksFromGit } from './gitTasks';
import { sweepStaleCopies } from './isolation';
import { mutantTasks } from './mutants';
import { mapLimited } from './pool';
import { cellKey, type EvalSpec, latestCells, listEvals, loadSpec, readEvalEvents, reportOf, saveSpec, taskSummary } from './store';
import { TasksFileError, tasksFromFile } from './tasksFile';

export const EVAL_LIMITS = { models: 20, concurrency: 16, mutants: 500, maxRuns: 100, budgetUsd: 10_000 } as const;
const DEFAULT_MAX_RUNS = 3;

interface RunningEval {
  controller: AbortController;
  done: Promise<EvalReport>;
}

export interface EvalStarted {
  evalId: string;
  /** The tasks and options, once mined (at once for a resume); rejects when mining failed (a bad rev range, a git error). */
  spec: Promise<EvalSpec>;
  /** The report once every cell ran (or the eval was cancelled). Never rejects: a failure is logged and reported. */
  done: Promise<EvalReport>;
}

export class EvalService {
  private readonly running = new Map<string, RunningEval>();

  constructor(
    private readonly options: EngineOptions,
    private readonly env: () => Env,
    private readonly dailyCap: DailyCap,
    private readonly planner: Planner,
  ) {}

  isRunning(evalId: string): boolean {
    return this.running.has(evalId);
  }

  async list(): Promise<EvalSummary[]> {
    return listEvals(this.options.log.file, (evalId) => this.isRunning(evalId));
  }

  async report(evalId: unknown): Promise<EvalReport> {
    if (!isEvalId(evalId)) throw new EngineError('invalid_params', 'evalId must be an eval id');
    const spec = loadSpec(this.options.root, evalId);
    if (!spec) throw new EngineError('not_found', `no eval ${evalId} in this workspace`);
    return reportOf(spec, await readEvalEvents(this.options.log.file, evalId));
  }

  cancel(evalId: string): boolean {
    const running = this.running.get(evalId);
    if (!running) return false;
    running.controller.abort();
    return true;
  }

  async cancelAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const running of all) running.controller.abort();
    await Promise.all(all.map((running) => running.done));
  }

  /**
   * Checks the params (throwing EngineError before anything starts), then mines and runs in the background. A
   * resume needs only the id: its tasks and options come from the spec it kept.
   */
  start(params: StartEvalParams): EvalStarted {
    this.planner.refuseUntrusted();
    sweepStaleCopies();
    const resumed = params.resume === undefined ? undefined : this.resumable(params.resume);
    const evalId = resumed?.evalId ?? `ev-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    if (this.running.has(evalId)) throw new EngineError('run_in_progress', `eval ${evalId} is running already`);
    const fresh = resumed ? undefined : this.checkFresh(params);
    const lock = this.lockEval(evalId);
    const controller = new AbortController();
    const spec = resumed ? Promise.resolve(resumed) : this.mine(evalId, fresh!, controller.signal);
    // Whoever does not wait for the spec learns of a mining failure from the log and the report.
    spec.catch(() => undefined);
    const progress = { finished: false, started: performance.now() };
    const done = (async (): Promise<EvalReport> => {
      try {
        return await this.runCells(await spec, resumed !== undefined, controller.signal, progress);
      } catch (err) {
        const message = (err as Error).message;
        if (!controller.signal.aborted) this.options.log.append({ type: 'log', level: 'error', evalId, message: `eval ${evalId} stopped: ${message}` });
        // Whoever follows the events (the palette command's progress) always sees the eval end.
        if (!progress.finished)
          this.options.log.append({
            type: 'eval.finished',
            evalId,
            outcome: controller.signal.aborted ? 'cancelled' : 'finished',
            cells: 0,
            durationMs: Math.round(performance.now() - progress.started),
            ...(controller.signal.aborted ? {} : { error: message }),
          });
        const kept = loadSpec(this.options.root, evalId) ?? { evalId, createdAt: Date.now(), options: fresh!.options, tasks: [], notes: [message] };
        return reportOf(kept, await readEvalEvents(this.options.log.file, evalId));
      } finally {
        this.running.delete(evalId);
        try {
          lock.release();
        } catch (err) {
          // A lock left behind is taken over once this process is gone.
          this.options.log.append({ type: 'log', level: 'warn', evalId, message: `could not remove the lock of eval ${evalId}: ${(err as Error).message}` });
        }
      }
    })();
    this.running.set(evalId, { controller, done });
    return { evalId, spec, done };
  }

  /** `--plan`: the tasks mined and the spec kept, every cell a job of the matrix; nothing is run. */
  async plan(params: StartEvalParams, signal = new AbortController().signal): Promise<EvalPlan> {
    this.planner.refuseUntrusted();
    sweepStaleCopies();
    const evalId = `ev-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const spec = await this.mine(evalId, this.checkFresh(params), signal);
    return { evalId, include: jobsOf(spec, new Set()), notes: spec.notes };
  }

  /** `--cell <json>`: one job of a plan, run here (in this checkout), its `eval.cell` logged. */
  async cell(job: EvalCellJob, signal: AbortSignal): Promise<EvalCellResult> {
    this.planner.refuseUntrusted();
    if (!isEvalId(job?.evalId) || typeof job.model !== 'string' || typeof job.task?.id !== 'string' || typeof job.task.files !== 'object')
      throw new EngineError('invalid_params', "--cell takes one job of --plan's matrix: { evalId, task, model, maxRuns, taskBudgetUsd }");
    const settings = checked(() => resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env()));
    const cell = await runCell(job, { ...this.cellContext(signal, () => null), gitTimeoutMs: settings.gitTimeoutMs });
    this.options.log.append({ type: 'eval.cell', evalId: job.evalId, ...cell });
    return { evalId: job.evalId, task: taskSummary(job.task), cell };
  }

  private cellContext(signal: AbortSignal, remainingUsd: () => number | null) {
    return { options: this.options, env: this.env, dailyCap: this.dailyCap, remainingUsd, signal };
  }

  /** One process runs an eval at a time: a resume while another process still runs it would run its cells twice. */
  private lockEval(evalId: string): RunLock {
    try {
      return acquireRunLock(this.options.root, `${STATE_DIR_NAME}/evals/${evalId}`, evalId);
    } catch (err) {
      if (err instanceof LockHeldError)
        throw new EngineError('run_in_progress', `eval ${evalId} is running in another process (pid ${err.holder?.pid ?? '?'})`);
      throw err;
    }
  }

  private resumable(evalId: unknown): EvalSpec {
    if (!isEvalId(evalId)) throw new EngineError('invalid_params', '--resume needs an eval id');
    const spec = loadSpec(this.options.root, evalId);
    if (!spec) throw new EngineError('not_found', `no eval ${evalId} in this workspace (its spec is kept under .micro-agent/evals/)`);
    return spec;
  }

  private checkFresh(params: StartEvalParams) {
    const fail = (message: string): never => {
      throw new EngineError('invalid_params', message);
    };
    if (params.fromGit === undefined && params.mutants === undefined && params.tasks === undefined)
      fail('give the tasks: --from-git <rev-range>, --mutants <n> or --tasks <file.jsonl>');
    const models = params.models ?? [];
    if (!Array.isArray(models) || models.length === 0) fail('give the models: --models provider:model,… (e.g. openai:gpt-4.1-mini)');
    if (models.length > EVAL_LIMITS.models) fail(`at most ${EVAL_LIMITS.models} models`);
    for (const spec of models) {
      const parsed = typeof spec === 'string' ? parseModel(spec) : undefined;
      if (!parsed) fail(`${JSON.stringify(spec)} is not provider:model (e.g. anthropic:claude-sonnet-4-5)`);
      else if (!isProviderName(parsed.provider)) fail(unknownProviderMessage(parsed.provider));
    }
    if (new Set(models).size !== models.length) fail('a model is named twice in --models');
    const whole = (name: string, value: unknown, min: number, max: number) =>
      value === undefined
        ? undefined
        : typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
          ? value
          : fail(`${name} must be a whole number from ${min} to ${max}`);
    const usd = (name: string, value: unknown) =>
      value === undefined
        ? null
        : typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= EVAL_LIMITS.budgetUsd
          ? value
          : fail(`${name} must be a positive amount in USD`);
    if (params.fromGit !== undefined && typeof params.fromGit !== 'string') fail('fromGit must be a rev range');
    if (params.fromGit !== undefined) {
      try {
        checkRange(params.fromGit);
      } catch (err) {
        fail((err as Error).message);
      }
    }
    if (params.tasks !== undefined && typeof params.tasks !== 'string') fail('tasks must be a path to a .jsonl file');
    if (params.testCommand !== undefined && (typeof params.testCommand !== 'string' || !params.testCommand.trim())) fail('testCommand must be a command');
    const settings = checked(() => resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env()));
    const testCommand = params.testCommand?.trim() || settings.testCommand;
    if ((params.fromGit !== undefined || params.mutants !== undefined) && !testCommand)
      fail('no test command: pass one (-t "npm test") or set devAi.testCommand');
    return {
      fromGit: params.fromGit,
      mutants: whole('mutants', params.mutants, 1, EVAL_LIMITS.mutants),
      seed: whole('seed', params.seed, 0, 2 ** 32 - 1) ?? 1,
      tasks: params.tasks,
      testCommand: testCommand ?? '',
      testTimeoutMs: settings.testTimeoutMs,
      options: {
        models: [...models],
        maxRuns: whole('maxRuns', params.maxRuns, 1, EVAL_LIMITS.maxRuns) ?? DEFAULT_MAX_RUNS,
        budgetUsd: usd('budgetUsd', params.budgetUsd),
        taskBudgetUsd: usd('taskBudgetUsd', params.taskBudgetUsd),
        concurrency: whole('concurrency', params.concurrency, 1, EVAL_LIMITS.concurrency) ?? 1,
      },
    };
  }

  /** The tasks from each source asked for, in the order git, mutants, file; the spec kept before any cell runs. */
  private async mine(evalId: string, fresh: ReturnType<EvalService['checkFresh']>, signal: AbortSignal): Promise<EvalSpec> {
    const notes: string[] = [];
    const setup: MiningSetup = {
      root: this.options.root,
      testCommand: fresh.testCommand,
      testTimeoutMs: fresh.testTimeoutMs,
      testEnv: withReportFlags(this.planner.untrustedEnvironment()),
      concurrency: fresh.options.concurrency,
      env: this.planner.untrustedEnvironment(),
      timeoutMs: checked(() => resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env())).gitTimeoutMs,
      signal,
      note: (message) => {
        notes.push(message);
        this.options.log.append({ type: 'log', level: 'info', evalId, message });
      },
    };
    const tasks: EvalTaskSpec[] = [];
    if (fresh.fromGit !== undefined) tasks.push(...(await tasksFromGit(fresh.fromGit, setup)));
    if (fresh.mutants !== undefined) tasks.push(...(await mutantTasks(fresh.mutants, fresh.seed, setup)));
    if (fresh.tasks !== undefined) {
      try {
        tasks.push(...tasksFromFile(this.options.root, fresh.tasks));
      } catch (err) {
        if (err instanceof TasksFileError) throw new EngineError('invalid_params', err.message);
        throw err;
      }
    }
    if (fresh.fromGit !== undefined && tasks.every((task) => task.source !== 'git'))
      setup.note(`--from-git ${fresh.fromGit}: no commit in the range is a task (a change to source files whose tests fail without it)`);
    const spec: EvalSpec = { evalId, createdAt: Date.now(), options: fresh.options, tasks, notes };
    saveSpec(this.options.root, spec);
    return spec;
  }

  /** Runs the cells without a result, `concurrency` at a time, and folds the report from the log. */
  private async runCells(spec: EvalSpec, resumed: boolean, signal: AbortSignal, progress: { finished: boolean }): Promise<EvalReport> {
    const { evalId, options } = spec;
    const settings = checked(() => resolveSettings(this.options.root, this.options.settings?.() ?? {}, this.env()));
    const before = await readEvalEvents(this.options.log.file, evalId);
    const done = new Set(
      latestCells(before)
        .filter((cell) => cell.outcome !== 'cancelled')
        .map((cell) => cellKey(cell.task, cell.model)),
    );
    const spentBefore = latestCells(before).reduce((sum, cell) => sum + (cell.costUsd ?? 0), 0);
    const jobs = jobsOf(spec, done);
    const started = performance.now();
    this.options.log.append({
      type: 'eval.started',
      evalId,
      tasks: spec.tasks.length,
      models: options.models,
      cells: jobs.length,
      resumed,
      maxRuns: options.maxRuns,
      budgetUsd: options.budgetUsd,
      taskBudgetUsd: options.taskBudgetUsd,
      concurrency: options.concurrency,
      pid: process.pid,
    });
    // What the eval's cells cost so far, this process's included as each call reports it.
    let spent = spentBefore;
    const unsubscribe = this.options.log.onEvent((event) => {
      if (event.type === 'llm.response' && event.evalId === evalId && event.costUsd) spent += event.costUsd;
    });
    const context = {
      ...this.cellContext(signal, () => (options.budgetUsd === null ? null : options.budgetUsd - spent)),
      gitTimeoutMs: settings.gitTimeoutMs,
    };
    let results = 0;
    const run = async (job: EvalCellJob) => {
      const cell: EvalCell = await runCell(job, context);
      if (cell.outcome !== 'cancelled') results++;
      this.options.log.append({ type: 'eval.cell', evalId, ...cell });
    };
    try {
      await mapLimited(jobs, options.concurrency, run, signal);
    } finally {
      unsubscribe.dispose();
    }
    progress.finished = true;
    this.options.log.append({
      type: 'eval.finished',
      evalId,
      outcome: signal.aborted ? 'cancelled' : 'finished',
      cells: results,
      durationMs: Math.round(performance.now() - started),
    });
    return reportOf(spec, await readEvalEvents(this.options.log.file, evalId));
  }
}

/** The cells of a spec not in `done`, task by task, each model in the order given. */
function jobsOf(spec: EvalSpec, done: ReadonlySet<string>): EvalCellJob[] {
  const { evalId, options } = spec;
  return spec.tasks.flatMap((task) =>
    options.models
      .filter((model) => !done.has(cellKey(task.id, model)))
      .map((model) => ({ evalId, task, model, maxRuns: options.maxRuns, taskBudgetUsd: options.taskBudgetUsd })),
  );
}
