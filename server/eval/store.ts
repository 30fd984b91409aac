/**
 * What an eval leaves: its spec under `.micro-agent/evals/<evalId>.json` (the options and every task, so that
 * `--resume <evalId>` needs only the id) and its `eval.*` events in the log. The report is a fold of the events:
 * the latest `eval.cell` of each task × model, the leaderboard over them.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { isAlive } from '../foundation/runLock';
import { ensureStateDir, statePaths, writeAtomic } from '../foundation/workspace';
import { checkEvent } from '../events/validate';
import type { EvalCell, EvalCellResult, EvalReport, EvalSummary, EvalTaskSpec, EvalTaskSummary } from '../protocol/eval';
import type { AgentEvent, EvalCellEvent } from '../protocol/events';
import { leaderboard } from '../protocol/leaderboard';

/** The options an eval ran with: what `--resume` goes on with. */
export interface EvalOptions {
  models: string[];
  maxRuns: number;
  budgetUsd: number | null;
  taskBudgetUsd: number | null;
  concurrency: number;
}

export interface EvalSpec {
  evalId: string;
  createdAt: number;
  options: EvalOptions;
  tasks: EvalTaskSpec[];
  notes: string[];
}

export function saveSpec(root: string, spec: EvalSpec): void {
  ensureStateDir(root);
  fs.mkdirSync(statePaths(root).evals, { recursive: true });
  writeAtomic(statePaths(root).evalSpec(spec.evalId), JSON.stringify(spec));
}

export function loadSpec(root: string, evalId: string): EvalSpec | undefined {
  try {
    const spec = JSON.parse(fs.readFileSync(statePaths(root).evalSpec(evalId), 'utf8')) as EvalSpec;
    return spec.evalId === evalId && Array.isArray(spec.tasks) && Array.isArray(spec.options?.models) ? spec : undefined;
  } catch {
    return undefined;
  }
}

export function taskSummary(task: EvalTaskSpec): EvalTaskSummary {
  return { id: task.id, source: task.source, files: Object.keys(task.files), origin: task.origin, referenceDiffLines: task.referenceDiffLines };
}

/** The eval events in the log, of one eval or of all; the log is streamed (it may be large), lines prefiltered. */
export async function readEvalEvents(logFile: string, evalId?: string): Promise<AgentEvent[]> {
  if (!fs.existsSync(logFile)) return [];
  const needle = evalId === undefined ? '"type":"eval.' : `"evalId":"${evalId}"`;
  const events: AgentEvent[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(logFile, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes(needle) || !line.includes('"type":"eval.')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const event = checkEvent(parsed);
    if (event && event.type.startsWith('eval.') && (evalId === undefined || event.evalId === evalId)) events.push(event);
  }
  return events;
}

/** The latest result of each task × model (a resumed cell's new result replaces its cancelled one). */
export function latestCells(events: readonly AgentEvent[]): EvalCell[] {
  const cells = new Map<string, EvalCell>();
  for (const event of events) {
    if (event.type !== 'eval.cell') continue;
    cells.set(cellKey(event.task, event.model), cellOf(event));
  }
  return [...cells.values()];
}

export function cellKey(task: string, model: string): string {
  return JSON.stringify([task, model]);
}

function cellOf(event: EvalCellEvent): EvalCell {
  const { seq: _seq, ts: _ts, type: _type, evalId: _evalId, ...cell } = event;
  return cell;
}

/** The report of an eval from its spec and its events. */
export function reportOf(spec: EvalSpec, events: readonly AgentEvent[]): EvalReport {
  const cells = latestCells(events);
  const finished = events.filter((event) => event.type === 'eval.finished');
  const started = events.find((event) => event.type === 'eval.started');
  const done = cells.filter((cell) => cell.outcome !== 'cancelled').length;
  const complete = done === spec.tasks.length * spec.options.models.length;
  return {
    evalId: spec.evalId,
    tasks: spec.tasks.length,
    models: leaderboard(cells),
    cells,
    taskList: spec.tasks.map(taskSummary),
    complete,
    startedAt: started?.ts ?? spec.createdAt,
    finishedAt: complete && finished.length ? finished[finished.length - 1].ts : null,
    notes: spec.notes,
  };
}

/** Every eval in the log, newest first; `running`: in this process (`isRunning`) or in another one still alive. */
export async function listEvals(logFile: string, isRunning: (evalId: string) => boolean): Promise<EvalSummary[]> {
  const byEval = new Map<string, AgentEvent[]>();
  for (const event of await readEvalEvents(logFile)) {
    const list = byEval.get(event.evalId!) ?? [];
    list.push(event);
    byEval.set(event.evalId!, list);
  }
  const summaries: EvalSummary[] = [];
  for (const [evalId, events] of byEval) {
    const starts = events.filter((event) => event.type === 'eval.started');
    const first = starts[0];
    if (!first || first.type !== 'eval.started') continue;
    const finish = events.filter((event) => event.type === 'eval.finished').pop();
    const cellsDone = latestCells(events).filter((cell) => cell.outcome !== 'cancelled').length;
    const cells = first.tasks * first.models.length;
    const lastStart = starts[starts.length - 1];
    const ended = finish !== undefined && finish.seq > lastStart.seq;
    const status: EvalSummary['status'] =
      isRunning(evalId) || (!ended && lastStart.type === 'eval.started' && isAlive(lastStart.pid))
        ? 'running'
        : !ended
          ? 'interrupted'
          : finish.type === 'eval.finished' && finish.outcome === 'cancelled'
            ? 'cancelled'
            : 'finished';
    summaries.push({ evalId, startedAt: first.ts, finishedAt: ended ? finish.ts : null, status, tasks: first.tasks, models: first.models, cellsDone, cells });
  }
  return summaries.sort((a, b) => b.startedAt - a.startedAt);
}

/**
 * `micro-agent eval merge`: the report from the cells of a plan run elsewhere (a CI matrix), one result per job;
 * a later result of the same task × model replaces an earlier one. Refuses results of different evals. Pure.
 */
export function mergeResults(results: readonly EvalCellResult[]): EvalReport {
  const evalIds = new Set(results.map((result) => result.evalId));
  if (evalIds.size > 1) throw new RangeError(`the results are of different evals: ${[...evalIds].join(', ')}`);
  const tasks = new Map<string, EvalTaskSummary>();
  const cells = new Map<string, EvalCell>();
  for (const result of results) {
    tasks.set(result.task.id, result.task);
    cells.set(cellKey(result.cell.task, result.cell.model), result.cell);
  }
  const list = [...cells.values()];
  const models = new Set(list.map((cell) => cell.model));
  const done = list.filter((cell) => cell.outcome !== 'cancelled').length;
  return {
    evalId: [...evalIds][0] ?? '',
    tasks: tasks.size,
    models: leaderboard(list),
    cells: list,
    taskList: [...tasks.values()],
    complete: done === tasks.size * models.size,
    startedAt: 0,
    finishedAt: null,
    notes: [],
  };
}
