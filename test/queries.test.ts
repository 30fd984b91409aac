import * as assert from 'node:assert/strict';
import initSqlJs from 'sql.js';
import { insights } from '../webview/insights';
import { costSeries, latencySeries, modelStats, passRateByModel, recentRuns, runEvents, sinceMinute, spendSince, tokensByProvider } from '../webview/queries';
import type { AgentEvent, ProviderStats, RollupsParams, RollupsResult } from '../server/protocol';
import { StatsAggregator } from '../server/events/stats';
import { EVENTS_KEPT, loadRequests, minuteRanges, olderHours, Store } from '../webview/store';
import { countEdits, type EditCounts, EventFactory, type JudgedReply } from './support/events';

/** What the host answers `microAgent/rollups` with, from an aggregator in the test. */
function answer(host: StatsAggregator, params: RollupsParams): RollupsResult {
  const query = { sinceTs: params.sinceTs ?? 0, untilTs: params.untilTs ?? Infinity, bucketMs: params.bucketMs ?? null, sketches: params.sketches ?? true };
  return { ...query, lastSeq: 0, ...host.rollups(query) };
}

async function store(): Promise<Store> {
  return Store.open(await initSqlJs());
}

/**
 * A store loaded from the rollups of a host that folded `events` up to `split` (its newest page of runs too),
 * then fed them all live, as the page is; and a store fed every event. The host has folded only up to `split`.
 */
async function loadedAndFed(events: readonly AgentEvent[], split: number, now: number): Promise<{ host: StatsAggregator; loaded: Store; fed: Store }> {
  const host = new StatsAggregator();
  events.slice(0, split).forEach((e) => host.add(e));
  const loaded = await store();
  loaded.load({
    lastSeq: events[split - 1].seq,
    rollups: loadRequests(now, Math.floor(events[0].ts / 86_400_000)).map(({ res, params }) => ({ res, result: answer(host, params) })),
    runs: host.runPage(100)!.runs,
    nextBefore: null,
  });
  loaded.ingest(events);
  const fed = await store();
  fed.ingest(events);
  return { host, loaded, fed };
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
    const [stats] = modelStats(s, 'all');
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
    const stats = modelStats(s, 'hour', now);
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
    // In seq order, as the log delivers them: the store folds each seq once, the highest so far bounding the rest.
    s.ingest([
      old as unknown as AgentEvent,
      f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3000, cacheWrite: 600 }),
      f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3600, cacheWrite: 0 }),
    ]);
    const [claude] = modelStats(s, 'hour', now);
    assert.deepEqual([claude.inputTokens, claude.cachedInputTokens, claude.cacheWriteInputTokens], [8500, 6600, 600]);
  });

  it('windows exclude older calls', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 3 * 3_600_000);
    s.ingest([f.call(undefined, 'openai', 'm', { latencyMs: 100 })]);
    f.at(now - 60_000);
    s.ingest([f.call(undefined, 'openai', 'm', { latencyMs: 100 })]);
    assert.equal(modelStats(s, 'hour', now)[0].calls, 1);
    assert.equal(modelStats(s, 'all', now)[0].calls, 2);
  });

  it("loaded from the host's rollups mid-way, then fed the rest live, it says what a store fed everything says", async () => {
    const now = Date.now();
    const f = new EventFactory(now - 26 * 3_600_000);
    const events: AgentEvent[] = [];
    for (let i = 0; i < 40; i++) {
      f.at(now - 26 * 3_600_000 + i * 2_400_000);
      const run = f.run(`r${i}`, i % 3 ? 'openai' : 'anthropic', i % 3 ? 'gpt-4.1-mini' : 'claude-sonnet-4-5', 1 + (i % 3), i % 4 !== 0, 0.01, 300 + i * 40);
      events.push(...(i === 39 ? run.slice(0, 3) : run));
    }
    const { loaded, fed } = await loadedAndFed(events, Math.floor(events.length * 0.8), now);
    for (const window of ['hour', 'day', 'all'] as const) {
      const round = (xs: object[]) => JSON.parse(JSON.stringify(xs, (_, v) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v)));
      assert.deepEqual(round(modelStats(loaded, window, now)), round(modelStats(fed, window, now)), window);
      assert.deepEqual(round(passRateByModel(loaded.db, window, now)), round(passRateByModel(fed.db, window, now)), window);
      assert.deepEqual(round(latencySeries(loaded.db, window, now)), round(latencySeries(fed.db, window, now)), window);
      assert.deepEqual(round(costSeries(loaded.db, window, now)), round(costSeries(fed.db, window, now)), window);
    }
    assert.equal(loaded.stale, false);
  });

  it("shows each model's edit replies in every window, loaded mid-way then fed live: as fed everything, as counted, as the host's stats", async () => {
    const now = Date.now();
    const f = new EventFactory();
    const replies: JudgedReply[][] = [
      [{ placed: ['exact'] }],
      [{ refused: 'edit_mismatch' }, { placed: ['indent', 'exact'] }],
      [{ placed: ['whitespace'], testsMissing: true }, { refused: 'malformed' }, { placed: [undefined] }],
      [{ placed: ['elision', 'tabs', 'blank_lines'] }],
      [{ refused: 'elided' }, { refused: 'edit_conflict' }],
    ];
    const events: AgentEvent[] = [];
    // A run every 40 minutes over 26 hours: some in the last hour, more in the last day, the rest before.
    for (let i = 0; i < 40; i++) {
      f.at(now - 26 * 3_600_000 + i * 2_400_000);
      events.push(...f.judgedRun(`r${i}`, i % 3 ? 'openai' : 'anthropic', i % 3 ? 'gpt-4.1-mini' : 'claude-sonnet-4-5', replies[i % replies.length]));
    }
    // Split within the newest runs, so a run loaded from the host goes on to have replies judged live.
    const split = events.findIndex((e) => e.type === 'edit.applied' && e.runId === 'r38');
    const { host, loaded, fed } = await loadedAndFed(events, split, now);
    events.slice(split).forEach((e) => host.add(e));
    const edits = ({ provider, model, editReplies, wellFormedRate, matchSteps }: ProviderStats): [string, EditCounts] => [
      `${provider} ${model}`,
      { editReplies, wellFormedRate, matchSteps },
    ];
    for (const window of ['hour', 'day', 'all'] as const) {
      const counted = countEdits(events, window === 'all' ? 0 : sinceMinute(window, now) * 60_000);
      assert.ok(counted.size > 0, `${window}: runs with judged replies`);
      const shown = new Map(modelStats(loaded, window, now).map(edits));
      assert.deepEqual(shown, counted, `${window}: as counted from the events`);
      assert.deepEqual(new Map(modelStats(fed, window, now).map(edits)), counted, `${window}: a store fed every event`);
    }
    assert.deepEqual(new Map(modelStats(loaded, 'all', now).map(edits)), new Map(host.stats().providers.map(edits)), 'all: the host stats');
    const openai = modelStats(loaded, 'all', now).find((m) => m.provider === 'openai')!;
    assert.ok(openai.wellFormedRate! > 0 && openai.wellFormedRate! < 1 && openai.matchSteps.elision > 0, 'refusals and loose steps both counted');
    assert.equal(loaded.stale, false);
  });

  it('draws the All charts from days over a long history, hours over a short one and minutes over hours, as a store fed every event does', async () => {
    // 19:00 UTC, whatever the hour the test runs at: a history of 18 hours then starts on the same day.
    const now = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 19 * 3_600_000;
    const resolution = (days: number) => (days > 20 ? 86_400_000 : days > 1 ? 3_600_000 : 60_000);
    for (const days of [45, 10, 18 / 24]) {
      const f = new EventFactory();
      const events: AgentEvent[] = [];
      for (let i = 0; i < 120; i++) {
        f.at(now - days * 86_400_000 + i * ((days * 86_400_000) / 120));
        events.push(...f.run(`r${i}`, i % 2 ? 'openai' : 'anthropic', i % 2 ? 'gpt-4.1-mini' : 'claude-sonnet-4-5', 1, true, 0.01 * (i % 5), 100 + i));
      }
      const host = new StatsAggregator();
      events.forEach((e) => host.add(e));
      const firstDay = Math.min(...answer(host, { bucketMs: 86_400_000, sketches: false }).calls.map((c) => c.bucket));
      const older = olderHours(now, firstDay);
      assert.equal(
        older?.params.sinceTs ?? null,
        days > 1 && days <= 20 ? firstDay * 86_400_000 : null,
        `${days} days: the older hours of a short history only`,
      );
      const loaded = await store();
      loaded.load({
        lastSeq: events.at(-1)!.seq,
        rollups: loadRequests(now, firstDay).map(({ res, params }) => ({ res, result: answer(host, params) })),
        runs: host.runPage(100)!.runs,
        nextBefore: null,
      });
      const fed = await store();
      fed.ingest(events);
      const points = costSeries(loaded.db, 'all', now);
      assert.deepEqual(points, costSeries(fed.db, 'all', now), `${days} days`);
      assert.ok(points.length >= 15 && points.length <= 31, `${points.length} points over ${days} days`);
      const step = points[1].t - points[0].t;
      assert.equal(step % resolution(days), 0, `${days} days: points ${step} ms apart`);
      assert.ok(step < resolution(days) * 60, `${days} days: points ${step} ms apart, from the finest rollups that give enough points`);
      const total = points.reduce((sum, p) => sum + Object.values(p.values).reduce((a, b) => a + b, 0), 0);
      assert.ok(Math.abs(total - host.spendSince(0).costUsd) < 1e-9, 'the points hold every priced call');
    }
  });

  it("loads the minutes of a midnight that is no whole hour (Asia/Kolkata): today's spend equals a fed store's and the calls' own", async () => {
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const now = Date.now();
      const midnight = new Date(now).setHours(0, 0, 0, 0);
      assert.notEqual(midnight % 3_600_000, 0, 'a half-hour zone');
      const events: AgentEvent[] = [];
      const f = new EventFactory();
      for (let ts = now - 30 * 3_600_000; ts < now; ts += 7 * 60_000)
        events.push(f.at(ts).call(undefined, 'openai', 'gpt-4.1', { latencyMs: 300, costUsd: 0.001 }));
      const host = new StatsAggregator();
      events.forEach((e) => host.add(e));
      const firstDay = Math.floor(events[0].ts / 86_400_000);
      assert.ok(
        minuteRanges(now, firstDay).some(([from, to]) => from <= midnight && midnight + 1_800_000 <= to),
        'the minutes of the half hour after midnight are loaded',
      );
      const loaded = await store();
      loaded.load({
        lastSeq: events.at(-1)!.seq,
        rollups: loadRequests(now, firstDay).map(({ res, params }) => ({ res, result: answer(host, params) })),
        runs: [],
        nextBefore: null,
      });
      const fed = await store();
      fed.ingest(events);
      const today = events.filter((e) => e.ts >= midnight).length * 0.001;
      assert.ok(Math.abs(spendSince(loaded.db, midnight) - today) < 1e-9, `${spendSince(loaded.db, midnight)} loaded, ${today} spent`);
      assert.ok(Math.abs(spendSince(fed.db, midnight) - today) < 1e-9);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('keeps a bounded window of raw events, and the events of a run that is shown', async () => {
    const s = await store();
    const f = new EventFactory(Date.now() - 3_600_000);
    const first = f.run('shown', 'openai', 'gpt-4.1-mini', 2, true, 0.01);
    s.ingest(first);
    s.addRunEvents('shown', []);
    for (let i = 0; s.lastSeq < EVENTS_KEPT * 3; i++) s.ingest(f.run(`r${i}`, 'openai', 'gpt-4.1-mini', 2, true, 0.01));
    const held = s.db.exec('SELECT COUNT(*) FROM events')[0].values[0][0] as number;
    assert.ok(held <= EVENTS_KEPT * 1.2 + first.length + 300, `${held} raw events held after ${s.lastSeq}`);
    assert.equal(runEvents(s.db, 'shown').length, first.length, 'the shown run keeps all its events');
    assert.equal(modelStats(s, 'all')[0].calls, (s.lastSeq / first.length) * 2, 'the rollups count every call');
  });

  it("keeps an eval's runs out of the everyday numbers, host and store alike; their events still open, their calls still count as spend", async () => {
    const now = Date.now();
    const f = new EventFactory(now - 40 * 60_000);
    const everyday: AgentEvent[] = [];
    const all: AgentEvent[] = [];
    for (let i = 0; i < 6; i++) {
      const own = f.run(`u${i}`, 'openai', 'gpt-4.1-mini', 1 + (i % 2), i % 3 !== 0, 0.01);
      // The same model, on eval tasks, interleaved: every event of an eval's runs carries its evalId.
      const benchmark = f.run(`e${i}`, 'openai', 'gpt-4.1-mini', 2, i % 2 === 0, 0.05).map((e) => ({ ...e, evalId: 'ev1' }));
      everyday.push(...own);
      all.push(...own, ...benchmark);
    }
    const evalCost = all.filter((e) => e.evalId && e.type === 'llm.response').reduce((sum, e) => sum + (e.type === 'llm.response' ? e.costUsd! : 0), 0);
    const [mixed, plain] = [new StatsAggregator(), new StatsAggregator()];
    all.forEach((e) => mixed.add(e));
    everyday.forEach((e) => plain.add(e));
    const query = { sinceTs: 0, untilTs: Infinity, bucketMs: 3_600_000, sketches: true };
    assert.deepEqual(mixed.stats(), plain.stats(), 'stats');
    assert.deepEqual(mixed.rollups(query), plain.rollups(query), 'rollups');
    const listed = mixed.runPage(100)!.runs;
    assert.deepEqual(
      listed.filter((run) => run.evalId === undefined),
      plain.runPage(100)!.runs,
      'the everyday runs',
    );
    assert.deepEqual(
      listed.filter((run) => run.evalId !== undefined).map((run) => [run.runId, run.evalId]),
      [5, 4, 3, 2, 1, 0].map((i) => [`e${i}`, 'ev1']),
      "the eval's runs are listed, marked",
    );
    assert.ok(Math.abs(mixed.spendSince(0).costUsd - plain.spendSince(0).costUsd - evalCost) < 1e-9, "spend is what was paid, evals' calls too");
    assert.equal(mixed.spendSince(0).calls, all.filter((e) => e.type === 'llm.response').length);
    const e3 = all.find((e) => e.type === 'run.started' && e.runId === 'e3')!;
    assert.equal(mixed.runStartSeq('e3'), e3.seq, "an eval cell opens its run's events");
    const restarted = StatsAggregator.fromSnapshot(mixed.toSnapshot());
    assert.equal(restarted.runStartSeq('e3'), e3.seq, 'and after a restart from the index');
    assert.deepEqual(restarted.spendSince(0), mixed.spendSince(0));
    assert.deepEqual(restarted.stats(), plain.stats());
    assert.deepEqual(restarted.rollups(query), plain.rollups(query));
    // What the vendors bill micro-agent for (the provider-usage reconciliation's side): every call, an eval's too.
    const billable = (calls: { calls: number; inputTokens: number; outputTokens: number }[]) =>
      calls.reduce((t, c) => ({ calls: t.calls + c.calls, inputTokens: t.inputTokens + c.inputTokens, outputTokens: t.outputTokens + c.outputTokens }), {
        calls: 0,
        inputTokens: 0,
        outputTokens: 0,
      });
    const responses = all.flatMap((e) => (e.type === 'llm.response' ? [{ calls: 1, inputTokens: e.inputTokens ?? 0, outputTokens: e.outputTokens ?? 0 }] : []));
    assert.deepEqual(billable(mixed.paidCallsByDay(0)), billable(responses), "the calls by day hold an eval's calls");
    assert.ok(billable(plain.paidCallsByDay(0)).calls < responses.length);
    assert.deepEqual(restarted.paidCallsByDay(0), mixed.paidCallsByDay(0), 'and after a restart from the index');
    for (const res of [60_000, null]) {
      const walked = { ...query, bucketMs: res, sinceTs: now - 30 * 60_000 };
      assert.deepEqual(mixed.rollups(walked), plain.rollups(walked), `a window the runs are walked for (${res})`);
    }

    const [fedAll, fedEveryday] = [await store(), await store()];
    fedAll.ingest(all);
    fedEveryday.ingest(everyday);
    for (const window of ['hour', 'all'] as const) {
      assert.deepEqual(modelStats(fedAll, window, now), modelStats(fedEveryday, window, now), window);
      assert.deepEqual(passRateByModel(fedAll.db, window, now), passRateByModel(fedEveryday.db, window, now), window);
    }
    assert.deepEqual(
      recentRuns(fedAll.db).map((r) => r.runId),
      recentRuns(fedEveryday.db).map((r) => r.runId),
      'the Activity list is the everyday runs',
    );
    // Loaded from the host's answers (its run page lists the eval's runs, marked), the store says the same.
    const loaded = await store();
    loaded.load({
      lastSeq: all.at(-1)!.seq,
      rollups: loadRequests(now, Math.floor(all[0].ts / 86_400_000)).map(({ res, params }) => ({ res, result: answer(mixed, params) })),
      runs: listed,
      nextBefore: null,
    });
    assert.deepEqual(modelStats(loaded, 'all', now), modelStats(fedEveryday, 'all', now));
    assert.deepEqual(
      recentRuns(loaded.db).map((r) => r.runId),
      recentRuns(fedEveryday.db).map((r) => r.runId),
    );
    assert.equal(runEvents(fedAll.db, 'e3').length, all.filter((e) => e.runId === 'e3').length, "the eval run's events are held");
  });

  it('turns stats into plain-language insights', async () => {
    const s = await store();
    const now = Date.now();
    const f = new EventFactory(now - 10 * 60_000);
    for (let i = 0; i < 3; i++) s.ingest(f.run(`a${i}`, 'openai', 'gpt-4.1-mini', 1, true, 0.01));
    for (let i = 0; i < 3; i++) s.ingest(f.run(`b${i}`, 'anthropic', 'claude-opus-4-5', 3, true, 0.02 / 3));
    for (let i = 0; i < 3; i++) s.ingest([f.call(undefined, 'ollama', 'qwen', { latencyMs: 10, ok: i > 0 })]);
    const found = insights(modelStats(s, 'hour', now), 1.5, 1, 'last hour').map((i) => i.text);
    assert.ok(
      found.includes('openai gpt-4.1-mini passes in 1.0 iterations on average, anthropic claude-opus-4-5 in 3.0 at half the cost per passing run.'),
      found.join('\n'),
    );
    assert.ok(found.some((t) => t.startsWith('ollama qwen failed 33% of its calls (1 of 3) in the last hour')));
    assert.ok(found.includes("Today's spend, $1.50, passed the $1.00 budget."));
  });
});
