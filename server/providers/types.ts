import type { CallMetrics, ProviderErrorKind } from '../protocol/events';
import type { ProviderName } from '../protocol/providers';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  system: string;
  messages: ChatMessage[];
  maxTokens: number;
  signal?: AbortSignal;
}

/** What one attempt against the vendor produced; the retry wrapper adds timing and cost. */
export interface StreamedReply {
  text: string;
  finishReason: 'stop' | 'length' | 'other' | null;
  inputTokens: number | null;
  outputTokens: number | null;
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
  stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply>;
}

export interface Provider {
  readonly name: ProviderName;
  /** Streams a reply; throws ProviderError (with the metrics gathered so far) on failure. */
  chat(req: ChatRequest): Promise<ChatResult>;
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
