import type { CallMetrics, KeyIdentity, ProviderErrorKind } from '../protocol/events';
import type { Headroom } from './rateLimit';
import type { ProviderName } from '../protocol/providers';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * A user message in two parts, for cheaper repeat calls: `stable` is what stays byte-identical from one call to
 * the next (the goal, the test file, context files), `rest` what changes (the file being fixed, the latest test
 * output, earlier attempts). The model reads `stable + rest`, exactly as if it were one `ChatMessage`; the
 * split only tells the adapters where the cacheable prefix ends:
 *   Anthropic      system and `stable` are text blocks marked `cache_control: { type: 'ephemeral' }`, `rest` follows
 *                  as a block of its own (Anthropic caches a prefix from 1,024 to 4,096 tokens up, by model; a shorter
 *                  one is simply not cached, never an error)
 *   OpenAI/Ollama  `stable + rest` as one string: the system message and `stable` form a byte-identical prefix,
 *                  which OpenAI's automatic prefix caching picks up
 * Put it first (or only) in `messages`: a cache prefix is everything before the breakpoint, so a stable part after
 * something that changes caches nothing. No separator is added between the parts: end `stable` with one.
 */
export interface SplitMessage {
  role: 'user';
  stable: string;
  rest: string;
}

export type RequestMessage = ChatMessage | SplitMessage;

/** A message's whole text, as the model reads it. */
export function messageText(message: RequestMessage): string {
  return 'content' in message ? message.content : message.stable + message.rest;
}

export interface ChatRequest {
  model: string;
  system: string;
  /**
   * The conversation. With no `SplitMessage` in it the request goes out as it always has (Anthropic gets the system
   * prompt as a plain string, nothing is marked for caching): caching is what a caller asks for by splitting.
   */
  messages: RequestMessage[];
  maxTokens: number;
  signal?: AbortSignal;
}

/**
 * What one attempt against the vendor produced; the retry wrapper adds timing and cost. Token counts mean what
 * they mean in CallMetrics: `inputTokens` is every prompt token, cached ones included, for every vendor.
 */
export interface StreamedReply {
  text: string;
  finishReason: 'stop' | 'length' | 'other' | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
  /** Ollama's generation speed and model load time (see CallMetrics); null from vendors that do not report them. */
  outputTokensPerSec: number | null;
  loadMs: number | null;
  /** The response's rate-limit headers, read as it arrived (`readRateLimit`); null when it had none. */
  rateLimit: Headroom | null;
}

export type { CallMetrics };

export interface ChatResult extends StreamedReply {
  metrics: CallMetrics;
}

/** A vendor adapter: one streamed attempt, calling `onToken` as text arrives. No retries, no timing. */
export interface VendorAdapter {
  readonly name: ProviderName;
  /** Where requests go, for error messages (never carries a key). */
  readonly endpoint: string;
  /** The key the adapter calls with, named without its characters; absent for a vendor without keys (Ollama). */
  readonly key?: KeyIdentity;
  /** The model's context length as the vendor reports it (Ollama's `/api/show`); absent where only the table knows. */
  contextLength?(model: string, signal: AbortSignal): Promise<number | null>;
  stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply>;
}

export interface Provider {
  readonly name: ProviderName;
  /** Streams a reply; throws ProviderError (with the metrics gathered so far) on failure. */
  chat(req: ChatRequest): Promise<ChatResult>;
  /**
   * How many tokens the model reads in one request: the vendor's own answer where it gives one (Ollama), else the
   * table's (`contextWindows.ts`). Throws as a call would when the vendor cannot be asked.
   */
  contextWindow(model: string, signal: AbortSignal): Promise<number>;
}

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(['rate_limit', 'timeout', 'server', 'network', 'bad_response']);

export class ProviderError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
    /** Seconds or milliseconds the vendor asked us to wait, already in ms. */
    readonly retryAfterMs?: number,
    public metrics?: CallMetrics,
  ) {
    super(message);
    this.name = 'ProviderError';
    this.retryable = RETRYABLE.has(kind);
  }
}
