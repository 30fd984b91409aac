import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  answerInput,
  CodeServer,
  hostPids,
  keepFailure,
  launchBrowser,
  openFile,
  openWorkbench,
  pick,
  runCommand,
  screenshot,
  startCodeServer,
} from '../support/codeServer';
import { ApiInfo, usd } from '../../server/protocol';
import { request } from '../support/apiClient';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from '../support/fixtures';
import { until as poll } from '../support/until';
import { startVendorServer, VendorServer } from '../support/vendorServer';

const STATS = [
  'function mean(values) {',
  '  let sum = 0;',
  '  for (const v of values) sum += v;',
  '  return sum / (values.length - 1);',
  '}',
  'module.exports = { mean };',
  '',
].join('\n');

/** The workbench is slower than a bare host: wait up to 30 s, and poll every 100 ms (a probe may run ps or read the whole log). */
const until = <T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000) => poll(probe, what, timeoutMs, 100);

const finished = (root: string, n = 1) =>
  until(
    () => readLog(root).filter((e) => e.type === 'run.finished').length >= n && readLog(root).filter((e) => e.type === 'run.finished')[n - 1],
    `run ${n} to finish`,
    60_000,
  );

describe('dev-ai in a real VS Code (code-server)', function () {
  this.timeout(180_000);
  let browser: Browser;
  before(async () => (browser = await launchBrowser()));
  after(() => browser?.close());

  describe('in a trusted workspace', () => {
    let vendor: VendorServer;
    let vscode: CodeServer;
    let page: Page;
    let root: string;

    before(async () => {
      vendor = await startVendorServer();
      root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, 'stats.js': STATS });
      // No key in the environment: the only key the vendor can see is the one stored through the UI.
      vscode = await startCodeServer({
        workspace: root,
        env: { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', OPENAI_BASE_URL: vendor.openaiUrl },
        settings: { 'security.workspace.trust.enabled': false, 'devAi.provider': 'openai', 'devAi.model': 'gpt-4.1-mini' },
      });
      page = await openWorkbench(browser, vscode.url);
    });
    afterEach(function () {
      return keepFailure(page, vscode, this.currentTest);
    });
    after(async () => {
      await page?.context().close();
      await vscode?.stop();
      await vendor?.close();
    });

    it('activates: the status bar shows dev-ai and the host starts', async () => {
      await page.locator('.statusbar-item', { hasText: 'dev-ai' }).first().waitFor({ timeout: 60_000 });
      await until(() => hostPids(vscode.extensionDir).length === 1 && true, 'the agent host process');
      await screenshot(page, '01-activated');
    });

    it('Set API Key stores the key in SecretStorage and it reaches the vendor; Fix Current File fixes the module with progress', async () => {
      const key = fakeKey();
      await runCommand(page, 'dev-ai: Set API Key');
      await pick(page, 'OpenAI');
      await answerInput(page, key, 'OpenAI API key');
      await page.locator('.notification-toast', { hasText: 'OpenAI API key saved' }).waitFor();
      await screenshot(page, '02-key-saved');
      // The host restarts with the new key in its environment.
      await until(() => hostPids(vscode.extensionDir).length === 1 && true, 'the restarted host');

      vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 1500, usage: { input: 900, output: 70 } });
      await openFile(page, 'math.js');
      await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
      await answerInput(page, TEST_COMMAND, 'test command');
      await answerInput(page, 'add must add', 'what should the code do');
      await page.locator('.notification-toast', { hasText: 'micro-agent: math.js' }).waitFor({ timeout: 30_000 });
      await screenshot(page, '03-progress');
      const run = await finished(root);
      assert.equal(run.outcome, 'passed');
      assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
      assert.equal(vendor.requests[0].headers.authorization, `Bearer ${key}`);
      await page.locator('.statusbar-item', { hasText: 'today' }).first().waitFor();
      await screenshot(page, '04-fixed');
      const settings = fs.readFileSync(path.join(vscode.extensionDir, '..', '..', 'user-data', 'User', 'settings.json'), 'utf8');
      assert.ok(!settings.includes(key), 'the key is not in settings');
      assert.ok(!fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8').includes(key), 'nor in the log');
    });

    it('the Cancel button of the progress notification cancels the run and restores the file', async () => {
      fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
      vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 60_000 });
      await openFile(page, 'math.js');
      await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
      // The test command is remembered for the workspace: only the optional prompt is asked.
      await answerInput(page, '', 'what should the code do');
      const toast = page.locator('.notification-toast', { hasText: 'micro-agent: math.js' });
      await toast.waitFor({ timeout: 30_000 });
      await until(() => vendor.requests.length >= 2 && true, 'the model call');
      await screenshot(page, '05-before-cancel');
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
      const run = await finished(root, 2);
      assert.equal(run.outcome, 'cancelled');
      assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
      await screenshot(page, '06-cancelled');
    });

    it('restarts the host after it crashes, and a new run works', async () => {
      const [pid] = hostPids(vscode.extensionDir);
      process.kill(pid, 'SIGKILL');
      const [restarted] = await until(() => {
        const pids = hostPids(vscode.extensionDir);
        return pids.length === 1 && pids[0] !== pid && pids;
      }, 'a new host process');
      assert.notEqual(restarted, pid);
      vendor.script({ kind: 'text', text: fixReply() });
      await openFile(page, 'math.js');
      await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
      await answerInput(page, '', 'what should the code do');
      const run = await finished(root, 3);
      assert.equal(run.outcome, 'passed');
      assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
      await screenshot(page, '07-after-restart');
    });

    it('the dashboard shows a run as it happens', async () => {
      fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
      vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 3000, usage: { input: 800, output: 60 } });
      await runCommand(page, 'dev-ai: Open Dashboard');
      // Webviews are nested iframes in the workbench.
      const dashboard = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
      await dashboard.locator('.run.passed').first().waitFor({ timeout: 30_000 });
      const passedBefore = await dashboard.locator('.run.passed').count();
      // The runs above come through sql.js's wasm; the icons need the codicon font: both load from the installed .vsix.
      const codicon = await dashboard
        .locator('body')
        .evaluate(async () => (await document.fonts.ready, [...document.fonts].find((font) => font.family.replaceAll('"', '') === 'codicon')?.status));
      assert.equal(codicon, 'loaded', 'the codicon font loads from the installed extension');
      // Start the run from the dashboard itself: it fixes the file last active in an editor.
      await dashboard.locator('vscode-button', { hasText: 'Fix math.js' }).click();
      await answerInput(page, '', 'what should the code do');
      await dashboard.locator('.run.running').waitFor({ timeout: 30_000 });
      await screenshot(page, '09-dashboard-running');
      await dashboard.locator('.run.passed').nth(passedBefore).waitFor({ timeout: 30_000 });
      await dashboard.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
      await dashboard.locator('tr[data-model="openai gpt-4.1-mini"]').waitFor();
      await screenshot(page, '10-dashboard-analytics');
    });

    it('Review File puts findings in the Problems panel; the quick fix changes the text', async () => {
      const fix = {
        line: 4,
        endLine: 4,
        severity: 'error',
        message: 'mean divides by length - 1 instead of length',
        fix: { replacement: '  return sum / values.length;' },
      };
      vendor.script({ kind: 'text', text: JSON.stringify({ findings: [fix] }) });
      await openFile(page, 'stats.js');
      await runCommand(page, 'dev-ai: Review File');
      await page.locator('.notification-toast', { hasText: 'dev-ai review of stats.js: 1 finding' }).waitFor({ timeout: 30_000 });
      await runCommand(page, 'Problems: Focus on Problems View');
      const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'mean divides by length - 1' });
      await problem.waitFor();
      await screenshot(page, '11-review-problems');
      // Go to the finding and apply the model's fix from the quick-fix menu.
      // Opening the row shows the finding; a click on its line puts the editor's cursor inside it.
      await problem.dblclick();
      await page.locator('.tabs-container .tab.active', { hasText: 'stats.js' }).waitFor();
      await page.locator('.view-line', { hasText: 'return sum / (values.length - 1);' }).click();
      await page.keyboard.press('Control+.');
      // The model's fix comes first in the menu, above micro-agent and ignore; Enter applies it.
      await page.locator('.action-widget .monaco-list-row.focused', { hasText: 'Apply dev-ai fix' }).waitFor();
      await screenshot(page, '12-quick-fix');
      await page.keyboard.press('Enter');
      await page.locator('.view-lines', { hasText: 'return sum / values.length;' }).waitFor();
      await page.keyboard.press('Control+S');
      await until(() => fs.readFileSync(path.join(root, 'stats.js'), 'utf8').includes('  return sum / values.length;\n}') && true, 'the fix on disk');
      await screenshot(page, '13-fix-applied');
    });

    it('a failing test shows a diagnostic on its line', async () => {
      fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
      // The model keeps answering the same broken file: the run ends failed, the tests still failing.
      vendor.respond = () => ({ kind: 'text', text: fixReply(BROKEN_MATH) });
      await openFile(page, 'math.js');
      await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
      await answerInput(page, '', 'what should the code do');
      const run = await finished(root, 5);
      assert.equal(run.outcome, 'failed');
      assert.equal(readLog(root).find((e) => e.type === 'run.started' && e.runId === run.runId).file, 'math.js');
      vendor.respond = undefined;
      await runCommand(page, 'Problems: Focus on Problems View');
      const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'test failed: add' });
      await problem.waitFor({ timeout: 30_000 });
      await problem.click();
      await page.locator('.tabs-container .tab.active', { hasText: 'math.test.js' }).waitFor();
      await page.locator('.statusbar-item', { hasText: 'Ln 4' }).first().waitFor();
      await screenshot(page, '14-test-failure');
    });

    it("with devAi.dailyBudgetUsd the status bar shows today's spend against the cap", async () => {
      fs.mkdirSync(path.join(root, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(root, '.vscode', 'settings.json'), JSON.stringify({ 'devAi.dailyBudgetUsd': 5 }));
      // Today's calls as the log recorded them (the runs and the review above), against the cap.
      const spent = readLog(root)
        .filter((e) => e.type === 'llm.response' && e.costUsd !== null)
        .reduce((sum: number, e) => sum + (e.costUsd as number), 0);
      await page
        .locator('.statusbar-item', { hasText: `${usd(spent)} / $5.00 today` })
        .first()
        .waitFor({ timeout: 30_000 });
      await screenshot(page, '04b-daily-cap');
    });

    it('with devAi.api.enabled the host serves the live API: a script sees the runs, a browser signs in from Open Dashboard in Browser', async () => {
      fs.mkdirSync(path.join(root, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(root, '.vscode', 'settings.json'), JSON.stringify({ 'devAi.api.enabled': true }));
      const infoFile = path.join(root, '.micro-agent', 'api.json');
      await until(() => fs.existsSync(infoFile), 'the host to write api.json');
      const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as ApiInfo;
      const lastRun = readLog(root)
        .filter((e) => e.type === 'run.finished')
        .pop();
      const runs = await request(`${info.url}/v1/runs`, { token: info.readToken });
      assert.equal(runs.status, 200);
      assert.ok(
        runs.json().runs.some((r: { runId: string }) => r.runId === lastRun.runId),
        'the API serves the runs started in VS Code',
      );

      // code-server is a web window: the command offers the link to copy rather than a forwarded URL.
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: vscode.url });
      await runCommand(page, 'dev-ai: Open Dashboard in Browser');
      const toast = page.locator('.notification-toast', { hasText: `The live API listens on ${info.url}` });
      await toast.waitFor();
      await screenshot(page, '15-api-link');
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Copy Link' }).click();
      let link = '';
      for (const deadline = Date.now() + 10_000; !link.includes('#code=') && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        link = await page.evaluate(() => navigator.clipboard.readText());
      }
      assert.ok(link.startsWith(`${info.url}/#code=`), link);
      const dashboard = await page.context().newPage();
      try {
        await dashboard.goto(link);
        await dashboard.locator('.run.failed').first().waitFor({ timeout: 30_000 });
        await screenshot(dashboard, '16-api-dashboard');
      } finally {
        await dashboard.close();
      }
    });
    it('Set Admin Key stores the org admin key in SecretStorage: the restarted host reads the usage report with it, and it is nowhere else', async () => {
      const adminKey = fakeKey('sk-admin');
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      vendor.admin.keys.openai = adminKey;
      vendor.admin.usage.openai = [{ day: yesterday, model: 'gpt-4.1-mini-2025-04-14', input: 5000, output: 500, requests: 5 }];
      const [before] = hostPids(vscode.extensionDir);
      await runCommand(page, 'dev-ai: Set Admin Key');
      await pick(page, 'OpenAI');
      await answerInput(page, adminKey, 'OpenAI admin key');
      await page.locator('.notification-toast', { hasText: 'OpenAI admin key saved' }).waitFor();
      await screenshot(page, '17-admin-key-saved');
      const host = await until(() => {
        const pids = hostPids(vscode.extensionDir);
        return pids.length === 1 && pids[0] !== before && pids[0];
      }, 'the host to restart with the admin key');
      // The restarted host serves the live API again (the setting is still on), from its own process.
      const infoFile = path.join(root, '.micro-agent', 'api.json');
      const info = await until(() => {
        const read = fs.existsSync(infoFile) && (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as ApiInfo);
        return read && read.pid === host && read;
      }, 'api.json of the restarted host');
      const usage = await request(`${info.url}/v1/provider-usage?since=3`, { token: info.readToken });
      assert.equal(usage.status, 200, usage.text);
      const result = usage.json();
      assert.deepEqual(
        result.sources.map((s: { provider: string; state: string }) => [s.provider, s.state]),
        [
          ['openai', 'ok'],
          ['anthropic', 'no_admin_key'],
        ],
      );
      const row = result.rows.find((r: { day: string }) => r.day === yesterday);
      assert.equal(row.model, 'gpt-4.1-mini', 'the snapshot under the alias the runs above logged');
      assert.equal(row.billed.inputTokens, 5000);
      assert.equal(vendor.admin.requests[0].headers.authorization, `Bearer ${adminKey}`);
      const settings = fs.readFileSync(path.join(vscode.extensionDir, '..', '..', 'user-data', 'User', 'settings.json'), 'utf8');
      for (const text of [settings, fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8'), usage.text])
        assert.ok(!text.includes(adminKey), 'the admin key is in no setting, log or answer');
    });
  });

  describe('in an untrusted workspace', () => {
    let vscode: CodeServer;
    let page: Page;
    let root: string;

    before(async () => {
      root = makeWorkspace();
      vscode = await startCodeServer({
        workspace: root,
        env: { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
        settings: {
          'security.workspace.trust.enabled': true,
          'security.workspace.trust.startupPrompt': 'never',
          'security.workspace.trust.untrustedFiles': 'open',
        },
      });
      page = await openWorkbench(browser, vscode.url);
    });
    after(async () => {
      await page?.context().close();
      await vscode?.stop();
    });

    it('runs in limited mode: refuses to run tests and says why', async () => {
      await page.locator('.statusbar-item', { hasText: 'dev-ai: limited' }).first().waitFor({ timeout: 60_000 });
      await openFile(page, 'math.js');
      await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
      await page.locator('.notification-toast', { hasText: 'limited mode' }).waitFor();
      await screenshot(page, '08-untrusted');
      // Comparing models runs the tests too: refused the same way, before any question.
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.locator('.notification-toast', { hasText: 'limited mode' }).waitFor({ state: 'detached' });
      await runCommand(page, 'dev-ai: Compare Models on This Repository…');
      await page.locator('.notification-toast', { hasText: 'limited mode' }).waitFor();
      assert.equal(await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Compare models' }).isVisible(), false);
      assert.deepEqual(fs.readdirSync(root).sort(), ['math.js', 'math.test.js'], 'nothing was written to the workspace');
    });
  });
});
