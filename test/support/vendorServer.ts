/**
 * A local stand-in for the LLM vendors' servers: the one edge we cannot reach from here. It speaks their real
 * wire formats over a real socket, so the official SDKs run unmodified:
 *   POST /v1/chat/completions  OpenAI chat.completions, SSE chunks, usage in the last chunk, `data: [DONE]`
 *   POST /v1/messages          Anthropic Messages, SSE events message_start … message_stop with usage
 * Each request takes the next scripted reply (or asks `respond`), and is recorded for assertions.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | {
      kind: 'text';
      text: string;
      /**
       * What the vendor reports; default: about 4 characters a token, no cache fields; null: no usage at all.
       * `input` is every prompt token, as both vendors total them; `cachedInput` and `cacheWrite`, when given, are
       * the parts read from and written to the prompt cache, and go on the wire as each vendor sends them:
       * OpenAI `prompt_tokens: input` with `prompt_tokens_details.cached_tokens` (it has no cache-write count);
       * Anthropic `cache_read_input_tokens`, `cache_creation_input_tokens` and `input_tokens` the rest (Anthropic's
       * `input_tokens` leaves the cached parts out), in message_start and again in message_delta.
       */
      usage?: Usage | null;
      /**
       * Anthropic: which events carry the cache counts: both (the default when `usage` has any, as the API does
       * today), or only message_start, or only message_delta (message_start then has the uncached `input_tokens`).
       */
      cacheUsageIn?: 'start' | 'delta' | 'both';
      /** Delay before the first byte of the body (time to first token). */
      firstTokenDelayMs?: number;
      /** Delay between chunks. */
      chunkDelayMs?: number;
      chunkSize?: number;
      finishReason?: 'stop' | 'length';
    }
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroys the socket after sending `afterChunks` chunks (0: before any response). */
  | { kind: 'reset'; afterChunks?: number }
  /** A 200 SSE stream whose data line is not JSON. */
  | { kind: 'malformed' }
  /** Accepts the request and never answers. */
  | { kind: 'hang' };

export interface Usage {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
}

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface VendorServer {
  /** Base URL for OPENAI_BASE_URL (ends in /v1). */
  openaiUrl: string;
  /** Base URL for ANTHROPIC_BASE_URL. */
  anthropicUrl: string;
  requests: RecordedRequest[];
  /** Queue replies, served in order to the next requests. */
  script(...replies: Reply[]): void;
  /** Decide replies from the request once the queue is empty. */
  respond?: (request: RecordedRequest) => Reply;
  close(): Promise<void>;
}

export async function startVendorServer(): Promise<VendorServer> {
  const queue: Reply[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const request: RecordedRequest = { path: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
      requests.push(request);
      const reply = queue.shift() ?? vendor.respond?.(request) ?? { kind: 'error', status: 500, body: { error: { message: 'no scripted reply' } } };
      const flavour = request.path.endsWith('/chat/completions') ? 'openai' : request.path.endsWith('/messages') ? 'anthropic' : undefined;
      if (!flavour) {
        res.writeHead(404).end();
        return;
      }
      void serve(flavour, request, reply, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const vendor: VendorServer = {
    openaiUrl: `http://127.0.0.1:${port}/v1`,
    anthropicUrl: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => queue.push(...replies),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return vendor;
}

/** A suite's view of its vendor server: the running test's one, which the suite's hooks start and close. */
export type VendorHandle = Omit<VendorServer, 'close'>;

/**
 * Gives each test of the calling suite a fresh vendor server: started before each test, closed after it. The
 * handle reads through to the running test's server. `stopFirst` runs after each test, before the server closes:
 * stop there what calls the vendor (a host, a `serve` process), so that it never sees the vendor go away.
 */
export function useVendorServer(stopFirst?: () => Promise<unknown>): VendorHandle {
  let current: VendorServer | undefined;
  const server = (): VendorServer => {
    if (!current) throw new Error('the vendor server runs only during a test');
    return current;
  };
  beforeEach(async () => {
    current = await startVendorServer();
  });
  afterEach(async () => {
    try {
      await stopFirst?.();
    } finally {
      await current?.close();
      current = undefined;
    }
  });
  return {
    get openaiUrl() {
      return server().openaiUrl;
    },
    get anthropicUrl() {
      return server().anthropicUrl;
    },
    get requests() {
      return server().requests;
    },
    get respond() {
      return server().respond;
    },
    set respond(respond) {
      server().respond = respond;
    },
    script: (...replies) => server().script(...replies),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function serve(flavour: 'openai' | 'anthropic', request: RecordedRequest, reply: Reply, res: http.ServerResponse): Promise<void> {
  switch (reply.kind) {
    case 'hang':
      return;
    case 'error':
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? errorBody(flavour, reply.status)));
      return;
    case 'reset':
      if (!reply.afterChunks) {
        res.socket?.destroy();
        return;
      }
      break;
    case 'malformed':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(flavour === 'openai' ? 'data: {"id":"x","choices":[{"delta":{"content":"hi"\n\n' : 'event: message_start\ndata: {not json\n\n');
      return;
    case 'text':
      break;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (reply.kind === 'text' && reply.firstTokenDelayMs) await sleep(reply.firstTokenDelayMs);
  const events =
    reply.kind === 'text'
      ? flavour === 'openai'
        ? openAiEvents(request, reply)
        : anthropicEvents(request, reply)
      : openAiEvents(request, { kind: 'text', text: 'partial reply that never ends' });
  let sent = 0;
  for (const event of events) {
    if (reply.kind === 'reset' && sent === reply.afterChunks) {
      res.socket?.destroy();
      return;
    }
    if (res.destroyed) return;
    res.write(event);
    sent++;
    if (reply.kind === 'text' && reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
  }
  res.end();
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function openAiEvents(request: RecordedRequest, reply: Extract<Reply, { kind: 'text' }>): string[] {
  const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.body.model };
  const data = (payload: object) => `data: ${JSON.stringify({ ...base, ...payload })}\n\n`;
  const out = [data({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })];
  for (const piece of chunks(reply.text, reply.chunkSize ?? 40)) out.push(data({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }));
  out.push(data({ choices: [{ index: 0, delta: {}, finish_reason: reply.finishReason ?? 'stop' }] }));
  const usage = reply.usage === undefined ? defaultUsage(request, reply.text) : reply.usage;
  if (usage && request.body.stream_options?.include_usage) {
    const details = usage.cachedInput === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedInput } };
    out.push(
      data({ choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output, ...details } }),
    );
  }
  out.push('data: [DONE]\n\n');
  return out;
}

function anthropicEvents(request: RecordedRequest, reply: Extract<Reply, { kind: 'text' }>): string[] {
  const sse = (type: string, payload: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  const usage: Usage = (reply.usage === undefined ? defaultUsage(request, reply.text) : reply.usage) ?? { input: 0, output: 0 };
  const cacheFields = {
    input_tokens: usage.input - (usage.cachedInput ?? 0) - (usage.cacheWrite ?? 0),
    ...(usage.cachedInput === undefined ? {} : { cache_read_input_tokens: usage.cachedInput }),
    ...(usage.cacheWrite === undefined ? {} : { cache_creation_input_tokens: usage.cacheWrite }),
  };
  const where = reply.cacheUsageIn ?? (usage.cachedInput === undefined && usage.cacheWrite === undefined ? 'start' : 'both');
  const inStart = where !== 'delta' ? cacheFields : { input_tokens: cacheFields.input_tokens };
  const inDelta = where !== 'start' ? cacheFields : {};
  const out = [
    sse('message_start', {
      message: {
        id: 'msg_test',
        type: 'message',
        role: 'assistant',
        model: request.body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...inStart, output_tokens: 1 },
      },
    }),
    sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    sse('ping', {}),
  ];
  for (const piece of chunks(reply.text, reply.chunkSize ?? 40)) out.push(sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
  out.push(sse('content_block_stop', { index: 0 }));
  out.push(
    sse('message_delta', {
      delta: { stop_reason: reply.finishReason === 'length' ? 'max_tokens' : 'end_turn', stop_sequence: null },
      usage: { ...inDelta, output_tokens: usage.output },
    }),
  );
  out.push(sse('message_stop', {}));
  return out;
}

/** Roughly what a vendor would count: 4 characters a token. */
function defaultUsage(request: RecordedRequest, text: string): Usage {
  return { input: Math.ceil(JSON.stringify(request.body.messages).length / 4), output: Math.ceil(text.length / 4) };
}

function errorBody(flavour: 'openai' | 'anthropic', status: number): object {
  const message = `scripted ${status}`;
  return flavour === 'openai'
    ? { error: { message, type: 'server_error', code: null } }
    : { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } };
}
