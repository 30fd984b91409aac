/**
 * A real VS Code for the extension tests: code-server (VS Code 1.100.3 from the npm registry, installed by
 * scripts/setup-e2e.sh) with the packaged extension (the .vsix) installed, driven through Debian's Chromium
 * by playwright-core as a user would drive it.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Browser, chromium, Page } from 'playwright-core';
import { REPO } from './fixtures';
import { packagedVsix } from './vsix';

export const CODE_SERVER_VERSION = '4.100.3';
export const ARTIFACTS = path.join(REPO, 'test-artifacts');

export function codeServerBin(): string {
  const cache = process.env.DEV_AI_CACHE ?? path.join(os.homedir(), '.cache', 'dev-ai');
  return path.join(cache, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
}

export interface CodeServer {
  url: string;
  extensionDir: string;
  /** VS Code's own logs (window, extension host, output channels such as dev-ai's). */
  logsDir: string;
  stop(): Promise<void>;
  output(): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Installs the packaged .vsix into `extensionsDir` the way a user does (`code-server --install-extension`), so
 * what the tests drive is exactly what users install; resolves to `<extensions-dir>/<publisher>.<name>-<version>/`.
 */
export async function installExtension(extensionsDir: string, userData: string): Promise<string> {
  const vsix = await packagedVsix();
  await promisify(execFile)(codeServerBin(), ['--extensions-dir', extensionsDir, '--user-data-dir', userData, '--install-extension', vsix]);
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const dir = path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  if (!fs.existsSync(path.join(dir, 'package.json'))) throw new Error(`code-server installed ${vsix} but ${dir} has no package.json`);
  return dir;
}

export async function startCodeServer(options: {
  workspace: string;
  env?: NodeJS.ProcessEnv;
  settings?: Record<string, unknown>;
  port?: number;
}): Promise<CodeServer> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-ai-vscode-'));
  const userData = path.join(base, 'user-data');
  const extensionsDir = path.join(base, 'extensions');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      ...options.settings,
    }),
  );
  const extensionDir = await installExtension(extensionsDir, userData);
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    codeServerBin(),
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      extensionsDir,
      options.workspace,
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${output}`)), 60_000);
    const check = () => {
      if (/HTTP server listening/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => reject(new Error(`code-server exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`,
    extensionDir,
    logsDir: path.join(userData, 'logs'),
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // code-server, its extension host and our agent host share the process group.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Opens the workbench and waits until it is interactive. */
export async function openWorkbench(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.statusbar').waitFor();
  return page;
}

/** Runs a command from the command palette by its full title, as a user types it. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor();
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor();
  await page.keyboard.press('Enter');
}

/** Answers the open quick input: types text (replacing what is there) and presses Enter. */
export async function answerInput(page: Page, text: string, titleContains?: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor();
  if (titleContains) await page.locator('.quick-input-widget .quick-input-title', { hasText: titleContains }).waitFor();
  const input = widget.locator('input.input');
  await input.fill(text);
  await page.keyboard.press('Enter');
}

/** Picks an item in the open quick pick by its label. */
export async function pick(page: Page, label: string): Promise<void> {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
  await row.waitFor();
  await row.click();
}

export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor();
  await input.fill(name);
  // Fuzzy matching lists e.g. math.test.js for "math.js", and results arrive in steps: Enter only once the
  // first row is the file itself (an exact name sorts first and stays there).
  const label = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator('.quick-input-list .monaco-list-row[data-index="0"] .label-name', { hasText: label }).waitFor();
  await page.keyboard.press('Enter');
  // The active tab, not just a tab: when the file was open already, its tab is there before the switch.
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** After a failed test: a screenshot of the workbench and VS Code's logs (the dev-ai channel among them) in test-artifacts/. */
export async function keepFailure(page: Page, vscode: CodeServer, test: Mocha.Test | undefined, prefix = 'failed'): Promise<void> {
  if (test?.state !== 'failed') return;
  const name = `${prefix}-${test.title.slice(0, 40).replace(/\W+/g, '-')}`;
  await screenshot(page, name);
  fs.cpSync(vscode.logsDir, path.join(ARTIFACTS, `${name}-logs`), { recursive: true });
}

/** The micro-agent host processes started from this code-server's copy of the extension. */
export function hostPids(extensionDir: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes(path.join(extensionDir, 'dist', 'server.js')))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}
