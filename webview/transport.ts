/** How the dashboard talks to its host: postMessage inside VS Code, the live API's WebSocket in a browser. */
import { API_PREFIX, API_WS_PROTOCOL } from '../server/protocol/api';
import type { AgentEvent } from '../server/protocol/events';
import { Methods, MethodTypes } from '../server/protocol/methods';
import type { FromWebview, ToWebview, WebviewMethod, WebviewParams } from '../server/protocol/webview';

type Outgoing = Exclude<FromWebview, { type: 'request' }>;
type Incoming = Exclude<ToWebview, { type: 'response' }>;

export interface Transport {
  /** Inside the editor: run changes, undo, restore and resume need its diff editor and its confirmations. */
  readonly editor: boolean;
  post(message: Outgoing): void;
  onMessage(handler: (message: Incoming) => void): void;
  /** Calls a host method (through the extension, or over the API's WebSocket); rejects with the host's message. */
  request<M extends WebviewMethod>(method: M, params: WebviewParams<M>): Promise<MethodTypes[M]['result']>;
}

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

/** Requests waiting for their answer, by id. */
class Pending {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (result: never) => void; reject: (err: Error) => void }>();

  add<T>(send: (id: number) => void): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(id);
    });
  }

  settle(id: number, result: unknown, error: string | undefined): void {
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    if (error !== undefined) waiter?.reject(new Error(error));
    else waiter?.resolve(result as never);
  }

  /** The connection went away: nothing in flight will be answered. */
  failAll(reason: string): void {
    for (const waiter of this.waiting.values()) waiter.reject(new Error(reason));
    this.waiting.clear();
  }
}

/** The webview API: messages from the extension arrive as window `message` events; requests are answered there too. */
export function vscodeTransport(): Transport {
  const api = acquireVsCodeApi();
  const pending = new Pending();
  let handler: (message: Incoming) => void = () => undefined;
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    if (message?.type === 'response') pending.settle(message.id, message.result, message.error);
    else if (message) handler(message);
  });
  return {
    editor: true,
    post: (message) => api.postMessage(message),
    onMessage: (h) => (handler = h),
    request: (method, params) => pending.add((id) => api.postMessage({ type: 'request', id, method, params } satisfies FromWebview)),
  };
}

const TOKEN_KEY = 'micro-agent.token';

/**
 * In a browser, against `micro-agent serve`: the page trades the one-time code in its URL (`#code=…`) for a
 * token, keeps it in sessionStorage (gone with the tab) and removes the code from the address bar. Requests
 * and events share one WebSocket (JSON-RPC). Until the page says `ready` the socket carries requests only (the
 * store loads from rollups, not history); then it is opened again from the seq the store holds. Events come
 * batched per frame; after a disconnect it reconnects from the last seq it has, so nothing is missed or
 * counted twice.
 */
export function apiTransport(): Transport {
  let handler: (message: Incoming) => void = () => undefined;
  let socket: Promise<WebSocket> | undefined;
  /** Null until `ready`. */
  let lastSeq: number | null = null;
  let retryMs = 500;
  let batch: AgentEvent[] = [];
  const pending = new Pending();

  const flush = () => {
    const events = batch;
    batch = [];
    if (events.length) handler({ type: 'events', events });
  };
  const deliver = (event: AgentEvent) => {
    if (lastSeq === null || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    if (batch.length === 0) requestAnimationFrame(flush);
    batch.push(event);
  };

  const connect = (): Promise<WebSocket> => {
    if (socket) return socket;
    const attempt: Promise<WebSocket> = sessionToken().then(
      (token) =>
        new Promise<WebSocket>((resolve, reject) => {
          // Before `ready`, a seq no log reaches: no events, requests only.
          const from = lastSeq ?? Number.MAX_SAFE_INTEGER;
          const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${API_PREFIX}/ws?afterSeq=${from}`, [
            API_WS_PROTOCOL,
            token,
          ]);
          ws.onopen = () => {
            retryMs = 500;
            resolve(ws);
          };
          ws.onmessage = (message) => {
            const data = JSON.parse(String(message.data)) as {
              id?: number;
              method?: string;
              params?: AgentEvent;
              result?: unknown;
              error?: { message: string };
            };
            if (typeof data.id === 'number') pending.settle(data.id, data.result, data.error?.message);
            else if (data.method === Methods.event && data.params) deliver(data.params);
          };
          ws.onclose = () => {
            if (socket !== attempt) return; // Replaced on `ready`.
            socket = undefined;
            reject(new Error('the connection to micro-agent serve closed'));
            pending.failAll('the connection to micro-agent serve closed');
            setTimeout(() => void connect().catch(showError), retryMs);
            retryMs = Math.min(retryMs * 2, 10_000);
          };
        }),
    );
    socket = attempt;
    return attempt;
  };

  const call = (method: string, params: object, id?: number) =>
    connect().then((ws) => ws.send(JSON.stringify({ jsonrpc: '2.0', id: id ?? 0, method, params })));

  return {
    editor: false,
    post: (message) => {
      if (message.type === 'ready') {
        lastSeq = message.afterSeq;
        // Outside the editor there is no active file to fix and no workspace trust to ask about.
        handler({ type: 'context', activeFile: null, trusted: true, budgetUsd: null });
        const requestsOnly = socket;
        socket = undefined;
        void requestsOnly?.then((ws) => ws.close());
        void connect().catch(showError);
      } else if (message.type === 'cancelRun') {
        void call(Methods.cancelRun, { runId: message.runId }).catch(showError);
      }
      // The others (start, open, changes, undo, restore, resume) need an editor: the browser page offers none of them.
    },
    onMessage: (h) => (handler = h),
    request: (method, params) => pending.add((id) => void call(method, params, id).catch((err: Error) => pending.settle(id, undefined, err.message))),
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
