/** The dashboard as a browser page: its HTML and files, no data in them, so no token (the page signs in). */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { dashboardCsp, dashboardHtml, DashboardPage } from '../protocol/dashboardPage';
import { ApiError } from './http';

/** The files the page loads from dist/webview, with their content types; nothing else is served. */
const PAGE_FILES: Record<string, string> = {
  '/main.js': 'text/javascript; charset=utf-8',
  '/styles.css': 'text/css; charset=utf-8',
  '/browser-theme.css': 'text/css; charset=utf-8',
  '/sql-wasm.wasm': 'application/wasm',
  '/codicons/codicon.css': 'text/css; charset=utf-8',
  '/codicons/codicon.ttf': 'font/ttf',
};

const HEADERS = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** `GET /` and the page's files from `pageDir` (dist/webview); 404 without it. */
export function servePage(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, pageDir: string | undefined): void {
  if (req.method !== 'GET' || !pageDir) throw new ApiError(404, `no such endpoint: ${pathname}`);
  if (pathname === '/') {
    // The page may load only its own files and talk only to this server.
    const page: DashboardPage = {
      title: 'micro-agent dashboard',
      styles: ['/codicons/codicon.css', '/browser-theme.css', '/styles.css'],
      script: '/main.js',
      wasm: '/sql-wasm.wasm',
      source: "'self'",
      connect: `ws://${req.headers.host}`,
      cspInMeta: false,
    };
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': dashboardCsp(page), ...HEADERS });
    res.end(dashboardHtml(page));
    return;
  }
  const type = PAGE_FILES[pathname];
  if (!type) throw new ApiError(404, `no such file: ${pathname}`);
  res.writeHead(200, { 'content-type': type, ...HEADERS });
  fs.createReadStream(path.join(pageDir, pathname))
    .on('error', () => res.destroy())
    .pipe(res);
}
