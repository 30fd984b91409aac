/**
 * The dashboard page, as VS Code's webview (and the browser tests) load it. Pure, so tests serve exactly the
 * page the extension shows. Strict CSP: nothing but our own files, scripts only by nonce, wasm compilation
 * for sql.js, no network.
 */
export interface DashboardAssets {
  /** The webview's resource origin (`webview.cspSource`). */
  cspSource: string;
  nonce: string;
  script: string;
  style: string;
  codicons: string;
  wasm: string;
}

export function dashboardHtml(assets: DashboardAssets): string {
  const csp = [
    "default-src 'none'",
    `img-src ${assets.cspSource} data:`,
    `style-src ${assets.cspSource}`,
    `font-src ${assets.cspSource}`,
    `script-src 'nonce-${assets.nonce}' 'wasm-unsafe-eval'`,
    // sql.js fetches its wasm from our own files; nothing else may be fetched.
    `connect-src ${assets.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${assets.codicons}">
<link rel="stylesheet" href="${assets.style}">
<title>dev-ai</title>
</head>
<body>
<div id="root" data-wasm="${assets.wasm}"></div>
<script nonce="${assets.nonce}" src="${assets.script}"></script>
</body>
</html>`;
}
