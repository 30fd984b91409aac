import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventLog, readEvents } from '../server/events/log';
import { percentile, StatsAggregator } from '../server/events/stats';
import { formatEvent, formatStats } from '../server/events/format';
import type { AgentEvent, EventInput } from '../server/protocol';
import { EventFactory } from './support/events';
import { until } from './support/until';

const tmpLog = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-log-')), 'nested', 'events.jsonl');
const note = (message: string): EventInput => ({ type: 'log', level: 'info', message });

async function all(file: string): Promise<AgentEvent[]> {
  const events: AgentEvent[] = [];
  for await (const event of readEvents(file)) events.push(event);
  return events;
}

describe('event log', () => {
  it('appends JSONL with strictly increasing seq that continues after reopening', () => {
    const file = tmpLog();
    const log = EventLog.open(file);
    assert.equal(log.append(note('a')).seq, 1);
    assert.equal(log.append(note('b')).seq, 2);
    log.close();
    const again = EventLog.open(file);
    assert.equal(again.lastSeq, 2);
    assert.equal(again.append(note('c')).seq, 3);
    again.close();
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  });

  it('skips a torn last line on read and never glues the next event to it', async () => {
    const file = tmpLog();
    const log = EventLog.open(file);
    log.append(note('a'));
    log.append(note('b'));
    log.close();
    fs.appendFileSync(file, '{"seq":3,"ts":1,"type":"log","level":"in'); // the crash mid-write
    const reopened = EventLog.open(file);
    assert.equal(reopened.lastSeq, 2);
    assert.equal(reopened.append(note('c')).seq, 3);
    reopened.close();
    assert.deepEqual(
      (await all(file)).map((e) => (e.type === 'log' ? e.message : '')),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(
      EventLog.open(file)
        .read(0)
        .map((e) => e.seq),
      [1, 2, 3],
    );
  });

  it('picks up the seq another process appended', () => {
    const file = tmpLog();
    const first = EventLog.open(file);
    const second = EventLog.open(file);
    first.append(note('a'));
    assert.equal(second.append(note('b')).seq, 2);
    assert.equal(first.append(note('c')).seq, 3);
  });

  it("follows another writer: each of its events reaches onForeignEvent once, in order, and never this log's own", async () => {
    const file = tmpLog();
    const editor = EventLog.open(file);
    const cli = EventLog.open(file);
    const foreign: string[] = [];
    const own: string[] = [];
    editor.onForeignEvent((event) => foreign.push(`${event.seq}:${(event as { message: string }).message}`));
    editor.onEvent((event) => own.push((event as { message: string }).message));
    const following = editor.follow(10);
    try {
      cli.append(note('a'));
      cli.append(note('b'));
      await until(() => foreign.length === 2, 'the polled events');
      // An append of its own first takes in what the other wrote since the last poll, then continues above it.
      cli.append(note('c'));
      assert.equal(editor.append(note('mine')).seq, 4);
      cli.append(note('d'));
      await until(() => foreign.length === 4, 'the last event');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(foreign, ['1:a', '2:b', '3:c', '5:d']);
      assert.deepEqual(own, ['mine']);
    } finally {
      following.dispose();
      editor.close();
      cli.close();
    }
  });

  it('reads after a seq by binary search over a large log, with limits', () => {
    const file = tmpLog();
    const log = EventLog.open(file);
    for (let i = 0; i < 20_000; i++) log.append(note(`event ${i} ${'x'.repeat(i % 50)} ünïcödé`));
    assert.deepEqual(
      log.read(19_995).map((e) => e.seq),
      [19_996, 19_997, 19_998, 19_999, 20_000],
    );
    assert.deepEqual(
      log.read(10_000, 3).map((e) => e.seq),
      [10_001, 10_002, 10_003],
    );
    assert.deepEqual(
      log.read(0, 2).map((e) => e.seq),
      [1, 2],
    );
    assert.deepEqual(log.read(20_000), []);
    assert.equal(log.read(0).length, 5000, 'default limit');
  });

  it('redacts secrets from what it writes and what listeners get', () => {
    const file = tmpLog();
    const log = EventLog.open(file);
    const secret = 'sk-live-1234567890abcdef';
    log.setSecrets([secret]);
    const heard: AgentEvent[] = [];
    log.onEvent((e) => heard.push(e));
    const written = log.append(note(`request failed: Incorrect API key provided: ${secret}`));
    assert.ok(!fs.readFileSync(file, 'utf8').includes(secret));
    assert.ok(!JSON.stringify(heard).includes(secret));
    assert.equal(written.type === 'log' && written.message, 'request failed: Incorrect API key provided: ***');
  });

  it('keeps notifying when one listener throws', () => {
    const log = EventLog.open(tmpLog());
    let heard = 0;
    log.onEvent(() => {
      throw new Error('boom');
    });
    log.onEvent(() => heard++);
    log.append(note('a'));
    assert.equal(heard, 1);
  });
});

describe('stats', () => {
  it('computes nearest-rank percentiles', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([7], 95), 7);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 50), 50);
    assert.equal(percentile(hundred, 95), 95);
  });

  it('aggregates calls per provider and model, and runs', () => {
    const agg = new StatsAggregator();
    let seq = 0;
    const add = (e: Record<string, unknown>) => agg.add({ seq: ++seq, ts: seq, ...e } as unknown as AgentEvent);
    const call = (model: string, latencyMs: number, costUsd: number | null, ok = true) =>
      add({
        type: 'llm.response',
        runId: 'r1',
        callId: String(seq),
        provider: 'openai',
        model,
        iteration: 1,
        latencyMs,
        ttftMs: latencyMs / 2,
        inputTokens: 100,
        outputTokens: 10,
        costUsd,
        retries: 0,
        ok,
        finishReason: 'stop',
        responsePreview: '',
      });
    add({
      type: 'run.started',
      runId: 'r1',
      file: 'a.js',
      testCommand: 't',
      provider: 'openai',
      model: 'm',
      maxRuns: 3,
      budgetUsd: null,
      budgetMs: null,
      prompt: null,
      originalPath: 'x',
      pid: 1,
    });
    call('m', 100, 0.01);
    call('m', 300, 0.02, false);
    call('other', 50, null);
    add({
      type: 'run.finished',
      runId: 'r1',
      outcome: 'passed',
      reason: 'tests_passed',
      iterations: 2,
      costUsd: 0.03,
      unpricedCalls: 1,
      durationMs: 5,
      restored: false,
    });
    add({
      type: 'run.started',
      runId: 'r2',
      file: 'b.js',
      testCommand: 't',
      provider: 'openai',
      model: 'm',
      maxRuns: 3,
      budgetUsd: null,
      budgetMs: null,
      prompt: null,
      originalPath: 'x',
      pid: 1,
    });
    const stats = agg.stats();
    const m = stats.providers.find((p) => p.model === 'm')!;
    assert.equal(m.calls, 2);
    assert.equal(m.errors, 1);
    assert.equal(m.p50LatencyMs, 100);
    assert.equal(m.p95LatencyMs, 300);
    assert.equal(m.p50TtftMs, 50);
    assert.equal(m.inputTokens, 200);
    assert.equal(m.costUsd, 0.03);
    const other = stats.providers.find((p) => p.model === 'other')!;
    assert.equal(other.costUsd, null, 'no priced call: unknown, not 0');
    assert.equal(other.unpricedCalls, 1);
    assert.deepEqual(stats.runs, { total: 2, running: 1, passed: 1, failed: 0, cancelled: 0, error: 0, passRate: 1, meanIterationsToPass: 2, costUsd: 0.03 });
    assert.deepEqual(
      agg.runList().map((r) => [r.runId, r.status]),
      [
        ['r2', 'running'],
        ['r1', 'passed'],
      ],
    );
  });

  it('sums cached and cache-written input tokens per model; calls that did not report them count 0', () => {
    const agg = new StatsAggregator();
    const events = new EventFactory();
    agg.add(events.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3000, cacheWrite: 600 }));
    agg.add(events.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 4000, cached: 3600, cacheWrite: 0 }));
    agg.add(events.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, input: 500, cached: null, cacheWrite: null }));
    const claude = agg.stats().providers[0];
    assert.equal(claude.inputTokens, 8500);
    assert.equal(claude.cachedInputTokens, 6600);
    assert.equal(claude.cacheWriteInputTokens, 600);
    assert.match(formatStats(agg.stats()), /tokens in\s+cached\s+tokens out[^\n]*\n.*\b8500\s+6600\s+300\b/);
  });

  it('reads a call logged before cache usage was recorded with null cache counts', () => {
    const file = tmpLog();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = new EventFactory().call('r1', 'openai', 'gpt-4.1', { latencyMs: 10 }) as unknown as Record<string, unknown>;
    delete old.cachedInputTokens;
    delete old.cacheWriteInputTokens;
    fs.writeFileSync(file, JSON.stringify(old) + '\n');
    const log = EventLog.open(file);
    const [event] = log.read();
    log.close();
    assert.equal(event.type === 'llm.response' && event.cachedInputTokens, null);
    assert.equal(event.type === 'llm.response' && event.cacheWriteInputTokens, null);
  });

  it('the CLI line shows the cached part of the input', () => {
    const events = new EventFactory();
    const line = (o: { cached: number | null; cacheWrite: number | null }) =>
      formatEvent(events.call('r1', 'anthropic', 'claude-haiku-4-5', { latencyMs: 1200, input: 812, output: 140, ...o }));
    assert.match(line({ cached: 600, cacheWrite: null })!, / 812 in \(600 cached\) \/ 140 out,/);
    assert.match(line({ cached: 0, cacheWrite: 700 })!, / 812 in \(700 cache writes\) \/ 140 out,/);
    assert.match(line({ cached: null, cacheWrite: null })!, / 812 in \/ 140 out,/);
  });
});
