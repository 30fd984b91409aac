/**
 * The live API's WebSocket (`GET /v1/ws`): every event as a `microAgent/event` JSON-RPC notification, and the
 * handler table's methods as JSON-RPC 2.0 requests. A client that breaks the protocol (an unmasked or
 * oversized frame, bad UTF-8) is closed with the matching close code by `ws`; its error is logged here and
 * touches no other connection.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { dispatch, isEngineMethod, replyError } from '../engine/handlers';
import type { Engine } from '../engine/engine';
import { API_PREFIX, API_WS_PROTOCOL, Scope } from '../protocol/api';
import { Methods } from '../protocol/methods';
import { bearer, Gate } from './auth';
import { ApiError, MAX_BODY_BYTES } from './http';
import { seqParam } from './routes';
import { serialized, Sink, Watchers } from './stream';

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;

export interface SocketContext {
  engine: Engine;
  gate: Gate;
  watchers: Watchers;
  log?: (message: string) => void;
}

export class SocketEndpoint {
  /** Made on the first upgrade (see `sockets`). */
  private server: WebSocketServer | undefined;

  constructor(private readonly ctx: SocketContext) {}

  /**
   * The WebSocket server, made when a client first asks for one: `ws` and the TLS and HTTPS modules it loads
   * are then left out of every start that serves no socket (the product bundles it apart: LAZY in esbuild.mjs).
   * A synchronous require, as an upgrade is handled at once.
   */
  private sockets(): WebSocketServer {
    if (!this.server) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { WebSocketServer } = require('ws') as typeof import('ws');
      this.server = new WebSocketServer({
        noServer: true,
        maxPayload: MAX_BODY_BYTES,
        handleProtocols: (offered) => (offered.has(API_WS_PROTOCOL) ? API_WS_PROTOCOL : false),
      });
      this.server.on('error', (err) => this.ctx.log?.(`api: WebSocket server: ${err.message}`));
    }
    return this.server;
  }

  /** An HTTP upgrade: admitted like any request (the token may come as a subprotocol), or answered and closed. */
  upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    let scope: Scope;
    let token: string | undefined;
    let afterSeq: number;
    try {
      if (url.pathname !== `${API_PREFIX}/ws`) throw new ApiError(404, 'no such endpoint');
      // Browsers cannot set headers on a WebSocket: the token comes as one of the offered subprotocols.
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p && p !== API_WS_PROTOCOL);
      token = bearer(req.headers.authorization) ?? offered.find((p) => this.ctx.gate.tokens.scopeOf(p)) ?? offered[0];
      scope = this.ctx.gate.admit(req, token);
      afterSeq = seqParam(url.searchParams.get('afterSeq'));
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 500;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${(err as Error).message}\n`);
      return;
    }
    this.sockets().handleUpgrade(req, socket, head, (ws) => this.connected(ws, afterSeq, scope, token));
  }

  /** Ends every connection at once (the server is stopping). */
  closeAll(): void {
    for (const client of this.server?.clients ?? []) client.terminate();
  }

  private connected(ws: WebSocket, afterSeq: number, scope: Scope, token: string): void {
    // Without this listener a protocol error from one client would be an uncaught 'error' and end the process.
    ws.on('error', (err) => this.ctx.log?.(`api: closed a WebSocket client: ${err.message}`));
    const sink: Sink = {
      write: (event, done) => ws.send(`{"jsonrpc":"2.0","method":"${Methods.event}","params":${serialized(event)}}`, done),
      buffered: () => ws.bufferedAmount,
      close: (reason) => {
        this.ctx.log?.(`api: dropped a WebSocket client: ${reason}`);
        ws.terminate();
      },
    };
    this.ctx.watchers.watch(sink, afterSeq, token, () => ws.terminate(), ws);
    ws.on('message', (data, isBinary) => {
      // binaryType is the default, 'nodebuffer': a message, fragmented or not, arrives as one Buffer.
      // Replies go out as each request finishes; one that fails to send (the client left) is dropped with it.
      void this.rpc(isBinary ? undefined : (data as Buffer).toString(), scope).then((reply) => {
        if (reply && ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
      });
    });
  }

  /** One JSON-RPC 2.0 message: the handler table's methods, as the LSP host serves them. */
  private async rpc(text: string | undefined, scope: Scope): Promise<object | undefined> {
    let message: { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    try {
      message = JSON.parse(text ?? '') as typeof message;
    } catch (err) {
      return { jsonrpc: '2.0', id: null, error: { code: PARSE_ERROR, message: `not JSON: ${(err as Error).message}` } };
    }
    const id = typeof message?.id === 'string' || typeof message?.id === 'number' ? message.id : null;
    if (message?.jsonrpc !== '2.0' || typeof message.method !== 'string')
      return { jsonrpc: '2.0', id, error: { code: INVALID_REQUEST, message: 'not a JSON-RPC 2.0 request' } };
    if (id === null) return undefined; // a notification: nothing the API listens for
    if (!isEngineMethod(message.method))
      return { jsonrpc: '2.0', id, error: { code: METHOD_NOT_FOUND, message: `unknown method ${message.method.slice(0, 100)}` } };
    try {
      return { jsonrpc: '2.0', id, result: await dispatch(this.ctx.engine, message.method, message.params ?? {}, scope) };
    } catch (err) {
      const { code, message: text, data } = replyError(err);
      return { jsonrpc: '2.0', id, error: { code, message: text, ...(data ? { data } : {}) } };
    }
  }
}
