/**
 * The dashboard's in-browser store: SQLite (sql.js, wasm) holding what the views need, never the whole log.
 *
 * On open it is loaded from the host's rollups (`microAgent/rollups`: sums and latency sketches per
 * provider/model and time bucket, and run counts, as of one seq) and the newest page of runs; from then on it
 * folds the live events after that seq into the same tables, so a million-event history costs a few thousand
 * rows. Latency and TTFT sketches (per minute and hour where windows read them, and all time) are kept beside
 * the database as the host's sketch objects (`sketches.ts`). Tables:
 *   rollups      per provider/model sums at four resolutions: per minute ('m', the last hour and the minutes a
 *                window's edge reads: `minuteRanges`), per hour ('h', the last day, or the last 20 days while
 *                the history is shorter: what the charts need), per day ('d') and all time ('a', bucket 0), so
 *                any window reads a few hundred rows
 *   run_rollups  runs per provider/model and the bucket they started in (runs, finished, passed, …)
 *   runs         the newest runs (a page, older pages on request) and every run started live
 *   events       a bounded window of raw events: the live ones and the runs opened for their details
 */
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { bucketOf } from '../server/protocol/sketch';
import { EDIT_TALLIES, EditQualityFold, editTally, emptyEditQuality, type EditQuality, type EditTally } from '../server/protocol/editQuality';
import { noteHeadroom, type AgentEvent, type KeyHeadroom, type RunSummary } from '../server/protocol/events';
import type { CallRollup, RollupsParams, RollupsResult, RunRollup } from '../server/protocol/methods';
import { modelKey, Sketches } from './sketches';

/** The `run_rollups` column of each edit tally (`editQuality.ts`): `edit_replies`, `edit_wellFormed`, `edit_exact`, …. */
export function editColumn(tally: EditTally): string {
  return `edit_${tally}`;
}
const EDIT_COLUMNS = EDIT_TALLIES.map(editColumn);

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, run_id TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
CREATE TABLE IF NOT EXISTS rollups (
  res TEXT NOT NULL, bucket INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
  calls INTEGER NOT NULL, errors INTEGER NOT NULL, latency_sum REAL NOT NULL, input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cache_write_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, priced_calls INTEGER NOT NULL,
  timed_output_tokens INTEGER NOT NULL, generation_ms REAL NOT NULL, loaded_calls INTEGER NOT NULL, load_ms_sum REAL NOT NULL,
  PRIMARY KEY (res, bucket, provider, model)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_rollups (
  res TEXT NOT NULL, bucket INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
  runs INTEGER NOT NULL, finished INTEGER NOT NULL, passed INTEGER NOT NULL, pass_iterations INTEGER NOT NULL, cost_usd REAL NOT NULL,
  ${EDIT_COLUMNS.map((c) => `${c} INTEGER NOT NULL`).join(', ')},
  PRIMARY KEY (res, bucket, provider, model)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, file TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, started_ts INTEGER NOT NULL,
  max_runs INTEGER, finished_ts INTEGER, outcome TEXT, reason TEXT, iterations INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0, error TEXT);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ts);
`;

/** Rollup resolutions: a minute, an hour, a day, all time. */
export type Resolution = 'm' | 'h' | 'd' | 'a';
const BUCKET_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The bucket of a timestamp at each resolution. */
export function bucketsOf(ts: number): Array<[Resolution, number]> {
  return [
    ['m', Math.floor(ts / BUCKET_MS.m)],
    ['h', Math.floor(ts / BUCKET_MS.h)],
    ['d', Math.floor(ts / BUCKET_MS.d)],
    ['a', 0],
  ];
}

/**
 * How far back the last day's hours are loaded: the "Last day" window and chart, as the window slides until
 * the dashboard loads again (every 30 minutes), with hours to spare.
 */
export const LAST_DAY_SPAN_MS = 31 * 3_600_000;
/**
 * How long the minutes loaded at a window's edge serve it as it slides (`minuteRanges`): the dashboard loads
 * again every 30 minutes, so hours to spare for a late timer.
 */
export const EDGE_SPAN_MS = 3 * 3_600_000;
/**
 * A chart has at least this many points: it is drawn from the coarsest rollups of which its span holds this
 * many (`queries.ts` seriesRows), so what the store loads follows from it.
 */
export const MIN_CHART_POINTS = 20;
/** Raw events kept besides those of the runs open for their details. */
export const EVENTS_KEPT = 5000;

/** What the store is loaded from: the host's answers, all as of one seq. */
export interface StoreBase {
  lastSeq: number;
  /** Disjoint ranges of buckets per resolution (`loadRequests`), so no bucket is counted twice. */
  rollups: Array<{ res: Resolution; result: RollupsResult }>;
  runs: RunSummary[];
  nextBefore: string | null;
}

type RunRow = { provider: string; model: string; started_ts: number; outcome: string | null; iterations: number; cost_usd: number };

export class Store {
  private readonly insertEvent: Statement;
  private readonly upsertRollup: Statement;
  private readonly upsertRunRollup: Statement;
  private readonly insertRun: Statement;
  private readonly selectRun: Statement;
  private readonly updateIteration: Statement;
  private readonly finishRun: Statement;
  private readonly addRunCost: Statement;
  private maxSeq = 0;
  /** Events folded since the raw window was last trimmed. */
  private sinceTrim = 0;
  /** Runs whose events are shown: kept when the window of raw events is trimmed. */
  private readonly pinned = new Set<string>();
  /** Each provider's keys' latest rate-limit headroom (`noteHeadroom`): from the host's rollups, then live calls. */
  readonly headroom = new Map<string, KeyHeadroom>();
  /** Latency and TTFT sketches per resolution, bucket and provider/model: beside the database, see the header. */
  readonly sketches = new Sketches();
  /**
   * Which reply of each running run had its edits counted (`editQuality.ts`). Kept across loads: what it
   * remembers is at or below the seq of any later load, whose rollups count those replies too.
   */
  private readonly editFold = new EditQualityFold();
  /** A live event the store could not fold exactly (a run it holds no row for): reload from the host. */
  stale = false;
  /** The cursor of the next older page of runs, null when all are held. */
  nextBefore: string | null = null;

  constructor(readonly db: Database) {
    db.exec(SCHEMA);
    this.insertEvent = db.prepare('INSERT OR IGNORE INTO events (seq, ts, type, run_id, body) VALUES (?, ?, ?, ?, ?)');
    this.upsertRollup = db.prepare(`INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors, latency_sum = latency_sum + excluded.latency_sum,
        input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
        cache_write_input_tokens = cache_write_input_tokens + excluded.cache_write_input_tokens, output_tokens = output_tokens + excluded.output_tokens,
        cost_usd = cost_usd + excluded.cost_usd, priced_calls = priced_calls + excluded.priced_calls,
        timed_output_tokens = timed_output_tokens + excluded.timed_output_tokens, generation_ms = generation_ms + excluded.generation_ms,
        loaded_calls = loaded_calls + excluded.loaded_calls, load_ms_sum = load_ms_sum + excluded.load_ms_sum`);
    this.upsertRunRollup = db.prepare(`INSERT INTO run_rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ${EDIT_COLUMNS.map(() => '?').join(', ')})
      ON CONFLICT DO UPDATE SET runs = runs + excluded.runs, finished = finished + excluded.finished, passed = passed + excluded.passed,
        pass_iterations = pass_iterations + excluded.pass_iterations, cost_usd = cost_usd + excluded.cost_usd,
        ${EDIT_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`);
    this.insertRun = db.prepare('INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.selectRun = db.prepare('SELECT provider, model, started_ts, outcome, iterations, cost_usd FROM runs WHERE run_id = ?');
    this.updateIteration = db.prepare('UPDATE runs SET iterations = MAX(iterations, ?) WHERE run_id = ?');
    this.finishRun = db.prepare('UPDATE runs SET finished_ts = ?, outcome = ?, reason = ?, iterations = ?, cost_usd = ?, error = ? WHERE run_id = ?');
    this.addRunCost = db.prepare('UPDATE runs SET cost_usd = cost_usd + ? WHERE run_id = ? AND outcome IS NULL');
  }

  static async open(SQL: SqlJsStatic): Promise<Store> {
    return new Store(new SQL.Database());
  }

  /** The highest seq folded: the live events after it are the ones still to come. */
  get lastSeq(): number {
    return this.maxSeq;
  }

  /**
   * Replaces everything derived with the host's rollups and runs as of `base.lastSeq` (live events that came
   * while they were asked for are folded after, by `ingest`); the raw events stay.
   */
  load(base: StoreBase): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM rollups; DELETE FROM run_rollups; DELETE FROM runs;');
      this.sketches.clear();
      for (const { res, result } of base.rollups) {
        for (const r of result.calls) this.addCallRollup(res, r);
        for (const r of result.runs) this.addRunRollup(res, r);
      }
      for (const run of base.runs) this.putRun(run);
    });
    this.headroom.clear();
    for (const held of base.rollups[0]?.result.headroom ?? []) noteHeadroom(this.headroom, held);
    this.maxSeq = base.lastSeq;
    this.nextBefore = base.nextBefore;
    this.stale = false;
  }

  /** An older page of runs (the Activity list's "older runs"): rows only, the rollups already count them. */
  addRuns(runs: readonly RunSummary[], nextBefore: string | null): void {
    this.transaction(() => runs.forEach((run) => this.putRun(run)));
    this.nextBefore = nextBefore;
  }

  /** A run's events fetched for its details: raw rows only (they are history the rollups already hold). */
  addRunEvents(runId: string, events: readonly AgentEvent[]): void {
    this.pinned.add(runId);
    this.transaction(() => events.forEach((e) => this.putEvent(e)));
  }

  /** Whether the store holds a run's events from its start (it started while the dashboard was open, or was fetched). */
  holdsRun(runId: string): boolean {
    return this.db.exec("SELECT 1 FROM events WHERE run_id = ? AND type = 'run.started' LIMIT 1", [runId]).length > 0;
  }

  unpin(runId: string): void {
    this.pinned.delete(runId);
  }

  /**
   * Folds live events in one transaction; returns how many were new. Events at or below the last seq folded
   * are skipped, so replays and overlapping batches never count twice.
   */
  ingest(events: readonly AgentEvent[]): number {
    let added = 0;
    this.transaction(() => {
      for (const event of events) {
        if (event.seq <= this.maxSeq) continue;
        this.maxSeq = event.seq;
        added++;
        this.putEvent(event);
        // An eval's runs are not everyday runs: the host's rollups leave them out (`events/stats.ts`), so must
        // what is folded here. Their raw events stay, for an eval cell to open its run.
        if (event.evalId === undefined) this.derive(event);
      }
    });
    if (added > 0) this.trim(added);
    return added;
  }

  private transaction(body: () => void): void {
    this.db.exec('BEGIN');
    try {
      body();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private putEvent(event: AgentEvent): void {
    this.insertEvent.run([event.seq, event.ts, event.type, event.runId ?? null, JSON.stringify(event)]);
  }

  /** Keeps the newest `EVENTS_KEPT` raw events and those of pinned runs; checked every so often, not per event. */
  private trim(added: number): void {
    if ((this.sinceTrim += added) < 256) return;
    this.sinceTrim = 0;
    const count = this.db.exec('SELECT COUNT(*) FROM events')[0].values[0][0] as number;
    if (count <= EVENTS_KEPT * 1.2) return;
    const pinned = [...this.pinned];
    this.db.run(
      `DELETE FROM events WHERE seq < (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?)
        AND (run_id IS NULL OR run_id NOT IN (${pinned.map(() => '?').join(',')}))`,
      [EVENTS_KEPT, ...pinned],
    );
  }

  private addCallRollup(res: Resolution, r: CallRollup): void {
    this.upsertRollup.run([
      res,
      r.bucket,
      r.provider,
      r.model,
      r.calls,
      r.errors,
      r.latencySumMs,
      r.inputTokens,
      r.cachedInputTokens,
      r.cacheWriteInputTokens,
      r.outputTokens,
      r.costUsd,
      r.pricedCalls,
      r.timedOutputTokens,
      r.generationMs,
      r.loadedCalls,
      r.loadMsSum,
    ]);
    this.addSketches(res, r);
  }

  private addSketches(res: Resolution, r: CallRollup): void {
    if (res === 'd') return; // Day rows serve the charts' sums only.
    const model = modelKey(r.provider, r.model);
    if (r.latency?.length) this.sketches.merge(res, r.bucket, model, 'latency', r.latency);
    if (r.ttft?.length) this.sketches.merge(res, r.bucket, model, 'ttft', r.ttft);
  }

  private addRunRollup(res: Resolution, r: RunRollup): void {
    const edits = r.edits ?? NO_EDITS;
    this.upsertRunRollup.run([
      res,
      r.bucket,
      r.provider,
      r.model,
      r.runs,
      r.finished,
      r.passed,
      r.passIterations,
      r.costUsd,
      ...EDIT_TALLIES.map((tally) => editTally(edits, tally)),
    ]);
  }

  /** Adds to a run's rollups in every resolution: `delta` is what changed about it. */
  private changeRun(run: { provider: string; model: string; started_ts: number }, delta: Omit<RunRollup, 'bucket' | 'provider' | 'model'>): void {
    for (const [res, bucket] of bucketsOf(run.started_ts)) {
      this.addRunRollup(res, { bucket, provider: run.provider as RunRollup['provider'], model: run.model, ...delta });
    }
  }

  private putRun(run: RunSummary): void {
    // The host lists an eval's runs, marked; the store keeps everyday runs only (as `ingest` does).
    if (run.evalId !== undefined) return;
    const outcome = run.status === 'running' ? null : run.status;
    this.insertRun.run([
      run.runId,
      run.file,
      run.provider,
      run.model,
      run.startedAt,
      null,
      run.finishedAt,
      outcome,
      run.reason,
      run.iterations,
      run.costUsd,
      null,
    ]);
  }

  private run(runId: string): RunRow | undefined {
    this.selectRun.bind([runId]);
    try {
      return this.selectRun.step() ? (this.selectRun.getAsObject() as RunRow) : undefined;
    } finally {
      this.selectRun.reset();
    }
  }

  private derive(event: AgentEvent): void {
    switch (event.type) {
      case 'llm.response': {
        if (event.rateLimit)
          noteHeadroom(this.headroom, {
            provider: event.provider,
            key: event.rateLimit.key ?? null,
            model: event.model,
            ts: event.ts,
            rateLimit: event.rateLimit,
          });
        for (const [res, bucket] of bucketsOf(event.ts)) {
          const latency = [bucketOf(event.latencyMs), 1];
          const ttft = event.ttftMs === null ? [] : [bucketOf(event.ttftMs), 1];
          this.addCallRollup(res, {
            bucket,
            provider: event.provider,
            model: event.model,
            calls: 1,
            errors: event.ok ? 0 : 1,
            latencySumMs: event.latencyMs,
            inputTokens: event.inputTokens ?? 0,
            // Events from before cache usage was recorded may lack the fields altogether.
            cachedInputTokens: event.cachedInputTokens ?? 0,
            cacheWriteInputTokens: event.cacheWriteInputTokens ?? 0,
            outputTokens: event.outputTokens ?? 0,
            costUsd: event.costUsd ?? 0,
            pricedCalls: event.costUsd === null ? 0 : 1,
            ...localModelSums(event),
            latency,
            ttft,
          });
        }
        const run = event.runId ? this.run(event.runId) : undefined;
        if (run && run.outcome === null && event.costUsd !== null) {
          this.addRunCost.run([event.costUsd, event.runId!]);
          this.changeRun(run, { runs: 0, finished: 0, passed: 0, passIterations: 0, costUsd: event.costUsd });
        }
        break;
      }
      case 'run.started': {
        this.insertRun.run([event.runId, event.file, event.provider, event.model, event.ts, event.maxRuns, null, null, null, 0, 0, null]);
        if (this.db.getRowsModified() > 0) {
          this.changeRun(
            { provider: event.provider, model: event.model, started_ts: event.ts },
            { runs: 1, finished: 0, passed: 0, passIterations: 0, costUsd: 0 },
          );
        }
        break;
      }
      case 'run.iteration':
        this.updateIteration.run([event.iteration, event.runId]);
        break;
      case 'edit.applied':
      case 'edit.rejected': {
        const edits = emptyEditQuality();
        if (!this.editFold.add(event, edits)) break;
        const run = this.run(event.runId);
        if (!run) return void (this.stale = true);
        this.changeRun(run, { runs: 0, finished: 0, passed: 0, passIterations: 0, costUsd: 0, edits });
        break;
      }
      case 'run.finished': {
        this.editFold.add(event, emptyEditQuality());
        const run = this.run(event.runId);
        // A run older than every row held: its rollups cannot be corrected here, so the store reloads.
        if (!run) return void (this.stale = true);
        const wasPassed = run.outcome === 'passed';
        const passed = event.outcome === 'passed';
        this.changeRun(run, {
          runs: 0,
          finished: run.outcome === null ? 1 : 0,
          passed: Number(passed) - Number(wasPassed),
          passIterations: (passed ? event.iterations : 0) - (wasPassed ? run.iterations : 0),
          costUsd: event.costUsd - run.cost_usd,
        });
        this.finishRun.run([event.ts, event.outcome, event.reason, event.iterations, event.costUsd, event.error ?? null, event.runId]);
        break;
      }
    }
  }
}

/** A run rollup's edits when it has none; never written to. */
const NO_EDITS: EditQuality = emptyEditQuality();

export interface RollupRequest {
  res: Resolution;
  params: RollupsParams;
}

/**
 * What a history that starts on `firstDay` (null: unknown or empty, taken as long) is loaded from: all time
 * (sums and sketches), days, the last day's hours (sums and sketches) and, for a short history, its older
 * hours (`olderHours`), and minutes (sums and sketches) only where a window reads them (`minuteRanges`).
 */
export function loadRequests(now: number, firstDay: number | null): RollupRequest[] {
  const older = olderHours(now, firstDay);
  return [
    { res: 'a', params: {} },
    { res: 'd', params: { bucketMs: BUCKET_MS.d, sketches: false } },
    { res: 'h', params: { sinceTs: lastDayStart(now), bucketMs: BUCKET_MS.h } },
    ...(older ? [older] : []),
    ...minuteRanges(now, firstDay).map(([from, to]): RollupRequest => ({
      res: 'm',
      params: { sinceTs: from, ...(to === Infinity ? {} : { untilTs: to }), bucketMs: BUCKET_MS.m },
    })),
  ];
}

/**
 * The minutes a window or chart reads, as disjoint `[from, to)` ranges: the last hour (its window and chart, and
 * a midnight within it); the first partial hour of the last day's window, for `EDGE_SPAN_MS` as it slides; a
 * midnight that is no whole hour ("today" in zones of half and quarter hours); and a history shorter than
 * `MIN_CHART_POINTS` hours whole (its "All" charts are drawn from minutes). The hours between come from hour
 * rows, so a busy day's 1,400 minutes per model are not loaded.
 */
export function minuteRanges(now: number, firstDay: number | null): Array<[number, number]> {
  const hour = BUCKET_MS.h;
  const dayEdge = wholeBucket(now - BUCKET_MS.d, 'h');
  const midnight = new Date(now).setHours(0, 0, 0, 0);
  const ranges: Array<[number, number]> = [
    [wholeBucket(now - hour, 'h'), Infinity],
    [dayEdge, dayEdge + EDGE_SPAN_MS],
    [midnight, Math.ceil(midnight / hour) * hour],
  ];
  if (firstDay !== null && firstDay * BUCKET_MS.d > now - MIN_CHART_POINTS * hour) ranges.push([firstDay * BUCKET_MS.d, Infinity]);
  const merged: Array<[number, number]> = [];
  for (const [from, to] of ranges.filter(([from, to]) => from < to).sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The start of the bucket a time falls in: asked from there, the first bucket of an answer is whole too. */
function wholeBucket(ts: number, res: keyof typeof BUCKET_MS): number {
  return Math.floor(ts / BUCKET_MS[res]) * BUCKET_MS[res];
}

/** Longest history the "All" charts draw from hours: `MIN_CHART_POINTS` days (`queries.ts` seriesRows). */
export const HOURS_SPAN_MS = MIN_CHART_POINTS * BUCKET_MS.d;

/** Where the last day's hours start: from a whole hour, so no bucket is partial. */
function lastDayStart(now: number): number {
  return wholeBucket(now - LAST_DAY_SPAN_MS, 'h');
}

/**
 * A history (from its first day, `firstDay`, null when empty) that spans less than `HOURS_SPAN_MS` draws its
 * "All" charts from hours: the sums of those before the last day's. Null for a longer (or empty) history.
 */
export function olderHours(now: number, firstDay: number | null): RollupRequest | null {
  const [from, to] = [firstDay === null ? Infinity : firstDay * BUCKET_MS.d, lastDayStart(now)];
  if (from >= to || from < now - HOURS_SPAN_MS) return null;
  return { res: 'h', params: { sinceTs: from, untilTs: to, bucketMs: BUCKET_MS.h, sketches: false } };
}

/**
 * A call's generation and load sums as the host's rollups keep them (`CallRollup`): only where the model server
 * reported them (Ollama); events logged before they were recorded lack the fields.
 */
function localModelSums(event: { outputTokens: number | null; outputTokensPerSec?: number | null; loadMs?: number | null }) {
  const perSec = event.outputTokensPerSec ?? 0;
  const timed = perSec > 0 && (event.outputTokens ?? 0) > 0 ? event.outputTokens! : 0;
  return {
    timedOutputTokens: timed,
    generationMs: timed > 0 ? (timed / perSec) * 1000 : 0,
    loadedCalls: typeof event.loadMs === 'number' ? 1 : 0,
    loadMsSum: event.loadMs ?? 0,
  };
}
