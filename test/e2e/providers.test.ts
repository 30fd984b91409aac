/**
 * The dashboard's Providers tab in a real VS Code (code-server with the packaged .vsix installed): the webview asks
 * the extension for `microAgent/providerUsage`, the extension relays it to the host over LSP, and the host reads
 * the org's usage from the vendors' admin stand-ins (on the chat stand-in's base URLs, as the vendors serve them)
 * and reconciles it with the workspace's log. Dark and light themes, each looked at in a screenshot.
 */
import * as assert from 'node:assert/strict';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { CodeServer, keepFailure, launchBrowser, openWorkbench, runCommand, screenshot, startCodeServer } from '../support/codeServer';
import { adminEnv, ago, orgUsage, workspaceWithHistory } from '../support/orgUsage';
import { startVendorServer, VendorServer } from '../support/vendorServer';

describe('the Providers tab in a real VS Code (code-server)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let vendor: VendorServer;
  before(async () => {
    [browser, vendor] = await Promise.all([launchBrowser(), startVendorServer()]);
    orgUsage(vendor.admin);
  });
  after(async () => {
    await browser?.close();
    await vendor?.close();
  });

  for (const theme of ['Default Dark Modern', 'Default Light Modern']) {
    describe(theme, () => {
      let vscode: CodeServer;
      let page: Page;
      before(async () => {
        vscode = await startCodeServer({
          workspace: workspaceWithHistory(),
          env: { ...adminEnv(vendor), OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' },
          settings: { 'security.workspace.trust.enabled': false, 'workbench.colorTheme': theme },
        });
        page = await openWorkbench(browser, vscode.url);
      });
      afterEach(function () {
        return keepFailure(page, vscode, this.currentTest, 'providers-failed');
      });
      after(async () => {
        await page?.context().close();
        await vscode?.stop();
      });

      it('shows the org’s spend with micro-agent’s share and the discrepancies, read through the extension and the host', async () => {
        await page.locator('.statusbar-item', { hasText: 'dev-ai' }).first().waitFor({ timeout: 60_000 });
        await runCommand(page, 'dev-ai: Open Dashboard');
        const dashboard: FrameLocator = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
        await dashboard.locator('vscode-tab-header', { hasText: 'Providers' }).click();
        await dashboard.locator('.providers[data-state="ready"] .spend-chart').waitFor({ timeout: 60_000 });
        // The same hand count as in the browser test: 100k in and 20k out at $0.40 / $1.60, a quarter of it micro-agent's.
        const mini = dashboard.locator(`.spend-chart g[data-day="${ago(3)}"] g[data-series="openai gpt-4.1-mini"]`);
        assert.ok(Math.abs(Number(await mini.getAttribute('data-value')) - 0.072) < 1e-9);
        assert.ok(Math.abs(Number(await mini.getAttribute('data-mine')) - 0.018) < 1e-9);
        const flags = await dashboard.locator('.discrepancies li[data-flag]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-flag')));
        assert.deepEqual(flags, ['not_billed_yet', 'logged_exceeds_billed', 'price_mismatch']);
        const html = await dashboard.locator('html').innerHTML();
        for (const key of Object.values(adminEnv(vendor)).filter((v) => !v.startsWith('http'))) assert.ok(!html.includes(key), 'no admin key in the webview');
        await screenshot(page, `providers-code-server-${theme.includes('Dark') ? 'dark' : 'light'}`);
      });
    });
  }
});
