/**
 * Runs in Chromium (bundled for the browser): the dashboard's store and queries under load, with the same
 * sql.js wasm the webview loads. Results go to `window.__bench`.
 */
import initSqlJs from 'sql.js';
import type { AgentEvent } from '../../../server/protocol';
import { costSeries, latencySeries, modelStats, passRateByModel, spendSince, tokensByProvider } from '../../../webview/queries';
import { bucketOf } from '../../../server/protocol/sketch';
import { modelKey } from '../../../webview/sketches';
import { LAST_DAY_SPAN_MS, Store } from '../../../webview/store';

const MODELS = [
  ['openai', 'gpt-4.1-mini'],
  ['openai', 'gpt-4.1'],
  ['anthropic', 'claude-sonnet-4-5'],
  ['ollama', 'qwen2.5-coder'],
] as const;

/** A realistic mix: each run is started, iterates (call, edit, test) and finishes. */
function events(count: number, start: number): AgentEvent[] {
  const out: AgentEvent[] = [];
  let seq = start;
  let ts = Date.now() - 6 * 3_600_000;
  for (let run = 0; out.length < count; run++) {
    const [provider, model] = MODELS[run % MODELS.length];
    const runId = `bench-${start}-${run}`;
    const push = (e: object) => out.push({ seq: ++seq, ts: (ts += 50), runId, ...e } as AgentEvent);
    push({
      type: 'run.started',
      file: 'src/math.js',
      testCommand: 'npm test',
      provider,
      model,
      maxRuns: 10,
      budgetUsd: null,
      budgetMs: null,
      prompt: null,
      originalPath: 'x',
      pid: 1,
    });
    for (let i = 1; i <= 3; i++) {
      push({ type: 'run.iteration', iteration: i, maxRuns: 10 });
      push({
        type: 'llm.response',
        callId: `${runId}-${i}`,
        provider,
        model,
        iteration: i,
        latencyMs: 300 + (seq % 2000),
        ttftMs: 100 + (seq % 300),
        inputTokens: 1500,
        outputTokens: 300,
        costUsd: 0.001,
        retries: 0,
        ok: seq % 17 !== 0,
        finishReason: 'stop',
        responsePreview: 'Here is the corrected file.',
      });
      push({
        type: 'edit.applied',
        iteration: i,
        file: 'src/math.js',
        bytes: 400,
        linesAdded: 2,
        linesRemoved: 1,
        diff: '@@ -1 +1 @@\n-a\n+b',
        attemptPath: 'x',
      });
      push({
        type: 'test.finished',
        iteration: i,
        exitCode: i === 3 ? 0 : 1,
        signal: null,
        durationMs: 800,
        passed: i === 3,
        timedOut: false,
        cancelled: false,
        outputTail: 'ok',
      });
    }
    push({
      type: 'run.finished',
      outcome: 'passed',
      reason: 'tests_passed',
      iterations: 3,
      costUsd: 0.003,
      unpricedCalls: 0,
      durationMs: 4000,
      restored: false,
    });
  }
  return out.slice(0, count);
}

/**
 * A million calls spread over 30 days, summed straight into the tables the store keeps (rollups per minute,
 * hour, day and all time; sketches per minute and hour of the last day and all time) from a scratch table of calls, because pushing a million JSON
 * events through ingest would measure ingest again, not the queries. (The dashboard as a whole, loaded from a
 * real host, is measured by the `dashboard at scale` bench.)
 */
function loadMillionCalls(store: Store): void {
  const now = Date.now();
  store.db.exec(`
    CREATE TEMP TABLE llm_calls (seq, ts, run_id, provider, model, iteration, latency_ms, ttft_ms, input_tokens, cached_input_tokens,
      cache_write_input_tokens, output_tokens, cost_usd, ok, error_kind);
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
    INSERT INTO llm_calls SELECT 10000000 + i, ${now} - (i * 2592) , NULL,
      CASE i % 4 WHEN 0 THEN 'openai' WHEN 1 THEN 'openai' WHEN 2 THEN 'anthropic' ELSE 'ollama' END,
      CASE i % 4 WHEN 0 THEN 'gpt-4.1-mini' WHEN 1 THEN 'gpt-4.1' WHEN 2 THEN 'claude-sonnet-4-5' ELSE 'qwen2.5-coder' END,
      1, 200 + (i * 7919) % 4000, 50 + (i * 104729) % 900, 1500, 1000, NULL, 300, 0.001, (i % 23) != 0, NULL FROM n;
    INSERT INTO rollups SELECT r.res,
        CASE r.res WHEN 'm' THEN ts / 60000 WHEN 'h' THEN ts / 3600000 WHEN 'd' THEN ts / 86400000 ELSE 0 END AS bucket, provider, model,
        COUNT(*), SUM(NOT ok), SUM(latency_ms), SUM(input_tokens), SUM(COALESCE(cached_input_tokens, 0)), SUM(COALESCE(cache_write_input_tokens, 0)),
        SUM(output_tokens), SUM(cost_usd), COUNT(cost_usd)
      FROM llm_calls, (SELECT 'm' AS res UNION ALL SELECT 'h' UNION ALL SELECT 'd' UNION ALL SELECT 'a') AS r
      WHERE seq >= 10000000 GROUP BY r.res, bucket, provider, model;
    DROP TABLE llm_calls;
  `);
  // The sketches, which the store keeps beside the database: all time, and minutes and hours of the last day.
  const tallies = new Map<string, Map<number, number>>();
  for (let i = 0; i < 1_000_000; i++) {
    const ts = now - i * 2592;
    const model = modelKey(MODELS[i % 4][0], MODELS[i % 4][1]);
    const buckets = [['a', 0]];
    if (ts >= now - LAST_DAY_SPAN_MS) buckets.push(['m', Math.floor(ts / 60_000)], ['h', Math.floor(ts / 3_600_000)]);
    for (const [res, bucket] of buckets) {
      for (const [metric, ms] of [
        ['latency', 200 + ((i * 7919) % 4000)],
        ['ttft', 50 + ((i * 104729) % 900)],
      ] as const) {
        const key = `${res} ${bucket} ${metric} ${model}`;
        if (!tallies.has(key)) tallies.set(key, new Map());
        const bins = tallies.get(key)!;
        bins.set(bucketOf(ms), (bins.get(bucketOf(ms)) ?? 0) + 1);
      }
    }
  }
  for (const [key, bins] of tallies) {
    const [res, bucket, metric, model] = key.split(' ') as ['m' | 'h' | 'a', string, 'latency' | 'ttft', string];
    store.sketches.merge(res, Number(bucket), model, metric, [...bins].flat());
  }
}

function time(fn: () => unknown, repeats = 5): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

async function main(): Promise<void> {
  const SQL = await initSqlJs({ locateFile: () => '/sql-wasm.wasm' });
  const store = await Store.open(SQL);
  const batch = events(100_000, 0);
  const t = performance.now();
  for (let i = 0; i < batch.length; i += 1000) store.ingest(batch.slice(i, i + 1000));
  const ingestPerSecond = batch.length / ((performance.now() - t) / 1000);

  const big = await Store.open(SQL);
  loadMillionCalls(big);
  const now = Date.now();
  const queries: Record<string, number> = {
    'modelStats(hour)': time(() => modelStats(big, 'hour', now)),
    'modelStats(day)': time(() => modelStats(big, 'day', now)),
    'modelStats(all)': time(() => modelStats(big, 'all', now)),
    'latencySeries(day)': time(() => latencySeries(big.db, 'day', now)),
    'costSeries(all)': time(() => costSeries(big.db, 'all', now)),
    'tokensByProvider(all)': time(() => tokensByProvider(big.db, 'all', now)),
    'passRateByModel(all)': time(() => passRateByModel(big.db, 'all', now)),
    'spendSince(today)': time(() => spendSince(big.db, now - 12 * 3_600_000)),
  };
  (window as unknown as { __bench: unknown }).__bench = { ingestPerSecond, queries };
}

main().catch((err: Error) => ((window as unknown as { __bench: unknown }).__bench = { error: err.message }));
