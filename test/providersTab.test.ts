/**
 * The dashboard's Providers tab in real headless Chromium, its requests answered by a real engine's handler table
 * (as the extension relays them): the org's spend and micro-agent's share from the vendors' admin APIs (stand-ins
 * of their wire formats, mounted on the chat stand-in's base URLs as the vendors serve both) reconciled with a
 * workspace log, checked against a hand count; the discrepancy list; the headroom of each key from rate-limit
 * headers that real SDK calls logged; and, with no admin key, how to set one.
 */
import * as assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { askModel } from '../server/agent/askModel';
import { createProvider } from '../server/providers';
import { keyIdentity } from '../server/providers/rateLimit';
import { launchBrowser, screenshot } from './support/codeServer';
import { engineWithLog, type EngineWithLog } from './support/engine';
import { makeWorkspace } from './support/fixtures';
import { adminEnv, ago, orgUsage, workspaceWithHistory } from './support/orgUsage';
import { Harness, send, startHarness } from './support/webviewHarness';
import { useVendorServer } from './support/vendorServer';

const ASK = { model: 'gpt-4.1-mini', system: 'be brief', messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: 100 };
/** Keys that look like keys, so a leak would be recognisable on the page. */
const KEYS = { main: 'sk-proj-MAINKEY0123456789abcdefghij', ci: 'sk-proj-CIKEY0123456789abcdefghijkl', anthropic: 'sk-ant-api03-ANTKEY0123456789abcdef' };

describe('dashboard Providers tab (and local models in Analytics) in headless Chromium', function () {
  this.timeout(90_000);
  let browser: Browser;
  let harness: Harness;
  const vendor = useVendorServer();
  const pages: Page[] = [];
  before(async () => {
    [browser, harness] = await Promise.all([launchBrowser(), startHarness()]);
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });
  after(async () => {
    await browser?.close();
    await harness?.close();
  });

  async function open(host: EngineWithLog, theme: 'dark' | 'light' = 'dark', width = 640, tab = 'Providers'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 1000 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await harness.relay(page, host.engine);
    await page.goto(harness.url(theme));
    await page.locator('main[data-status="ready"]').waitFor({ timeout: 15_000 });
    await page.locator('vscode-tab-header', { hasText: tab }).click();
    (page as unknown as { errors: string[] }).errors = errors;
    return page;
  }

  /** Calls through the official SDKs against the stand-in, logged as the engine logs them: each leaves its headroom. */
  async function callWith(host: EngineWithLog, provider: 'openai' | 'anthropic', key: string, times: number): Promise<void> {
    const env =
      provider === 'openai' ? { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl } : { ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: vendor.anthropicUrl };
    const model = provider === 'openai' ? ASK.model : 'claude-haiku-4-5';
    for (let i = 0; i < times; i++) {
      vendor.script({ kind: 'text', text: 'ok' });
      await askModel(createProvider(provider, env), { ...ASK, model }, (e) => host.log.append(e), { iteration: null });
    }
  }

  it('no admin key: says how to set one; the headroom of each provider and key, from the log, tightest first', async () => {
    const root = makeWorkspace({ 'a.js': '' });
    const host = await engineWithLog(root, {});
    // The stand-in's limits are per key: the main key has 1 request of 10 left after 9 calls, the CI key 9.
    vendor.limits = { requests: 10, tokens: 50_000, outputTokens: 1000, windowMs: 600_000 };
    await callWith(host, 'openai', KEYS.main, 9);
    await callWith(host, 'openai', KEYS.ci, 1);
    await callWith(host, 'anthropic', KEYS.anthropic, 2);
    const page = await open(host);

    const help = page.locator('[data-admin-key="missing"]');
    await help.waitFor();
    const text = await help.innerText();
    assert.match(text, /OPENAI_ADMIN_KEY/);
    assert.match(text, /ANTHROPIC_ADMIN_KEY/);
    assert.match(text, /dev-ai: Set Admin Key/);

    const rows = page.locator('.headroom-list > li');
    assert.equal(await rows.count(), 3, 'one row per provider and key');
    const keys = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));
    // How the key is named is rateLimit.test.ts's business; here, that the page shows that name.
    const fingerprint = (key: string) => keyIdentity('', key).fingerprint;
    assert.deepEqual(keys, [
      `openai OPENAI_API_KEY · ${fingerprint(KEYS.main)}`,
      `anthropic ANTHROPIC_API_KEY · ${fingerprint(KEYS.anthropic)}`,
      `openai OPENAI_API_KEY · ${fingerprint(KEYS.ci)}`,
    ]);
    // The main key: 1 of 10 requests left (10%: not under), shown as numbers; the low-row mark is for under 10%.
    const main = rows.nth(0);
    assert.match(await main.locator('[data-col="requests"]').innerText(), /1 \/ 10/);
    assert.equal(await main.getAttribute('data-least'), '0.1');
    const seen = host.events.length;
    await callWith(host, 'openai', KEYS.main, 1);
    // A live call moves it (its events relayed as the extension relays the log's): 0 of 10 left now, the row marked low.
    await send(page, { type: 'events', events: host.events.slice(seen) });
    await page.locator('.headroom-list > li.low', { hasText: fingerprint(KEYS.main) }).waitFor();
    assert.match(await rows.nth(0).locator('[data-col="requests"]').innerText(), /0 \/ 10/);

    const html = await page.content();
    for (const key of Object.values(KEYS)) assert.ok(!html.includes(key) && !html.includes(key.slice(8)), 'no key characters on the page');
    assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
    await screenshot(page, 'providers-no-admin-key-dark');
    host.log.close();
  });

  it('Analytics: a local model’s tokens/s (weighted by output) and load time, from the host’s rollups and then live', async () => {
    const host = await engineWithLog(makeWorkspace({ 'a.js': '' }), {});
    const ollama = createProvider('ollama', {}, { ollamaUrl: vendor.ollamaUrl });
    const ask = () => askModel(ollama, { ...ASK, model: 'qwen2.5-coder' }, (e) => host.log.append(e), { iteration: null });
    // 400 characters are 100 tokens to the stand-in: 50 tokens/s after a cold 2.5 s load, then 100 tokens/s warm.
    vendor.script({ kind: 'text', text: 'y'.repeat(400), ollamaTiming: { loadMs: 2500, evalMs: 2000 } });
    await ask();
    vendor.script({ kind: 'text', text: 'y'.repeat(400), ollamaTiming: { loadMs: 10, evalMs: 1000 } });
    await ask();
    const page = await open(host, 'dark', 1200, 'Analytics');
    const row = page.locator('tr[data-model="ollama qwen2.5-coder"]');
    await row.waitFor();
    // 200 tokens in 3 s of generating, not the mean of 50 and 100; the loads' mean is 1,255 ms.
    assert.equal(await row.locator('[data-col="tokensPerSec"]').innerText(), '67');
    assert.equal(await row.locator('[data-col="load"]').innerText(), '1.3 s');
    const stats = JSON.parse((await row.getAttribute('data-stats'))!);
    assert.ok(Math.abs(stats.outputTokensPerSec - 200 / 3) < 1e-9, String(stats.outputTokensPerSec));
    assert.equal(stats.meanLoadMs, 1255);
    // A live call: 100 more tokens at 25 tokens/s, 300 in 7 s now.
    const seen = host.events.length;
    vendor.script({ kind: 'text', text: 'y'.repeat(400), ollamaTiming: { loadMs: 5, evalMs: 4000 } });
    await ask();
    await send(page, { type: 'events', events: host.events.slice(seen) });
    await page.waitForFunction(() => document.querySelector('tr[data-model="ollama qwen2.5-coder"] [data-col="tokensPerSec"]')?.textContent === '43');
    // Hosted models report no generation time: a dash, not 0.
    await callWith(host, 'openai', KEYS.main, 1);
    const fresh = await open(host, 'dark', 1200, 'Analytics');
    await fresh.locator('tr[data-model="openai gpt-4.1-mini"]').waitFor();
    assert.equal(await fresh.locator('tr[data-model="openai gpt-4.1-mini"] [data-col="tokensPerSec"]').innerText(), '–');
    await screenshot(fresh, 'analytics-local-model-dark');
    host.log.close();
  });

  /** What the page draws for one day and series: the org's value and micro-agent's part. */
  async function segment(page: Page, day: string, series: string): Promise<{ value: number; mine: number }> {
    const g = page.locator(`.spend-chart g[data-day="${day}"] g[data-series="${series}"]`);
    return { value: Number(await g.getAttribute('data-value')), mine: Number(await g.getAttribute('data-mine')) };
  }

  const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);

  it('with admin keys: the spend per day and model equals a hand count, micro-agent’s share drawn inside, the flags explained', async () => {
    orgUsage(vendor.admin);
    const root = workspaceWithHistory();
    const env = adminEnv(vendor);
    const host = await engineWithLog(root, env);
    const page = await open(host);
    await page.locator('.providers[data-state="ready"] .spend-chart').waitFor({ timeout: 30_000 });

    assert.equal(await page.locator('.spend-chart').getAttribute('data-measure'), 'usd');
    assert.equal(await page.locator('.spend-chart').getAttribute('data-days'), '31', '30 whole days and today');
    // By hand: 100k in and 20k out at $0.40 / $1.60 per million; micro-agent logged a quarter of the tokens.
    const mini3 = await segment(page, ago(3), 'openai gpt-4.1-mini');
    close(mini3.value, 0.04 + 0.032, 'gpt-4.1-mini 3 days ago, billed');
    close(mini3.mine, (0.04 + 0.032) * 0.25, 'gpt-4.1-mini 3 days ago, micro-agent');
    // Sonnet: 30k in, 6k out at $3 / $15 (cents as strings on the wire); micro-agent 12k of 36k tokens.
    const sonnet = await segment(page, ago(2), 'anthropic claude-sonnet-4-5');
    close(sonnet.value, 0.09 + 0.09, 'Sonnet billed');
    close(sonnet.mine, 0.06, 'Sonnet, micro-agent');
    // gpt-4.1: nothing of it logged, so none of it is micro-agent's.
    const big = await segment(page, ago(2), 'openai gpt-4.1-2025-04-14');
    close(big.value, 0.16 + 0.064, 'gpt-4.1 billed');
    assert.equal(big.mine, 0);
    const orgTotal = 0.072 + 0.18 + 0.224 + (1000 * 0.4 + 100 * 1.6) / 1e6 + (2000 * 0.4 + 200 * 1.6) / 1e6;
    assert.match(await page.locator('[data-total="org"]').innerText(), new RegExp(`\\$${orgTotal.toFixed(2).replace('.', '\\.')}`));

    // The chart's numbers are the host's: the same request over the handler table.
    const usage = await host.engine.providerUsage({ sinceDays: 30 }, { maxAgeMs: 60_000 });
    for (const row of usage.rows) {
      const drawn = await segment(page, row.day, `${row.provider} ${row.model}`);
      close(drawn.value, row.billed.costUsd ?? 0, `${row.day} ${row.model}`);
    }

    const flags = page.locator('.discrepancies li[data-flag]');
    const listed = await flags.evaluateAll((lis) =>
      lis.map((li) => `${li.getAttribute('data-day')} ${li.getAttribute('data-model')} ${li.getAttribute('data-flag')}`),
    );
    assert.deepEqual(listed, [
      `${ago(0)} openai gpt-4.1-mini not_billed_yet`,
      `${ago(1)} openai gpt-4.1-mini logged_exceeds_billed`,
      `${ago(2)} openai gpt-4.1-2025-04-14 price_mismatch`,
    ]);
    const mismatch = page.locator('.discrepancies li[data-flag="price_mismatch"]');
    assert.match(await mismatch.innerText(), /Price mismatch/);
    // The rate the vendor's bill implies: twice the table's $2 / $8.
    assert.match(await mismatch.locator('[data-implied-price]').innerText(), /\$4\.00 in, \$16\.00 out.* per 1M tokens/);
    assert.ok((await page.locator('.discrepancies li[data-flag="logged_exceeds_billed"] .discrepancy-note').innerText()).length > 20, 'explained');
    assert.equal(await page.locator('[data-admin-key="missing"]').count(), 0);
    const html = await page.content();
    for (const key of Object.values(env).filter((v) => !v.startsWith('http'))) assert.ok(!html.includes(key), 'no admin key on the page');
    assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
    await screenshot(page, 'providers-dark');

    // The same in the light theme and at sidebar width, where the chart scales and the list wraps.
    const light = await open(host, 'light');
    await light.locator('.providers[data-state="ready"] .spend-chart').waitFor({ timeout: 30_000 });
    await screenshot(light, 'providers-light');
    const narrow = await open(host, 'dark', 300);
    await narrow.locator('.providers[data-state="ready"] .spend-chart').waitFor({ timeout: 30_000 });
    const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `nothing wider than the sidebar (${overflow} px over)`);
    await screenshot(narrow, 'providers-sidebar');
    host.log.close();
  });

  it('a chat key given as the admin key: the vendor’s 401 said plainly, the other vendor still shown', async () => {
    orgUsage(vendor.admin);
    const host = await engineWithLog(workspaceWithHistory(), { ...adminEnv(vendor), OPENAI_ADMIN_KEY: KEYS.main });
    const page = await open(host);
    await page.locator('.providers[data-state="ready"] .spend-chart').waitFor({ timeout: 30_000 });
    const source = page.locator('.sources li[data-source="openai"]');
    assert.equal(await source.getAttribute('data-state'), 'not_admin_key');
    assert.match(await source.innerText(), /admin/i);
    assert.ok((await segment(page, ago(2), 'anthropic claude-sonnet-4-5')).value > 0);
    assert.ok(!(await page.content()).includes(KEYS.main));
    host.log.close();
  });
});
