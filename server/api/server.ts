/**
 * The live API: the engine over loopback HTTP (JSON under /v1, Server-Sent Events) and a WebSocket carrying the
 * same events and requests as JSON-RPC 2.0. This module wires the parts: `auth.ts` admits (Host, Origin,
 * token, sign-in codes), `routes.ts` answers REST from the handler table, `ws.ts` the WebSocket, `page.ts`
 * the dashboard page. Every socket has an error handler: one bad client closes its own connection, nothing else.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Engine } from '../engine/engine';
import { replyError } from '../engine/handlers';
import { API_PREFIX } from '../protocol/api';
import { bearer, Gate } from './auth';
import { ApiError, readJson, sendError, sendJson } from './http';
import { servePage } from './page';
import { route } from './routes';
import { FeedLimits, Watchers } from './stream';
import type { TokenStore } from './tokens';
import { SocketEndpoint } from './ws';

export interface ApiServerOptions {
  engine: Engine;
  tokens: TokenStore;
  /** Where the dashboard page's files are (dist/webview); without it `GET /` is 404. */
  pageDir?: string;
  /** Per-watcher limits: unsent bytes held for it, and how long it may take nothing before it is dropped. */
  feedLimits?: FeedLimits;
  log?: (message: string) => void;
}

export class ApiServer {
  private readonly http: http.Server;
  private readonly gate: Gate;
  private readonly watchers: Watchers;
  private readonly sockets = new Set<Socket>();
  private readonly ws: SocketEndpoint;

  constructor(private readonly options: ApiServerOptions) {
    const { engine, log } = options;
    this.gate = new Gate(options.tokens);
    this.watchers = new Watchers(engine.log, options.tokens, options.feedLimits);
    this.ws = new SocketEndpoint({ engine, gate: this.gate, watchers: this.watchers, log });
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.ws.upgrade(req, socket, head));
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      // A reset or broken connection is that client's problem only.
      socket.on('error', () => socket.destroy());
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Malformed HTTP: answer 400 if the socket can still take it, and close it.
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens; `port` 0 picks a free one. Resolves with the base URL. */
  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.http.on('error', (err) => this.options.log?.(`api: ${err.message}`));
    const actual = (this.http.address() as AddressInfo).port;
    this.gate.listening(host, actual);
    const shown = host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${actual}`;
  }

  async close(): Promise<void> {
    this.watchers.closeAll();
    this.ws.closeAll();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** A one-time code for the dashboard page's URL (`/#code=…`). */
  mintLoginCode(): string {
    return this.gate.mintLoginCode();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.on('error', () => res.destroy());
    res.on('error', () => res.destroy());
    try {
      const url = new URL(req.url ?? '/', 'http://api.invalid');
      this.gate.checkOrigin(req);
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) return servePage(req, res, url.pathname, this.options.pageDir);
      if (url.pathname === `${API_PREFIX}/session`) return await this.session(req, res);
      const token = bearer(req.headers.authorization);
      const scope = this.gate.admit(req, token);
      await route({ engine: this.options.engine, watchers: this.watchers, log: this.options.log }, { req, res, url, scope, token: token! });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const refusal = err instanceof ApiError ? undefined : replyError(err);
      const status = refusal?.status ?? (err as ApiError).status;
      if (status === 500) this.options.log?.(`api: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
      const extra = status === 500 || !refusal ? {} : { code: refusal.code, ...(refusal.data ? { files: refusal.data.files } : {}) };
      sendError(res, status, err instanceof Error ? err.message : String(err), extra);
      // Stop reading a body we refused, without waiting for the rest of it.
      if (!req.complete) req.once('end', () => undefined).resume();
    }
  }

  /** `POST /v1/session` `{ code }` → `{ token }`: the one request without a token, and only once per code. */
  private async session(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') throw new ApiError(405, 'POST a one-time code');
    const body = (await readJson(req)) as { code?: unknown };
    sendJson(res, 200, { token: this.gate.redeem(typeof body?.code === 'string' ? body.code : '') });
  }
}
