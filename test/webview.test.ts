import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { AgentEvent, Stats } from '../server/protocol';
import type { ModelStats, Window } from '../webview/queries';
import { cli } from './support/cli';
import { launchBrowser, screenshot } from './support/codeServer';
import { engineWithLog } from './support/engine';
import { countEdits, type EditCounts, EventFactory } from './support/events';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, TEST_COMMAND } from './support/fixtures';
import { Harness, posted, send, startHarness } from './support/webviewHarness';
import { startVendorServer } from './support/vendorServer';

/** Events from real runs: the engine against a local vendor and a real node --test suite. */
async function recordRealRuns(): Promise<AgentEvent[]> {
  const vendor = await startVendorServer();
  const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'other.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
  const { log, events, engine } = await engineWithLog(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
  vendor.script({ kind: 'text', text: 'no block here' }, { kind: 'text', text: fixReply(), usage: { input: 1200, output: 90 } });
  await (
    await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, model: 'gpt-4.1-mini' })
  ).done;
  vendor.respond = () => ({ kind: 'text', text: fixReply('exports.add = () => 0;\nexports.mul = () => 0;\n'), usage: { input: 1000, output: 80 } });
  await (
    await engine.start({ file: 'other.js', testCommand: 'node --test other.test.js || exit 1', maxRuns: 1, model: 'gpt-4o-mini' })
  ).done;
  await vendor.close();
  log.close();
  return events;
}

describe('dashboard webview in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let harness: Harness;
  let recorded: AgentEvent[];
  before(async () => {
    [browser, harness, recorded] = await Promise.all([launchBrowser(), startHarness(), recordRealRuns()]);
  });
  after(async () => {
    await browser?.close();
    await harness?.close();
  });

  /** A page whose requests a real engine answers, over an empty log: the events each test sends are its live ones. */
  async function open(theme: 'dark' | 'light' = 'dark', width = 420, root = makeWorkspace({ 'a.js': '' })): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const { engine } = await engineWithLog(root, {});
    await harness.relay(page, engine);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(harness.url(theme));
    await page
      .waitForFunction(() => (window as any).__posted?.some((m: any) => m.type === 'ready'), undefined, { timeout: 15_000 })
      .catch(() => {
        throw new Error(`the dashboard never said ready: ${errors.join('\n')}`);
      });
    (page as any).errors = errors;
    return page;
  }

  it('replays history, then shows live events as they arrive', async () => {
    const page = await open();
    assert.deepEqual(
      (await posted(page)).find((m) => m.type === 'ready'),
      { type: 'ready', afterSeq: 0 },
    );
    await send(page, { type: 'context', activeFile: 'math.js', trusted: true, budgetUsd: null });
    await send(page, { type: 'events', events: recorded });
    await page.locator('.run.passed', { hasText: 'math.js' }).waitFor();
    await page.locator('.run.failed', { hasText: 'other.js' }).waitFor();

    // A live run: each event shows up as it comes.
    const f = new EventFactory(Date.now());
    const seq0 = recorded.at(-1)!.seq;
    const live = f.run('live-1', 'anthropic', 'claude-sonnet-4-5', 1, true, 0.02).map((e, i) => ({ ...e, seq: seq0 + 1 + i }));
    await send(page, { type: 'events', events: [live[0]] });
    const run = page.locator('.run.running', { hasText: 'math.js' });
    await run.waitFor();
    await send(page, { type: 'events', events: live.slice(1, 4) });
    await page.locator('[data-run="live-1"] .run-head', { hasText: '1/5' }).waitFor();
    await send(page, { type: 'events', events: live.slice(4) });
    await page.locator('[data-run="live-1"].passed').waitFor();

    // A run opens to its attempts: the rejected reply, the diff, the test output.
    await page.locator('[data-run="' + recorded[0].runId + '"] .twisty').click();
    await page.locator('.step.rejected', { hasText: 'no fenced code block' }).waitFor();
    await page.locator('details.step', { hasText: 'Wrote math.js' }).first().click();
    await page.locator('pre.diff .add', { hasText: 'a + b' }).waitFor();
    await screenshot(page, 'webview-activity-dark');
    assert.deepEqual((page as any).errors, []);
  });

  it('posts start, cancel and open-file requests for the extension to validate', async () => {
    const page = await open();
    await send(page, { type: 'context', activeFile: 'src/app.js', trusted: true, budgetUsd: null });
    const f = new EventFactory();
    await send(page, { type: 'events', events: [f.runStarted('r-1', 'openai', 'gpt-4.1-mini', 'src/app.js')] });
    await page.locator('vscode-button', { hasText: 'Fix app.js' }).click();
    await page.locator('[data-run="r-1"] button[title="Cancel this run"]').click();
    await page.locator('[data-run="r-1"] a.file').click();
    const messages = (await posted(page)).filter((m) => m.type !== 'ready' && m.type !== 'request');
    assert.deepEqual(messages, [{ type: 'startRun' }, { type: 'cancelRun', runId: 'r-1' }, { type: 'openFile', file: 'src/app.js' }]);
  });

  it('offers Show Changes, Undo and Resume per finished run and Restore this attempt per iteration that wrote files', async () => {
    const page = await open();
    await send(page, { type: 'events', events: recorded });
    const [passed, failed] = [recorded[0].runId!, recorded.find((e) => e.type === 'run.started' && e.file === 'other.js')!.runId!];
    const run = (id: string) => page.locator(`[data-run="${id}"]`);
    await run(failed).waitFor();
    assert.equal(await run(passed).locator('button[title^="Resume"]').count(), 0, 'a passed run has nothing to resume');
    await run(failed).locator('button[title^="Resume"]').click();
    await run(passed).locator('button[title="Show the changes of this run"]').click();
    await run(passed).locator('button[title="Undo this run"]').click();
    // The first iteration's reply was rejected (nothing written): only the second is a checkpoint.
    await run(passed).locator('.twisty').click();
    const restore = run(passed).locator('button.restore');
    await restore.waitFor();
    assert.equal(await restore.count(), 1);
    assert.match((await restore.getAttribute('title'))!, /iteration 2/);
    await restore.click();
    await screenshot(page, 'webview-run-actions');
    // What the page asked of the extension besides loading (its `ready` and its read-only requests).
    const actions = (await posted(page)).filter((m) => m.type !== 'ready' && m.type !== 'request');
    assert.deepEqual(actions, [
      { type: 'resumeRun', runId: failed },
      { type: 'showChanges', runId: passed },
      { type: 'undoRun', runId: passed },
      { type: 'restoreAttempt', runId: passed, iteration: 2 },
    ]);
    assert.deepEqual((page as any).errors, []);
  });

  it('shows the right numbers for a known event set, and charts', async () => {
    const page = await open('dark', 900);
    const f = new EventFactory(Date.now() - 20 * 60_000);
    const events = [
      ...f.run('a', 'openai', 'gpt-4.1-mini', 1, true, 0.01, 100),
      ...f.run('b', 'openai', 'gpt-4.1-mini', 3, true, 0.01, 200),
      ...f.run('c', 'openai', 'gpt-4.1-mini', 2, false, 0.01, 400),
    ];
    await send(page, { type: 'events', events });
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    const row = page.locator('tr[data-model="openai gpt-4.1-mini"]');
    await row.waitFor();
    const cell = (col: string) => row.locator(`[data-col="${col}"]`).textContent();
    assert.equal(await cell('calls'), '6');
    assert.equal(await cell('errorRate'), '0%');
    assert.equal(await cell('p50'), '200 ms');
    assert.equal(await cell('p95'), '400 ms');
    assert.equal(await cell('in'), '6,000');
    assert.equal(await cell('cost'), '$0.06');
    assert.equal(await cell('runs'), '3');
    assert.equal(await cell('passRate'), '67%');
    assert.equal(await cell('iterations'), '2.0');
    assert.equal(await cell('costPerPass'), '$0.03');
    // Charts render with data: a latency line, cost line, token and pass-rate bars.
    assert.equal((await page.locator('figure.chart polyline').count()) >= 2, true);
    assert.equal(await page.locator('figure.chart', { hasText: 'Pass rate by model' }).locator('rect').count(), 1);
    await page.locator('figure.chart', { hasText: 'Pass rate by model' }).getByText('67% of 3').waitFor();
    await screenshot(page, 'webview-analytics-dark');
    const light = await open('light', 900);
    await send(light, { type: 'events', events: [...events, ...recorded.map((e) => ({ ...e, seq: e.seq + 10_000 }))] });
    await light.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    await light.locator('tr[data-model="openai gpt-4.1-mini"]').waitFor();
    await screenshot(light, 'webview-analytics-light');
  });

  it('keeps every number of the model table readable at sidebar width (300 px)', async () => {
    const page = await open('dark', 300);
    const f = new EventFactory(Date.now() - 20 * 60_000);
    await send(page, {
      type: 'events',
      events: [...f.run('a', 'openai', 'gpt-4.1-mini', 1, true, 0.01, 100), ...f.run('b', 'anthropic', 'claude-sonnet-4-5', 2, true, 0.02, 300)],
    });
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    const row = page.locator('tr[data-model="anthropic claude-sonnet-4-5"]');
    await row.waitFor();
    const cells = await row.locator('[data-col]').evaluateAll((tds) =>
      tds.map((td) => {
        const box = td.getBoundingClientRect();
        return { col: td.getAttribute('data-col'), left: box.left, right: box.right, label: getComputedStyle(td, '::before').content, text: td.textContent };
      }),
    );
    assert.equal(cells.length, 17);
    for (const cell of cells) {
      assert.ok(cell.left >= 0 && cell.right <= 300, `${cell.col} is on screen (${cell.left}–${cell.right})`);
      assert.notEqual(cell.label, 'none', `${cell.col} is labelled`);
    }
    assert.equal(cells.find((c) => c.col === 'iterations')?.text, '2.0');
    assert.equal(cells.find((c) => c.col === 'costPerPass')?.text, '$0.04');
    assert.match(cells.find((c) => c.col === 'costPerPass')!.label, /\$ \/ passing run/);
    await screenshot(page, 'webview-analytics-sidebar');
  });

  it("shows each model's well-formed edit rate and ladder steps from a workspace log, in every window, as counted and as micro-agent stats", async () => {
    // Replies whose edits applied at every step of the ladder, were sent whole, were refused, or were undone
    // (tests_missing, which judges the tests, not the edits), in runs started 30 h, 26 h, 5 h, 20 min and 10 min ago.
    const now = Date.now();
    const f = new EventFactory();
    const [gpt, claude] = [
      ['openai', 'gpt-4.1-mini'],
      ['anthropic', 'claude-sonnet-4-5'],
    ] as const;
    const events = [
      ...f.at(now - 30 * 3_600_000).judgedRun('a3', ...gpt, [{ refused: 'malformed' }, { refused: 'elided' }, { placed: [undefined] }]),
      ...f.at(now - 26 * 3_600_000).judgedRun('b2', ...claude, [{ refused: 'edit_conflict' }]),
      ...f.at(now - 5 * 3_600_000).judgedRun('a2', ...gpt, [{ placed: ['whitespace'], testsMissing: true }, { placed: ['elision'] }]),
      ...f.at(now - 20 * 60_000).judgedRun('a1', ...gpt, [{ refused: 'edit_mismatch' }, { placed: ['exact', 'indent'] }]),
      ...f.at(now - 10 * 60_000).judgedRun('b1', ...claude, [{ placed: ['tabs', 'blank_lines', 'exact'] }]),
    ];
    const root = makeWorkspace({ 'a.js': '' });
    fs.mkdirSync(path.join(root, '.micro-agent'), { recursive: true });
    fs.writeFileSync(path.join(root, '.micro-agent', 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''));
    // What the terminal says of the same log, before the page's host opens it.
    const terminal = await cli(['stats'], root, {});
    const json = JSON.parse((await cli(['stats', '--json'], root, {})).stdout) as Stats;

    const page = await open('dark', 1280, root);
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    const shown = async (window: Window) => {
      const label = { hour: 'Last hour', day: 'Last day', all: 'All' }[window];
      await page.locator('.window button', { hasText: label }).click();
      await page.locator('.window button[aria-checked="true"]', { hasText: label }).waitFor();
      const rows = await page.locator('tr[data-stats]').evaluateAll((trs) =>
        trs.map((tr) => ({
          stats: JSON.parse(tr.getAttribute('data-stats')!) as ModelStats,
          text: [tr.querySelector('[data-col="wellFormed"]')!.textContent, tr.querySelector('[data-col="placedBy"]')!.textContent?.replace(/\u00a0/g, ' ')],
        })),
      );
      const edits = new Map(
        rows.map(({ stats: s }): [string, EditCounts] => [
          `${s.provider} ${s.model}`,
          { editReplies: s.editReplies, wellFormedRate: s.wellFormedRate, matchSteps: s.matchSteps },
        ]),
      );
      return { edits, text: new Map(rows.map((r) => [`${r.stats.provider} ${r.stats.model}`, r.text])) };
    };
    // The host's rollups loaded by the page, per window, against a count over the events of the runs started in it.
    for (const window of ['all', 'day', 'hour'] as const) {
      const sinceTs = window === 'all' ? 0 : Math.floor((now - { hour: 3_600_000, day: 86_400_000 }[window]) / 60_000) * 60_000;
      assert.deepEqual((await shown(window)).edits, countEdits(events, sinceTs), window);
    }
    // What a reader sees, worked out by hand: gpt 7 replies (a3 3, a2 2, a1 2), 4 applied; claude 2, 1.
    const expected: Record<Window, Record<string, [string, string]>> = {
      all: {
        'openai gpt-4.1-mini': ['57% of 7', 'exact 1, whitespace 1, indent 1, elision 1'],
        'anthropic claude-sonnet-4-5': ['50% of 2', 'exact 1, tabs 1, blank_lines 1'],
      },
      day: {
        'openai gpt-4.1-mini': ['75% of 4', 'exact 1, whitespace 1, indent 1, elision 1'],
        'anthropic claude-sonnet-4-5': ['100% of 1', 'exact 1, tabs 1, blank_lines 1'],
      },
      hour: { 'openai gpt-4.1-mini': ['50% of 2', 'exact 1, indent 1'], 'anthropic claude-sonnet-4-5': ['100% of 1', 'exact 1, tabs 1, blank_lines 1'] },
    };
    for (const window of ['hour', 'day', 'all'] as const) assert.deepEqual(Object.fromEntries((await shown(window)).text), expected[window], window);
    // The All window is what `micro-agent stats` says of the log, in its JSON and in its table.
    const all = await shown('all');
    assert.deepEqual(
      all.edits,
      new Map(
        json.providers.map((p): [string, EditCounts] => [
          `${p.provider} ${p.model}`,
          { editReplies: p.editReplies, wellFormedRate: p.wellFormedRate, matchSteps: p.matchSteps },
        ]),
      ),
    );
    for (const [cell, steps] of all.text.values())
      assert.ok(terminal.stdout.includes(cell) && terminal.stdout.includes(steps), `${cell} / ${steps} in\n${terminal.stdout}`);
    await screenshot(page, 'webview-analytics-edits');
    const sidebar = await open('dark', 420, root);
    await sidebar.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    await sidebar.locator('.window button', { hasText: 'All' }).click();
    await sidebar.locator('tr[data-model="openai gpt-4.1-mini"] [data-col="wellFormed"]', { hasText: '57% of 7' }).waitFor();
    await screenshot(sidebar, 'webview-analytics-edits-sidebar');
    assert.deepEqual([(page as any).errors, (sidebar as any).errors], [[], []]);
  });

  it('shows the cached part of the input tokens, in the model table and on a model call', async () => {
    const page = await open();
    const f = new EventFactory(Date.now() - 5 * 60_000);
    const call = { latencyMs: 900, input: 812, output: 140, cached: 600, cacheWrite: 0 };
    await send(page, {
      type: 'events',
      events: [f.runStarted('c-1', 'anthropic', 'claude-haiku-4-5'), f.iteration('c-1', 1), f.call('c-1', 'anthropic', 'claude-haiku-4-5', call)],
    });
    await page.locator('[data-run="c-1"] .twisty').click();
    await page.locator('.step.llm', { hasText: '812 in (600 cached) / 140 out' }).waitFor();
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    const row = page.locator('tr[data-model="anthropic claude-haiku-4-5"]');
    await row.waitFor();
    assert.equal(await row.locator('[data-col="in"]').textContent(), '812');
    assert.equal(await row.locator('[data-col="cached"]').textContent(), '600');
    assert.deepEqual((page as any).errors, []);
  });

  it('loses nothing and counts nothing twice across a reload', async () => {
    const page = await open();
    await send(page, { type: 'events', events: recorded });
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    const calls = page.locator('tr[data-model="openai gpt-4.1-mini"] [data-col="calls"]');
    await calls.waitFor();
    const before = await calls.textContent();
    await page.reload();
    await page.waitForFunction(() => (window as any).__posted?.some((m: any) => m.type === 'ready'));
    assert.deepEqual(
      (await posted(page)).find((m) => m.type === 'ready'),
      { type: 'ready', afterSeq: 0 },
      'a reloaded view asks for everything after what the host had folded (nothing: its log is empty)',
    );
    // The extension replays; overlapping pages and a live duplicate must not double count.
    await send(page, { type: 'events', events: recorded.slice(0, 10) });
    await send(page, { type: 'events', events: recorded });
    await send(page, { type: 'events', events: recorded.slice(-3) });
    await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
    await page.locator('tr[data-model="openai gpt-4.1-mini"] [data-col="calls"]').waitFor();
    assert.equal(await page.locator('tr[data-model="openai gpt-4.1-mini"] [data-col="calls"]').textContent(), before);
    await page.locator('vscode-tab-header', { hasText: 'Activity' }).click();
    assert.equal(await page.locator('.run').count(), 2);
  });
});
