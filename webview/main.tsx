/** The dashboard webview's entry: open the sql.js store (wasm from the URI the page carries), then render. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import initSqlJs from 'sql.js';
import { render } from 'preact';
import { App } from './components/App';
import { Store } from './store';
import { apiTransport, vscodeTransport } from './transport';

async function main(): Promise<void> {
  const root = document.getElementById('root')!;
  try {
    const SQL = await initSqlJs({ locateFile: () => root.dataset.wasm! });
    const store = await Store.open(SQL);
    // Inside VS Code the webview API exists; anywhere else the page was served by `micro-agent serve`.
    const transport = typeof (globalThis as { acquireVsCodeApi?: unknown }).acquireVsCodeApi === 'function' ? vscodeTransport() : apiTransport();
    render(<App store={store} transport={transport} />, root);
  } catch (err) {
    root.textContent = `The dashboard could not start: ${err instanceof Error ? err.message : String(err)}`;
  }
}

void main();
