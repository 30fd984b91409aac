/**
 * The live API: the engine over loopback HTTP (JSON under /v1, Server-Sent Events) and a WebSocket carrying the
 * same events and requests as JSON-RPC 2.0. Every request needs a bearer token; requests naming another Host
 * (DNS rebinding) or coming from another origin are refused before anything else. Handlers only translate:
 * validation, the one-run-per-file rule and the stats live in the engine, as for the LSP host.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { Engine, EngineError, RunRequest } from '../engine';
import {
  AgentEvent,
  API_PREFIX,
  API_WS_PROTOCOL,
  ApiErrorBody,
  ApiStartRunBody,
  CancelRunRequest,
  ErrorCodes,
  EventNotification,
  ExportDataset,
  RunsRequest,
  StartRunRequest,
  StatsRequest,
} from '../protocol';
import { ExportQuery, streamExport } from './export';
import { EventFeed, FeedLimits, Sink } from './stream';
import { Scope, TokenStore } from './tokens';

export const MAX_BODY_BYTES = 64 * 1024;
const LOGIN_CODE_TTL_MS = 10 * 60_000;
/** Addresses that only this machine can reach; any other needs `--allow-remote`. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

export interface ApiServerOptions {
  engine: Engine;
  tokens: TokenStore;
  /** Where the dashboard page's files are (dist/webview); without it `GET /` is 404. */
  pageDir?: string;
  /** Per-watcher limits: unsent bytes held for it, and how long it may take nothing before it is dropped. */
  feedLimits?: FeedLimits;
  log?: (message: string) => void;
}

/** An answer with a status, for the client to read. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ApiServer {
  private readonly http: http.Server;
  private readonly ws = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES, handleProtocols: (offered) => (offered.has(API_WS_PROTOCOL) ? API_WS_PROTOCOL : false) });
  private readonly feeds = new Set<{ feed: EventFeed; token: string; close: () => void }>();
  private readonly sockets = new Set<Socket>();
  private hosts = new Set<string>();
  private origins = new Set<string>();
  private rotationCheck: NodeJS.Timeout | undefined;
  private readonly loginCodes = new Map<string, number>();

  constructor(private readonly options: ApiServerOptions) {
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens; `port` 0 picks a free one. Resolves with the base URL. */
  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve());
    });
    const actual = (this.http.address() as AddressInfo).port;
    // On loopback, any loopback name may reach it; IPv6 literals appear in Host in brackets.
    const names = LOOPBACK_HOSTS.includes(host) ? LOOPBACK_HOSTS : [host];
    this.hosts = new Set(names.map((name) => `${name.includes(':') ? `[${name}]` : name}:${actual}`));
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`));
    // Streams opened with a token that `micro-agent token rotate` has since replaced are closed.
    this.rotationCheck = setInterval(() => this.closeRevoked(), 1000);
    this.rotationCheck.unref();
    const shown = host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${actual}`;
  }

  async close(): Promise<void> {
    clearInterval(this.rotationCheck);
    for (const entry of this.feeds) entry.close();
    for (const client of this.ws.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /**
   * A one-time code for the dashboard page's URL (`/#code=…`): the page trades it for the full token once, so
   * the token itself never sits in an address bar, a history entry or a Referer.
   */
  mintLoginCode(): string {
    const code = randomBytes(18).toString('base64url');
    this.loginCodes.set(code, Date.now() + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** `POST /v1/session` `{ code }` → `{ token }`: the one request without a token, and only once per code. */
  private async session(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.checkOrigin(req);
    if (req.method !== 'POST') throw new ApiError(405, 'POST a one-time code');
    const body = (await readJson(req)) as { code?: unknown };
    const code = typeof body?.code === 'string' ? body.code : '';
    const expires = this.loginCodes.get(code);
    this.loginCodes.delete(code);
    if (expires === undefined || expires < Date.now()) throw new ApiError(401, 'this sign-in link was used already or has expired');
    sendJson(res, 200, { token: this.options.tokens.current().full });
  }

  /** Host and Origin, checked before anything else (no token needed to refuse). */
  private checkOrigin(req: http.IncomingMessage): void {
    if (!req.headers.host || !this.hosts.has(req.headers.host.toLowerCase())) throw new ApiError(403, 'wrong Host header: this API answers only on its own loopback address');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) throw new ApiError(403, `cross-origin requests are refused (Origin ${origin})`);
  }

  /** The one place API requests are admitted: Host and Origin, then the token. */
  private admit(req: http.IncomingMessage, token: string | undefined): Scope {
    this.checkOrigin(req);
    const scope = this.options.tokens.scopeOf(token);
    if (!scope) throw new ApiError(401, token ? 'the token is not valid (rotated?)' : 'missing Authorization: Bearer <token> (see .micro-agent/api.json)');
    return scope;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://api.invalid');
      if (!url.pathname.startsWith(`${API_PREFIX}/`)) return this.page(req, res, url.pathname);
      if (url.pathname === `${API_PREFIX}/session`) return await this.session(req, res);
      const token = bearer(req.headers.authorization);
      const scope = this.admit(req, token);
      await this.route(req, res, url, scope, token!);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof ApiError ? err.status : err instanceof EngineError ? engineStatus(err) : 500;
      if (status === 500) this.options.log?.(`api: ${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
      const body: ApiErrorBody = { error: { status, message: (err as Error).message } };
      sendJson(res, status, body, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
      // Stop reading a body we refused, without waiting for the rest of it.
      if (!req.complete) req.once('end', () => undefined).resume();
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, scope: Scope, token: string): Promise<void> {
    const { engine } = this.options;
    const route = `${req.method} ${url.pathname.slice(API_PREFIX.length)}`;
    const runMatch = /^\/runs\/([\w-]{1,64})$/.exec(url.pathname.slice(API_PREFIX.length));
    switch (true) {
      case route === 'GET /events':
        return this.sse(req, res, url, token);
      case route === 'GET /runs':
        return sendJson(res, 200, { runs: engine.runs() });
      case route === 'GET /stats':
        return sendJson(res, 200, engine.stats());
      case route === 'GET /export':
        return this.export(res, url);
      case route === 'POST /runs': {
        requireFull(scope);
        const body = parseStartRun(await readJson(req));
        return sendJson(res, 201, { runId: engine.start(body).runId });
      }
      case req.method === 'DELETE' && runMatch !== null: {
        requireFull(scope);
        const runId = runMatch![1];
        if (engine.cancel(runId)) return sendJson(res, 200, { cancelled: true });
        if (engine.runs().some((run) => run.runId === runId)) throw new ApiError(409, `run ${runId} is already over`);
        throw new ApiError(404, `no run ${runId}`);
      }
      case ['/events', '/runs', '/stats', '/export', '/ws'].includes(url.pathname.slice(API_PREFIX.length)) || runMatch !== null:
        throw new ApiError(405, `${req.method} is not allowed on ${url.pathname}`);
      default:
        throw new ApiError(404, `no such endpoint: ${url.pathname}`);
    }
  }

  /** `GET /v1/events`: SSE from `afterSeq` or `Last-Event-ID`, each event with `id:` = seq. */
  private sse(req: http.IncomingMessage, res: http.ServerResponse, url: URL, token: string): void {
    const afterSeq = seqParam(req.headers['last-event-id'] ?? url.searchParams.get('afterSeq'));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': micro-agent events\n\n');
    const sink: Sink = {
      write: (event, done) => void res.write(`id: ${event.seq}\ndata: ${serialized(event)}\n\n`, done),
      buffered: () => res.writableLength + (res.socket?.writableLength ?? 0),
      close: (reason) => {
        this.options.log?.(`api: dropped an SSE client: ${reason}`);
        res.destroy();
      },
    };
    this.watch(sink, afterSeq, token, () => res.destroy(), res);
  }

  private watch(sink: Sink, afterSeq: number, token: string, close: () => void, closed: NodeJS.EventEmitter): void {
    const feed = new EventFeed(this.options.engine.log, sink, afterSeq, this.options.feedLimits);
    const entry = { feed, token, close };
    this.feeds.add(entry);
    closed.once('close', () => {
      feed.stop();
      this.feeds.delete(entry);
    });
  }

  private closeRevoked(): void {
    for (const entry of this.feeds) if (!this.options.tokens.scopeOf(entry.token)) entry.close();
  }

  private async export(res: http.ServerResponse, url: URL): Promise<void> {
    const query = parseExportQuery(url.searchParams);
    const name = `micro-agent-${query.dataset}.${query.format}`;
    res.writeHead(200, {
      'content-type': query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
    });
    await streamExport(this.options.engine.log, query, (chunk) => new Promise((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve()))));
    res.end();
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    let scope: Scope;
    let token: string | undefined;
    try {
      if (url.pathname !== `${API_PREFIX}/ws`) throw new ApiError(404, 'no such endpoint');
      // Browsers cannot set headers on a WebSocket: the token comes as one of the offered subprotocols.
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p && p !== API_WS_PROTOCOL);
      token = bearer(req.headers.authorization) ?? offered.find((p) => this.options.tokens.scopeOf(p)) ?? offered[0];
      scope = this.admit(req, token);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 500;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${(err as Error).message}\n`);
      return;
    }
    this.ws.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, url, scope, token!));
  }

  private onSocket(ws: WebSocket, url: URL, scope: Scope, token: string): void {
    const sink: Sink = {
      write: (event, done) => ws.send(`{"jsonrpc":"2.0","method":"${EventNotification.method}","params":${serialized(event)}}`, done),
      buffered: () => ws.bufferedAmount,
      close: (reason) => {
        this.options.log?.(`api: dropped a WebSocket client: ${reason}`);
        ws.terminate();
      },
    };
    this.watch(sink, seqParam(url.searchParams.get('afterSeq')), token, () => ws.terminate(), ws);
    ws.on('message', (data, isBinary) => {
      const reply = this.rpc(isBinary ? undefined : data.toString(), scope);
      if (reply) ws.send(JSON.stringify(reply));
    });
  }

  /** One JSON-RPC 2.0 message from a WebSocket: the same four requests as the LSP host. */
  private rpc(text: string | undefined, scope: Scope): object | undefined {
    let message: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    try {
      message = JSON.parse(text ?? '');
    } catch (err) {
      return { jsonrpc: '2.0', id: null, error: { code: -32700, message: `not JSON: ${(err as Error).message}` } };
    }
    const id = typeof message?.id === 'string' || typeof message?.id === 'number' ? message.id : null;
    if (message?.jsonrpc !== '2.0' || typeof message.method !== 'string') return { jsonrpc: '2.0', id, error: { code: -32600, message: 'not a JSON-RPC 2.0 request' } };
    if (id === null) return undefined; // a notification: nothing the API listens for
    const params = (message.params ?? {}) as Record<string, unknown>;
    const { engine } = this.options;
    try {
      switch (message.method) {
        case StartRunRequest.method: {
          requireFull(scope);
          const { uri, ...rest } = params;
          const file = typeof uri === 'string' && uri.startsWith('file:') ? fileURLToPath(uri) : rest.file;
          return { jsonrpc: '2.0', id, result: { runId: engine.start(parseStartRun({ ...rest, file })).runId } };
        }
        case CancelRunRequest.method:
          requireFull(scope);
          return { jsonrpc: '2.0', id, result: { cancelled: typeof params.runId === 'string' && engine.cancel(params.runId) } };
        case RunsRequest.method:
          return { jsonrpc: '2.0', id, result: { runs: engine.runs() } };
        case StatsRequest.method:
          return { jsonrpc: '2.0', id, result: engine.stats() };
        default:
          return { jsonrpc: '2.0', id, error: { code: -32601, message: `unknown method ${message.method}` } };
      }
    } catch (err) {
      const code = err instanceof EngineError ? err.rpcCode : err instanceof ApiError ? (err.status === 403 ? ErrorCodes.Forbidden : ErrorCodes.InvalidParams) : -32603;
      return { jsonrpc: '2.0', id, error: { code, message: (err as Error).message } };
    }
  }

  /** The dashboard page and its files: no data in them, so no token; the page signs in with its one-time code. */
  private page(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    this.checkOrigin(req);
    const { pageDir } = this.options;
    if (req.method !== 'GET' || !pageDir) throw new ApiError(404, `no such endpoint: ${pathname}`);
    const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
    if (pathname === '/') {
      // The page may load only its own files and talk only to this server.
      const csp = `default-src 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws://${req.headers.host}; frame-ancestors 'none'`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, ...headers });
      res.end(PAGE);
      return;
    }
    const file = PAGE_FILES[pathname];
    if (!file) throw new ApiError(404, `no such file: ${pathname}`);
    res.writeHead(200, { 'content-type': file, ...headers });
    fs.createReadStream(path.join(pageDir, pathname)).pipe(res);
  }
}

/** The files the dashboard page loads from dist/webview, with their content types; nothing else is served. */
const PAGE_FILES: Record<string, string> = {
  '/main.js': 'text/javascript; charset=utf-8',
  '/styles.css': 'text/css; charset=utf-8',
  '/browser-theme.css': 'text/css; charset=utf-8',
  '/sql-wasm.wasm': 'application/wasm',
  '/codicons/codicon.css': 'text/css; charset=utf-8',
  '/codicons/codicon.ttf': 'font/ttf',
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/codicons/codicon.css">
<link rel="stylesheet" href="/browser-theme.css">
<link rel="stylesheet" href="/styles.css">
<title>micro-agent dashboard</title>
</head>
<body>
<div id="root" data-wasm="/sql-wasm.wasm"></div>
<script src="/main.js"></script>
</body>
</html>`;

/** A live event goes to every watcher as the same object: serialize it once, not once per client. */
const frames = new WeakMap<AgentEvent, string>();
function serialized(event: AgentEvent): string {
  let text = frames.get(event);
  if (text === undefined) frames.set(event, (text = JSON.stringify(event)));
  return text;
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([\w.~+/=-]+)$/i.exec(header ?? '');
  return match?.[1];
}

function requireFull(scope: Scope): void {
  if (scope !== 'full') throw new ApiError(403, 'this token is read-only; starting and cancelling runs needs the full token');
}

function engineStatus(err: EngineError): number {
  return { invalid_params: 400, run_in_progress: 409, configuration: 422, untrusted: 403 }[err.code];
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ApiError(415, 'send JSON with content-type: application/json');
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
}

const START_RUN_FIELDS = new Set<keyof ApiStartRunBody>(['file', 'testCommand', 'prompt', 'maxRuns', 'provider', 'model']);

/** The body's shape; types and paths are the engine's to check, as for every front end. */
function parseStartRun(value: unknown): RunRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, 'the body must be a JSON object');
  const unknown = Object.keys(value).filter((key) => !START_RUN_FIELDS.has(key as keyof ApiStartRunBody));
  if (unknown.length) throw new ApiError(400, `unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (allowed: ${[...START_RUN_FIELDS].join(', ')})`);
  return value as RunRequest;
}

function seqParam(value: string | string[] | null | undefined): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new ApiError(400, `afterSeq / Last-Event-ID must be a whole number ≥ 0, not "${value}"`);
  return n;
}

const DATASETS: readonly ExportDataset[] = ['events', 'llm_calls', 'runs'];

function parseExportQuery(params: URLSearchParams): ExportQuery {
  const unknown = [...params.keys()].filter((key) => !['format', 'from', 'to', 'type'].includes(key));
  if (unknown.length) throw new ApiError(400, `unknown parameter: ${unknown.join(', ')}`);
  const format = params.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new ApiError(400, `format must be jsonl or csv, not "${format}"`);
  const type = params.get('type') ?? 'events';
  // `type` names a dataset, or one event type (a dataset of those events).
  const dataset = (DATASETS as readonly string[]).includes(type) ? (type as ExportDataset) : 'events';
  if (dataset === 'events' && type !== 'events' && !/^[a-z]+(\.[a-z]+)?$/.test(type)) throw new ApiError(400, `type must be events, llm_calls, runs or an event type such as llm.response, not "${type}"`);
  return { format, dataset, eventType: dataset === 'events' && type !== 'events' ? type : undefined, from: time('from', params.get('from')), to: time('to', params.get('to')) };
}

/** ms since the epoch, or an ISO date. */
function time(name: string, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ApiError(400, `${name} must be ms since the epoch or an ISO date, not "${value}"`);
  return ms;
}

