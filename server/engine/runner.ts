/**
 * Starting, cancelling and auto-fixing runs: one run per file (in this engine and, through the run lock, in every
 * process on the workspace), the loop launched over a plan, a passing run's `--commit`, and the file given back
 * when the run is over.
 */
import * as path from 'node:path';
import { LoopInput, runLoop, runTestsLogged, TestedRun } from '../agent/loop';
import { commitFiles, GitError } from '../foundation/git';
import { acquireRunLock, LockHeldError, RunLock } from '../foundation/runLock';
import { PathError, statePaths, toPosix } from '../foundation/workspace';
import type { RunFinishedEvent, RunOutcome } from '../protocol/events';
import type { Planner } from './planner';
import { EngineError, EngineOptions, RunPlan, RunRequest } from './request';

interface ActiveRun {
  file: string;
  controller: AbortController;
  /** The run's lock on its file, shared with every other process on this workspace. */
  lock: RunLock;
  done: Promise<RunOutcome>;
}

/** What an auto-fix check did: the tests passed (or it was cancelled), or they failed and `runId` fixes them. */
export type AutoFixResult = { started: false; tests: TestedRun } | { started: true; runId: string; done: Promise<RunOutcome> };

export class Runner {
  private readonly active = new Map<string, ActiveRun>();

  constructor(
    private readonly options: EngineOptions,
    private readonly planner: Planner,
  ) {}

  isRunning(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Validates everything before anything starts; rejects with an EngineError with a message for the user. */
  async start(request: RunRequest): Promise<{ runId: string; done: Promise<RunOutcome> }> {
    const plan = await this.planner.plan(request);
    const controller = this.claim(plan);
    try {
      return { runId: plan.runId, done: this.launch(plan, controller) };
    } catch (err) {
      this.unclaim(plan.runId);
      throw err;
    }
  }

  /**
   * After a save with `devAi.autoFix` on: runs the configured tests as a run's iteration 0 would (without API
   * keys, with the timeout setting, logged as `test.*` events under the id the run will have, cancelled with
   * the engine); when they fail, starts the run on `file` with that result, so it does not test again before
   * its first model call.
   */
  async autoFix(file: string): Promise<AutoFixResult> {
    const plan = await this.planner.plan({ file });
    const controller = this.claim(plan);
    try {
      const tests = await runTestsLogged({ ...this.planner.testOptions(plan), signal: controller.signal }, plan.runId, 0, (event) =>
        this.options.log.append(event),
      );
      if (tests.passed || tests.cancelled) {
        this.unclaim(plan.runId);
        return { started: false, tests };
      }
      return { started: true, runId: plan.runId, done: this.launch(plan, controller, tests) };
    } catch (err) {
      this.unclaim(plan.runId);
      throw err;
    }
  }

  /** False when the run is unknown or already over. */
  cancel(runId: string): boolean {
    const run = this.active.get(runId);
    if (!run) return false;
    run.controller.abort();
    return true;
  }

  /** Cancels every run and waits until each has killed its tests and put its file back. */
  async cancelAll(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done));
  }

  /**
   * The file's run lock for `holder`: refused while a run holds the file, in this engine or in any other process
   * on the workspace (through the file's lock under `.micro-agent/locks/`).
   */
  lockFile(file: { abs: string; rel: string }, holder: string): RunLock {
    for (const run of this.active.values()) {
      if (run.file === file.abs) throw new EngineError('run_in_progress', `a run is already going on ${file.rel}; cancel it first`);
    }
    try {
      return acquireRunLock(this.options.root, file.rel, holder);
    } catch (err) {
      if (err instanceof LockHeldError) {
        const where = toPosix(path.relative(this.options.root, err.lockFile));
        throw new EngineError('run_in_progress', `${file.rel} ${err.message}; wait for it to finish or cancel it first (its lock: ${where})`);
      }
      if (err instanceof PathError) throw new EngineError('configuration', err.message);
      throw err;
    }
  }

  /** Takes the file for this run: one run per file (see `lockFile`). */
  claim(plan: RunPlan): AbortController {
    const lock = this.lockFile(plan.target, plan.runId);
    const controller = new AbortController();
    this.active.set(plan.runId, { file: plan.target.abs, controller, lock, done: Promise.resolve<RunOutcome>('cancelled') });
    return controller;
  }

  /** Gives the file back: the run is over (or never started). */
  unclaim(runId: string): void {
    const run = this.active.get(runId);
    this.active.delete(runId);
    try {
      run?.lock.release();
    } catch (err) {
      // A lock left behind is taken over once this process is gone; say so rather than fail the run's end.
      this.options.log.append({ type: 'log', runId, level: 'warn', message: `could not remove the lock of run ${runId}: ${(err as Error).message}` });
    }
  }

  launch(plan: RunPlan, controller: AbortController, firstTest?: TestedRun, resume?: LoopInput['resume']): Promise<RunOutcome> {
    const { runId } = plan;
    const claimed = this.active.get(runId);
    if (!claimed) throw new Error(`run ${runId} was not claimed`);
    let finished: RunFinishedEvent | undefined;
    const done = runLoop({
      ...this.planner.loopOptions(plan),
      keep: plan.keep,
      runDir: statePaths(this.options.root).runDir(runId),
      firstTest,
      resume,
      generatedTests: plan.generatedTests,
      signal: controller.signal,
      emit: (event) => {
        if (event.type === 'run.finished') finished = event as RunFinishedEvent;
        this.options.log.append(event);
      },
    })
      .then(async (outcome) => {
        if (outcome === 'passed' && plan.commit) await this.commit(runId, plan, controller.signal, finished?.files ?? [], finished?.iterations ?? 0);
        return outcome;
      })
      .catch((err: Error): RunOutcome => {
        // runLoop reports its own failures; this is the last line of defence (e.g. the disk filled up).
        this.options.log.append({ type: 'log', runId, level: 'error', message: `run ${runId} failed: ${err.message}` });
        return 'error';
      })
      .finally(() => this.unclaim(runId));
    this.active.set(runId, { ...claimed, done });
    return done;
  }

  /** `--commit`: the passing run's files (and a generated test file) in one commit; a failure is logged, the pass stands. */
  async commit(runId: string, plan: RunPlan, signal: AbortSignal, touched: string[], iterations: number): Promise<void> {
    const files = [...touched, ...(plan.generatedTests ? [toPosix(path.relative(this.options.root, plan.generatedTests.abs))] : [])];
    if (files.length === 0) return;
    const count = `${iterations} iteration${iterations === 1 ? '' : 's'}`;
    const message = `micro-agent: fix ${plan.target.rel}\n\nRun ${runId} passed after ${count}.\nFiles: ${files.join(', ')}\n`;
    try {
      const commit = await commitFiles(this.options.root, files, message, { timeoutMs: plan.gitTimeoutMs, signal, env: this.planner.untrustedEnvironment() });
      this.options.log.append({ type: 'run.committed', runId, commit, files, message });
    } catch (err) {
      if (!(err instanceof GitError)) throw err;
      this.options.log.append({ type: 'log', runId, level: 'error', message: `run ${runId} passed but its files were not committed: ${err.message}` });
    }
  }
}
