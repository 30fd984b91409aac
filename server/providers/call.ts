import type { ProviderName } from '../protocol';
import { retryDelay, sleep, type BackoffPolicy } from './backoff';
import { costOf } from './prices';
import { Headroom, parseRetryAfter, readRateLimit } from './rateLimit';
import { CallMetrics, ChatRequest, ChatResult, ProviderError, StreamedReply, VendorAdapter } from './types';

type Usage = Pick<StreamedReply, 'inputTokens' | 'outputTokens' | 'cachedInputTokens' | 'cacheWriteInputTokens' | 'outputTokensPerSec' | 'loadMs'>;

export interface CallPolicy extends BackoffPolicy {
  /** Retries after the first attempt, for retryable failures only. */
  maxRetries: number;
  /** Abort an attempt that makes no progress (no first token, then no next token) for this long. */
  stallTimeoutMs: number;
}

export const DEFAULT_POLICY: CallPolicy = {
  maxRetries: 3,
  stallTimeoutMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
};

/**
 * Runs one model call through an adapter: streaming, timing (latency and time to first token over the
 * whole call, retries included), stall timeout, classified retries with backoff that honours `retry-after`,
 * and cost from the vendor's usage. Failures surface as ProviderError carrying the metrics so far.
 */
export async function callModel(adapter: VendorAdapter, req: ChatRequest, policy: CallPolicy = DEFAULT_POLICY): Promise<ChatResult> {
  const started = performance.now();
  let firstTokenAt: number | null = null;
  let retries = 0;
  // The latest headroom any attempt's response reported: a 429's headers say as much as a success's.
  let rateLimit: Headroom | null = null;
  const noUsage: Usage = {
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheWriteInputTokens: null,
    outputTokensPerSec: null,
    loadMs: null,
  };
  const metricsNow = (reported: Usage = noUsage): CallMetrics => {
    const usage = checkedUsage(reported);
    return {
      provider: adapter.name,
      model: req.model,
      latencyMs: Math.round(performance.now() - started),
      ttftMs: firstTokenAt === null ? null : Math.round(firstTokenAt - started),
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      cacheWriteInputTokens: usage.cacheWriteInputTokens,
      costUsd: costOf(adapter.name, req.model, usage.inputTokens, usage.outputTokens, usage),
      retries,
      outputTokensPerSec: usage.outputTokensPerSec,
      loadMs: usage.loadMs,
      rateLimit: rateLimit && { ...rateLimit, key: adapter.key ?? null },
    };
  };

  for (;;) {
    try {
      const reply = await attempt(adapter, req, policy.stallTimeoutMs, () => {
        firstTokenAt ??= performance.now();
      });
      rateLimit = reply.rateLimit ?? rateLimit;
      return { ...reply, metrics: metricsNow(reply) };
    } catch (err) {
      rateLimit = readRateLimit((err as SdkApiError | undefined)?.headers) ?? rateLimit;
      const error = classify(err, adapter.name, req.signal, adapter.endpoint);
      const delay = error.retryable && retries < policy.maxRetries ? retryDelay(error.retryAfterMs, retries, policy) : undefined;
      if (delay === undefined) {
        error.metrics = metricsNow();
        throw error;
      }
      retries++;
      // A retry starts a fresh stream: its first token is the one the caller waits for.
      firstTokenAt = null;
      await sleep(delay, req.signal).catch(() => {
        const cancelled = new ProviderError('cancelled', 'cancelled', undefined, undefined, metricsNow());
        throw cancelled;
      });
    }
  }
}

/**
 * The vendor's usage as far as it can be believed: a token count is a finite number ≥ 0, anything else (a
 * negative, NaN, a string a proxy sent) is unknown (null), so it prices nothing and the call counts as unpriced
 * rather than lowering what a run, the stats or the daily cap add up.
 */
function checkedUsage(usage: Usage): Usage {
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null);
  return {
    inputTokens: count(usage.inputTokens),
    outputTokens: count(usage.outputTokens),
    cachedInputTokens: count(usage.cachedInputTokens),
    cacheWriteInputTokens: count(usage.cacheWriteInputTokens),
    outputTokensPerSec: count(usage.outputTokensPerSec),
    loadMs: count(usage.loadMs),
  };
}

async function attempt(adapter: VendorAdapter, req: ChatRequest, stallTimeoutMs: number, onFirstToken: () => void) {
  const controller = new AbortController();
  const onCancel = () => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onCancel, { once: true });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort(new Error('stalled'));
    }, stallTimeoutMs);
  };
  arm();
  try {
    if (req.signal?.aborted) throw new ProviderError('cancelled', 'cancelled');
    const reply = await adapter.stream(req, controller.signal, () => {
      onFirstToken();
      arm();
    });
    // The SDKs' stream iterators end quietly when aborted: a reply cut short must not pass as complete.
    if (controller.signal.aborted) throw new ProviderError('cancelled', 'cancelled');
    return reply;
  } catch (err) {
    if (stalled) throw new ProviderError('timeout', `no response from ${adapter.name} for ${stallTimeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onCancel);
  }
}

/** Shape shared by the openai and @anthropic-ai/sdk error classes (both Stainless-generated). */
interface SdkApiError {
  status?: number;
  headers?: Headers;
  message: string;
  name: string;
}

/** Maps anything an adapter throws to a ProviderError with a kind that decides retrying. */
export function classify(err: unknown, provider: ProviderName, signal?: AbortSignal, endpoint = ''): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return new ProviderError('cancelled', 'cancelled');
  const e = (err ?? {}) as SdkApiError;
  const message = e.message || String(err);
  if (typeof e.status === 'number') {
    const status = e.status;
    const retryAfterMs = parseRetryAfter(e.headers);
    const detail = `${provider} answered ${status}: ${message}`;
    if (status === 401 || status === 403) return new ProviderError('auth', detail, status);
    if (status === 429) return new ProviderError('rate_limit', detail, status, retryAfterMs);
    if (status === 408) return new ProviderError('timeout', detail, status, retryAfterMs);
    if (status >= 500) return new ProviderError('server', detail, status, retryAfterMs);
    return new ProviderError('invalid_request', detail, status);
  }
  const where = endpoint ? ` at ${endpoint}` : '';
  if (e.name === 'APIConnectionTimeoutError') return new ProviderError('timeout', `${provider} timed out${where}: ${message}`);
  if (e.name === 'APIConnectionError' || isNetworkError(err)) {
    const hint = provider === 'ollama' ? ' Is Ollama running? Set OLLAMA_HOST or devAi.ollamaUrl if it listens elsewhere.' : '';
    return new ProviderError('network', `${provider} unreachable${where}: ${message.replace(/\.$/, '')}.${hint}`);
  }
  return new ProviderError('bad_response', `${provider} sent a reply that could not be read: ${message}`);
}

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_\w+)$/.test(code)) return true;
    if (e.message === 'terminated' || e.message === 'fetch failed') return true;
  }
  return false;
}
