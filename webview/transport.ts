/** How the dashboard talks to its host: postMessage inside VS Code (later also a WebSocket in a browser). */
import type { FromWebview, ToWebview } from '../server/protocol';

export interface Transport {
  post(message: FromWebview): void;
  onMessage(handler: (message: ToWebview) => void): void;
}

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

/** The webview API: messages from the extension arrive as window `message` events. */
export function vscodeTransport(): Transport {
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    onMessage: (handler) => window.addEventListener('message', (event: MessageEvent<ToWebview>) => handler(event.data)),
  };
}
