import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DailySpend, startOfDay } from '../server/events/dailySpend';
import { ErrorCodes, ReviewRequest, SpendRequest, SpendResult, StartRunRequest } from '../server/protocol';
import { request, rpcSocket } from './support/apiClient';
import { cli } from './support/cli';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { HostClient, rejection, startHost } from './support/lspClient';
import { serve, Served, stop } from './support/serve';
import { useVendorServer } from './support/vendorServer';

/** gpt-4o-mini input is $0.15 per million tokens: each scripted call costs exactly $0.15. */
const CALL_USD = 0.15;
const WRONG = fixReply('exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n');
const MODEL = ['--provider', 'openai', '--model', 'gpt-4o-mini'];

describe('the daily budget (devAi.dailyBudgetUsd, --daily-budget) across processes sharing one log', () => {
  let host: HostClient | undefined;
  let served: Served | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    await stop(served);
    host = served = undefined;
  });

  /** A workspace with two broken modules, so two processes can run at once without holding each other's file. */
  function workspace(): string {
    return makeWorkspace({
      'math.js': BROKEN_MATH,
      'math.test.js': MATH_TEST,
      'other.js': BROKEN_MATH,
      'other.test.js': MATH_TEST.replaceAll('./math', './other'),
    });
  }

  it('counts a terminal run in the host, stops the host run at the cap (restored), alerts at 80 % once, refuses new runs and reviews everywhere', async () => {
    const root = workspace();
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
    vendor.respond = () => ({ kind: 'text', text: WRONG, usage: { input: 1_000_000, output: 0 } });

    // Process 1: the host, with the cap in its settings, opened before the terminal spends anything.
    host = await startHost(root, env, { provider: 'openai', model: 'gpt-4o-mini', dailyBudgetUsd: 0.5 });
    const before = await host.connection.sendRequest(SpendRequest.type, { sinceTs: 0 });
    assert.deepEqual(before.daily, { spentUsd: 0, capUsd: 0.5 });

    // Process 2: a terminal run on the same log spends $0.30 (two calls) and ends at its max runs.
    const terminal = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '2', '--daily-budget', '0.5', ...MODEL], root, env);
    assert.equal(terminal.code, 1, terminal.stdout + terminal.stderr);
    assert.equal(vendor.requests.length, 2);

    // The host sees the terminal's spend, which its own events never told it of.
    const seen = await host.connection.sendRequest(SpendRequest.type, { sinceTs: 0 });
    assert.equal(seen.daily?.spentUsd.toFixed(2), '0.30');

    // A host run: $0.45 after its first call (90 %: the 80 % alert), $0.60 after its second; the check before
    // the third stops it with budget_daily, and its file is put back.
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, {
      uri: pathToFileURL(path.join(root, 'other.js')).href,
      testCommand: 'node --test other.test.js',
      maxRuns: 10,
    });
    const finished: any = await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId, 60_000);
    assert.equal(finished.outcome, 'failed');
    assert.equal(finished.reason, 'budget_daily');
    assert.equal(finished.iterations, 2);
    assert.equal(finished.restored, true);
    assert.match(finished.error, /\$0\.60.*\$0\.50/);
    assert.equal(fs.readFileSync(path.join(root, 'other.js'), 'utf8'), BROKEN_MATH);
    assert.equal(vendor.requests.length, 4, 'no call past the cap');

    // A new run is refused before any call, in the terminal (exit 2, the spend and the cap) and in the host.
    const refused = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', '0.5', ...MODEL], root, env);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /\$0\.60.*daily budget of \$0\.50/);
    const hostRefusal = await rejection(
      host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'math.js')).href, testCommand: TEST_COMMAND }),
    );
    assert.equal(hostRefusal.code, ErrorCodes.DailyBudget);
    assert.match(hostRefusal.message, /\$0\.60/);
    // Reviews stop too.
    const reviewRefusal = await rejection(host.connection.sendRequest(ReviewRequest.type, { uri: pathToFileURL(path.join(root, 'math.js')).href }));
    assert.equal(reviewRefusal.code, ErrorCodes.DailyBudget);
    assert.equal(vendor.requests.length, 4, 'nothing refused reached the vendor');

    // One alert at 80 % and one at the cap for the day, whichever process noticed first; none twice.
    const daily = readLog(root).filter((e) => e.type === 'alert' && e.daily);
    assert.deepEqual(
      daily.map((e) => e.daily.threshold),
      [0.8, 1],
    );
    assert.equal(daily[0].kind, 'budget');
    assert.match(daily[0].message, /90% of the \$0\.50 daily budget/);
    const spend = await host.connection.sendRequest(SpendRequest.type, { sinceTs: 0 });
    assert.equal(spend.daily?.spentUsd.toFixed(2), (4 * CALL_USD).toFixed(2));
  });

  it("stops a host run in flight when a terminal run spends past the cap at the same time (the host's own calls cost little)", async () => {
    const root = workspace();
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
    const HOST_TESTS = 'sleep 0.3; node --test other.test.js';
    let hostCalls = 0;
    vendor.respond = (request) => {
      if (!JSON.stringify(request.body).includes('sleep 0.3')) return { kind: 'text', text: WRONG, usage: { input: 2_000_000, output: 0 } }; // $0.30
      // A different wrong answer each time, so the host run is never stopped as stuck: only the cap can stop it.
      hostCalls++;
      return {
        kind: 'text',
        text: fixReply(`exports.add = (a, b) => a * ${hostCalls + 10};\nexports.mul = (a, b) => a * b;\n`),
        usage: { input: 10_000, output: 0 },
      };
    };
    host = await startHost(root, env, { provider: 'openai', model: 'gpt-4o-mini', dailyBudgetUsd: 0.5 });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, {
      uri: pathToFileURL(path.join(root, 'other.js')).href,
      testCommand: HOST_TESTS,
      maxRuns: 50,
    });
    await host.waitFor((e) => e.type === 'llm.response' && e.runId === runId);

    // Meanwhile, in a terminal, another run on the same log spends $0.60 (no cap of its own).
    const terminal = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '2', ...MODEL], root, env);
    assert.equal(terminal.code, 1, terminal.stdout + terminal.stderr);
    const callsWhenTerminalEnded = hostCalls;

    const finished: any = await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId, 60_000);
    assert.equal(finished.reason, 'budget_daily');
    assert.equal(finished.outcome, 'failed');
    assert.ok(finished.iterations < 50);
    assert.ok(hostCalls <= callsWhenTerminalEnded + 1, `the host made ${hostCalls - callsWhenTerminalEnded} call(s) after the cap was passed`);
    assert.equal(fs.readFileSync(path.join(root, 'other.js'), 'utf8'), BROKEN_MATH, 'restored');
  });

  it('the live API refuses a run with 429 and the JSON-RPC code once another process spent the day', async () => {
    const root = workspace();
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
    vendor.respond = () => ({ kind: 'text', text: WRONG, usage: { input: 1_000_000, output: 0 } });
    served = await serve(root, { ...env, MICRO_AGENT_MODEL: 'gpt-4o-mini', MICRO_AGENT_PROVIDER: 'openai' }, ['-t', TEST_COMMAND, '--daily-budget', '0.25']);

    // Another process on the same log, with no cap of its own, spends $0.30.
    const terminal = await cli(['run', 'other.js', '-t', 'node --test other.test.js', '-m', '2', ...MODEL], root, env);
    assert.equal(terminal.code, 1, terminal.stdout + terminal.stderr);

    const answer = await request(`${served.url}/v1/runs`, { method: 'POST', token: served.info.token, body: JSON.stringify({ file: 'math.js' }) });
    assert.equal(answer.status, 429, answer.text);
    assert.equal(answer.json().error.code, ErrorCodes.DailyBudget);
    assert.match(answer.json().error.message, /\$0\.30.*\$0\.25/);
    assert.equal(vendor.requests.length, 2);
    // And says what the day cost, over the WebSocket's JSON-RPC.
    const ws = await rpcSocket(`${served.url.replace('http', 'ws')}/v1/ws`, served.info.token);
    try {
      const spend = (await ws.call('microAgent/spend', { sinceTs: 0 })).result as SpendResult;
      assert.deepEqual(spend.daily, { spentUsd: 2 * CALL_USD, capUsd: 0.25 });
    } finally {
      ws.close();
    }
  });
});

describe('--daily-budget and MICRO_AGENT_DAILY_BUDGET_USD refuse what is not an amount', () => {
  it('exits 2 with the reason, before any call', async () => {
    const root = makeWorkspace();
    const flag = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', 'lots'], root, { OPENAI_API_KEY: fakeKey() });
    assert.equal(flag.code, 2, flag.stdout + flag.stderr);
    assert.match(flag.stderr, /--daily-budget must be a number/);
    const variable = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, { OPENAI_API_KEY: fakeKey(), MICRO_AGENT_DAILY_BUDGET_USD: '-3' });
    assert.equal(variable.code, 2, variable.stdout + variable.stderr);
    assert.match(variable.stderr, /dailyBudgetUsd must be a positive number \(got "-3"\)/);
  });
});

describe("DailySpend: today's spend read from the log file", () => {
  const call = (seq: number, ts: number, costUsd: number | null) =>
    JSON.stringify({ seq, ts, type: 'llm.response', provider: 'openai', model: 'gpt-4o-mini', ok: true, costUsd }) + '\n';

  it('counts only today (local midnight), picks up another writer between looks, and waits for a line still being written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daily-spend-'));
    const file = path.join(dir, 'events.jsonl');
    const midnight = startOfDay(Date.now());
    // Yesterday's calls (a long history the first look skips), then two of today's, one unpriced.
    let history = '';
    for (let i = 0; i < 5000; i++) history += call(i + 1, midnight - 86_400_000 + i * 1000, 1);
    fs.writeFileSync(file, history + call(5001, midnight + 1000, 0.25) + call(5002, midnight + 2000, null));
    const spend = new DailySpend(file);
    assert.deepEqual(pick(spend.today(midnight + 3000)), { sinceTs: midnight, costUsd: 0.25, calls: 1 });

    // Another process appends a whole line and half of the next.
    const next = call(5003, midnight + 4000, 0.5);
    fs.appendFileSync(file, next + call(5004, midnight + 5000, 2).slice(0, 30));
    assert.deepEqual(pick(spend.today(midnight + 6000)), { sinceTs: midnight, costUsd: 0.75, calls: 2 });
    // It finishes the line: counted once, now.
    fs.appendFileSync(file, call(5004, midnight + 5000, 2).slice(30));
    assert.equal(spend.today(midnight + 7000).costUsd, 2.75);

    // After midnight the new day starts from zero without reading anything again.
    fs.appendFileSync(file, call(5005, midnight + 86_400_000 + 10, 0.1));
    assert.deepEqual(pick(spend.today(midnight + 86_400_000 + 20)), { sinceTs: midnight + 86_400_000, costUsd: 0.1, calls: 1 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function pick(totals: { sinceTs: number; costUsd: number; calls: number }) {
    return { sinceTs: totals.sinceTs, costUsd: totals.costUsd, calls: totals.calls };
  }
});
