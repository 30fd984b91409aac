/**
 * Issue #29 in a real VS Code (code-server + Chromium, the packaged .vsix): dev-ai: Compare Models on This
 * Repository… from the palette, over a repository with real git history, the vendor stand-in playing four
 * models by the request's `model` field. Its own code-server and workspace, sharing no state with the other suites.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import type { AgentEvent } from '../../server/protocol';
import type { EvalCell, EvalModelRow } from '../../server/protocol/eval';
import { percent } from '../../server/protocol/format';
import { leaderboard, valueFrontier } from '../../server/protocol/leaderboard';
import {
  answerInput,
  CodeServer,
  hostPids,
  keepFailure,
  launchBrowser,
  openWorkbench,
  pick,
  runCommand,
  screenshot,
  startCodeServer,
} from '../support/codeServer';
import { CALC, EVAL_TEST_COMMAND, EvalRepo, makeEvalRepo, snapshot } from '../support/evalRepo';
import { fourModels } from '../support/evalPlayers';
import { fakeKey, fixReply, readLog } from '../support/fixtures';
import { until as poll } from '../support/until';
import { Reply, startVendorServer, VendorServer } from '../support/vendorServer';

const COMMAND = 'dev-ai: Compare Models on This Repository…';
const until = <T>(probe: () => T | undefined | false, what: string, timeoutMs = 120_000) => poll(probe, what, timeoutMs, 200);

describe('dev-ai: Compare Models on This Repository… (code-server)', function () {
  this.timeout(300_000);
  let browser: Browser;
  let vendor: VendorServer;
  let vscode: CodeServer;
  let page: Page;
  let repo: EvalRepo;

  const evalEvents = (type: string) => readLog(repo.root).filter((e: AgentEvent) => e.type === type);
  const dashboard = (): FrameLocator => page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
  /** The copies this code-server's agent host has in the temp folder (named with its pid). */
  const hostCopies = () =>
    hostPids(vscode.extensionDir).flatMap((pid) => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`micro-agent-eval-${pid}-`)));

  /** Answers the command's questions: tasks from the git history, the configured model plus `more` ticked, `other` typed, no budget. */
  async function compare(more: string[], other: string): Promise<void> {
    await runCommand(page, COMMAND);
    await pick(page, 'Bugs fixed in the git history');
    await answerInput(page, `${repo.base}..HEAD`, 'commits to mine');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'models' }).waitFor();
    for (const model of more) {
      const label = new RegExp(`^${model.replace(/[.:-]/g, '\\$&')}$`);
      await page
        .locator('.quick-input-list .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: label }) })
        .click();
    }
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Other models…' }).click();
    await screenshot(page, 'compare-models-pick');
    await page.keyboard.press('Enter');
    await answerInput(page, other, 'other models');
    await answerInput(page, '', 'budget');
  }

  before(async () => {
    [browser, vendor] = await Promise.all([launchBrowser(), startVendorServer()]);
    repo = makeEvalRepo();
    vscode = await startCodeServer({
      workspace: repo.root,
      env: { OPENAI_API_KEY: fakeKey(), ANTHROPIC_API_KEY: '', OPENAI_BASE_URL: vendor.openaiUrl },
      settings: {
        'security.workspace.trust.enabled': false,
        'devAi.provider': 'openai',
        'devAi.model': 'gpt-4.1-mini',
        'devAi.testCommand': EVAL_TEST_COMMAND,
        'devAi.maxRuns': 3,
      },
    });
    page = await openWorkbench(browser, vscode.url);
    await page.locator('.statusbar-item', { hasText: 'dev-ai' }).first().waitFor({ timeout: 60_000 });
  });
  afterEach(function () {
    return keepFailure(page, vscode, this.currentTest, 'compare-failed');
  });
  after(async () => {
    await page?.context().close();
    await vscode?.stop();
    await vendor?.close();
    await browser?.close();
  });

  it('asks for tasks, models and budget, shows cells done of all, and opens the Models view on the report, whose numbers it shows', async () => {
    const before = snapshot(repo.root);
    const play = fourModels();
    // Half a second a reply: the progress stays up long enough to be seen.
    vendor.respond = (request) => ({ ...play(request), firstTokenDelayMs: 500 }) as Reply;
    await compare(['openai:gpt-4.1', 'openai:gpt-4o-mini'], 'openai:gpt-4.1-nano');

    await page.locator('.notification-toast', { hasText: /comparing models: [1-7] of 8 cells/ }).waitFor({ timeout: 120_000 });
    await screenshot(page, 'compare-models-progress');
    // The eval's runs work in copies: they are not the user's runs, so no notification or status of their own.
    assert.equal(await page.locator('.notification-toast', { hasText: 'micro-agent: src/' }).count(), 0, 'no progress per eval run');
    assert.equal(await page.locator('.statusbar-item', { hasText: 'running' }).count(), 0, 'the status bar counts no eval run as running');
    const [finished] = await until(() => evalEvents('eval.finished').length > 0 && evalEvents('eval.finished'), 'the eval to finish');
    assert.equal(finished.outcome, 'finished');
    const [started] = evalEvents('eval.started');
    assert.deepEqual(started.models, ['openai:gpt-4.1-mini', 'openai:gpt-4.1', 'openai:gpt-4o-mini', 'openai:gpt-4.1-nano']);
    assert.equal(started.tasks, 2, 'exactly the two fixes of the history are tasks');

    // The report, as a fold of the log's eval.cell events: what the view must show.
    const cells = evalEvents('eval.cell') as unknown as EvalCell[];
    const rows = leaderboard(cells);
    await page.locator('.notification-toast', { hasText: `compared 4 models on 2 tasks. ${rows[0].model} passed 2 of 2` }).waitFor({ timeout: 30_000 });
    const view = dashboard();
    await view.locator('table.leaderboard tr[data-model]').nth(3).waitFor({ timeout: 30_000 });
    const shown = await view.locator('table.leaderboard tr[data-model]').evaluateAll((trs) => trs.map((tr) => JSON.parse(tr.getAttribute('data-row')!)));
    assert.deepEqual(shown as EvalModelRow[], rows);
    assert.deepEqual(
      rows.slice(0, 2).map((r) => r.model),
      ['openai:gpt-4.1-mini', 'openai:gpt-4.1'],
    );
    for (const row of rows) {
      const interval = await view.locator(`tr[data-model="${row.model}"] .interval-text`).textContent();
      assert.equal(interval, `${percent(row.passRate)} (${percent(row.passRateLow)}–${percent(row.passRateHigh)})`);
    }
    assert.equal(await view.locator('table.eval-grid td[data-cell]').count(), 8);
    await view.locator('.eval-status[data-status="finished"]', { hasText: '8 of 8 cells' }).waitFor();
    assert.equal(
      await view.locator('.value-chart polyline.frontier').getAttribute('data-frontier'),
      valueFrontier(rows)
        .map((r) => r.model)
        .join(','),
    );
    await screenshot(page, 'compare-models-view');
    assert.equal(await page.locator('.notification-toast', { hasText: 'micro-agent did not fix' }).count(), 0, 'no run-end notice (with Resume) for eval runs');
    const problems = await page.locator('.statusbar-item[id="status.problems"]').textContent();
    assert.deepEqual(problems?.trim().split(/\s+/), ['0', '0'], "no diagnostics from the eval runs' tests");
    // A cell opens its run.
    const cell = cells.find((c) => c.model === 'openai:gpt-4.1' && c.outcome === 'passed')!;
    await view.locator(`tr[data-task="${cell.task}"] td[data-model="openai:gpt-4.1"] button`).click();
    await view.locator(`.cell-run[data-run="${cell.runId}"] .step.pass`, { hasText: 'Tests passed' }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'compare-models-cell-run');

    assert.deepEqual(snapshot(repo.root), before, 'the repository is untouched outside .micro-agent/');
    assert.deepEqual(hostCopies(), [], 'no copy is left behind');
  });

  it('Cancel on the progress notification cancels the eval: its cells stop, no copy is left', async () => {
    // Replies that never come in time: the cells are mid-call when Cancel is pressed.
    vendor.respond = () => ({ kind: 'text', text: fixReply(CALC.fixed), firstTokenDelayMs: 120_000 });
    const requestsBefore = vendor.requests.length;
    const finishedBefore = evalEvents('eval.finished').length;
    await compare([], 'openai:gpt-4.1');
    const toast = page.locator('.notification-toast', { hasText: 'dev-ai: comparing models' });
    await toast.waitFor({ timeout: 60_000 });
    await until(() => vendor.requests.length > requestsBefore, 'a cell to call its model');
    await screenshot(page, 'compare-models-before-cancel');
    await toast.hover();
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    const ended = await until(() => evalEvents('eval.finished')[finishedBefore], 'the cancelled eval to finish', 60_000);
    assert.equal(ended.outcome, 'cancelled');
    await page.locator('.notification-toast', { hasText: 'eval cancelled after' }).waitFor({ timeout: 30_000 });
    await dashboard().locator('.eval-status[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    // Every model it was given has its column, results or not.
    const [started] = evalEvents('eval.started').slice(-1);
    assert.equal(await dashboard().locator('table.eval-grid thead th').count(), 1 + started.models.length);
    await until(() => hostCopies().length === 0, 'its copies to be removed', 30_000);
    await screenshot(page, 'compare-models-cancelled');
  });
});
