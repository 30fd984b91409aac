/**
 * The dashboard's Providers tab in real headless Chromium, its requests answered by a real engine's handler table
 * (as the extension relays them): the headroom of each key from rate-limit headers that real SDK calls against the
 * chat stand-in logged, and, with no admin key, how to set one.
 */
import * as assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { askModel } from '../server/agent/askModel';
import { createProvider } from '../server/providers';
import { launchBrowser, screenshot } from './support/codeServer';
import { engineWithLog, type EngineWithLog } from './support/engine';
import { makeWorkspace } from './support/fixtures';
import { Harness, send, startHarness } from './support/webviewHarness';
import { useVendorServer } from './support/vendorServer';

const ASK = { model: 'gpt-4.1-mini', system: 'be brief', messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: 100 };
/** Keys that look like keys, so a leak would be recognisable on the page. */
const KEYS = { main: 'sk-proj-MAINKEY0123456789abcdefghij', ci: 'sk-proj-CIKEY0123456789abcdefghijkl', anthropic: 'sk-ant-api03-ANTKEY0123456789abcdef' };

describe('dashboard Providers tab in headless Chromium', function () {
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

  async function open(host: EngineWithLog, theme: 'dark' | 'light' = 'dark', width = 640): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 1000 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await harness.relay(page, host.engine);
    await page.goto(harness.url(theme));
    await page.locator('main[data-status="ready"]').waitFor({ timeout: 15_000 });
    await page.locator('vscode-tab-header', { hasText: 'Providers' }).click();
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
    const fingerprint = (key: string) => require('node:crypto').createHash('sha256').update(key).digest('hex').slice(0, 8) as string;
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
});
