/**
 * A local stand-in for the LLM vendors' servers: the one edge we cannot reach from here. It speaks their real
 * wire formats over a real socket, so the official SDKs run unmodified:
 *   POST /v1/chat/completions  OpenAI chat.completions, SSE chunks, usage in the last chunk, `data: [DONE]`
 *   POST /v1/messages          Anthropic Messages, SSE events message_start … message_stop with usage
 *   POST /api/chat             Ollama's own chat API, NDJSON lines, the counts and durations in the last (`done: true`)
 *   POST /api/show             Ollama's model details, `model_info` with `<arch>.context_length` (`ollamaModels`)
 *   GET  /v1/organization/…, /v1/organizations/…  the admin APIs' usage and cost reports (`adminServer.ts`, `admin`)
 * Each chat request takes the next scripted reply (or asks `respond`), and is recorded for assertions.
 *
 * As the vendors do, OpenAI and Anthropic answer every request (a refusal too) with the key's rate-limit headers,
 * counted against `limits` over fixed windows: OpenAI `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with
 * Go durations as resets, Anthropic `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
 * with RFC 3339 times. A request past a limit is a 429 with `retry-after`, as theirs are. Ollama has no rate limits.
 * The Ollama stand-in also does what makes a native client necessary: without `options.num_ctx` it reads the prompt
 * through a 4,096-token window (Ollama's default), so a longer prompt is cut and `prompt_eval_count` says so.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminStandIn, type AdminStandIn } from './adminServer';

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
      /** Ollama's `load_duration` and `eval_duration`, in ms; default a warm model (12 ms) generating 50 tokens/s. */
      ollamaTiming?: { loadMs: number; evalMs: number };
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
  | { kind: 'hang' }
  /** Ollama: a 200 stream that sends `text`, then an `{"error": message}` line, as a runner that died mid-reply does. */
  | { kind: 'errorLine'; text: string; message: string };

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

/** A key's rate limits, per fixed window. */
export interface RateLimits {
  requests: number;
  /** OpenAI: tokens per window (the prompt and `max_tokens` count). Anthropic: input tokens per window. */
  tokens: number;
  /** Anthropic: output tokens per window (`max_tokens` counts when the request arrives, as Anthropic estimates). */
  outputTokens: number;
  windowMs: number;
}

/** A generous paid tier (OpenAI tier 5 requests, Anthropic tier 4 tokens): tests that do not set limits never meet them. */
export const DEFAULT_LIMITS: RateLimits = { requests: 4000, tokens: 2_000_000, outputTokens: 400_000, windowMs: 60_000 };

/** Ollama's window when a request names no `num_ctx` (its default below 24 GiB of VRAM). */
export const OLLAMA_DEFAULT_NUM_CTX = 4096;

export interface VendorServer {
  /** Base URL for OPENAI_BASE_URL (ends in /v1). */
  openaiUrl: string;
  /** Base URL for ANTHROPIC_BASE_URL. */
  anthropicUrl: string;
  /** Ollama's root (`OLLAMA_HOST`, `devAi.ollamaUrl`). */
  ollamaUrl: string;
  requests: RecordedRequest[];
  /** The key's rate limits; set before the requests they should govern. The window starts at the first request. */
  limits: RateLimits;
  /** The models the Ollama stand-in has pulled: name → architecture and trained context length. */
  ollamaModels: Record<string, { arch: string; contextLength: number }>;
  /** Queue replies, served in order to the next requests. */
  script(...replies: Reply[]): void;
  /** Decide replies from the request once the queue is empty. */
  respond?: (request: RecordedRequest) => Reply;
  /** The org's admin API on the same base URLs, as the vendors serve it: its usage data, keys and recorded requests. */
  admin: AdminStandIn;
  close(): Promise<void>;
}

export async function startVendorServer(): Promise<VendorServer> {
  const queue: Reply[] = [];
  const requests: RecordedRequest[] = [];
  const admin = createAdminStandIn();
  const sockets = new Set<import('node:net').Socket>();
  /** What each key used of its limits in its current window: the vendors meter per key (organisation and project). */
  const usedByKey = new Map<string, { startedAt: number; requests: number; tokens: number; outputTokens: number }>();
  /** Counts a request against the limits; the headers to send, and whether it went over. */
  const meter = (flavour: Flavour, request: RecordedRequest): { headers: Record<string, string>; over: boolean } => {
    if (flavour === 'ollama') return { headers: {}, over: false };
    const now = Date.now();
    const { limits } = vendor;
    const key = `${flavour} ${String(request.headers.authorization ?? request.headers['x-api-key'] ?? '')}`;
    let used = usedByKey.get(key) ?? { startedAt: 0, requests: 0, tokens: 0, outputTokens: 0 };
    if (now - used.startedAt >= limits.windowMs) used = { startedAt: now, requests: 0, tokens: 0, outputTokens: 0 };
    usedByKey.set(key, used);
    const input = promptTokens(request);
    const output = Number(request.body?.max_tokens ?? request.body?.max_completion_tokens ?? 0);
    const cost = { requests: 1, tokens: flavour === 'openai' ? input + output : input, outputTokens: flavour === 'anthropic' ? output : 0 };
    const over =
      used.requests + cost.requests > limits.requests ||
      used.tokens + cost.tokens > limits.tokens ||
      used.outputTokens + cost.outputTokens > limits.outputTokens;
    if (!over) {
      used.requests += cost.requests;
      used.tokens += cost.tokens;
      used.outputTokens += cost.outputTokens;
    }
    const resetAt = used.startedAt + limits.windowMs;
    const headers = flavour === 'openai' ? openAiLimitHeaders(limits, used, resetAt - now) : anthropicLimitHeaders(limits, used, resetAt);
    if (over) headers['retry-after'] = String(Math.max(1, Math.ceil((resetAt - now) / 1000)));
    return { headers, over };
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    req.on('end', () => {
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // As the vendors answer a body that is not JSON; a throw here would take the test process down.
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'the request body is not JSON' }));
        return;
      }
      const request: RecordedRequest = { path: req.url ?? '', headers: req.headers, body };
      if (admin.handle(req.method ?? 'GET', request.path, req.headers, res)) return;
      requests.push(request);
      if (request.path === '/api/show') {
        showModel(vendor.ollamaModels, request, res);
        return;
      }
      const flavour: Flavour | undefined = request.path.endsWith('/chat/completions')
        ? 'openai'
        : request.path.endsWith('/messages')
          ? 'anthropic'
          : request.path === '/api/chat'
            ? 'ollama'
            : undefined;
      if (!flavour) {
        res.writeHead(404).end();
        return;
      }
      // Ollama reads the prompt through num_ctx (its default without one), never more than the model was trained on.
      const pulled = flavour === 'ollama' ? vendor.ollamaModels[String(request.body?.model)] : undefined;
      if (flavour === 'ollama' && !pulled) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: `model '${request.body?.model}' not found, try pulling it first` }));
        return;
      }
      const ollamaWindow = Math.min(Number(request.body?.options?.num_ctx ?? OLLAMA_DEFAULT_NUM_CTX), pulled?.contextLength ?? Infinity);
      const metered = meter(flavour, request);
      const scripted = queue.shift() ?? vendor.respond?.(request) ?? { kind: 'error', status: 500, body: { error: { message: 'no scripted reply' } } };
      const reply: Reply = metered.over ? { kind: 'error', status: 429 } : scripted;
      void serve(flavour, request, reply, res, { limitHeaders: metered.headers, ollamaWindow });
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
    ollamaUrl: `http://127.0.0.1:${port}`,
    requests,
    limits: { ...DEFAULT_LIMITS },
    ollamaModels: { 'qwen2.5-coder': { arch: 'qwen2', contextLength: 32_768 } },
    script: (...replies) => queue.push(...replies),
    admin,
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
    get ollamaUrl() {
      return server().ollamaUrl;
    },
    get limits() {
      return server().limits;
    },
    set limits(limits) {
      server().limits = limits;
    },
    get ollamaModels() {
      return server().ollamaModels;
    },
    get admin() {
      return server().admin;
    },
    set ollamaModels(models) {
      server().ollamaModels = models;
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

type Flavour = 'openai' | 'anthropic' | 'ollama';

async function serve(
  flavour: Flavour,
  request: RecordedRequest,
  reply: Reply,
  res: http.ServerResponse,
  { limitHeaders, ollamaWindow }: { limitHeaders: Record<string, string>; ollamaWindow: number },
): Promise<void> {
  switch (reply.kind) {
    case 'hang':
      return;
    case 'error':
      res.writeHead(reply.status, { 'content-type': 'application/json', ...limitHeaders, ...reply.headers });
      res.end(JSON.stringify(reply.body ?? errorBody(flavour, reply.status)));
      return;
    case 'reset':
      if (!reply.afterChunks) {
        res.socket?.destroy();
        return;
      }
      break;
    case 'malformed':
      res.writeHead(200, { 'content-type': flavour === 'ollama' ? 'application/x-ndjson' : 'text/event-stream', ...limitHeaders });
      res.end(
        flavour === 'openai'
          ? 'data: {"id":"x","choices":[{"delta":{"content":"hi"\n\n'
          : flavour === 'anthropic'
            ? 'event: message_start\ndata: {not json\n\n'
            : '{"model":"x","message":{"role":"assistant","content":"hi"\n',
      );
      return;
    case 'errorLine': {
      if (flavour !== 'ollama') throw new Error('errorLine is how Ollama fails mid-stream; script it for /api/chat');
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const [piece] = ollamaLines(request, { kind: 'text', text: reply.text }, ollamaWindow);
      res.end(piece + `${JSON.stringify({ error: reply.message })}\n`);
      return;
    }
    case 'text':
      break;
  }
  res.writeHead(200, { 'content-type': flavour === 'ollama' ? 'application/x-ndjson' : 'text/event-stream', 'cache-control': 'no-cache', ...limitHeaders });
  if (reply.kind === 'text' && reply.firstTokenDelayMs) await sleep(reply.firstTokenDelayMs);
  const text: Extract<Reply, { kind: 'text' }> = reply.kind === 'text' ? reply : { kind: 'text', text: 'partial reply that never ends' };
  const events =
    flavour === 'openai' ? openAiEvents(request, text) : flavour === 'anthropic' ? anthropicEvents(request, text) : ollamaLines(request, text, ollamaWindow);
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

/**
 * Ollama's /api/chat stream: one JSON object a line, `done: false` with a piece of the message each, then one
 * `done: true` line with `done_reason`, the counts and the durations (nanoseconds). The prompt is read through
 * `options.num_ctx` (4,096 without it, at most the model's context length): what does not fit is cut, and
 * `prompt_eval_count` counts what was read, as Ollama's do.
 */
function ollamaLines(request: RecordedRequest, reply: Extract<Reply, { kind: 'text' }>, window: number): string[] {
  const base = () => ({ model: request.body.model, created_at: new Date().toISOString() });
  const line = (payload: object) => `${JSON.stringify({ ...base(), ...payload })}\n`;
  const out = chunks(reply.text, reply.chunkSize ?? 40).map((piece) => line({ message: { role: 'assistant', content: piece }, done: false }));
  const usage = reply.usage === undefined ? { input: Math.min(promptTokens(request), window), output: Math.ceil(reply.text.length / 4) } : reply.usage;
  const timing = reply.ollamaTiming ?? { loadMs: 12, evalMs: ((usage?.output ?? 0) / 50) * 1000 };
  const ns = (ms: number) => Math.round(ms * 1e6);
  const counts = usage
    ? { prompt_eval_count: usage.input, prompt_eval_duration: ns(usage.input / 2), eval_count: usage.output, eval_duration: ns(timing.evalMs) }
    : {};
  out.push(
    line({
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: reply.finishReason ?? 'stop',
      total_duration: ns(timing.loadMs + timing.evalMs),
      load_duration: ns(timing.loadMs),
      ...counts,
    }),
  );
  return out;
}

/** Ollama's POST /api/show: the model's details, or 404 for a model not pulled. */
function showModel(models: VendorServer['ollamaModels'], request: RecordedRequest, res: http.ServerResponse): void {
  const name = String(request.body?.model ?? request.body?.name ?? '');
  const model = models[name] ?? models[name.replace(/:latest$/, '')];
  if (!model) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `model '${name}' not found` }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      license: '',
      modelfile: `FROM ${name}`,
      parameters: 'stop "<|im_end|>"',
      template: '{{ .Prompt }}',
      details: { parent_model: '', format: 'gguf', family: model.arch, families: [model.arch], parameter_size: '7.6B', quantization_level: 'Q4_K_M' },
      model_info: {
        'general.architecture': model.arch,
        'general.parameter_count': 7_615_616_512,
        [`${model.arch}.attention.head_count`]: 28,
        [`${model.arch}.context_length`]: model.contextLength,
        [`${model.arch}.embedding_length`]: 3584,
      },
      capabilities: ['completion'],
      modified_at: '2026-11-02T10:00:00Z',
    }),
  );
}

/** The prompt as a vendor would roughly count it: 4 characters a token of the system prompt and the messages. */
function promptTokens(request: RecordedRequest): number {
  const body = request.body ?? {};
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : Array.isArray(value) ? value.map((block: any) => text(block?.text ?? block?.content ?? '')).join('') : '';
  const system = text(body.system);
  const messages = Array.isArray(body.messages) ? body.messages.map((m: any) => text(m.content)).join('') : '';
  return Math.ceil((system.length + messages.length) / 4);
}

function openAiLimitHeaders(limits: RateLimits, used: { requests: number; tokens: number }, resetInMs: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(limits.requests),
    'x-ratelimit-limit-tokens': String(limits.tokens),
    'x-ratelimit-remaining-requests': String(Math.max(0, limits.requests - used.requests)),
    'x-ratelimit-remaining-tokens': String(Math.max(0, limits.tokens - used.tokens)),
    'x-ratelimit-reset-requests': goDuration(resetInMs),
    'x-ratelimit-reset-tokens': goDuration(resetInMs),
  };
}

function anthropicLimitHeaders(limits: RateLimits, used: { requests: number; tokens: number; outputTokens: number }, resetAt: number): Record<string, string> {
  // RFC 3339 to the second, as Anthropic sends them.
  const reset = new Date(resetAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const family = (name: string, limit: number, remaining: number) => ({
    [`anthropic-ratelimit-${name}-limit`]: String(limit),
    [`anthropic-ratelimit-${name}-remaining`]: String(Math.max(0, remaining)),
    [`anthropic-ratelimit-${name}-reset`]: reset,
  });
  const input = { limit: limits.tokens, remaining: limits.tokens - used.tokens };
  const output = { limit: limits.outputTokens, remaining: limits.outputTokens - used.outputTokens };
  // The tokens family is the most restrictive of the two in effect.
  const tightest = output.remaining / output.limit < input.remaining / input.limit ? output : input;
  return {
    ...family('requests', limits.requests, limits.requests - used.requests),
    ...family('input-tokens', input.limit, input.remaining),
    ...family('output-tokens', output.limit, output.remaining),
    ...family('tokens', tightest.limit, tightest.remaining),
  };
}

/** A duration as Go's time.Duration prints it, as OpenAI's reset headers carry it: `20ms`, `1s`, `6m0s`, `1h2m3.5s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${Number(((ms % 60_000) / 1000).toFixed(3))}s`;
  return hours ? `${hours}h${minutes}m${seconds}` : minutes ? `${minutes}m${seconds}` : seconds;
}

/** Roughly what a vendor would count: 4 characters a token. */
function defaultUsage(request: RecordedRequest, text: string): Usage {
  return { input: Math.ceil(JSON.stringify(request.body.messages).length / 4), output: Math.ceil(text.length / 4) };
}

function errorBody(flavour: Flavour, status: number): object {
  const message = `scripted ${status}`;
  if (flavour === 'ollama') return { error: message };
  return flavour === 'openai'
    ? { error: { message, type: status === 429 ? 'requests' : 'server_error', code: status === 429 ? 'rate_limit_exceeded' : null } }
    : { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } };
}

/**
 * Several models behind one stand-in, told apart by the request's `model` field as the vendors do: each player
 * decides its reply from the request and how many times this model was asked about the same thing before
 * (`keyOf` says what "the same thing" is, e.g. the task a prompt is about; 1 for the first ask). A model without
 * a player is refused as the vendor refuses an unknown model (404).
 */
export function playModels(
  players: Record<string, (request: RecordedRequest, attempt: number) => Reply>,
  keyOf: (request: RecordedRequest) => string = () => '',
): (request: RecordedRequest) => Reply {
  const asked = new Map<string, number>();
  return (request) => {
    const model = String(request.body?.model);
    const player = players[model];
    if (!player) return { kind: 'error', status: 404, body: { error: { message: `The model \`${model}\` does not exist`, type: 'invalid_request_error' } } };
    const key = JSON.stringify([model, keyOf(request)]);
    const attempt = (asked.get(key) ?? 0) + 1;
    asked.set(key, attempt);
    return player(request, attempt);
  };
}

/** The text of every message a chat request sent (OpenAI's or Anthropic's shape), joined: what a player reads. */
export function promptText(request: RecordedRequest): string {
  const messages: Array<{ content: unknown }> = request.body?.messages ?? [];
  return messages
    .map((message) =>
      typeof message.content === 'string'
        ? message.content
        : Array.isArray(message.content)
          ? message.content.map((part: { text?: string }) => part.text ?? '').join('')
          : '',
    )
    .join('\n');
}
