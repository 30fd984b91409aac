/** How the dashboard talks to its host: postMessage inside VS Code, the live API's WebSocket in a browser. */
import { API_PREFIX, API_WS_PROTOCOL } from '../server/protocol/api';
import type { AgentEvent } from '../server/protocol/events';
import { Methods } from '../server/protocol/methods';
import type { FromWebview, ToWebview } from '../server/protocol/webview';

export interface Transport {
  /** Inside the editor: run changes, undo, restore and resume need its diff editor and its confirmations. */
  readonly editor: boolean;
  post(message: FromWebview): void;
  onMessage(handler: (message: ToWebview) => void): void;
}

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

/** The webview API: messages from the extension arrive as window `message` events. */
export function vscodeTransport(): Transport {
  const api = acquireVsCodeApi();
  return {
    editor: true,
    post: (message) => api.postMessage(message),
    onMessage: (handler) => window.addEventListener('message', (event: MessageEvent<ToWebview>) => handler(event.data)),
  };
}

const TOKEN_KEY = 'micro-agent.token';

/**
 * In a browser, against `micro-agent serve`: the page trades the one-time code in its URL (`#code=…`) for a
 * token, keeps it in sessionStorage (gone with the tab) and removes the code from the address bar. Events come
 * over the WebSocket as JSON-RPC notifications, batched per frame; after a disconnect it reconnects from the
 * last seq it has, so nothing is missed or counted twice.
 */
export function apiTransport(): Transport {
  let handler: (message: ToWebview) => void = () => undefined;
  let socket: WebSocket | undefined;
  let lastSeq = 0;
  let nextId = 0;
  let retryMs = 500;
  let pending: AgentEvent[] = [];

  const flush = () => {
    const events = pending;
    pending = [];
    if (events.length) handler({ type: 'events', events });
  };

  const connect = async () => {
    const token = await sessionToken();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${API_PREFIX}/ws?afterSeq=${lastSeq}`;
    const ws = new WebSocket(url, [API_WS_PROTOCOL, token]);
    socket = ws;
    ws.onopen = () => (retryMs = 500);
    ws.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as { method?: string; params?: AgentEvent };
      if (data.method !== Methods.event || !data.params) return;
      lastSeq = Math.max(lastSeq, data.params.seq);
      if (pending.length === 0) requestAnimationFrame(flush);
      pending.push(data.params);
    };
    ws.onclose = () => {
      socket = undefined;
      setTimeout(() => void connect().catch(showError), retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };

  const call = (method: string, params: object) => socket?.send(JSON.stringify({ jsonrpc: '2.0', id: ++nextId, method, params }));

  return {
    editor: false,
    post: (message) => {
      if (message.type === 'ready') {
        lastSeq = message.afterSeq;
        // Outside the editor there is no active file to fix and no workspace trust to ask about.
        handler({ type: 'context', activeFile: null, trusted: true, budgetUsd: null });
        void connect().catch(showError);
      } else if (message.type === 'cancelRun') {
        call(Methods.cancelRun, { runId: message.runId });
      }
      // The others (start, open, changes, undo, restore, resume) need an editor: the browser page offers none of them.
    },
    onMessage: (h) => (handler = h),
  };
}

async function sessionToken(): Promise<string> {
  // Decoded first: VS Code's openExternal sends the fragment percent-encoded (`#code%3D…`).
  const code = new URLSearchParams(decodeURIComponent(location.hash.slice(1))).get('code');
  if (code) {
    history.replaceState(null, '', location.pathname);
    const response = await fetch(`${API_PREFIX}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    if (!response.ok) throw new Error(`the sign-in link was refused (${response.status}); run micro-agent serve again for a fresh one`);
    sessionStorage.setItem(TOKEN_KEY, ((await response.json()) as { token: string }).token);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new Error('open the dashboard with the link micro-agent serve printed');
  return token;
}

function showError(err: Error): void {
  document.getElementById('root')!.textContent = `The dashboard could not connect: ${err.message}`;
}
