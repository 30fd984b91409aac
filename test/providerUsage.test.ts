import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Methods, ProviderUsageRequest, type ProviderUsageResult, type ProviderUsageRow } from '../server/protocol';
import { statePaths } from '../server/foundation/workspace';
import { DAY_MS, utcDay } from '../server/usage/vendorReports';
import { request, rpcSocket } from './support/apiClient';
import { cli } from './support/cli';
import { EventFactory } from './support/events';
import { fakeKey, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { startHost } from './support/lspClient';
import { connectMcp } from './support/mcpClient';
import { serve, stop, type Served } from './support/serve';
import { useVendorServer } from './support/vendorServer';

const TODAY_MS = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const ago = (n: number) => utcDay(TODAY_MS - n * DAY_MS);
const [A, B, C, T] = [ago(3), ago(2), ago(1), ago(0)];
/** Noon of a day, in ms: a logged call on it. */
const noon = (day: string) => Date.parse(`${day}T12:00:00Z`);

/**
 * The workspace's log before today: what micro-agent logged on the three days, written as an events file.
 * Costs as `providers/prices.ts` prices the calls (gpt-4.1-mini 0.4/1.6, claude-sonnet-4-5 3/0.3/3.75/15 per M).
 */
function pastLog(): string {
  const f = new EventFactory();
  const events = [
    f.at(noon(B)).call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 900, input: 1000, output: 200, costUsd: 0.00072 }),
    f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 900, input: 1000, output: 200, costUsd: 0.00072 }),
    f.call(undefined, 'anthropic', 'claude-sonnet-4-5', { latencyMs: 2000, input: 3000, output: 500, cached: 1000, cacheWrite: 500, costUsd: 0.014175 }),
    f.at(noon(C)).call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 900, input: 50_000, output: 5000, costUsd: 0.028 }),
    // A fine-tune the table does not price: unpriced, never $0.
    f.call(undefined, 'openai', 'ft:gpt-4.1-mini:acme', { latencyMs: 900, input: 100, output: 10, costUsd: null }),
    // Ollama bills nothing and has no admin API: never in the rows.
    f.call(undefined, 'ollama', 'qwen2.5-coder', { latencyMs: 900, input: 4000, output: 400, costUsd: 0 }),
  ];
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

/** The hand count: each row's tokens, calls, costs, share and flags, from the data above and the vendors' below. */
const EXPECTED: Array<
  Pick<ProviderUsageRow, 'day' | 'provider' | 'model' | 'billed' | 'share' | 'flags'> & { logged: Omit<ProviderUsageRow['logged'], 'unpricedCalls'> }
> = [
  {
    day: A,
    provider: 'openai',
    // Never logged: the vendor's own (dated) name.
    model: 'gpt-4.1-2025-04-14',
    billed: { inputTokens: 10_000, outputTokens: 1000, cachedInputTokens: 0, requests: 4, costUsd: (10_000 * 4 + 1000 * 16) / 1e6 },
    logged: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, calls: 0, costUsd: 0 },
    share: 0,
    flags: ['price_mismatch'],
  },
  {
    day: B,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    billed: {
      inputTokens: 30_000,
      outputTokens: 6000,
      cachedInputTokens: 5000,
      requests: null,
      costUsd: (22_000 * 3 + 5000 * 0.3 + 3000 * 3.75 + 6000 * 15) / 1e6,
    },
    logged: { inputTokens: 3000, outputTokens: 500, cachedInputTokens: 1000, calls: 1, costUsd: 0.014175 },
    share: 3500 / 36_000,
    flags: [],
  },
  {
    day: B,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    billed: { inputTokens: 20_000, outputTokens: 4000, cachedInputTokens: 2000, requests: 10, costUsd: (18_000 * 0.4 + 2000 * 0.1 + 4000 * 1.6) / 1e6 },
    logged: { inputTokens: 2000, outputTokens: 400, cachedInputTokens: 0, calls: 2, costUsd: 0.00144 },
    share: 2400 / 24_000,
    flags: [],
  },
  {
    day: C,
    provider: 'anthropic',
    model: 'claude-haiku-4-5-20251001',
    billed: { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 0, requests: null, costUsd: (1000 * 1.2 + 100 * 6) / 1e6 },
    logged: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, calls: 0, costUsd: 0 },
    share: 0,
    flags: ['price_mismatch'],
  },
  {
    day: C,
    provider: 'openai',
    model: 'ft:gpt-4.1-mini:acme',
    billed: { inputTokens: 500, outputTokens: 50, cachedInputTokens: 0, requests: 1, costUsd: null },
    logged: { inputTokens: 100, outputTokens: 10, cachedInputTokens: 0, calls: 1, costUsd: null },
    share: 110 / 550,
    flags: [],
  },
  {
    day: C,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    billed: { inputTokens: 10_000, outputTokens: 1000, cachedInputTokens: 0, requests: 10, costUsd: (10_000 * 0.4 + 1000 * 1.6) / 1e6 },
    logged: { inputTokens: 50_000, outputTokens: 5000, cachedInputTokens: 0, calls: 1, costUsd: 0.028 },
    share: 55_000 / 11_000,
    flags: ['logged_exceeds_billed'],
  },
  {
    day: T,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    billed: { inputTokens: 3000, outputTokens: 600, cachedInputTokens: 0, requests: 3, costUsd: (3000 * 0.4 + 600 * 1.6) / 1e6 },
    // Today's run, made through the chat stand-in by `micro-agent run`.
    logged: { inputTokens: 1500, outputTokens: 400, cachedInputTokens: 0, calls: 1, costUsd: (1500 * 0.4 + 400 * 1.6) / 1e6 },
    share: 1900 / 3600,
    flags: ['not_billed_yet'],
  },
];

function assertHandCount(result: ProviderUsageResult): void {
  assert.equal(result.since, A);
  assert.equal(result.until, T);
  assert.equal(result.partial, false);
  assert.deepEqual(
    result.rows.map((r) => `${r.day} ${r.provider} ${r.model}`),
    EXPECTED.map((r) => `${r.day} ${r.provider} ${r.model}`),
  );
  result.rows.forEach((row, i) => {
    const want = EXPECTED[i];
    const where = `${row.day} ${row.provider} ${row.model}`;
    const money = (got: number | null, expected: number | null, what: string) => {
      if (expected === null) return assert.equal(got, null, `${where} ${what}`);
      assert.ok(got !== null && Math.abs(got - expected) < 1e-8, `${where} ${what}: ${got} ≠ ${expected}`);
    };
    assert.deepEqual({ ...row.billed, costUsd: 0 }, { ...want.billed, costUsd: 0 }, `${where} billed`);
    money(row.billed.costUsd, want.billed.costUsd, 'billed.costUsd');
    assert.deepEqual({ ...row.logged, costUsd: 0, unpricedCalls: 0 }, { ...want.logged, costUsd: 0, unpricedCalls: 0 }, `${where} logged`);
    money(row.logged.costUsd, want.logged.costUsd, 'logged.costUsd');
    assert.ok(row.share !== null && Math.abs(row.share - want.share!) < 1e-12, `${where} share ${row.share}`);
    assert.deepEqual(row.flags, want.flags, `${where} flags`);
    assert.equal(row.notes.length, row.flags.length);
  });
  const mini = result.rows.find((r) => r.day === C && r.model === 'gpt-4.1-mini')!;
  assert.deepEqual(mini.vendorModels, ['gpt-4.1-mini-2025-04-14'], 'the dated snapshot matched to the alias the log uses');
  assert.equal(result.rows.find((r) => r.model === 'ft:gpt-4.1-mini:acme')!.logged.unpricedCalls, 1);
  // The vendor's 2× rate for gpt-4.1 (2/8 in the table), and Anthropic's 1.2/6 for haiku (1/5): the rates it implies.
  const gpt41 = result.rows[0];
  assert.deepEqual(gpt41.impliedPrice, { input: 4, output: 16, cached: 1, cacheWrite: 4 });
  assert.match(gpt41.notes[0].message, /\+100\.0%.*\$4\.00 input, \$16\.00 output per million/);
  assert.deepEqual(result.rows[3].impliedPrice, { input: 1.2, output: 6, cached: 0.12, cacheWrite: 1.5 });
  assert.match(result.rows[5].notes[0].message, /logged 55,000 tokens but OpenAI billed 11,000/);
}

describe("provider usage end to end: the vendors' admin APIs reconciled with the workspace log", function () {
  this.timeout(120_000);
  let host: { stop(): Promise<void> } | undefined;
  let served: Served | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    await stop(served);
    host = served = undefined;
  });
  const chatKey = fakeKey('sk-proj');
  const adminKeys = { openai: fakeKey('sk-admin'), anthropic: fakeKey('sk-ant-admin01') };
  let root: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    vendor.admin.keys = { ...adminKeys };
    vendor.admin.usage.openai = [
      { day: A, model: 'gpt-4.1-2025-04-14', input: 10_000, output: 1000, requests: 4 },
      { day: B, model: 'gpt-4.1-mini-2025-04-14', input: 20_000, output: 4000, cachedInput: 2000, requests: 10 },
      { day: C, model: 'gpt-4.1-mini-2025-04-14', input: 10_000, output: 1000, requests: 10 },
      { day: C, model: 'ft:gpt-4.1-mini:acme', input: 500, output: 50, requests: 1 },
      { day: T, model: 'gpt-4.1-mini-2025-04-14', input: 3000, output: 600, requests: 3 },
    ];
    vendor.admin.usage.anthropic = [
      { day: B, model: 'claude-sonnet-4-5-20250929', input: 30_000, output: 6000, cachedInput: 5000, cacheWrite5m: 2000, cacheWrite1h: 1000 },
      { day: C, model: 'claude-haiku-4-5-20251001', input: 1000, output: 100 },
    ];
    vendor.admin.rates = {
      // Twice the table's gpt-4.1 (2 / 0.5 / 8): a price_mismatch.
      'gpt-4.1-2025-04-14': { input: 4, cached: 1, cacheWrite: 4, output: 16 },
      'gpt-4.1-mini-2025-04-14': { input: 0.4, cached: 0.1, cacheWrite: 0.4, output: 1.6 },
      'claude-sonnet-4-5-20250929': { input: 3, cached: 0.3, cacheWrite: 3.75, output: 15 },
      // 20% over the table's haiku (1 / 5): a price_mismatch.
      'claude-haiku-4-5-20251001': { input: 1.2, cached: 0.12, cacheWrite: 1.5, output: 6 },
    };
    root = makeWorkspace();
    fs.mkdirSync(statePaths(root).dir, { recursive: true });
    fs.writeFileSync(statePaths(root).events, pastLog());
    env = {
      OPENAI_API_KEY: chatKey,
      OPENAI_BASE_URL: vendor.openaiUrl,
      ANTHROPIC_BASE_URL: vendor.anthropicUrl,
      OPENAI_ADMIN_KEY: adminKeys.openai,
      ANTHROPIC_ADMIN_KEY: adminKeys.anthropic,
    };
    // Today's call, by a real run through the chat stand-in.
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1500, output: 400 } });
    const run = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai', '--model', 'gpt-4.1-mini'], root, env);
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  /** Every place an admin key could leak to: none holds either. */
  function assertNoAdminKey(...outputs: string[]): void {
    const state = statePaths(root);
    const files = [state.events, state.providerUsage, state.prices].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8'));
    for (const text of [...outputs, ...files])
      for (const key of Object.values(adminKeys)) assert.ok(!text.includes(key), `an admin key leaked: ${text.slice(0, 200)}`);
  }

  it('micro-agent usage --json equals the hand count; both flags fire where designed; then a day re-reported larger is read again', async () => {
    const first = await cli(['usage', '--since', '3', '--json'], root, env);
    assert.equal(first.code, 0, first.stderr);
    assertHandCount(JSON.parse(first.stdout));

    const table = await cli(['usage', '--since', '3'], root, env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`${C}\\s+openai\\s+gpt-4\\.1-mini\\s.*logged_exceeds_billed`));
    assert.match(table.stdout, /total\s+openai/);
    assert.match(table.stdout, /price_mismatch: OpenAI billed \$0\.0560 where the price table makes \$0\.0280/);

    // Yesterday's usage lands late: the next fetch sees more than micro-agent logged, and the flag goes.
    vendor.admin.usage.openai[2].input = 60_000;
    const again = JSON.parse((await cli(['usage', '--since', '3', '--json'], root, env)).stdout) as ProviderUsageResult;
    const yesterday = again.rows.find((r) => r.day === C && r.model === 'gpt-4.1-mini')!;
    assert.equal(yesterday.billed.inputTokens, 60_000);
    assert.deepEqual(yesterday.flags, []);
    assert.equal(yesterday.share, 55_000 / 61_000);

    const provider = JSON.parse((await cli(['usage', '--since', '3', '--provider', 'anthropic', '--json'], root, env)).stdout) as ProviderUsageResult;
    assert.deepEqual([...new Set(provider.rows.map((r) => r.provider))], ['anthropic']);
    assertNoAdminKey(
      first.stdout,
      first.stderr,
      table.stdout,
      table.stderr,
      readLog(root)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
  });

  it('--write-prices writes the rates the vendors imply, and the reconciliation and later calls price with them', async () => {
    const written = await cli(['usage', '--since', '3', '--write-prices'], root, env);
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stderr, /wrote 2 price\(s\) \(gpt-4\.1-2025-04-14, claude-haiku-4-5-20251001\)/);
    const prices = JSON.parse(fs.readFileSync(statePaths(root).prices, 'utf8'));
    assert.deepEqual(prices['gpt-4.1-2025-04-14'], { input: 4, output: 16, cached: 1, cacheWrite: 4 });
    const after = JSON.parse((await cli(['usage', '--since', '3', '--json'], root, env)).stdout) as ProviderUsageResult;
    assert.deepEqual(
      after.rows.filter((r) => r.flags.includes('price_mismatch')),
      [],
      'the vendors now match the prices in use',
    );

    // A custom price prices a call the table cannot; a model priced nowhere stays unpriced (null, never $0).
    fs.writeFileSync(statePaths(root).prices, JSON.stringify({ ...prices, 'ft:gpt-4.1-mini:acme': { input: 1, output: 2 } }));
    for (const model of ['ft:gpt-4.1-mini:acme', 'ft:gpt-4.1-mini:other']) {
      fs.writeFileSync(path.join(root, 'math.js'), 'exports.add = (a, b) => a - b;\nexports.mul = (a, b) => a * b;\n');
      vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1000, output: 100 } });
      const run = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai', '--model', model], root, env);
      assert.equal(run.code, 0, run.stderr);
    }
    const calls = readLog(root).filter((e) => e.type === 'llm.response' && e.model.startsWith('ft:') && e.runId);
    assert.deepEqual(
      calls.map((e) => [e.model, e.costUsd]),
      [
        ['ft:gpt-4.1-mini:acme', (1000 * 1 + 100 * 2) / 1e6],
        ['ft:gpt-4.1-mini:other', null],
      ],
    );
    // A forged prices.json (a repository can ship one) is refused with the reason, not used.
    fs.writeFileSync(statePaths(root).prices, JSON.stringify({ 'gpt-4.1': { input: -1, output: 2 } }));
    const refused = await cli(['usage', '--since', '3'], root, env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /prices\.json\.gpt-4\.1\.input must be USD per million tokens/);
  });

  it('a chat key as the admin key is named plainly and the answer is partial; no admin key at all exits 2 naming both variables', async () => {
    const wrong = await cli(['usage', '--since', '3', '--json'], root, { ...env, OPENAI_ADMIN_KEY: chatKey });
    assert.equal(wrong.code, 0, 'Anthropic still answered');
    const result = JSON.parse(wrong.stdout) as ProviderUsageResult;
    assert.equal(result.partial, true);
    const openai = result.sources.find((s) => s.provider === 'openai')!;
    assert.equal(openai.state, 'not_admin_key');
    assert.match(openai.message!, /OpenAI answered 401: this key is not an admin key/);
    assert.match(wrong.stderr, /not an admin key/);
    assert.ok(!wrong.stdout.includes(chatKey) && !wrong.stderr.includes(chatKey));

    const none = await cli(['usage'], root, { OPENAI_API_KEY: chatKey, OPENAI_BASE_URL: vendor.openaiUrl });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /OPENAI_ADMIN_KEY/);
    assert.match(none.stderr, /ANTHROPIC_ADMIN_KEY/);
    assert.equal((await cli(['usage', '--since', 'week'], root, env)).code, 2);
    assert.equal((await cli(['usage', '--since', '367'], root, env)).code, 2);
    // 0: today alone, which the vendor reports (not billed yet).
    const todayOnly = JSON.parse((await cli(['usage', '--since', '0', '--json'], root, env)).stdout) as ProviderUsageResult;
    assert.deepEqual(
      todayOnly.rows.map((r) => [r.day, r.model, r.flags]),
      [[T, 'gpt-4.1-mini', ['not_billed_yet']]],
    );
    assert.equal((await cli(['usage', '--provider', 'ollama'], root, env)).code, 2);
  });

  it('the host answers microAgent/providerUsage over LSP with the same rows, and the WebSocket, REST, the export and MCP answer it too', async () => {
    const client = await startHost(root, env);
    host = client;
    const viaLsp = await client.connection.sendRequest(ProviderUsageRequest.type, { sinceDays: 3 });
    assertHandCount(viaLsp);
    assert.deepEqual(
      viaLsp.sources.map((s) => [s.provider, s.state]),
      [
        ['openai', 'ok'],
        ['anthropic', 'ok'],
      ],
    );
    const bad = await client.connection.sendRequest(ProviderUsageRequest.type, { sinceDays: 9999 }).then(
      () => undefined,
      (err: { code: number; message: string }) => err,
    );
    assert.match(bad?.message ?? '', /sinceDays must be a whole number of days from 0 to 366/);
    await client.stop();
    host = undefined;

    served = await serve(root, env);
    const rest = await request(`${served.url}/v1/provider-usage?since=3`, { token: served.info.readToken });
    assert.equal(rest.status, 200, rest.text);
    assertHandCount(rest.json());
    const socket = await rpcSocket(`${served.url.replace('http', 'ws')}/v1/ws`, served.info.readToken);
    try {
      const viaWs = await socket.call(Methods.providerUsage, { sinceDays: 3 });
      assertHandCount(viaWs.result);
    } finally {
      socket.close();
    }
    const csv = await request(`${served.url}/v1/export?type=provider_usage&format=csv&since=3`, { token: served.info.readToken });
    assert.equal(csv.status, 200, csv.text);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines[0].split(',').slice(0, 4).join(','), 'day,provider,model,billedInputTokens');
    assert.equal(lines.length, EXPECTED.length + 1);
    assert.match(csv.text, new RegExp(`${C},openai,gpt-4\\.1-mini,10000,1000,0,10,.*,logged_exceeds_billed,`));
    const jsonl = await request(`${served.url}/v1/export?type=provider_usage&format=jsonl&since=3`, { token: served.info.readToken });
    assert.deepEqual(
      jsonl.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).flags),
      EXPECTED.map((r) => r.flags),
    );
    const output = served.output();
    await stop(served);
    served = undefined;

    const mcp = await connectMcp(root, env);
    try {
      const answer = await mcp.client.callTool({ name: 'get_provider_usage', arguments: { sinceDays: 3 } });
      assertHandCount(answer.structuredContent as ProviderUsageResult);
      const text = (answer.content as { text: string }[])[0].text;
      assert.match(text, /logged_exceeds_billed/);
      assertNoAdminKey(client.stderr(), client.logs.join('\n'), JSON.stringify(client.events), rest.text, csv.text, jsonl.text, output, text, mcp.stderr());
    } finally {
      await mcp.client.close();
    }
  });
});
