/**
 * Every number the dashboard shows, as SQL over the store. Windowed stats read the rollups and run rollups
 * (minutes up to the window's first whole hour, then hours; or the all-time bucket), never raw calls or runs,
 * so they cost the same at a million events as at ten; percentiles merge the same buckets' sketches.
 */
import type { Database, SqlValue } from 'sql.js';
import { EDIT_TALLIES, editQualityOf, emptyEditQuality, wellFormedRate } from '../server/protocol/editQuality';
import type { AgentEvent, ProviderStats, RunOutcome } from '../server/protocol/events';
import type { ProviderName } from '../server/protocol/providers';
import { type BucketRange, modelKey } from './sketches';
import { editColumn, MIN_CHART_POINTS, type Store } from './store';

export type Window = 'hour' | 'day' | 'all';
export const WINDOW_MS: Record<Window, number> = { hour: 3_600_000, day: 86_400_000, all: Number.POSITIVE_INFINITY };

/** The first minute inside a window that ends now. */
export function sinceMinute(window: Window, now: number): number {
  return window === 'all' ? 0 : Math.floor((now - WINDOW_MS[window]) / 60_000);
}

/** The buckets that exactly cover a window ending now: minutes up to its first whole hour, then hours; or all time. */
function windowRanges(window: Window, now: number): BucketRange[] {
  return window === 'all' ? [{ res: 'a', from: 0 }] : rangesSince(sinceMinute(window, now));
}

/** The buckets that exactly cover the time since a minute within the last day: minutes up to its first whole hour, then hours. */
function rangesSince(minute: number): BucketRange[] {
  const firstHour = Math.ceil(minute / 60);
  return [
    { res: 'm', from: minute, to: firstHour * 60 },
    { res: 'h', from: firstHour },
  ];
}

/**
 * The rows of `rollups` or `run_rollups` in some bucket ranges (a window's), as a subquery. Each branch is a range on the
 * primary key (an OR across resolutions would scan the table).
 */
function windowRows(table: 'rollups' | 'run_rollups', ranges: readonly BucketRange[]): { sql: string; params: SqlValue[] } {
  const branches = ranges.map(({ res, from, to }) =>
    to === undefined
      ? { sql: `SELECT * FROM ${table} WHERE res = ? AND bucket >= ?`, params: [res, from] }
      : { sql: `SELECT * FROM ${table} WHERE res = ? AND bucket >= ? AND bucket < ?`, params: [res, from, to] },
  );
  return { sql: `(${branches.map((b) => b.sql).join(' UNION ALL ')})`, params: branches.flatMap((b) => b.params) };
}

function rows<T>(db: Database, sql: string, params: SqlValue[] = []): T[] {
  const statement = db.prepare(sql);
  try {
    statement.bind(params);
    const out: T[] = [];
    while (statement.step()) out.push(statement.getAsObject() as T);
    return out;
  } finally {
    statement.free();
  }
}

/**
 * The host's per-model stats (same fields, same meaning), plus what the store knows of runs per model. Runs, and
 * their edit replies (the well-formed rate and the ladder's steps), count in the window their run started in.
 */
export interface ModelStats extends ProviderStats {
  errorRate: number;
  runs: number;
  passRate: number | null;
  meanIterationsToPass: number | null;
  /** What all the model's runs cost, divided by the ones that passed. */
  costPerPassingRun: number | null;
  /** Generation speed where the model server reports it (local models), weighted by output; null elsewhere. */
  outputTokensPerSec: number | null;
  /** The mean time the model server spent loading the model before a call (local models); null elsewhere. */
  meanLoadMs: number | null;
}

/** Per provider and model over the window: the table that answers "which model, at what cost?". */
export function modelStats(store: Pick<Store, 'db' | 'sketches'>, window: Window, now = Date.now()): ModelStats[] {
  const db = store.db;
  const source = windowRows('rollups', windowRanges(window, now));
  const calls = rows<{
    provider: ProviderName;
    model: string;
    calls: number;
    errors: number;
    input: number;
    cached: number;
    cacheWrite: number;
    output: number;
    cost: number;
    priced: number;
    timedOutput: number;
    generationMs: number;
    loads: number;
    loadMs: number;
  }>(
    db,
    `SELECT provider, model, SUM(calls) AS calls, SUM(errors) AS errors, SUM(input_tokens) AS input, SUM(cached_input_tokens) AS cached,
            SUM(cache_write_input_tokens) AS cacheWrite, SUM(output_tokens) AS output, SUM(cost_usd) AS cost, SUM(priced_calls) AS priced,
            SUM(timed_output_tokens) AS timedOutput, SUM(generation_ms) AS generationMs, SUM(loaded_calls) AS loads, SUM(load_ms_sum) AS loadMs
     FROM ${source.sql} GROUP BY provider, model ORDER BY calls DESC`,
    source.params,
  );
  const latency = store.sketches.window(windowRanges(window, now), 'latency');
  const ttft = store.sketches.window(windowRanges(window, now), 'ttft');
  const runSource = windowRows('run_rollups', windowRanges(window, now));
  const runs = new Map(
    rows<{ provider: string; model: string; runs: number; finished: number; passed: number; passIterations: number; runCost: number } & Record<string, number>>(
      db,
      `SELECT provider, model, SUM(runs) AS runs, SUM(finished) AS finished, SUM(passed) AS passed,
              SUM(pass_iterations) AS passIterations, SUM(cost_usd) AS runCost,
              ${EDIT_TALLIES.map((tally) => `SUM(${editColumn(tally)}) AS ${editColumn(tally)}`).join(', ')}
       FROM ${runSource.sql} GROUP BY provider, model`,
      runSource.params,
    ).map((r) => [modelKey(r.provider, r.model), r]),
  );
  return calls.map((c) => {
    const key = modelKey(c.provider, c.model);
    const r = runs.get(key);
    const passed = r?.passed ?? 0;
    const edits = r ? editQualityOf((tally) => r[editColumn(tally)]) : emptyEditQuality();
    return {
      provider: c.provider,
      model: c.model,
      calls: c.calls,
      errors: c.errors,
      errorRate: c.calls ? c.errors / c.calls : 0,
      p50LatencyMs: latency.get(key)?.quantile(50) ?? null,
      p95LatencyMs: latency.get(key)?.quantile(95) ?? null,
      p50TtftMs: ttft.get(key)?.quantile(50) ?? null,
      inputTokens: c.input,
      cachedInputTokens: c.cached,
      cacheWriteInputTokens: c.cacheWrite,
      outputTokens: c.output,
      costUsd: c.priced > 0 ? c.cost : null,
      unpricedCalls: c.calls - c.priced,
      runs: r?.runs ?? 0,
      passRate: r && r.finished > 0 ? passed / r.finished : null,
      meanIterationsToPass: passed > 0 ? r!.passIterations / passed : null,
      costPerPassingRun: passed > 0 ? r!.runCost / passed : null,
      outputTokensPerSec: c.generationMs > 0 ? c.timedOutput / (c.generationMs / 1000) : null,
      meanLoadMs: c.loads > 0 ? c.loadMs / c.loads : null,
      editReplies: edits.replies,
      wellFormedRate: wellFormedRate(edits),
      matchSteps: edits.matchSteps,
    };
  });
}

export interface SeriesPoint {
  t: number;
  /** Per series name (a provider/model or a provider): the value in this bucket. */
  values: Record<string, number>;
}

/** A chart's resolutions, finest first, and their width in minutes. */
const CHART_RESOLUTIONS = [
  ['m', 1],
  ['h', 60],
  ['d', 1440],
] as const;

/** About how many points a chart has (each a whole number of buckets). */
const CHART_POINTS = 30;

/**
 * Chart buckets: ~30 points over the window (or over the data, for "all"), read from the coarsest rollups of
 * which the span holds `MIN_CHART_POINTS`: days, hours (the last day's, and a history's under 20 days) or
 * minutes (the last hour's, and a history's under 20 hours): what the store loads (`loadRequests`).
 */
function seriesRows(db: Database, window: Window, now: number, name: string, value: string): Array<{ bucket: number; name: string; value: number }> {
  const since = sinceMinute(window, now);
  const first = (db.exec("SELECT MIN(bucket) * 1440 FROM rollups WHERE res = 'd'")[0]?.values[0][0] as number | null) ?? since;
  const span = Math.max(1, Math.floor(now / 60_000) - Math.max(first, since) + 1);
  const [res, perBucket] = CHART_RESOLUTIONS.filter(([, width]) => width * MIN_CHART_POINTS <= span).at(-1) ?? CHART_RESOLUTIONS[0];
  const size = Math.max(1, Math.ceil(span / CHART_POINTS / perBucket));
  return rows(
    db,
    `SELECT (bucket / ?) * ? * ? AS bucket, ${name} AS name, ${value} AS value
     FROM rollups WHERE res = ? AND bucket >= ? GROUP BY 1, 2 ORDER BY 1`,
    [size, size, perBucket, res, Math.floor(since / perBucket)],
  );
}

/** Mean latency per model per bucket. */
export function latencySeries(db: Database, window: Window, now = Date.now()): SeriesPoint[] {
  return series(seriesRows(db, window, now, "provider || ' ' || model", 'SUM(latency_sum) / SUM(calls)'));
}

/** Spend per provider per bucket. */
export function costSeries(db: Database, window: Window, now = Date.now()): SeriesPoint[] {
  return series(seriesRows(db, window, now, 'provider', 'SUM(cost_usd)'));
}

function series(list: Array<{ bucket: number; name: string; value: number }>): SeriesPoint[] {
  const points = new Map<number, SeriesPoint>();
  for (const r of list) {
    const t = r.bucket * 60_000;
    if (!points.has(t)) points.set(t, { t, values: {} });
    points.get(t)!.values[r.name] = r.value;
  }
  return [...points.values()];
}

export function tokensByProvider(db: Database, window: Window, now = Date.now()): Array<{ provider: string; input: number; output: number }> {
  const source = windowRows('rollups', windowRanges(window, now));
  return rows(
    db,
    `SELECT provider, SUM(input_tokens) AS input, SUM(output_tokens) AS output FROM ${source.sql} GROUP BY provider ORDER BY input + output DESC`,
    source.params,
  );
}

export function passRateByModel(db: Database, window: Window, now = Date.now()): Array<{ model: string; passed: number; finished: number; rate: number }> {
  const source = windowRows('run_rollups', windowRanges(window, now));
  return rows<{ model: string; passed: number; finished: number }>(
    db,
    `SELECT provider || ' ' || model AS model, SUM(passed) AS passed, SUM(finished) AS finished
     FROM ${source.sql} GROUP BY provider, model HAVING SUM(finished) > 0 ORDER BY finished DESC`,
    source.params,
  ).map((r) => ({ ...r, rate: r.finished ? r.passed / r.finished : 0 }));
}

/**
 * What the priced calls cost since a whole minute within the last day (the user's midnight for "today"),
 * from the minutes up to its first whole hour and the hours after.
 */
export function spendSince(db: Database, sinceTs: number): number {
  const source = windowRows('rollups', rangesSince(Math.floor(sinceTs / 60_000)));
  return rows<{ cost: number | null }>(db, `SELECT SUM(cost_usd) AS cost FROM ${source.sql}`, source.params)[0]?.cost ?? 0;
}

export interface RunRow {
  runId: string;
  file: string;
  provider: string;
  model: string;
  startedTs: number;
  finishedTs: number | null;
  outcome: RunOutcome | null;
  reason: string | null;
  iterations: number;
  /** Known for runs that started while the dashboard was open (a run list page does not carry it). */
  maxRuns: number | null;
  costUsd: number;
  error: string | null;
}

export function recentRuns(db: Database, limit = 50): RunRow[] {
  return rows(
    db,
    `SELECT run_id AS runId, file, provider, model, started_ts AS startedTs, finished_ts AS finishedTs, outcome, reason, iterations,
            max_runs AS maxRuns, cost_usd AS costUsd, error
     FROM runs ORDER BY started_ts DESC, run_id DESC LIMIT ?`,
    [limit],
  );
}

/** Every event of one run, oldest first: its timeline and attempts. */
export function runEvents(db: Database, runId: string): AgentEvent[] {
  return rows<{ body: string }>(db, 'SELECT body FROM events WHERE run_id = ? ORDER BY seq', [runId]).map((r) => JSON.parse(r.body) as AgentEvent);
}

/** The newest alerts, for the insights panel. */
export function recentAlerts(db: Database, limit = 5): AgentEvent[] {
  return rows<{ body: string }>(db, "SELECT body FROM events WHERE type = 'alert' ORDER BY seq DESC LIMIT ?", [limit]).map(
    (r) => JSON.parse(r.body) as AgentEvent,
  );
}
