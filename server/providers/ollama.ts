/**
 * Ollama through its own chat API (`POST /api/chat`, streamed NDJSON), not its OpenAI-compatible `/v1`: only the
 * native API takes `options.num_ctx`, and without it Ollama reads the prompt through its default window (a few
 * thousand tokens), cutting a longer prompt from the front without an error, and the front holds the system prompt
 * with the edit format. So each request names a window sized to its prompt and reply, checked first against the
 * model's real context length (`POST /api/show`), and a prompt that cannot fit is refused before the call.
 * Plain fetch: the wire is two JSON requests and a line-per-object stream, not worth a dependency.
 */
import { DEFAULT_OLLAMA_URL } from '../protocol/providers';
import { estimateTokens } from './contextWindows';
import { ChatRequest, messageText, ProviderError, StreamedReply, VendorAdapter } from './types';

/**
 * Ollama's root URL from `devAi.ollamaUrl` / `OLLAMA_HOST`: often `host:port` without a scheme, and a setting
 * written for the OpenAI-compatible API may end in `/v1`; the native API lives beside it, at the root.
 */
export function ollamaRoot(host: string | undefined): string {
  if (!host) return DEFAULT_OLLAMA_URL;
  const withScheme = /^https?:\/\//.test(host) ? host : `http://${host}`;
  return withScheme.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** Window sizes are whole steps of this many tokens (see numCtx). */
const NUM_CTX_STEP = 8192;

/**
 * The window to ask for: the prompt plus the reply's room. The prompt's size is an estimate (about four characters
 * a token) and code often comes to fewer characters a token, so the prompt gets a quarter more room, as Aider gives
 * it. Rounded up to a whole step because Ollama reloads the model whenever `num_ctx` changes, and a run's prompts
 * differ by a few hundred tokens from call to call. Never more than the model's context length (null: unknown).
 */
export function numCtx(promptTokens: number, maxTokens: number, contextLength: number | null): number {
  const wanted = Math.ceil((promptTokens * 1.25 + maxTokens) / NUM_CTX_STEP) * NUM_CTX_STEP;
  return contextLength === null ? wanted : Math.min(wanted, contextLength);
}

/**
 * The trained context length from `/api/show`'s `model_info`: `<general.architecture>.context_length` (`llama.…`,
 * `qwen2.…`), else the one `….context_length` key there is. Null when it says none.
 */
export function contextLengthOf(show: unknown): number | null {
  const info = (show as { model_info?: Record<string, unknown> } | null)?.model_info;
  if (!info || typeof info !== 'object') return null;
  const arch = info['general.architecture'];
  const keys = Object.keys(info).filter((key) => key.endsWith('.context_length'));
  const value = typeof arch === 'string' && `${arch}.context_length` in info ? info[`${arch}.context_length`] : keys.length === 1 ? info[keys[0]] : undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** A non-2xx answer, shaped as the SDKs' errors are (`status`, `headers`), so `call.ts` classifies it alike. */
class OllamaHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    message: string,
  ) {
    super(message);
    this.name = 'OllamaHttpError';
  }
}

/** The most of an error body kept for the message; Ollama's are one short `{"error": "…"}`. */
const ERROR_BODY_CHARS = 1000;

async function httpError(res: Response, model: string): Promise<OllamaHttpError> {
  const body = (await res.text().catch(() => '')).slice(0, ERROR_BODY_CHARS);
  let message = body || res.statusText;
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: the text as it came
  }
  if (res.status === 404) message += ` (pull it with: ollama pull ${model})`;
  return new OllamaHttpError(res.status, res.headers, message);
}

/** One line of `/api/chat`'s stream: a piece of the message, or the last (`done: true`) with the counts. */
interface ChatLine {
  message?: { content?: string };
  done?: boolean;
  done_reason?: string;
  error?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  /** Nanoseconds, as all of Ollama's durations. */
  eval_duration?: number;
  load_duration?: number;
}

/**
 * Known context lengths by Ollama root and model, for the life of the process: a model's length does not change
 * while it stays pulled, and both the engine's check before a run and the adapter before each call ask for it.
 * Answers are kept, failures are not (Ollama may start, or the model be pulled, a moment later).
 */
const contextLengths = new Map<string, number | null>();

function postJson(root: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
  return fetch(`${root}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

/** The model's context length from `/api/show` (null: Ollama names none); a failed request throws as a call would. */
export async function ollamaContextLength(root: string, model: string, signal: AbortSignal): Promise<number | null> {
  const key = `${root}\n${model}`;
  if (contextLengths.has(key)) return contextLengths.get(key) ?? null;
  const res = await postJson(root, '/api/show', { model }, signal);
  if (!res.ok) throw await httpError(res, model);
  const length = contextLengthOf(await res.json());
  contextLengths.set(key, length);
  return length;
}

export function ollamaAdapter(host: string | undefined): VendorAdapter {
  const root = ollamaRoot(host);

  return {
    name: 'ollama',
    endpoint: root,
    contextLength: (model, signal) => ollamaContextLength(root, model, signal),
    async stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply> {
      const messages = [{ role: 'system', content: req.system }, ...req.messages.map((m) => ({ role: m.role, content: messageText(m) }))];
      const promptTokens = estimateTokens(messages.reduce((sum, m) => sum + m.content.length, 0));
      const window = await ollamaContextLength(root, req.model, signal);
      if (window !== null && promptTokens + req.maxTokens > window) {
        const tokens = (n: number) => n.toLocaleString('en-US');
        throw new ProviderError(
          'invalid_request',
          `the prompt is about ${tokens(promptTokens)} tokens plus ${tokens(req.maxTokens)} for the reply, but ${req.model} reads at most ` +
            `${tokens(window)} (its context length, from Ollama); Ollama would cut the prompt, so nothing was sent: choose a model with a larger ` +
            'context window or a smaller file',
        );
      }
      const res = await postJson(
        root,
        '/api/chat',
        { model: req.model, messages, stream: true, options: { num_ctx: numCtx(promptTokens, req.maxTokens, window), num_predict: req.maxTokens } },
        signal,
      );
      if (!res.ok) throw await httpError(res, req.model);
      if (!res.body) throw new Error('the reply had no body');
      let text = '';
      let last: ChatLine | undefined;
      const read = (line: string) => {
        if (!line.trim()) return;
        const parsed = JSON.parse(line) as ChatLine;
        // Ollama reports a failure after the 200 (out of memory, a crashed runner) as a line of its own.
        if (typeof parsed.error === 'string') throw new ProviderError('server', `ollama failed mid-reply: ${parsed.error}`);
        const piece = parsed.message?.content;
        if (piece) {
          text += piece;
          onToken();
        }
        if (parsed.done) last = parsed;
      };
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            read(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
          }
        }
        read(buffered + decoder.decode());
      } finally {
        // A reply abandoned part way (a bad line, an abort) must not hold its socket open.
        reader.cancel().catch(() => undefined);
      }
      if (!last) throw new Error('the stream ended before its last line (done: true)');
      const evalSeconds = typeof last.eval_duration === 'number' ? last.eval_duration / 1e9 : 0;
      return {
        text,
        finishReason: last.done_reason === 'stop' ? 'stop' : last.done_reason === 'length' ? 'length' : 'other',
        inputTokens: last.prompt_eval_count ?? null,
        outputTokens: last.eval_count ?? null,
        // Ollama has no prompt cache that it reports or bills apart.
        cachedInputTokens: null,
        cacheWriteInputTokens: null,
        outputTokensPerSec: typeof last.eval_count === 'number' && evalSeconds > 0 ? last.eval_count / evalSeconds : null,
        loadMs: typeof last.load_duration === 'number' ? last.load_duration / 1e6 : null,
        rateLimit: null,
      };
    },
  };
}
