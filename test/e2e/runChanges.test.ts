/**
 * Issue #17 in a real VS Code (code-server + Chromium): a run's changes in the diff editor, Undo (and its refusal
 * over later edits), Restore this attempt from the dashboard, Write Tests and Implement. Its own code-server and
 * workspace, so it shares no state (run counts, remembered test command) with extension.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
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
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from '../support/fixtures';
import { until as poll } from '../support/until';
import { startVendorServer, VendorServer } from '../support/vendorServer';

/** An attempt that changes the file but still fails the tests (add multiplies). */
const ATTEMPT_1 = `exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n`;
const SLUG_STUB = `exports.slug = (text) => text;\n`;
const SLUG_IMPL = `exports.slug = (text) =>\n  text\n    .trim()\n    .toLowerCase()\n    .split(/\\s+/)\n    .filter(Boolean)\n    .join('-');\n`;
const SLUG_TEST_1 = [
  "const test = require('node:test');",
  "const assert = require('node:assert');",
  "const { slug } = require('./slug.js');",
  "test('lowercases and joins words with dashes', () => assert.strictEqual(slug('Hello World'), 'hello-world'));",
  '',
].join('\n');
const SLUG_TEST_2 = SLUG_TEST_1 + "test('trims and collapses spaces', () => assert.strictEqual(slug('  Many   Spaces '), 'many-spaces'));\n";
const draftReply = (code: string) => `Here are the tests.\n\n\`\`\`js\n${code}\`\`\`\n`;

const until = <T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000) => poll(probe, what, timeoutMs, 100);
const read = (root: string, file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('dev-ai: see, undo and restore a run, write the tests first (code-server)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let vendor: VendorServer;
  let vscode: CodeServer;
  let page: Page;
  let root: string;

  /** The n-th run.finished of the workspace's log (1-based); generous, as the machine running the suite may be shared. */
  const finished = (n: number) => until(() => readLog(root).filter((e) => e.type === 'run.finished')[n - 1], `run ${n} to finish`, 120_000);

  /** Replaces the workspace's settings (VS Code reads them live). */
  const settings = (values: Record<string, unknown>) => fs.writeFileSync(path.join(root, '.vscode', 'settings.json'), JSON.stringify(values));

  /** Clicks a button of the notification toast that says `text`. */
  async function toastAction(text: string, button: string): Promise<void> {
    const toast = page.locator('.notification-toast', { hasText: text });
    await toast.waitFor({ timeout: 60_000 });
    await toast.hover();
    await toast.locator('.monaco-button', { hasText: button }).click();
  }

  /** Fixes math.js through the palette, as a user does; resolves with the run's run.finished. */
  async function fixMath(n: number) {
    await openFile(page, 'math.js');
    await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
    await answerInput(page, '', 'what should the code do');
    return finished(n);
  }

  before(async () => {
    browser = await launchBrowser();
    vendor = await startVendorServer();
    root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, 'slug.js': SLUG_STUB });
    fs.mkdirSync(path.join(root, '.vscode'));
    settings({ 'devAi.testCommand': TEST_COMMAND });
    vscode = await startCodeServer({
      workspace: root,
      env: { OPENAI_API_KEY: fakeKey(), ANTHROPIC_API_KEY: '', OPENAI_BASE_URL: vendor.openaiUrl },
      settings: { 'security.workspace.trust.enabled': false, 'devAi.provider': 'openai', 'devAi.model': 'gpt-4.1-mini' },
    });
    page = await openWorkbench(browser, vscode.url);
    await page.locator('.statusbar-item', { hasText: 'dev-ai' }).first().waitFor({ timeout: 60_000 });
  });
  afterEach(function () {
    return keepFailure(page, vscode, this.currentTest, 'failed-17');
  });
  after(async () => {
    await page?.context().close();
    await vscode?.stop();
    await vendor?.close();
    await browser?.close();
  });

  it('a run ends: Show Changes opens the diff editor with both sides, Undo puts the original back', async () => {
    vendor.script({ kind: 'text', text: fixReply() });
    const run = await fixMath(1);
    assert.equal(run.outcome, 'passed');
    assert.equal(read(root, 'math.js'), FIXED_MATH);

    await toastAction('the tests pass on math.js', 'Show Changes');
    const diff = page.locator('.monaco-diff-editor');
    await diff.locator('.editor.original .view-lines', { hasText: 'exports.add = (a, b) => a - b;' }).waitFor();
    await diff.locator('.editor.modified .view-lines', { hasText: 'exports.add = (a, b) => a + b;' }).waitFor();
    await page.locator('.tabs-container .tab.active', { hasText: 'math.js (before the run ↔ now)' }).waitFor();
    await screenshot(page, '17-01-show-changes');

    await runCommand(page, 'dev-ai: Undo Run');
    await pick(page, 'math.js');
    await page.locator('.notification-toast', { hasText: 'Undid the micro-agent run' }).waitFor();
    assert.equal(read(root, 'math.js'), BROKEN_MATH, 'the original bytes are back');
    await screenshot(page, '17-02-undone');
  });

  it('Undo refuses over an edit made after the run, names the file, and overwrites only on Undo Anyway', async () => {
    vendor.script({ kind: 'text', text: fixReply() });
    const run = await fixMath(2);
    assert.equal(run.outcome, 'passed');
    const edited = FIXED_MATH + '// my own later edit\n';
    fs.writeFileSync(path.join(root, 'math.js'), edited);

    await toastAction('the tests pass on math.js', 'Undo');
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'math.js was changed after the micro-agent run' });
    await dialog.waitFor();
    await screenshot(page, '17-03-undo-refused');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    assert.equal(read(root, 'math.js'), edited, 'nothing was overwritten without a yes');

    await runCommand(page, 'dev-ai: Undo Run');
    await pick(page, run.runId);
    await dialog.waitFor();
    await dialog.locator('.monaco-button', { hasText: 'Undo Anyway' }).click();
    await until(() => read(root, 'math.js') === BROKEN_MATH, 'the original back after Undo Anyway');
  });

  it('Restore this attempt from the dashboard puts the files back as attempt 1 left them', async () => {
    vendor.script({ kind: 'text', text: fixReply(ATTEMPT_1) }, { kind: 'text', text: fixReply() });
    const run = await fixMath(3);
    assert.equal(run.outcome, 'passed');
    assert.equal(run.iterations, 2);
    assert.equal(read(root, 'math.js'), FIXED_MATH);

    await runCommand(page, 'dev-ai: Open Dashboard');
    const dashboard: FrameLocator = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
    const item = dashboard.locator(`[data-run="${run.runId}"]`);
    await item.waitFor({ timeout: 30_000 });
    await item.locator('.twisty').click();
    const restore = item.locator('.iteration', { hasText: 'Iteration 1' }).locator('button.restore');
    await restore.waitFor();
    await screenshot(page, '17-04-dashboard-checkpoints');
    await restore.click();
    await until(() => read(root, 'math.js') === ATTEMPT_1, 'math.js as attempt 1 left it');
    await page.locator('.notification-toast', { hasText: 'as attempt 1 left them' }).waitFor();
    await screenshot(page, '17-05-attempt-restored');
  });

  it('devAi.reviewBeforeKeep: a passing run opens as a diff with Keep / Discard; Discard puts the original back', async () => {
    fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
    settings({ 'devAi.testCommand': TEST_COMMAND, 'devAi.reviewBeforeKeep': true });
    vendor.script({ kind: 'text', text: fixReply() });
    const run = await fixMath(4);
    assert.equal(run.outcome, 'passed');
    await page.locator('.monaco-diff-editor .editor.modified .view-lines', { hasText: 'exports.add = (a, b) => a + b;' }).waitFor();
    await page.locator('.notification-toast', { hasText: 'Keep the changes to math.js?' }).waitFor();
    await screenshot(page, '17-06-review-before-keep');
    await toastAction('Keep the changes to math.js?', 'Discard');
    await until(() => read(root, 'math.js') === BROKEN_MATH, 'the original back after Discard');
  });

  it('the runs tree: a failed run opens to its attempts and Resume continues it to a pass', async () => {
    settings({ 'devAi.testCommand': TEST_COMMAND, 'devAi.maxRuns': 1 });
    vendor.script({ kind: 'text', text: fixReply(ATTEMPT_1) }, { kind: 'text', text: fixReply() });
    const failed = await fixMath(5);
    assert.equal(failed.outcome, 'failed');
    assert.equal(read(root, 'math.js'), BROKEN_MATH, 'a run that did not pass puts the original back');

    await runCommand(page, 'dev-ai: Open dev-ai View');
    const row = page.locator('.monaco-list-row[aria-level="1"]', { hasText: 'math.js' }).first();
    await row.locator('.label-description', { hasText: 'failed' }).waitFor();
    // The twistie opens a run (a click on the label opens its file).
    await row.locator('.monaco-tl-twistie').click();
    await page.locator('.monaco-list-row[aria-level="2"]', { hasText: 'Attempt 1' }).first().waitFor();
    await row.hover();
    await screenshot(page, '17-07-runs-tree');
    await row.locator('.action-label[aria-label="Resume Run"]').click();
    const resumed = await finished(6);
    assert.equal(resumed.outcome, 'passed', JSON.stringify(resumed));
    assert.equal(readLog(root).find((e) => e.type === 'run.started' && e.runId === resumed.runId).resumedFrom, failed.runId);
    assert.equal(read(root, 'math.js'), FIXED_MATH);
  });

  it('a host killed mid-run: the restarted host names the interrupted run, and Undo from its warning puts the original back', async () => {
    fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
    settings({ 'devAi.testCommand': TEST_COMMAND });
    // Attempt 1 is written (and fails); the model call of attempt 2 hangs until the host is killed.
    vendor.script({ kind: 'text', text: fixReply(ATTEMPT_1) }, { kind: 'text', text: fixReply(), firstTokenDelayMs: 60_000 });
    const calls = vendor.requests.length;
    await openFile(page, 'math.js');
    await runCommand(page, 'dev-ai: Fix Current File with micro-agent');
    await answerInput(page, '', 'what should the code do');
    await until(() => vendor.requests.length >= calls + 2 && true, 'the second model call');
    assert.equal(read(root, 'math.js'), ATTEMPT_1);
    const [pid] = hostPids(vscode.extensionDir);
    process.kill(pid, 'SIGKILL');

    const warning = page.locator('.notification-toast', { hasText: 'was interrupted' });
    await warning.waitFor({ timeout: 60_000 });
    assert.equal(read(root, 'math.js'), ATTEMPT_1, 'nothing is restored without the user');
    // The dead host's progress notification does not linger.
    await page.locator('.notification-toast', { hasText: 'micro-agent: math.js: iteration 2' }).waitFor({ state: 'detached' });
    await screenshot(page, '17-08-interrupted');
    await toastAction('was interrupted', 'Undo');
    await until(() => read(root, 'math.js') === BROKEN_MATH, 'the original back after Undo');
    const interrupted = readLog(root).filter((e) => e.type === 'run.finished' && e.reason === 'interrupted');
    assert.equal(interrupted.length, 1);
  });

  it('Write Tests and Implement: the model drafts the tests, feedback revises them, the edited draft is accepted, the run implements the file', async () => {
    settings({ 'devAi.testCommand': 'node --test slug.test.js' });
    vendor.script(
      { kind: 'text', text: draftReply(SLUG_TEST_1) },
      { kind: 'text', text: draftReply(SLUG_TEST_2) },
      { kind: 'text', text: fixReply(SLUG_IMPL) },
    );
    const calls = vendor.requests.length;
    const runs = readLog(root).filter((e) => e.type === 'run.finished').length;
    await openFile(page, 'slug.js');
    await runCommand(page, 'dev-ai: Write Tests and Implement');
    await answerInput(page, 'slug(text) lowercases the words and joins them with dashes', 'what should the code do');
    // Proposed from the workspace's convention: math.test.js sits beside math.js.
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'the new test file' }).waitFor();
    assert.equal(await page.locator('.quick-input-widget input.input').inputValue(), 'slug.test.js');
    await page.keyboard.press('Enter');

    // The first draft, as a new file in the diff editor; nothing is written yet.
    const diff = page.locator('.monaco-diff-editor');
    await diff.locator('.editor.modified .view-lines', { hasText: 'lowercases and joins words with dashes' }).waitFor({ timeout: 30_000 });
    await screenshot(page, '17-09-draft-tests');
    assert.ok(!fs.existsSync(path.join(root, 'slug.test.js')), 'the draft is not written before Accept');
    await toastAction('Review the tests the model wrote in slug.test.js', 'Give Feedback');
    await answerInput(page, 'also test that spaces are trimmed and collapsed', 'what should the model change');

    // The revision reaches the model with the draft and the feedback, and comes back as a new preview.
    await diff.locator('.editor.modified .view-lines', { hasText: 'trims and collapses spaces' }).waitFor({ timeout: 30_000 });
    const revision = JSON.stringify(vendor.requests[calls + 1].body);
    assert.ok(revision.includes('also test that spaces are trimmed and collapsed') && revision.includes('lowercases and joins words with dashes'), revision);
    await toastAction('Review the tests the model wrote in slug.test.js', 'Edit');

    // Edit: the draft opens in an untitled editor; the user adds a line, then accepts.
    await page.locator('.tabs-container .tab.active', { hasText: 'Untitled' }).waitFor();
    await page.locator('.editor-instance .view-lines', { hasText: 'trims and collapses spaces' }).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('// reviewed by a person');
    await page.keyboard.press('Enter');
    await screenshot(page, '17-10-edited-tests');
    await toastAction('Edit the tests for slug.test.js', 'Accept');

    const run = await finished(runs + 1);
    assert.equal(run.outcome, 'passed', JSON.stringify(run));
    assert.equal(read(root, 'slug.test.js'), SLUG_TEST_2 + '// reviewed by a person\n', 'the accepted, edited tests');
    assert.equal(read(root, 'slug.js'), SLUG_IMPL);
    const generated = readLog(root).find((e) => e.type === 'tests.generated');
    assert.equal(generated?.testFile, 'slug.test.js');
    await page.locator('.notification-toast', { hasText: 'the tests pass on slug.js' }).waitFor();
    await page.locator('.editor-instance .view-lines', { hasText: '.toLowerCase()' }).waitFor();
    await screenshot(page, '17-11-tests-first-passed');
  });
});
