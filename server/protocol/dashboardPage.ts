/**
 * The dashboard's HTML shell, one function for both places it is served: VS Code's webview (and the browser
 * tests, which serve exactly that page) and the live API's browser page. Pure. Strict CSP either way: nothing
 * but the page's own files, wasm compilation for sql.js, no other network.
 */
export interface DashboardPage {
  title: string;
  /** Stylesheets, in order. */
  styles: string[];
  script: string;
  /** sql.js's wasm, fetched by the page. */
  wasm: string;
  /** Where the page's files come from: a webview's `cspSource`, or `'self'`. */
  source: string;
  /** Where the page may connect besides `source` (the live API's WebSocket). */
  connect?: string;
  /** A webview runs its script by nonce; the API page by `'self'`. */
  nonce?: string;
  /** A webview cannot send headers, so its policy rides in a meta tag; the API sends it as a header. */
  cspInMeta: boolean;
}

export function dashboardCsp(page: Pick<DashboardPage, 'source' | 'connect' | 'nonce' | 'cspInMeta'>): string {
  return [
    "default-src 'none'",
    `img-src ${page.source} data:`,
    `style-src ${page.source}`,
    `font-src ${page.source}`,
    `script-src ${page.nonce ? `'nonce-${page.nonce}'` : page.source} 'wasm-unsafe-eval'`,
    `connect-src ${[page.source, page.connect].filter(Boolean).join(' ')}`,
    // frame-ancestors is ignored in a meta tag; a webview is framed by VS Code anyway.
    ...(page.cspInMeta ? [] : ["frame-ancestors 'none'"]),
  ].join('; ');
}

/**
 * The script and the wasm are preloaded from the head: fetched while the stylesheets load and the page parses,
 * instead of one after the other once the script runs (the wasm is most of what the page waits for).
 */
export function dashboardHtml(page: DashboardPage): string {
  const meta = page.cspInMeta ? `\n<meta http-equiv="Content-Security-Policy" content="${dashboardCsp(page)}">` : '';
  const nonce = page.nonce ? ` nonce="${page.nonce}"` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">${meta}
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="icon" href="data:,">
<link rel="preload" href="${page.script}" as="script"${nonce}>
<link rel="preload" href="${page.wasm}" as="fetch" crossorigin="anonymous">
${page.styles.map((href) => `<link rel="stylesheet" href="${href}">`).join('\n')}
<title>${page.title}</title>
</head>
<body>
<div id="root" data-wasm="${page.wasm}"></div>
<script${nonce} src="${page.script}"></script>
</body>
</html>`;
}
