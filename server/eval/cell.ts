/**
 * One task × model cell: a pure job (a task spec and a model in, an `EvalCell` out). The task is set up in an
 * isolated copy, planned there as any run is (`engine/planner.ts`: settings, context, the provider, the daily cap)
 * and run by the normal loop (`agent/loop.ts`: the same verdict rules, integrity check, gaming check and edit ladder),
 * with every event going to the user's log stamped with the eval's id. The copy is removed whatever happens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lineDelta } from '../agent/diff';
import { runLoop } from '../agent/loop';
import { runTests } from '../agent/testRunner';
import type { DailyCap } from '../alerts/dailyCap';
import type { Env } from '../foundation/config';
import { statePaths } from '../foundation/workspace';
import { Planner } from '../engine/planner';
import { EngineError, type EngineOptions } from '../engine/request';
import { EditQualityFold, emptyEditQuality } from '../protocol/editQuality';
import type { EvalCell, EvalCellJob, EvalCellOutcome } from '../protocol/eval';
import type { AgentEvent, RunFinishedEvent } from '../protocol/events';
import { isProviderName } from '../protocol/providers';
import { cloneAt, copyWorkingTree, removeCopy, writeFiles } from './isolation';

export interface CellContext {
  /** The user's repository (only read) and the engine's options over its log. */
  options: EngineOptions;
  env: () => Env;
  dailyCap: DailyCap;
  /** What is left of the eval's `--budget`, or null without one. */
  remainingUsd: () => number | null;
  signal: AbortSignal;
  gitTimeoutMs: number;
}

/** `provider:model` split; the model may hold colons itself (`ollama:qwen2.5-coder:7b`). */
export function parseModel(spec: string): { provider: string; model: string } | undefined {
  const at = spec.indexOf(':');
  if (at <= 0 || at === spec.length - 1) return undefined;
  return { provider: spec.slice(0, at), model: spec.slice(at + 1) };
}

export async function runCell(job: EvalCellJob, context: CellContext): Promise<EvalCell> {
  const started = performance.now();
  const { task } = job;
  const base = {
    task: task.id,
    model: job.model,
    iterations: 0,
    costUsd: null,
    runId: null,
    editReplies: 0,
    wellFormed: 0,
    inputTokens: 0,
    outputTokens: 0,
    diffLines: 0,
    referenceDiffLines: task.referenceDiffLines,
  };
  const ended = (outcome: EvalCellOutcome, reason: string): EvalCell => ({ ...base, outcome, reason, wallMs: Math.round(performance.now() - started) });
  if (context.signal.aborted) return ended('cancelled', 'cancelled');
  const daily = context.dailyCap.reached();
  if (daily) return ended('refused', 'budget_daily');
  const remaining = context.remainingUsd();
  if (remaining !== null && remaining <= 0) return ended('refused', 'budget_eval');
  const parsed = parseModel(job.model);
  if (!parsed || !isProviderName(parsed.provider)) return ended('refused', 'configuration');

  const env = context.env();
  const setup = { env: context.options.log.secrets.strip(process.env), timeoutMs: context.gitTimeoutMs, signal: context.signal };
  let copy: string | undefined;
  try {
    copy = task.baseRev ? await cloneAt(context.options.root, task.baseRev, setup) : copyWorkingTree(context.options.root);
    writeFiles(copy, task.files);
    const planner = new Planner({ ...context.options, root: copy }, () => env, context.dailyCap);
    if (task.setup) {
      const prepared = await runTests({ command: task.setup, cwd: copy, timeoutMs: 600_000, signal: context.signal, env: planner.untrustedEnvironment() });
      if (!prepared.passed) return ended(context.signal.aborted ? 'cancelled' : 'error', 'setup_failed');
    }
    const budgets = [job.taskBudgetUsd, remaining].filter((usd): usd is number => usd !== null);
    let plan;
    try {
      plan = await planner.plan({
        file: task.target,
        testCommand: task.testCommand,
        ...(task.prompt ? { prompt: task.prompt } : {}),
        maxRuns: job.maxRuns,
        provider: parsed.provider,
        model: parsed.model,
        ...(budgets.length ? { budgetUsd: Math.min(...budgets) } : {}),
      });
    } catch (err) {
      if (err instanceof EngineError && (err.code === 'budget_daily' || err.code === 'configuration')) return ended('refused', err.code);
      throw err;
    }
    const fold = new CellFold();
    const evalId = job.evalId;
    await runLoop({
      ...planner.loopOptions(plan),
      // The copy goes anyway; keeping the last attempt lets the cell measure the change it made.
      keep: true,
      runDir: statePaths(copy).runDir(plan.runId),
      signal: context.signal,
      emit: (event) => fold.add(context.options.log.append({ ...event, evalId })),
    });
    const finished = fold.finished;
    if (!finished) return { ...ended('error', 'internal_error'), runId: plan.runId };
    const passed = finished.outcome === 'passed';
    const diffLines = passed ? changedLines(copy, task.files, finished.files ?? []) : 0;
    return {
      ...base,
      ...fold.counts(),
      runId: plan.runId,
      outcome: outcomeOf(finished),
      reason: finished.reason,
      iterations: finished.iterations,
      diffLines,
      wallMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (context.signal.aborted) return ended('cancelled', 'cancelled');
    context.options.log.append({ type: 'log', level: 'error', evalId: job.evalId, message: `eval cell ${task.id} × ${job.model}: ${(err as Error).message}` });
    return ended('error', 'internal_error');
  } finally {
    if (copy) removeCopy(copy);
  }
}

/** The loop's verdict as a cell's outcome: a stop for today's cap is a refusal, not a failure of the model. */
function outcomeOf(finished: RunFinishedEvent): EvalCellOutcome {
  if (finished.reason === 'budget_daily') return 'refused';
  return finished.outcome;
}

/** Lines added plus removed by the run, over the files it changed, against the task's broken files. */
function changedLines(copy: string, broken: Record<string, string>, touched: string[]): number {
  return touched.reduce((sum, file) => {
    const before = broken[file] ?? '';
    let after = '';
    try {
      after = fs.readFileSync(path.join(copy, file), 'utf8');
    } catch {
      // removed by the run: every line of it went
    }
    const delta = lineDelta(before, after);
    return sum + delta.linesAdded + delta.linesRemoved;
  }, 0);
}

/** What a cell counts of its run's events, as the events say it (so the leaderboard is a count over the log). */
class CellFold {
  finished: RunFinishedEvent | undefined;
  private readonly quality = emptyEditQuality();
  private readonly editFold = new EditQualityFold();
  private costUsd = 0;
  private pricedCalls = 0;
  private inputTokens = 0;
  private outputTokens = 0;

  add(event: AgentEvent): void {
    this.editFold.add(event, this.quality);
    if (event.type === 'llm.response') {
      if (event.costUsd !== null) {
        this.costUsd += event.costUsd;
        this.pricedCalls++;
      }
      this.inputTokens += event.inputTokens ?? 0;
      this.outputTokens += event.outputTokens ?? 0;
    }
    if (event.type === 'run.finished') this.finished = event;
  }

  counts() {
    return {
      costUsd: this.pricedCalls > 0 ? this.costUsd : null,
      editReplies: this.quality.replies,
      wellFormed: this.quality.wellFormed,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
    };
  }
}
