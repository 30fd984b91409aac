import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminApiError, type AdminPolicy } from '../server/usage/adminHttp';
import { refreshUsage } from '../server/usage/refresh';
import { DAY_MS, fetchReports, utcDay, type DayRecord } from '../server/usage/vendorReports';
import { statePaths } from '../server/foundation/workspace';
import { startAdminServer, type AdminServer } from './support/adminServer';
import { fakeKey, makeWorkspace } from './support/fixtures';

/** Quick retries so the failure paths run in milliseconds; a vendor's own retry-after still governs. */
const FAST: AdminPolicy = { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 5000, timeoutMs: 5000 };

const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
/** The UTC day `n` days ago. */
const ago = (n: number) => utcDay(TODAY - n * DAY_MS);

async function rejection(promise: Promise<unknown>): Promise<AdminApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminApiError, `expected an AdminApiError, got ${String(err)}`);
    return err;
  }
  throw new Error('expected the fetch to fail');
}

describe("the vendors' admin reports, fetched from stand-ins of their wire formats", function () {
  this.timeout(30_000);
  let server: AdminServer;
  beforeEach(async () => {
    server = await startAdminServer();
  });
  afterEach(() => server.close());

  const openai = () => ({ provider: 'openai' as const, baseUrl: server.openaiUrl, key: server.keys.openai });
  const anthropic = () => ({ provider: 'anthropic' as const, baseUrl: server.anthropicUrl, key: server.keys.anthropic });

  it('OpenAI: pages of two buckets followed to the end, an unaligned first bucket, an empty day, snapshot names and line items per model', async () => {
    server.usage.openai = [
      { day: ago(3), model: 'gpt-4.1-mini-2025-04-14', input: 10_000, output: 2000, cachedInput: 4000, requests: 7 },
      { day: ago(3), model: 'gpt-4.1-2025-04-14', input: 5000, output: 500, requests: 2 },
      { day: ago(1), model: 'gpt-4.1-mini-2025-04-14', input: 3000, output: 300, requests: 3 },
    ];
    server.rates['gpt-4.1-mini-2025-04-14'] = { input: 0.4, cached: 0.1, cacheWrite: 0.4, output: 1.6 };
    // 05:00 three days ago: the first bucket runs from there to midnight, and still counts for that day.
    const start = TODAY - 3 * DAY_MS + 5 * 3_600_000;
    const records = await fetchReports(openai(), start, TODAY + DAY_MS, FAST);

    const expected: DayRecord[] = [
      {
        day: ago(3),
        model: 'gpt-4.1-2025-04-14',
        inputTokens: 5000,
        outputTokens: 500,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        requests: 2,
        // No rate, no cost line: unknown, not $0.
        cost: null,
      },
      {
        day: ago(3),
        model: 'gpt-4.1-mini-2025-04-14',
        inputTokens: 10_000,
        outputTokens: 2000,
        cachedInputTokens: 4000,
        cacheWriteInputTokens: 0,
        requests: 7,
        // The tool line names no model, so it is nobody's `other`.
        cost: { input: (6000 * 0.4) / 1e6, cached: (4000 * 0.1) / 1e6, cacheWrite: 0, output: (2000 * 1.6) / 1e6, other: 0 },
      },
      {
        day: ago(1),
        model: 'gpt-4.1-mini-2025-04-14',
        inputTokens: 3000,
        outputTokens: 300,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        requests: 3,
        cost: { input: (3000 * 0.4) / 1e6, cached: 0, cacheWrite: 0, output: (300 * 1.6) / 1e6, other: 0 },
      },
    ];
    assert.deepEqual(records, expected, 'two days ago came back as an empty bucket: no record');

    const usage = server.requests.filter((r) => r.path === '/v1/organization/usage/completions');
    const costs = server.requests.filter((r) => r.path === '/v1/organization/costs');
    // Four buckets (the partial first day, two whole days, today) at two a page: two pages of each report.
    assert.equal(usage.length, 2);
    assert.equal(costs.length, 2);
    assert.equal(usage[0].query.get('start_time'), String(start / 1000));
    assert.equal(usage[0].query.get('bucket_width'), '1d');
    assert.deepEqual(usage[0].query.getAll('group_by[]'), ['model']);
    assert.deepEqual(costs[0].query.getAll('group_by[]'), ['line_item']);
    assert.equal(usage[0].query.get('page'), null);
    assert.match(usage[1].query.get('page') ?? '', /^page_/, 'the second page asks with next_page');
    assert.equal(usage[0].headers.authorization, `Bearer ${server.keys.openai}`);
  });

  it('Anthropic: cents as decimal strings, every prompt token counted (uncached + cache reads + 5m and 1h writes), no request count', async () => {
    server.usage.anthropic = [
      { day: ago(2), model: 'claude-sonnet-4-5-20250929', input: 30_000, output: 6000, cachedInput: 5000, cacheWrite5m: 2000, cacheWrite1h: 1000 },
      { day: ago(1), model: 'claude-haiku-4-5-20251001', input: 1234, output: 77 },
    ];
    server.rates['claude-sonnet-4-5-20250929'] = { input: 3, cached: 0.3, cacheWrite: 3.75, output: 15 };
    server.rates['claude-haiku-4-5-20251001'] = { input: 1, cached: 0.1, cacheWrite: 1.25, output: 5 };
    const records = await fetchReports(anthropic(), TODAY - 3 * DAY_MS, TODAY + DAY_MS, FAST);
    const sonnet = records.find((r) => r.model === 'claude-sonnet-4-5-20250929')!;
    assert.equal(sonnet.day, ago(2));
    assert.equal(sonnet.inputTokens, 30_000);
    assert.equal(sonnet.cachedInputTokens, 5000);
    assert.equal(sonnet.cacheWriteInputTokens, 3000);
    assert.equal(sonnet.requests, null);
    const cost = sonnet.cost!;
    // $0.066 of uncached input is "6.6" cents on the wire: read as dollars it would be 100 times too much.
    assert.ok(Math.abs(cost.input - (22_000 * 3) / 1e6) < 1e-9, String(cost.input));
    assert.ok(Math.abs(cost.cached - (5000 * 0.3) / 1e6) < 1e-9);
    assert.ok(Math.abs(cost.cacheWrite - (3000 * 3.75) / 1e6) < 1e-9);
    assert.ok(Math.abs(cost.output - (6000 * 15) / 1e6) < 1e-9);
    const haiku = records.find((r) => r.model === 'claude-haiku-4-5-20251001')!;
    assert.ok(Math.abs(haiku.cost!.input - 1234e-6) < 1e-12);

    const usage = server.requests.filter((r) => r.path === '/v1/organizations/usage_report/messages');
    assert.equal(usage.length, 2, 'four daily buckets at two a page');
    assert.equal(usage[0].headers['x-api-key'], server.keys.anthropic);
    assert.equal(usage[0].headers['anthropic-version'], '2023-06-01');
    assert.equal(usage[0].query.get('starting_at'), new Date(TODAY - 3 * DAY_MS).toISOString());
    assert.deepEqual(usage[0].query.getAll('group_by[]'), ['model']);
    assert.deepEqual(server.requests.find((r) => r.path === '/v1/organizations/cost_report')!.query.getAll('group_by[]'), ['description']);
  });

  it("waits out a 429's retry-after, and retries a 503, then reads on", async () => {
    server.usage.openai = [{ day: ago(1), model: 'gpt-4.1-mini-2025-04-14', input: 1000, output: 10 }];
    server.throttle(1, 1);
    server.fail(1, 503, 0);
    const records = await fetchReports(openai(), TODAY - DAY_MS, TODAY + DAY_MS, FAST);
    assert.equal(records[0].inputTokens, 1000);
    const [throttled, failed, served] = server.requests;
    assert.ok(failed.at - throttled.at >= 950, `retried ${failed.at - throttled.at} ms after a retry-after of 1 s`);
    assert.equal(served.query.get('start_time'), throttled.query.get('start_time'), 'the same page again');
  });

  it('a chat key gets a plain "not an admin key", never echoed, and no retry', async () => {
    const chatKey = fakeKey('sk-proj');
    for (const access of [
      { ...openai(), key: chatKey },
      { ...anthropic(), key: chatKey },
    ]) {
      const err = await rejection(fetchReports(access, TODAY - DAY_MS, TODAY + DAY_MS, FAST));
      assert.equal(err.kind, 'not_admin_key');
      assert.equal(err.status, 401);
      assert.match(err.message, /this key is not an admin key/);
      assert.ok(!err.message.includes(chatKey));
    }
    assert.equal(server.requests.length, 2, 'one request per vendor: a 401 is not retried');
  });

  it('a retry-after longer than the policy allows fails rather than hangs; cancelling ends a wait at once', async () => {
    server.throttle(1, 120);
    const tooLong = await rejection(fetchReports(openai(), TODAY - DAY_MS, TODAY + DAY_MS, FAST));
    assert.equal(tooLong.kind, 'rate_limit');
    assert.equal(tooLong.status, 429);

    server.throttle(1, 3);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await rejection(fetchReports(openai(), TODAY - DAY_MS, TODAY + DAY_MS, FAST, controller.signal));
    assert.equal(cancelled.kind, 'cancelled');
    assert.ok(Date.now() - started < 2000, 'not after the 3 s wait');
  });

  it('a vendor that never answers times out per request, and is retried until the policy gives up', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const err = await rejection(
        fetchReports({ provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, key: 'k' }, TODAY - DAY_MS, TODAY, {
          ...FAST,
          maxRetries: 1,
          timeoutMs: 200,
        }),
      );
      assert.equal(err.kind, 'timeout');
      assert.match(err.message, /did not answer \/v1\/organization\/usage\/completions within 200 ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('the local copy: the last two days are fetched again (a day re-reported larger is picked up), older days come from the cache', async () => {
    const root = makeWorkspace({});
    const env = { OPENAI_ADMIN_KEY: server.keys.openai, OPENAI_BASE_URL: server.openaiUrl };
    server.usage.openai = [
      { day: ago(4), model: 'gpt-4.1-mini-2025-04-14', input: 4000, output: 40 },
      { day: ago(1), model: 'gpt-4.1-mini-2025-04-14', input: 1000, output: 10 },
    ];
    const options = { root, env, providers: ['openai' as const], since: ago(5), maxAgeMs: 0, policy: FAST };
    const first = await refreshUsage({ ...options, now: Date.now() });
    assert.deepEqual(
      first.sources.map((s) => s.state),
      ['ok'],
    );
    assert.ok(first.bytesStored > 0);
    // The vendor's numbers for yesterday grew after the first look, and it now reports four days ago differently too.
    server.usage.openai[1].input = 2500;
    server.usage.openai[0].input = 9999;
    server.requests.length = 0;
    const second = await refreshUsage({ ...options, now: Date.now() });
    const records = second.vendors[0].records;
    assert.equal(records.find((r) => r.day === ago(1))!.inputTokens, 2500, 'yesterday re-fetched');
    assert.equal(records.find((r) => r.day === ago(4))!.inputTokens, 4000, 'four days ago from the cache');
    const starts = server.requests.map((r) => Number(r.query.get('start_time')) * 1000);
    assert.deepEqual([...new Set(starts)], [TODAY - DAY_MS], 'only from yesterday on');

    // Fresh enough: answered from the cache without a request.
    server.requests.length = 0;
    const cached = await refreshUsage({ ...options, now: Date.now(), maxAgeMs: 60_000 });
    assert.equal(cached.sources[0].state, 'cached');
    assert.equal(server.requests.length, 0);
  });

  it('a forged cache (a repository can ship .micro-agent/) is refused whole and fetched afresh', async () => {
    const root = makeWorkspace({});
    fs.mkdirSync(statePaths(root).dir, { recursive: true });
    const forged = {
      version: 1,
      providers: {
        openai: {
          fetchedAt: Date.now(),
          from: ago(30),
          to: ago(0),
          records: [
            { day: ago(1), model: 'gpt-4.1', inputTokens: -5, outputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, requests: 1, cost: null },
          ],
        },
      },
    };
    fs.writeFileSync(statePaths(root).providerUsage, JSON.stringify(forged));
    server.usage.openai = [{ day: ago(1), model: 'gpt-4.1-2025-04-14', input: 700, output: 70 }];
    const warnings: string[] = [];
    const result = await refreshUsage({
      root,
      env: { OPENAI_ADMIN_KEY: server.keys.openai, OPENAI_BASE_URL: server.openaiUrl },
      providers: ['openai'],
      since: ago(3),
      now: Date.now(),
      maxAgeMs: 60_000,
      policy: FAST,
      warn: (m) => warnings.push(m),
    });
    assert.match(warnings.join('\n'), /inputTokens is not a count/);
    assert.deepEqual(
      result.vendors[0].records.map((r) => [r.day, r.model, r.inputTokens]),
      [[ago(1), 'gpt-4.1-2025-04-14', 700]],
    );
    assert.equal(result.sources[0].state, 'ok');
  });
});
