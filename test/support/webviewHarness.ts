/**
 * Serves the built dashboard as VS Code's webview would: the page from dashboardHtml (same CSP), the bundle,
 * the wasm and the codicons from dist/webview, plus two things VS Code provides: `acquireVsCodeApi` (a stub
 * that records what the webview posts) and the theme's `--vscode-*` variables (dark or light).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { Engine } from '../../server/engine/engine';
import { dispatch, EngineMethod, isEngineMethod } from '../../server/engine/handlers';
import { dashboardHtml } from '../../server/protocol/dashboardPage';
import type { FromWebview, ToWebview } from '../../server/protocol';
import { DIST } from './fixtures';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.ttf': 'font/ttf' };

// A palette a line, as the themes list them.
// prettier-ignore
const THEMES = {
  dark: {
    'foreground': '#cccccc', 'descriptionForeground': '#9d9d9d', 'errorForeground': '#f85149', 'focusBorder': '#0078d4',
    'editor-background': '#1f1f1f', 'textLink-foreground': '#4daafc', 'textCodeBlock-background': '#2b2b2b',
    'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'widget-border': '#313131', 'panel-border': '#2b2b2b',
    'testing-iconPassed': '#73c991', 'testing-iconFailed': '#f14c4c', 'editorWarning-foreground': '#cca700',
    'gitDecoration-addedResourceForeground': '#81b88b', 'gitDecoration-deletedResourceForeground': '#c74e39',
    'charts-blue': '#3794ff', 'charts-orange': '#d18616', 'charts-green': '#89d185',
    'charts-purple': '#b180d7', 'charts-yellow': '#cca700', 'charts-red': '#f14c4c',
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'sideBar-background': '#181818',
  },
  light: {
    'foreground': '#3b3b3b', 'descriptionForeground': '#717171', 'errorForeground': '#f85149', 'focusBorder': '#005fb8',
    'editor-background': '#ffffff', 'textLink-foreground': '#005fb8', 'textCodeBlock-background': '#f0f0f0',
    'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'widget-border': '#e5e5e5', 'panel-border': '#e5e5e5',
    'testing-iconPassed': '#388a34', 'testing-iconFailed': '#e51400', 'editorWarning-foreground': '#bf8803',
    'gitDecoration-addedResourceForeground': '#587c0c', 'gitDecoration-deletedResourceForeground': '#ad0707',
    'charts-blue': '#1a85ff', 'charts-orange': '#d18616', 'charts-green': '#388a34',
    'charts-purple': '#652d90', 'charts-yellow': '#bf8803', 'charts-red': '#e51400',
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace', 'sideBar-background': '#f8f8f8',
  },
};
export type Theme = keyof typeof THEMES;

/** Answers a host method the page asks for: through an engine's handler table, or over LSP to a host process. */
export type Answer = Engine | ((method: string, params: unknown) => Promise<unknown>);

export interface Harness {
  url: (theme: Theme) => string;
  /**
   * Answers the page's `request`s as the extension does: through the host's handler table, on a real engine
   * over a real log (`extension/dashboard.ts` sends them to the host over LSP, which dispatches the same way),
   * or over LSP to a host process, as the extension itself does. The page posts each request to this server
   * and gets the reply as a `message` event: an IPC hop like VS Code's postMessage relay (playwright's own
   * bindings serialize every call through the browser's debugging protocol, and cost the page's first open
   * ~150 ms more than the editor does). Call before the page loads.
   */
  relay(page: Page, to: Answer): Promise<void>;
  /** A bare page running a browser benchmark script from dist-test/bench/browser/. */
  benchUrl: (script: string) => string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const webviewDir = path.join(DIST, 'webview');
  /** Per page (by the id its relay was given), how its requests are answered. */
  const relays = new Map<string, (method: EngineMethod, params: unknown) => Promise<unknown>>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const origin = `http://${req.headers.host}`;
    if (url.pathname.startsWith('/relay/') && req.method === 'POST') {
      const answer = relays.get(url.pathname.slice('/relay/'.length));
      const chunks: Buffer[] = [];
      req.on('error', () => res.destroy());
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const message = parseMessage(Buffer.concat(chunks).toString('utf8'));
        if (!answer || message?.type !== 'request' || !isEngineMethod(message.method)) return void res.writeHead(404).end();
        const reply = (body: ToWebview) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        answer(message.method, message.params).then(
          (result) => reply({ type: 'response', id: message.id, result: result as never }),
          (err: Error) => reply({ type: 'response', id: message.id, error: err.message }),
        );
      });
      return;
    }
    if (url.pathname === '/') {
      const nonce = 'harness-nonce';
      const theme = (url.searchParams.get('theme') ?? 'dark') as Theme;
      const page = dashboardHtml({
        title: 'dev-ai',
        styles: [`${origin}/codicons/codicon.css`, `${origin}/styles.css`],
        script: `${origin}/main.js`,
        wasm: `${origin}/sql-wasm.wasm`,
        source: origin,
        nonce,
        cspInMeta: true,
      })
        .replace('<link rel="stylesheet"', `<link rel="stylesheet" href="${origin}/theme-${theme}.css">\n<link rel="stylesheet"`)
        .replace(`<script nonce="${nonce}" src=`, `<script nonce="${nonce}" src="${origin}/vscode-api.js"></script>\n<script nonce="${nonce}" src=`);
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      return;
    }
    if (url.pathname.startsWith('/theme-')) {
      const theme = THEMES[url.pathname.slice(7, -4) as Theme];
      const vars = Object.entries(theme)
        .map(([k, v]) => `--vscode-${k}: ${v};`)
        .join('\n');
      res.writeHead(200, { 'content-type': 'text/css' }).end(`:root {\n${vars}\n}\nbody { background: var(--vscode-sideBar-background); }`);
      return;
    }
    if (url.pathname.startsWith('/bench/')) {
      // Benchmark pages: a script built for the browser from test/bench/browser/, no CSP.
      const script = path.join(DIST, '..', 'dist-test', 'bench', 'browser', path.basename(url.pathname));
      if (!fs.existsSync(script)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/javascript' });
      fs.createReadStream(script).pipe(res);
      return;
    }
    if (url.pathname === '/bench.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><script src="/bench/${url.searchParams.get('script')}"></script>`);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/vscode-api.js') {
      res
        .writeHead(200, { 'content-type': 'text/javascript' })
        .end(
          'window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => {' +
            " window.__posted.push(m); if (!window.__relayId || m.type !== 'request') return;" +
            " fetch('/relay/' + window.__relayId, { method: 'POST', body: JSON.stringify(m) })" +
            ".then((r) => r.ok && r.json()).then((reply) => reply && window.postMessage(reply, '*')); } });",
        );
      return;
    }
    const file = path.join(webviewDir, path.normalize(url.pathname));
    if (!file.startsWith(webviewDir) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (theme) => `http://127.0.0.1:${port}/?theme=${theme}`,
    benchUrl: (script) => `http://127.0.0.1:${port}/bench.html?script=${encodeURIComponent(script)}`,
    relay: async (page, to) => {
      const id = String(relays.size + 1);
      relays.set(id, typeof to === 'function' ? to : (method, params) => dispatch(to, method, params, 'read'));
      await page.addInitScript((relayId) => ((window as unknown as { __relayId: string }).__relayId = relayId), id);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function parseMessage(text: string): FromWebview | undefined {
  try {
    return JSON.parse(text) as FromWebview;
  } catch {
    return undefined;
  }
}

/** Delivers a message the way VS Code does: a `message` event on the webview's window. */
export function send(page: Page, message: ToWebview): Promise<void> {
  return page.evaluate((m) => window.postMessage(m, '*'), message);
}

export function posted(page: Page): Promise<FromWebview[]> {
  return page.evaluate(() => (window as unknown as { __posted: FromWebview[] }).__posted);
}
