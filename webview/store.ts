/**
 * The dashboard's in-browser store: SQLite (sql.js, wasm) fed with agent events. Events are deduped by seq,
 * so history pages and live notifications may overlap freely; each batch goes in one transaction.
 *
 * Besides the raw events, ingest keeps what the analytics need small:
 *   llm_calls   one row per call (spend since a moment, run detail); token counts as in CallMetrics, the cached
 *               ones a part of input_tokens
 *   rollups     per provider/model sums at three resolutions: per minute ('m'), per hour ('h') and all time
 *               ('a', bucket 0), so any window reads a few thousand rows, never every call
 *   histograms  the same resolutions, counts (and sums) in 5%-wide log-scale latency and TTFT bins: a
 *               percentile is the mean of the bin it falls in, exact when that bin holds one value
 *   test_runs, runs
 */
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import type { AgentEvent } from '../server/protocol/events';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, run_id TEXT, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
CREATE TABLE IF NOT EXISTS llm_calls (
  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, run_id TEXT, provider TEXT NOT NULL, model TEXT NOT NULL, iteration INTEGER,
  latency_ms REAL NOT NULL, ttft_ms REAL, input_tokens INTEGER, cached_input_tokens INTEGER, cache_write_input_tokens INTEGER, output_tokens INTEGER,
  cost_usd REAL, ok INTEGER NOT NULL, error_kind TEXT);
CREATE INDEX IF NOT EXISTS llm_calls_ts ON llm_calls(ts);
CREATE TABLE IF NOT EXISTS rollups (
  res TEXT NOT NULL, bucket INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
  calls INTEGER NOT NULL, errors INTEGER NOT NULL, latency_sum REAL NOT NULL, input_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cache_write_input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, priced_calls INTEGER NOT NULL,
  PRIMARY KEY (res, bucket, provider, model)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS histograms (
  metric TEXT NOT NULL, res TEXT NOT NULL, bucket INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, bin INTEGER NOT NULL,
  n INTEGER NOT NULL, total REAL NOT NULL,
  PRIMARY KEY (metric, res, bucket, provider, model, bin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS test_runs (
  seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, run_id TEXT NOT NULL, iteration INTEGER NOT NULL, passed INTEGER NOT NULL,
  exit_code INTEGER, duration_ms REAL NOT NULL, timed_out INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, file TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, started_ts INTEGER NOT NULL,
  max_runs INTEGER NOT NULL, finished_ts INTEGER, outcome TEXT, reason TEXT, iterations INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL NOT NULL DEFAULT 0, error TEXT);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_ts);
`;

/** Log-scale bins 5% wide: percentiles read off them are within 2.5% of the exact value. */
const BIN_BASE = Math.log(1.05);
export const toBin = (ms: number): number => Math.round(Math.log(ms + 1) / BIN_BASE);

/** Rollup resolutions: a minute, an hour, all time. */
export type Resolution = 'm' | 'h' | 'a';

/** The bucket of a timestamp at each resolution. */
export function bucketsOf(ts: number): Array<[Resolution, number]> {
  const minute = Math.floor(ts / 60_000);
  return [
    ['m', minute],
    ['h', Math.floor(minute / 60)],
    ['a', 0],
  ];
}

export class Store {
  private readonly insertEvent: Statement;
  private readonly insertCall: Statement;
  private readonly upsertRollup: Statement;
  private readonly upsertHistogram: Statement;
  private readonly insertTest: Statement;
  private readonly insertRun: Statement;
  private readonly updateIteration: Statement;
  private readonly finishRun: Statement;
  private readonly addRunCost: Statement;
  private maxSeq = 0;

  constructor(readonly db: Database) {
    db.exec(SCHEMA);
    this.insertEvent = db.prepare('INSERT OR IGNORE INTO events (seq, ts, type, run_id, body) VALUES (?, ?, ?, ?, ?)');
    this.insertCall = db.prepare('INSERT INTO llm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.upsertRollup = db.prepare(`INSERT INTO rollups VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET calls = calls + 1, errors = errors + excluded.errors, latency_sum = latency_sum + excluded.latency_sum,
        input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
        cache_write_input_tokens = cache_write_input_tokens + excluded.cache_write_input_tokens, output_tokens = output_tokens + excluded.output_tokens,
        cost_usd = cost_usd + excluded.cost_usd, priced_calls = priced_calls + excluded.priced_calls`);
    this.upsertHistogram = db.prepare(
      'INSERT INTO histograms VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE SET n = n + 1, total = total + excluded.total',
    );
    this.insertTest = db.prepare('INSERT INTO test_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.insertRun = db.prepare('INSERT OR IGNORE INTO runs (run_id, file, provider, model, started_ts, max_runs) VALUES (?, ?, ?, ?, ?, ?)');
    this.updateIteration = db.prepare('UPDATE runs SET iterations = MAX(iterations, ?) WHERE run_id = ?');
    this.finishRun = db.prepare('UPDATE runs SET finished_ts = ?, outcome = ?, reason = ?, iterations = ?, cost_usd = ?, error = ? WHERE run_id = ?');
    this.addRunCost = db.prepare('UPDATE runs SET cost_usd = cost_usd + ? WHERE run_id = ? AND outcome IS NULL');
    this.maxSeq = (db.exec('SELECT COALESCE(MAX(seq), 0) FROM events')[0]?.values[0][0] as number) ?? 0;
  }

  static async open(SQL: SqlJsStatic): Promise<Store> {
    return new Store(new SQL.Database());
  }

  /** The highest seq held: a reloaded view asks the extension for what came after it. */
  get lastSeq(): number {
    return this.maxSeq;
  }

  /** Ingests a batch in one transaction; returns how many events were new (duplicates by seq are skipped). */
  ingest(events: readonly AgentEvent[]): number {
    let added = 0;
    this.db.exec('BEGIN');
    try {
      for (const event of events) {
        this.insertEvent.run([event.seq, event.ts, event.type, event.runId ?? null, JSON.stringify(event)]);
        if (this.db.getRowsModified() === 0) continue;
        added++;
        if (event.seq > this.maxSeq) this.maxSeq = event.seq;
        this.derive(event);
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    return added;
  }

  private derive(event: AgentEvent): void {
    switch (event.type) {
      case 'llm.response': {
        this.insertCall.run([
          event.seq,
          event.ts,
          event.runId ?? null,
          event.provider,
          event.model,
          event.iteration,
          event.latencyMs,
          event.ttftMs,
          event.inputTokens,
          // Events from before cache usage was recorded may lack the fields altogether.
          event.cachedInputTokens ?? null,
          event.cacheWriteInputTokens ?? null,
          event.outputTokens,
          event.costUsd,
          event.ok ? 1 : 0,
          event.error?.kind ?? null,
        ]);
        for (const [res, bucket] of bucketsOf(event.ts)) {
          this.upsertRollup.run([
            res,
            bucket,
            event.provider,
            event.model,
            event.ok ? 0 : 1,
            event.latencyMs,
            event.inputTokens ?? 0,
            event.cachedInputTokens ?? 0,
            event.cacheWriteInputTokens ?? 0,
            event.outputTokens ?? 0,
            event.costUsd ?? 0,
            event.costUsd === null ? 0 : 1,
          ]);
          this.upsertHistogram.run(['latency', res, bucket, event.provider, event.model, toBin(event.latencyMs), event.latencyMs]);
          if (event.ttftMs !== null) this.upsertHistogram.run(['ttft', res, bucket, event.provider, event.model, toBin(event.ttftMs), event.ttftMs]);
        }
        if (event.runId && event.costUsd !== null) this.addRunCost.run([event.costUsd, event.runId]);
        break;
      }
      case 'test.finished':
        this.insertTest.run([
          event.seq,
          event.ts,
          event.runId,
          event.iteration,
          event.passed ? 1 : 0,
          event.exitCode,
          event.durationMs,
          event.timedOut ? 1 : 0,
        ]);
        break;
      case 'run.started':
        this.insertRun.run([event.runId, event.file, event.provider, event.model, event.ts, event.maxRuns]);
        break;
      case 'run.iteration':
        this.updateIteration.run([event.iteration, event.runId]);
        break;
      case 'run.finished':
        this.finishRun.run([event.ts, event.outcome, event.reason, event.iterations, event.costUsd, event.error ?? null, event.runId]);
        break;
    }
  }
}
