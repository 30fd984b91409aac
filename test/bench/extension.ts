/** Extension benchmarks: bundle sizes, host spawn to ready, activation in code-server. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { RunsRequest } from '../../server/protocol';
import { launchBrowser, openWorkbench, startCodeServer } from '../support/codeServer';
import { DIST, makeWorkspace } from '../support/fixtures';
import { startHost } from '../support/lspClient';
import { Result, summarize } from './stats';
import { packagedVsix } from '../support/vsix';

export function bundleSizes(): Result[] {
  const sizes = ['extension.js', 'server.js', 'cli.js'].map((file): Result => {
    const bytes = fs.readFileSync(path.join(DIST, file));
    return {
      name: `bundle: dist/${file}`,
      value: bytes.length / 1024,
      unit: 'KB',
      note: `${(zlib.gzipSync(bytes).length / 1024).toFixed(0)} KB gzipped, minified`,
    };
  });
  // What the host and the CLI load on first use only (LAZY in esbuild.mjs).
  const lazy = fs.readdirSync(path.join(DIST, 'lazy')).filter((file) => file.endsWith('.js'));
  const kb = (file: string) => fs.statSync(path.join(DIST, 'lazy', file)).size / 1024;
  const total = lazy.reduce((sum, file) => sum + kb(file), 0);
  const each = lazy.map((file) => `${file} ${kb(file).toFixed(0)}`).join(', ');
  return [...sizes, { name: 'bundle: dist/lazy/*.js', value: total, unit: 'KB', note: `loaded on first use only: ${each} KB` }];
}

/** What users download: the .vsix `npm run package` builds (bundled dist, webview assets, media). */
export async function vsixSize(): Promise<Result[]> {
  const vsix = await packagedVsix();
  const bytes = fs.readFileSync(vsix);
  return [
    {
      name: `package: ${path.basename(vsix)}`,
      value: bytes.length / 1024 / 1024,
      unit: 'MB',
      goal: '< 3 MB',
      note: `${zipEntries(bytes)} files, ${(bytes.length / 1024).toFixed(0)} KB`,
    },
  ];
}

/** Entries in a zip, from its end-of-central-directory record (the last 22 bytes when there is no comment). */
function zipEntries(zip: Buffer): number {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip file');
  return zip.readUInt16LE(end + 10);
}

/** From spawning `node dist/server.js --stdio` to the first answered request (what a user waits for). */
export async function hostSpawnToReady(): Promise<Result[]> {
  const root = makeWorkspace({});
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t = performance.now();
    const host = await startHost(root, {});
    await host.connection.sendRequest(RunsRequest.type);
    if (i > 0) times.push(performance.now() - t);
    await host.stop();
  }
  fs.rmSync(root, { recursive: true, force: true });
  const { p50, p95 } = summarize(times);
  return [
    {
      name: 'host: spawn to ready',
      value: p50,
      unit: 'ms',
      note: `p50 of 10 (p95 ${p95.toFixed(0)} ms): spawn, initialize, open the log, answer microAgent/runs`,
    },
  ];
}

/** The extension's own activate() time, as it logs it, in code-server 4.100.3. */
export async function activation(): Promise<Result[]> {
  const root = makeWorkspace({ 'a.js': '' });
  const vscode = await startCodeServer({ workspace: root, settings: { 'security.workspace.trust.enabled': false } });
  const browser = await launchBrowser();
  try {
    const page = await openWorkbench(browser, vscode.url);
    await page.locator('.statusbar-item', { hasText: 'dev-ai' }).first().waitFor({ timeout: 60_000 });
    const logsDir = path.join(vscode.extensionDir, '..', '..', 'user-data', 'logs');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const line = findLine(logsDir, /dev-ai activated in ([\d.]+) ms/);
      if (line) return [{ name: 'extension: activate()', value: Number(line[1]), unit: 'ms', note: 'as logged by activate(), code-server 4.100.3' }];
      if (Date.now() > deadline) throw new Error('no activation line in the extension log');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await browser.close();
    await vscode.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function findLine(dir: string, pattern: RegExp): RegExpMatchArray | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, entry);
    if (!entry.endsWith('.log') || !fs.statSync(file).isFile()) continue;
    const match = fs.readFileSync(file, 'utf8').match(pattern);
    if (match) return match;
  }
  return undefined;
}
