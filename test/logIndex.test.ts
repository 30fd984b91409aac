/**
 * The stats index at scale (issue #18): the host, `serve` and `micro-agent stats` answer from the index beside
 * the log plus its tail, and every number equals an independent full scan of the log — after a rebuild from
 * nothing, from a corrupt, truncated or foreign index, and after another process appended to the log.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Column } from '../server/events/columns';
import { LatencySketch, SKETCH_RELATIVE_ERROR } from '../server/protocol/sketch';
import { percentile } from '../server/events/stats';
import {
  addEditQuality,
  emptyEditQuality,
  wellFormedRate,
  CallRollup,
  MATCH_STEPS,
  type MatchStep,
  RollupsParams,
  RollupsRequest,
  RollupsResult,
  RunRollup,
  RunsRequest,
  RunSummary,
  Stats,
  StatsRequest,
} from '../server/protocol';
import { request } from './support/apiClient';
import { cli } from './support/cli';
import { makeWorkspace } from './support/fixtures';
import { writeHistoryLog } from './support/historyLog';
import { HostClient, startHost } from './support/lspClient';
import { serve, Served, stop } from './support/serve';

/** Big enough to be folded in the background (over 8 MB), small enough to keep the suite quick. */
const EVENTS = 50_000;

/** What a full scan of the log says, computed here from the lines themselves, without the engine's code. */
function fullScan(logFile: string): { stats: Stats; runs: RunSummary[] } {
  type Model = {
    provider: string;
    model: string;
    calls: number;
    errors: number;
    lat: number[];
    ttft: number[];
    tokens: number[];
    cost: number;
    priced: number;
    /** Each edit reply (run:iteration) and whether its edits applied. */
    replies: Map<string, boolean>;
    steps: Record<MatchStep, number>;
  };
  const models = new Map<string, Model>();
  const runs = new Map<string, RunSummary>();
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    let e: any;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.type === 'llm.response') {
      const key = `${e.provider}/${e.model}`;
      const m: Model = models.get(key) ?? {
        provider: e.provider,
        model: e.model,
        calls: 0,
        errors: 0,
        lat: [],
        ttft: [],
        tokens: [0, 0, 0, 0],
        cost: 0,
        priced: 0,
        replies: new Map(),
        steps: Object.fromEntries(MATCH_STEPS.map((step) => [step, 0])) as Record<MatchStep, number>,
      };
      models.set(key, m);
      m.calls++;
      if (!e.ok) m.errors++;
      m.lat.push(e.latencyMs);
      if (e.ttftMs !== null) m.ttft.push(e.ttftMs);
      m.tokens[0] += e.inputTokens ?? 0;
      m.tokens[1] += e.cachedInputTokens ?? 0;
      m.tokens[2] += e.cacheWriteInputTokens ?? 0;
      m.tokens[3] += e.outputTokens ?? 0;
      if (e.costUsd !== null) {
        m.cost += e.costUsd;
        m.priced++;
      }
      const run = runs.get(e.runId);
      if (run) run.costUsd += e.costUsd ?? 0;
    } else if (e.type === 'run.started') {
      runs.set(e.runId, {
        runId: e.runId,
        file: e.file,
        provider: e.provider,
        model: e.model,
        startedAt: e.ts,
        status: 'running',
        reason: null,
        iterations: 0,
        costUsd: 0,
        finishedAt: null,
        pid: e.pid,
      });
    } else if ((e.type === 'edit.applied' || (e.type === 'edit.rejected' && e.reason !== 'tests_missing')) && runs.has(e.runId)) {
      // A reply is one (run, iteration); it applied when any of its events is an edit.applied.
      const run = runs.get(e.runId)!;
      const m = models.get(`${run.provider}/${run.model}`)!;
      const reply = `${e.runId}:${e.iteration}`;
      m.replies.set(reply, (m.replies.get(reply) ?? false) || e.type === 'edit.applied');
      if (e.type === 'edit.applied' && e.match) m.steps[e.match as MatchStep]++;
    } else if (e.type === 'run.iteration' && runs.has(e.runId)) runs.get(e.runId)!.iterations = e.iteration;
    else if (e.type === 'run.finished' && runs.has(e.runId))
      Object.assign(runs.get(e.runId)!, { status: e.outcome, reason: e.reason, iterations: e.iterations, costUsd: e.costUsd, finishedAt: e.ts });
  }
  const all = [...runs.values()];
  const by = (status: string) => all.filter((r) => r.status === status);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const finished = all.length - by('running').length;
  return {
    runs: all.reverse(),
    stats: {
      providers: [...models.values()].map((m) => ({
        provider: m.provider as never,
        model: m.model,
        calls: m.calls,
        errors: m.errors,
        p50LatencyMs: percentile(sorted(m.lat), 50),
        p95LatencyMs: percentile(sorted(m.lat), 95),
        p50TtftMs: percentile(sorted(m.ttft), 50),
        inputTokens: m.tokens[0],
        cachedInputTokens: m.tokens[1],
        cacheWriteInputTokens: m.tokens[2],
        outputTokens: m.tokens[3],
        costUsd: m.priced ? m.cost : null,
        editReplies: m.replies.size,
        wellFormedRate: m.replies.size ? [...m.replies.values()].filter(Boolean).length / m.replies.size : null,
        matchSteps: m.steps,
        unpricedCalls: m.calls - m.priced,
      })),
      runs: {
        total: all.length,
        running: by('running').length,
        passed: by('passed').length,
        failed: by('failed').length,
        cancelled: by('cancelled').length,
        error: by('error').length,
        passRate: finished ? by('passed').length / finished : null,
        meanIterationsToPass: by('passed').length ? by('passed').reduce((s, r) => s + r.iterations, 0) / by('passed').length : null,
        costUsd: all.reduce((s, r) => s + r.costUsd, 0),
      },
    },
  };
}

/** Counts equal; sums of dollars equal to float rounding; percentiles exact below 1,024 ms, else within the sketch's stated error. */
function assertSameStats(actual: Stats, expected: Stats): void {
  assert.equal(actual.partial, undefined, 'a complete answer is not marked partial');
  const close = (a: number | null, b: number | null, what: string) =>
    assert.ok(a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))), `${what}: ${a} vs ${b}`);
  const { costUsd, ...counts } = actual.runs;
  const { costUsd: expectedCost, ...expectedCounts } = expected.runs;
  assert.deepEqual(counts, expectedCounts);
  close(costUsd, expectedCost, 'runs.costUsd');
  assert.equal(actual.providers.length, expected.providers.length);
  for (const want of expected.providers) {
    const got = actual.providers.find((p) => p.provider === want.provider && p.model === want.model);
    assert.ok(got, `${want.provider}/${want.model} is listed`);
    const { p50LatencyMs, p95LatencyMs, p50TtftMs, costUsd: cost, ...rest } = got;
    const { p50LatencyMs: w50, p95LatencyMs: w95, p50TtftMs: wTtft, costUsd: wCost, ...wantRest } = want;
    assert.deepEqual(rest, wantRest);
    close(cost, wCost, `${want.model} costUsd`);
    for (const [value, exact] of [
      [p50LatencyMs, w50],
      [p95LatencyMs, w95],
      [p50TtftMs, wTtft],
    ] as const) {
      if (exact === null || exact < 1024) assert.equal(value, exact, `${want.model}: exact below 1,024 ms`);
      else assert.ok(Math.abs(value! - exact) <= exact * SKETCH_RELATIVE_ERROR, `${want.model}: ${value} within ${SKETCH_RELATIVE_ERROR} of ${exact}`);
    }
  }
}

/** Every run, newest first, read page by page with `{ limit, before }`. */
async function allRuns(host: HostClient, limit: number): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  let before: string | null | undefined;
  do {
    const page = await host.connection.sendRequest(RunsRequest.paged, { limit, ...(before ? { before } : {}) });
    assert.ok(page.runs.length <= limit);
    out.push(...page.runs);
    before = page.nextBefore;
  } while (before);
  return out;
}

async function completeStats(host: HostClient): Promise<Stats> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stats = await host.connection.sendRequest(StatsRequest.type);
    if (!stats.partial) return stats;
    if (Date.now() > deadline) throw new Error('timed out waiting for the index to be rebuilt');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function sameRuns(actual: RunSummary[], expected: RunSummary[]): void {
  assert.equal(actual.length, expected.length);
  const strip = (r: RunSummary) => ({ ...r, costUsd: Math.round(r.costUsd * 1e9) });
  assert.deepEqual(actual.map(strip), expected.map(strip));
}

describe('the stats index (scale)', function () {
  this.timeout(180_000);
  let root: string;
  let logFile: string;
  let indexFile: string;
  let host: HostClient | undefined;
  let served: Served | undefined;

  before(() => {
    root = makeWorkspace({ 'a.js': '' });
    logFile = path.join(root, '.micro-agent', 'events.jsonl');
    indexFile = path.join(root, '.micro-agent', 'index', 'events.jsonl.idx');
    writeHistoryLog(logFile, EVENTS);
  });
  afterEach(async () => {
    await host?.stop();
    host = undefined;
    await stop(served);
    served = undefined;
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('rebuilds a missing index in the background, then answers from it; stats and every run page equal a full scan', async () => {
    const expected = fullScan(logFile);
    assert.ok(expected.stats.runs.total > 3000 && expected.stats.providers.length === 6, 'a realistic mix');
    host = await startHost(root, {});
    const first = await host.connection.sendRequest(StatsRequest.type);
    assert.ok(first.partial === true || first.runs.total === expected.stats.runs.total, 'answered at once, partial while folding');
    assertSameStats(await completeStats(host), expected.stats);
    sameRuns(await allRuns(host, 700), expected.runs);
    const defaultPage = await host.connection.sendRequest(RunsRequest.type);
    assert.equal(defaultPage.runs.length, 100, 'no params: the newest 100');
    assert.equal(defaultPage.nextBefore, expected.runs[99].runId);
    await host.stop();
    host = undefined;
    assert.equal(fs.statSync(indexFile).mode & 0o777, 0o600, 'the index is kept beside the log, private like it');

    // The next start answers complete at once from the index.
    host = await startHost(root, {});
    const warm = await host.connection.sendRequest(StatsRequest.type);
    assertSameStats(warm, expected.stats);
    const byTime = await host.connection.sendRequest(RunsRequest.paged, { limit: 5, before: expected.runs[10].startedAt });
    assert.deepEqual(
      byTime.runs.map((r) => r.runId),
      expected.runs.slice(11, 16).map((r) => r.runId),
    );
    const bad = await host.connection.sendRequest(RunsRequest.paged, { before: 'no-such-run' }).then(
      () => undefined,
      (err: Error) => err,
    );
    assert.match(String(bad), /no run no-such-run/);
  });

  for (const [damage, harm] of [
    ['deleted', () => fs.rmSync(indexFile)],
    ['garbage', () => fs.writeFileSync(indexFile, 'not json at all')],
    ['truncated', () => fs.truncateSync(indexFile, Math.floor(fs.statSync(indexFile).size / 2))],
    [
      'changed by one byte in its run columns',
      () => {
        const bytes = fs.readFileSync(indexFile);
        // Past the header, in the first run column (the calls are the file's last part, read only when needed).
        bytes[16 + bytes.readUInt32LE(8) + 8 * 100 + 3] ^= 0x40;
        fs.writeFileSync(indexFile, bytes);
      },
    ],
  ] as const) {
    it(`rebuilds an index that was ${damage}`, async () => {
      if (!fs.existsSync(indexFile)) await (await startHost(root, {})).stop();
      harm();
      host = await startHost(root, {});
      assertSameStats(await completeStats(host), fullScan(logFile).stats);
      await host.stop();
      host = undefined;
      const rewritten = fs.readFileSync(indexFile);
      const header = JSON.parse(rewritten.toString('utf8', 16, 16 + rewritten.readUInt32LE(8))) as { offset: number };
      assert.equal(header.offset, fs.statSync(logFile).size, 'rebuilt and written again, covering the whole log');
    });
  }

  it('reads the calls only when first needed, and rebuilds when they turn out damaged; rollups then equal those of a sound index', async () => {
    host = await startHost(root, {});
    await completeStats(host);
    const sound = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 });
    assert.equal(sound.partial, undefined);
    assert.ok(sound.calls.length > 0);
    await host.stop();
    host = undefined;
    const { calls } = JSON.parse(fs.readFileSync(indexFile).toString('utf8', 16, 16 + fs.readFileSync(indexFile).readUInt32LE(8))) as { calls: number };
    const bytes = fs.readFileSync(indexFile);
    bytes[bytes.length - calls * 8 + 8 * 7 + 2] ^= 0x10; // in the calls, the file's last part
    fs.writeFileSync(indexFile, bytes);

    host = await startHost(root, {});
    // Stats and runs come from the rest of the index, which is sound: complete at once.
    assertSameStats(await host.connection.sendRequest(StatsRequest.type), fullScan(logFile).stats);
    const first = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 });
    assert.equal(first.partial, true, 'the damage is found on the first read of the calls; answers are partial while the index is rebuilt');
    await completeStats(host);
    // The sums, not lastSeq: a host may log an event of its own as it starts.
    const sums = ({ calls, runs }: RollupsResult) => ({ calls, runs });
    assert.deepEqual(sums(await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 })), sums(sound));
    await host.stop();
    host = undefined;
    // The rebuilt index is sound again.
    host = await startHost(root, {});
    assert.deepEqual(sums(await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 })), sums(sound));
  });

  it('reads only the blocks of calls a window reaches: a damaged old block leaves the last day whole, and a full read finds it', async () => {
    host = await startHost(root, {});
    await completeStats(host);
    const lastDay = { sinceTs: Date.now() - 86_400_000, bucketMs: 3_600_000 };
    const sound = await host.connection.sendRequest(RollupsRequest.type, lastDay);
    assert.ok(sound.calls.length > 0, 'the last day holds calls');
    const soundAll = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 });
    await host.stop();
    host = undefined;
    const { calls } = JSON.parse(fs.readFileSync(indexFile).toString('utf8', 16, 16 + fs.readFileSync(indexFile).readUInt32LE(8))) as { calls: number };
    assert.ok(calls / 10 > 2 * 1024, `${calls / 10} calls: more than two blocks`);
    const bytes = fs.readFileSync(indexFile);
    bytes[bytes.length - calls * 8 + 8 * 7 + 2] ^= 0x10; // the first call's cost, in the first block
    fs.writeFileSync(indexFile, bytes);

    host = await startHost(root, {});
    const sums = ({ calls, runs }: RollupsResult) => ({ calls, runs });
    const again = await host.connection.sendRequest(RollupsRequest.type, lastDay);
    assert.equal(again.partial, undefined, 'the last day read only the newest block: the damaged one was never read');
    assert.deepEqual(sums(again), sums(sound));
    const all = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 });
    assert.equal(all.partial, true, 'a window reaching back to the first block finds the damage and starts a rebuild');
    await completeStats(host);
    assert.deepEqual(sums(await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: 86_400_000 })), sums(soundAll));
  });

  it('answers all-time and per-day rollups from its day sums, equal to a scan of the calls and a walk of the runs, before and after a restart', async () => {
    const DAY = 86_400_000;
    const strip = ({ latency, ttft, ...sums }: CallRollup) => sums;
    type Rollup = CallRollup | RunRollup;
    const close = (a: Rollup[], b: Rollup[], what: string) => {
      const key = (r: Rollup) => `${r.bucket} ${r.provider} ${r.model}`;
      const numbers = (r: Rollup) => Object.entries(r).filter(([field]) => field !== 'latency' && field !== 'ttft');
      const want = new Map(b.map((r) => [key(r), new Map(numbers(r))]));
      assert.equal(a.length, b.length, `${what}: one row per bucket and model`);
      for (const got of a) {
        const expected = want.get(key(got))!;
        for (const [field, value] of numbers(got)) {
          const other: unknown = expected.get(field);
          if (typeof value === 'number') assert.ok(Math.abs(value - (other as number)) <= 1e-9 * Math.max(1, Math.abs(value)), `${what} ${key(got)} ${field}`);
          else assert.deepEqual(value, other, `${what} ${key(got)} ${field}`);
        }
      }
    };
    for (let start = 0; start < 2; start++) {
      host = await startHost(root, {});
      await completeStats(host);
      // With sketches a day bucket needs the calls themselves: the scan. Without, the day sums.
      const scanned = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: DAY });
      const days = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 0, bucketMs: DAY, sketches: false });
      close(days.calls, scanned.calls, 'days');
      // The runs per day come from the run day sums; a window from 1 ms is no whole day, so it walks the runs.
      const walked = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: 1, bucketMs: DAY, sketches: false });
      assert.ok(walked.runs.length > 60, 'runs on every day');
      close(days.runs, walked.runs, 'run days');
      const allTime = await host.connection.sendRequest(RollupsRequest.type, {});
      const summed = new Map<string, CallRollup>();
      for (const r of scanned.calls) {
        const m = summed.get(`${r.provider} ${r.model}`) ?? {
          ...strip(r),
          bucket: 0,
          calls: 0,
          errors: 0,
          latencySumMs: 0,
          inputTokens: 0,
          cachedInputTokens: 0,
          cacheWriteInputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
          pricedCalls: 0,
          timedOutputTokens: 0,
          generationMs: 0,
          loadedCalls: 0,
          loadMsSum: 0,
        };
        for (const f of [
          'calls',
          'errors',
          'latencySumMs',
          'inputTokens',
          'cachedInputTokens',
          'cacheWriteInputTokens',
          'outputTokens',
          'costUsd',
          'pricedCalls',
          'timedOutputTokens',
          'generationMs',
          'loadedCalls',
          'loadMsSum',
        ] as const)
          m[f] += r[f];
        summed.set(`${r.provider} ${r.model}`, m);
      }
      close(allTime.calls, [...summed.values()], 'all time');
      const runsByModel = new Map<string, RunRollup>();
      for (const { edits, ...r } of walked.runs) {
        const m = runsByModel.get(`${r.provider} ${r.model}`) ?? { ...r, bucket: 0, runs: 0, finished: 0, passed: 0, passIterations: 0, costUsd: 0 };
        for (const f of ['runs', 'finished', 'passed', 'passIterations', 'costUsd'] as const) m[f] += r[f];
        if (edits) addEditQuality((m.edits ??= emptyEditQuality()), edits);
        runsByModel.set(`${r.provider} ${r.model}`, m);
      }
      close(allTime.runs, [...runsByModel.values()], 'all-time runs');
      // The runs' edit replies, all time, are what `microAgent/stats` says of each model (both summed as the log was folded).
      const stats = await host.connection.sendRequest(StatsRequest.type);
      assert.ok(
        stats.providers.every((p) => p.editReplies > 0 && p.matchSteps.elision > 0),
        'every model has edit replies, some placed at the loosest step',
      );
      for (const p of stats.providers) {
        const edits = allTime.runs.find((r) => r.provider === p.provider && r.model === p.model)?.edits;
        assert.deepEqual(edits && { replies: edits.replies, rate: wellFormedRate(edits), steps: edits.matchSteps }, {
          replies: p.editReplies,
          rate: p.wellFormedRate,
          steps: p.matchSteps,
        });
      }
      await host.stop();
      host = undefined;
    }
  });

  it('splits a window at untilTs: the part before and the part from it add up to the whole, at minutes and at whole days', async () => {
    host = await startHost(root, {});
    await completeStats(host);
    const ask = (params: RollupsParams) => host!.connection.sendRequest(RollupsRequest.type, params);
    const DAY = 86_400_000;
    const key = (r: { bucket: number; provider: string; model: string }) => `${r.bucket} ${r.provider} ${r.model}`;
    const added = (...parts: RollupsResult[]) => {
      const calls = new Map<string, number[]>();
      const runs = new Map<string, number[]>();
      for (const part of parts) {
        for (const c of part.calls)
          calls.set(
            key(c),
            (calls.get(key(c)) ?? [0, 0, 0]).map((v, i) => v + [c.calls, c.errors, c.costUsd][i]),
          );
        for (const r of part.runs)
          runs.set(
            key(r),
            (runs.get(key(r)) ?? [0, 0, 0]).map((v, i) => v + [r.runs, r.passed, r.costUsd][i]),
          );
      }
      const sorted = (m: Map<string, number[]>) => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, ...v.map((x) => Math.round(x * 1e9))]);
      return { calls: sorted(calls), runs: sorted(runs) };
    };
    const today = Math.floor(Date.now() / DAY) * DAY;
    for (const [sinceTs, split, bucketMs] of [
      [Date.now() - 30 * 3_600_000, Date.now() - 7 * 3_600_000, 60_000],
      [0, today - 10 * DAY, DAY],
    ]) {
      const whole = await ask({ sinceTs, bucketMs, sketches: false });
      const before = await ask({ sinceTs, untilTs: split, bucketMs, sketches: false });
      const after = await ask({ sinceTs: split, bucketMs, sketches: false });
      assert.equal(before.untilTs, split);
      assert.ok(before.calls.length > 0 && after.calls.length > 0, 'both parts hold calls');
      assert.deepEqual(added(before, after), added(whole), `split at ${new Date(split).toISOString()} by ${bucketMs} ms`);
    }
  });

  it('rebuilds when the log was replaced by another one (the index describes a different log)', async () => {
    const other = makeWorkspace({ 'a.js': '' });
    try {
      const otherLog = path.join(other, '.micro-agent', 'events.jsonl');
      writeHistoryLog(otherLog, 20_000, { days: 5 });
      // Its index, then this workspace's log swapped in under it: same path, different history.
      await (await startHost(other, {})).stop();
      fs.copyFileSync(logFile, otherLog);
      host = await startHost(other, {});
      assertSameStats(await completeStats(host), fullScan(logFile).stats);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('folds what another process appended, live and across a restart; serve and micro-agent stats agree', async () => {
    host = await startHost(root, {});
    await completeStats(host);
    const extra = path.join(root, 'extra.jsonl');
    const lastSeq = Number(/"seq":(\d+)/.exec(fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').at(-1)!)![1]);
    writeHistoryLog(extra, 320, { days: 1 });
    const renumbered = (text: string, from: number) =>
      text
        .trimEnd()
        .split('\n')
        .map((line, i) => line.replace(/^\{"seq":\d+/, `{"seq":${from + i + 1}`).replace(/"runId":"r/g, `"runId":"x${from}-`))
        .join('\n') + '\n';
    // Another process appends while the host runs: the next answer has it.
    fs.appendFileSync(logFile, renumbered(fs.readFileSync(extra, 'utf8'), lastSeq));
    assertSameStats(await host.connection.sendRequest(StatsRequest.type), fullScan(logFile).stats);
    const newest = await host.connection.sendRequest(RunsRequest.paged, { limit: 1 });
    assert.equal(newest.runs[0].runId, fullScan(logFile).runs[0].runId);
    await host.stop();
    host = undefined;

    // And while nothing runs: the index is behind the log, and the next start folds only the tail.
    fs.appendFileSync(logFile, renumbered(fs.readFileSync(extra, 'utf8'), lastSeq + 320));
    const expected = fullScan(logFile);
    host = await startHost(root, {});
    assertSameStats(await host.connection.sendRequest(StatsRequest.type), expected.stats);
    sameRuns(await allRuns(host, 1000), expected.runs);
    await host.stop();
    host = undefined;

    served = await serve(root, {});
    const rest = await request(`${served.url}/v1/stats`, { token: served.info.readToken });
    assertSameStats(rest.json() as Stats, expected.stats);
    const page = await request(`${served.url}/v1/runs?limit=3&before=${expected.runs[0].runId}`, { token: served.info.readToken });
    assert.deepEqual(
      (page.json() as { runs: RunSummary[] }).runs.map((r) => r.runId),
      expected.runs.slice(1, 4).map((r) => r.runId),
    );
    assert.equal((await request(`${served.url}/v1/runs?limit=x`, { token: served.info.readToken })).status, 400);
    await stop(served);
    served = undefined;

    const printed = await cli(['stats', '--json'], root, {});
    assert.equal(printed.code, 0, printed.stderr);
    assertSameStats(JSON.parse(printed.stdout) as Stats, expected.stats);
  });
});

describe('index columns', () => {
  it('keep whole numbers as int32 until one does not fit, then widen to float64 with every value exact', () => {
    const column = new Column(undefined, true);
    for (let i = 0; i < 3000; i++) column.push(i - 1);
    assert.ok(column.values() instanceof Int32Array);
    column.set(5, 2 ** 33);
    column.push(0.5);
    assert.ok(column.values() instanceof Float64Array);
    assert.deepEqual([column.get(0), column.get(5), column.get(2999), column.get(3000), column.length], [-1, 2 ** 33, 2998, 0.5, 3001]);
  });
});

describe('latency sketch', () => {
  it('gives nearest-rank percentiles exact below 1,024 ms and within 2^-10 above, merged or not', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const values = Array.from({ length: 20_000 }, () => Math.round(Math.exp(4 + random() * 8)));
    const whole = new LatencySketch();
    const halves = [new LatencySketch(), new LatencySketch()];
    values.forEach((v, i) => (whole.add(v), halves[i % 2].add(v)));
    halves[0].merge(halves[1]);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]) {
      const exact = percentile(sorted, p)!;
      for (const sketch of [whole, halves[0]]) {
        const got = sketch.quantile(p)!;
        if (exact < 1024) assert.equal(got, exact);
        else assert.ok(Math.abs(got - exact) <= exact * SKETCH_RELATIVE_ERROR, `p${p}: ${got} vs ${exact}`);
      }
    }
    assert.deepEqual(LatencySketch.fromBuckets(whole.buckets(), whole.count).quantile(95), whole.quantile(95));
    assert.equal(new LatencySketch().quantile(50), null);
  });
});
