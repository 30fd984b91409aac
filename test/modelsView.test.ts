/**
 * The dashboard's Models view in headless Chromium, over a real eval: a repository with real git history, the
 * engine mining its fixes and running every model on every task in isolated copies, the vendor stand-in
 * playing the models by the request's `model` field. The page's requests go to that engine's handler table.
 */
import * as assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { AgentEvent } from '../server/protocol';
import type { EvalCell, EvalModelRow } from '../server/protocol/eval';
import { percent, usd } from '../server/protocol/format';
import { valueFrontier } from '../server/protocol/leaderboard';
import type { Engine } from '../server/engine/engine';
import { launchBrowser, screenshot } from './support/codeServer';
import { engineWithLog } from './support/engine';
import { EVAL_TEST_COMMAND, makeEvalRepo } from './support/evalRepo';
import { fourModels, HALF, RIGHT, SECOND, WRONG } from './support/evalPlayers';
import { fakeKey } from './support/fixtures';
import { Harness, send, startHarness } from './support/webviewHarness';
import { startVendorServer, VendorServer } from './support/vendorServer';

const MODELS = [RIGHT, SECOND, HALF, WRONG].map((m) => `openai:${m}`);

describe('the Models view in headless Chromium, over a real eval', function () {
  this.timeout(180_000);
  let browser: Browser;
  let harness: Harness;
  let vendor: VendorServer;
  before(async () => ([browser, harness, vendor] = await Promise.all([launchBrowser(), startHarness(), startVendorServer()])));
  after(async () => {
    await browser?.close();
    await harness?.close();
    await vendor?.close();
  });

  /** A fresh repository and its engine; `start` starts an eval of the repository's fixes; `onEvent` hears what its log gains. */
  async function evalEngine() {
    const repo = makeEvalRepo();
    vendor.respond = fourModels();
    const { engine, log } = await engineWithLog(repo.root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    return {
      engine,
      start: (params: { models: string[]; concurrency: number }) =>
        engine.evals.start({ fromGit: `${repo.base}..HEAD`, testCommand: EVAL_TEST_COMMAND, maxRuns: 3, ...params }),
      onEvent: (listener: (e: AgentEvent) => void) => log.onEvent(listener),
    };
  }

  async function open(engine: Engine, theme: 'dark' | 'light', width: number): Promise<Page & { errors: string[] }> {
    const page = (await browser.newPage({ viewport: { width, height: 1000 } })) as Page & { errors: string[] };
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
    await harness.relay(page, engine);
    await page.goto(harness.url(theme));
    await page.locator('vscode-tab-header', { hasText: 'Models' }).click();
    return page;
  }

  /** What the page shows of a leaderboard row, and its unrounded numbers. */
  const shownRow = (page: Page, model: string) =>
    page.locator(`table.leaderboard tr[data-model="${model}"]`).evaluate((tr) => ({
      row: JSON.parse(tr.getAttribute('data-row')!) as EvalModelRow,
      cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.getAttribute('data-col'), td.textContent])),
      ci: (() => {
        const rect = tr.querySelector('rect.ci')!;
        return { x: Number(rect.getAttribute('x')), width: Number(rect.getAttribute('width')) };
      })(),
    }));

  it("shows the eval's leaderboard with drawn intervals, its grid and the value frontier, every number the report's; a cell opens its run", async () => {
    const { engine, start } = await evalEngine();
    const report = await start({ models: MODELS, concurrency: 2 }).done;
    assert.equal(report.tasks, 2, JSON.stringify(report.notes));
    assert.equal(report.cells.length, 8);

    for (const [theme, width, name] of [
      ['dark', 1200, 'webview-models-dark'],
      ['light', 1200, 'webview-models-light'],
      ['dark', 300, 'webview-models-sidebar'],
    ] as const) {
      const page = await open(engine, theme, width);
      await page.locator('table.leaderboard tr[data-model]').nth(3).waitFor();
      // The leaderboard: the report's rows, in its order, as it formats them.
      const order = await page.locator('table.leaderboard tr[data-model]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-model')));
      assert.deepEqual(
        order,
        report.models.map((r) => r.model),
      );
      assert.deepEqual(order.slice(0, 2), [`openai:${RIGHT}`, `openai:${SECOND}`], 'ranked as designed');
      for (const expected of report.models) {
        const { row, cells, ci } = await shownRow(page, expected.model);
        assert.deepEqual(row, expected);
        assert.equal(cells.passed, `${expected.passed} / ${expected.tasks}`);
        assert.equal(cells.passRate, `${percent(expected.passRate)} (${percent(expected.passRateLow)}–${percent(expected.passRateHigh)})`);
        assert.equal(cells.passAt1, percent(expected.passAt1));
        assert.equal(cells.costPerPass, expected.costPerPassUsd === null ? '–' : usd(expected.costPerPassUsd));
        // The interval is drawn where the report puts it, on a 0–100% track 120 units wide.
        assert.ok(Math.abs(ci.x - expected.passRateLow * 120) < 0.1, `${expected.model} interval starts at its low end`);
        assert.ok(Math.abs(ci.width - Math.max(1, (expected.passRateHigh - expected.passRateLow) * 120)) < 0.1, `${expected.model} interval width`);
      }
      // The grid: every cell, as the report has it.
      const shownCells = await page
        .locator('table.eval-grid td[data-cell]')
        .evaluateAll((tds) => tds.map((td) => JSON.parse(td.getAttribute('data-cell')!) as EvalCell));
      const key = (c: EvalCell) => `${c.task} ${c.model}`;
      assert.deepEqual(shownCells.map(key).sort(), report.cells.map(key).sort());
      for (const cell of shownCells)
        assert.deepEqual(
          cell,
          report.cells.find((c) => key(c) === key(cell)),
        );
      // The scatter: the frontier joins the models no other beats on both axes; a model that passed nothing is listed apart.
      const frontier = await page.locator('.value-chart polyline.frontier').getAttribute('data-frontier');
      assert.equal(
        frontier,
        valueFrontier(report.models)
          .map((r) => r.model)
          .join(','),
      );
      assert.ok(frontier.split(',').includes(`openai:${RIGHT}`) && !frontier.split(',').includes(`openai:${SECOND}`), frontier);
      assert.equal(await page.locator('.value-chart g.point.on-frontier').count(), frontier.split(',').length);
      await page.locator('.value-chart .unplaced', { hasText: `openai:${WRONG}` }).waitFor();
      if (width === 300) {
        // Nothing of the leaderboard is off screen at sidebar width.
        const boxes = await page.locator('table.leaderboard td').evaluateAll((tds) => tds.map((td) => td.getBoundingClientRect().right));
        assert.ok(
          boxes.every((right) => right <= 300),
          `every leaderboard cell within 300 px: ${Math.max(...boxes)}`,
        );
      }
      // A cell opens its run: the attempts of the second model on the calc task, failing then passing.
      const cell = report.cells.find((c) => c.model === `openai:${SECOND}` && c.outcome === 'passed')!;
      await page.locator(`table.eval-grid tr[data-task="${cell.task}"] td[data-model="openai:${SECOND}"] button`).click();
      const run = page.locator(`.cell-run[data-run="${cell.runId}"]`);
      await run.locator('.iteration').nth(cell.iterations).waitFor();
      assert.equal(await run.locator('.iteration').count(), cell.iterations + 1, 'the tests before any change, then each attempt');
      await run.locator('.step.pass', { hasText: 'Tests passed' }).waitFor();
      await screenshot(page, name);
      assert.deepEqual(page.errors, []);
      await page.close();
    }
  });

  it("follows a running eval from its eval.cell events, and keeps the eval's runs out of Activity and Analytics", async () => {
    const { engine, start, onEvent } = await evalEngine();
    const page = await open(engine, 'dark', 900);
    const relayed: AgentEvent[] = [];
    // What the extension does with the host's live events: forward them to the webview.
    onEvent((event) => {
      relayed.push(event);
      void send(page, { type: 'events', events: [event] }).catch(() => undefined);
    });
    await page.getByText('No evals yet').waitFor();
    const started = start({ models: [`openai:${RIGHT}`, `openai:${WRONG}`], concurrency: 1 });
    const status = page.locator('.eval-status[data-status="running"]');
    await status.waitFor();
    const report = await started.done;
    await page.locator('.eval-status[data-status="finished"]', { hasText: '4 of 4 cells' }).waitFor();
    const rows = await page.locator('table.leaderboard tr[data-model]').evaluateAll((trs) => trs.map((tr) => JSON.parse(tr.getAttribute('data-row')!)));
    assert.deepEqual(rows, report.models, 'the leaderboard caught up with the finished report without a reload');
    assert.ok(relayed.some((e) => e.type === 'run.started' && e.evalId === report.evalId));

    // Only eval runs in this log: everyday views stay empty, as the host's stats do.
    await page.locator('vscode-tab-header', { hasText: 'Activity' }).click();
    await page.getByText('No runs yet').waitFor();
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    await page.locator('.window button', { hasText: 'All' }).click();
    await page.getByText('No model calls in this window.').waitFor();
    assert.equal(engine.stats().runs.total, 0);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
