/** Clients of the live API for tests and benchmarks: plain HTTP, an SSE reader and a JSON-RPC WebSocket. */
import * as http from 'node:http';
import { WebSocket } from 'ws';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiServer, ApiServerOptions } from '../../server/api/server';
import { TokenStore, Tokens } from '../../server/api/tokens';
import { statePaths } from '../../server/foundation/workspace';
import { Engine } from '../../server/engine/engine';
import { EventLog } from '../../server/events/log';
import type { AgentEvent } from '../../server/protocol';
import { makeWorkspace } from './fixtures';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

export function request(
  url: string,
  options: { method?: string; token?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    };
    const req = http.request(url, { method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SseClient {
  events: AgentEvent[];
  /** Resolves when the server ends or drops the stream. */
  ended: Promise<void>;
  status: Promise<number>;
  close(): void;
}

/** Reads `GET /v1/events` as a browser's EventSource would: `id:` and `data:` lines, events split by a blank line. */
export function sse(url: string, token: string, headers: Record<string, string> = {}): SseClient {
  const events: AgentEvent[] = [];
  let req!: http.ClientRequest;
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((resolve) => {
    req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers } }, (res) => {
      resolveStatus(res.statusCode!);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          const id = block.split('\n').find((line) => line.startsWith('id: '));
          if (!data) continue;
          const event = JSON.parse(data.slice(6)) as AgentEvent;
          if (id && Number(id.slice(4)) !== event.seq) throw new Error(`id ${id} does not match seq ${event.seq}`);
          events.push(event);
        }
      });
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
  });
  return { events, ended, status, close: () => req.destroy() };
}

export interface RpcSocket {
  events: AgentEvent[];
  call(method: string, params?: unknown): Promise<{ result?: any; error?: { code: number; message: string } }>;
  close(): void;
}

/** A WebSocket client authenticating as a browser does: the token as an offered subprotocol. */
export async function rpcSocket(url: string, token: string): Promise<RpcSocket> {
  const ws = new WebSocket(url, ['micro-agent.v1', token]);
  const events: AgentEvent[] = [];
  const pending = new Map<number, (reply: any) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse((data as Buffer).toString());
    if (message.method === 'microAgent/event') events.push(message.params);
    else pending.get(message.id)?.(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
  });
  let id = 0;
  return {
    events,
    call: (method, params) =>
      new Promise((resolve) => {
        const n = ++id;
        pending.set(n, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

export interface InProcessApi {
  log: EventLog;
  engine: Engine;
  server: ApiServer;
  url: string;
  tokens: Tokens;
  /** Stops everything and removes the workspace. */
  close(): Promise<void>;
}

/** An ApiServer over a fresh workspace's engine in this process, on a free loopback port: for tests of the
 * server itself and for benchmarks, where a child process would only add noise. */
export async function startInProcessApi(options: Pick<ApiServerOptions, 'feedLimits' | 'log'> = {}): Promise<InProcessApi> {
  const root = makeWorkspace({});
  const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
  const engine = await Engine.create({ root, log, env: {} });
  const store = new TokenStore(statePaths(root).apiTokens);
  const server = new ApiServer({ engine, tokens: store, ...options });
  const url = await server.listen(0, '127.0.0.1');
  return {
    log,
    engine,
    server,
    url,
    tokens: store.current(),
    async close() {
      await server.close();
      await engine.dispose();
      log.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
