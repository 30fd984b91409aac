import * as assert from 'node:assert/strict';
import initSqlJs from 'sql.js';
import { insights } from '../webview/insights';
import { costSeries, latencySeries, modelStats, passRateByModel, recentRuns, runEvents, spendSince, tokensByProvider } from '../webview/queries';
import type { AgentEvent } from '../server/protocol';
import { Store, toBin } from '../webview/store';
import { EventFactory } from './support/events';

async function store(): Promise<Store> {
  return Store.open(await initSqlJs());
}

describe('dashboard store and queries (sql.js)', () => {
  it('dedupes by seq across overlapping batches and remembers the last seq', async () => {
    const s = await store();
    const f = new EventFactory();
    const events = f.run('r1', 'openai', 'gpt-4.1-mini', 2, true, 0.01);
    assert.equal(s.ingest(events.slice(0, 5)), 5);
    assert.equal(s.ingest(events), events.length - 5, 'only the new ones count');
    assert.equal(s.ingest([...events, ...events]), 0);
    assert.equal(s.lastSeq, events.at(-1)!.seq);
    const [stats] = modelStats(s.db, 'all');
    assert.equal(stats.calls, 2);
  });

  it('computes per-model stats for a known event set', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 20 * 60_000);
    // openai: 3 runs. Two pass (after 1 and after 3 iterations), one fails after 2. Calls cost $0.01 each.
    s.ingest([
      ...f.run('a', 'openai', 'gpt-4.1-mini', 1, true, 0.01, 100),
      ...f.run('b', 'openai', 'gpt-4.1-mini', 3, true, 0.01, 200),
      ...f.run('c', 'openai', 'gpt-4.1-mini', 2, false, 0.01, 400),
    ]);
    // anthropic: one run passing after 1 iteration at $0.05, plus one failed call outside any run.
    s.ingest([
      ...f.run('d', 'anthropic', 'claude-sonnet-4-5', 1, true, 0.05, 800),
      f.call(undefined, 'anthropic', 'claude-sonnet-4-5', { latencyMs: 50, ok: false, costUsd: null }),
    ]);
    const stats = modelStats(s.db, 'hour', now);
    const openai = stats.find((x) => x.provider === 'openai')!;
    assert.equal(openai.calls, 6);
    assert.equal(openai.errors, 0);
    assert.equal(openai.inputTokens, 6000);
    assert.ok(Math.abs(openai.costUsd! - 0.06) < 1e-9);
    assert.equal(openai.runs, 3);
    assert.equal(openai.passRate, 2 / 3);
    assert.equal(openai.meanIterationsToPass, 2);
    assert.ok(Math.abs(openai.costPerPassingRun! - 0.03) < 1e-9, 'all 6 calls ($0.06) over 2 passing runs');
    // Latencies 100, 200×3, 400×2: p50 is 200, p95 is 400.
    assert.equal(openai.p50LatencyMs, 200);
    assert.equal(openai.p95LatencyMs, 400);
    const claude = stats.find((x) => x.provider === 'anthropic')!;
    assert.equal(claude.calls, 2);
    assert.equal(claude.errorRate, 0.5);
    assert.equal(claude.costUsd, 0.05);
    assert.equal(claude.passRate, 1);

    const tokens = tokensByProvider(s.db, 'all', now);
    assert.deepEqual(
      tokens.map((t) => [t.provider, t.input, t.output]),
      [
        ['openai', 6000, 600],
        ['anthropic', 2000, 200],
      ],
    );
    assert.deepEqual(
      passRateByModel(s.db, 'all', now).map((p) => [p.model, p.passed, p.finished]),
      [
        ['openai gpt-4.1-mini', 2, 3],
        ['anthropic claude-sonnet-4-5', 1, 1],
      ],
    );
    assert.ok(Math.abs(spendSince(s.db, now - 3_600_000) - 0.11) < 1e-9);
    assert.ok(costSeries(s.db, 'hour', now).length > 0);
    const latency = latencySeries(s.db, 'hour', now);
    assert.ok(latency.some((p) => 'openai gpt-4.1-mini' in p.values));
    const runs = recentRuns(s.db);
    assert.deepEqual(
      runs.map((r) => [r.runId, r.outcome, r.iterations]),
      [
        ['d', 'passed', 1],
        ['c', 'failed', 2],
        ['b', 'passed', 3],
        ['a', 'passed', 1],
      ],
    );
    assert.deepEqual(
      runEvents(s.db, 'b')
        .map((e) => e.type)
        .slice(0, 4),
      ['run.started', 'test.finished', 'run.iteration', 'llm.response'],
    );
  });

  it('sums cached and cache-written input tokens per model, old events without them counting 0', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 10 * 60_000);
    const old = f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 500 }) as unknown as Record<string, unknown>;
    delete old.cachedInputTokens;
    delete old.cacheWriteInputTokens;
    s.ingest([
      f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3000, cacheWrite: 600 }),
      f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3600, cacheWrite: 0 }),
      old as unknown as AgentEvent,
    ]);
    const [claude] = modelStats(s.db, 'hour', now);
    assert.deepEqual([claude.inputTokens, claude.cachedInputTokens, claude.cacheWriteInputTokens], [8500, 6600, 600]);
    const perCall = s.db.exec('SELECT cached_input_tokens, cache_write_input_tokens FROM llm_calls ORDER BY seq')[0].values;
    assert.deepEqual(perCall, [
      [null, null],
      [3000, 600],
      [3600, 0],
    ]);
  });

  it('windows exclude older calls', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 3 * 3_600_000);
    s.ingest([f.call(undefined, 'openai', 'm', { latencyMs: 100 })]);
    f.at(now - 60_000);
    s.ingest([f.call(undefined, 'openai', 'm', { latencyMs: 100 })]);
    assert.equal(modelStats(s.db, 'hour', now)[0].calls, 1);
    assert.equal(modelStats(s.db, 'all', now)[0].calls, 2);
  });

  it('bins latencies in 5%-wide log-scale bins', () => {
    assert.equal(toBin(1000), toBin(1020));
    assert.notEqual(toBin(1000), toBin(1060));
    assert.ok(toBin(10) < toBin(100) && toBin(100) < toBin(10_000));
  });

  it('turns stats into plain-language insights', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 10 * 60_000);
    for (let i = 0; i < 3; i++) s.ingest(f.run(`a${i}`, 'openai', 'gpt-4.1-mini', 1, true, 0.01));
    for (let i = 0; i < 3; i++) s.ingest(f.run(`b${i}`, 'anthropic', 'claude-opus-4-5', 3, true, 0.02 / 3));
    for (let i = 0; i < 3; i++) s.ingest([f.call(undefined, 'ollama', 'qwen', { latencyMs: 10, ok: i > 0 })]);
    const found = insights(modelStats(s.db, 'hour', now), 1.5, 1, 'last hour').map((i) => i.text);
    assert.ok(
      found.includes('openai gpt-4.1-mini passes in 1.0 iterations on average, anthropic claude-opus-4-5 in 3.0 at half the cost per passing run.'),
      found.join('\n'),
    );
    assert.ok(found.some((t) => t.startsWith('ollama qwen failed 33% of its calls (1 of 3) in the last hour')));
    assert.ok(found.includes("Today's spend, $1.50, passed the $1.00 budget."));
  });
});
