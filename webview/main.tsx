/**
 * The dashboard webview's entry: asks the host for what the store is loaded from while the sql.js store opens
 * (wasm from the URI the page carries), then renders.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import initSqlJs from 'sql.js';
import { render } from 'preact';
import { App } from './components/App';
import { loadBase } from './load';
import { Store } from './store';
import { apiTransport, vscodeTransport } from './transport';

async function main(): Promise<void> {
  const root = document.getElementById('root')!;
  try {
    // Inside VS Code the webview API exists; anywhere else the page was served by `micro-agent serve`.
    const transport = typeof (globalThis as { acquireVsCodeApi?: unknown }).acquireVsCodeApi === 'function' ? vscodeTransport() : apiTransport();
    // Neither needs the other, and each takes a few hundred ms on a large log: the host's answers come while
    // the wasm compiles. (App reports a failed load; this only keeps it from counting as unhandled meanwhile.)
    const base = loadBase(transport, Date.now());
    base.catch(() => undefined);
    const SQL = await initSqlJs({ locateFile: () => root.dataset.wasm! });
    const store = await Store.open(SQL);
    render(<App store={store} transport={transport} firstLoad={base} />, root);
  } catch (err) {
    root.textContent = `The dashboard could not start: ${err instanceof Error ? err.message : String(err)}`;
  }
}

void main();
