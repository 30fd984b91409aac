/**
 * The OpenTelemetry GenAI semantic conventions as micro-agent exports them (traces and metrics alike).
 *
 * The GenAI names are still "development" status: `@opentelemetry/semantic-conventions` has them only in its
 * `incubating` entry point, whose exports may change in any minor release, and its README asks users to copy
 * such names instead of importing them. They follow the conventions as they stand now (semconv 1.37 and later,
 * maintained in open-telemetry/semantic-conventions-genai).
 */
import type { Attributes } from '@opentelemetry/api';
import type { ProviderName } from '../protocol';
import type { RateLimit } from '../protocol/events';

export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
/** The pre-1.37 name of `gen_ai.provider.name`: emitted only when asked for (see `genAiConventions`). */
export const GEN_AI_SYSTEM = 'gen_ai.system';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
/** Both part of `gen_ai.usage.input_tokens`, as the convention asks (and as `inputTokens` counts them). */
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
/** Seconds from issuing the request to the first chunk of the streamed response (span attribute). */
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';

/**
 * micro-agent's own names where the conventions have none. They define no span attribute for a model server's
 * generation speed or load time (only `gen_ai.server.*` metrics, for the server itself to emit) and nothing for
 * rate limits, so these carry the `micro_agent.` prefix as the other extensions do.
 */
export const MICRO_AGENT_OUTPUT_TOKENS_PER_SEC = 'micro_agent.output_tokens_per_sec';
export const MICRO_AGENT_LOAD_MS = 'micro_agent.load_ms';
export const MICRO_AGENT_RATE_LIMIT = {
  requestsLimit: 'micro_agent.rate_limit.requests.limit',
  requestsRemaining: 'micro_agent.rate_limit.requests.remaining',
  tokensLimit: 'micro_agent.rate_limit.tokens.limit',
  tokensRemaining: 'micro_agent.rate_limit.tokens.remaining',
  /** ISO 8601 (UTC): when the binding limit resets. */
  resetAt: 'micro_agent.rate_limit.reset_at',
  /** The key's variable and SHA-256 fingerprint (`KeyIdentity`); never any of the key itself. */
  keySource: 'micro_agent.rate_limit.key.source',
  keyFingerprint: 'micro_agent.rate_limit.key.fingerprint',
} as const;

/** A call's rate-limit headroom as span attributes: only the fields the vendor reported (null is unknown, not 0). */
export function rateLimitAttributes(rateLimit: RateLimit | null): Attributes {
  if (!rateLimit) return {};
  const names = MICRO_AGENT_RATE_LIMIT;
  const attributes: Attributes = {};
  for (const field of ['requestsLimit', 'requestsRemaining', 'tokensLimit', 'tokensRemaining'] as const) {
    const value = rateLimit[field];
    if (value !== null) attributes[names[field]] = value;
  }
  if (rateLimit.resetAt !== null) attributes[names.resetAt] = new Date(rateLimit.resetAt).toISOString();
  if (rateLimit.key) {
    attributes[names.keySource] = rateLimit.key.source;
    attributes[names.keyFingerprint] = rateLimit.key.fingerprint;
  }
  return attributes;
}

/** The GenAI client metrics: histograms, with the units and bucket boundaries the conventions give. */
export const GEN_AI_METRICS = {
  tokenUsage: {
    name: 'gen_ai.client.token.usage',
    unit: '{token}',
    description: 'Number of input and output tokens used.',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  },
  operationDuration: {
    name: 'gen_ai.client.operation.duration',
    unit: 's',
    description: 'GenAI operation duration.',
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  },
  timeToFirstChunk: {
    name: 'gen_ai.client.operation.time_to_first_chunk',
    unit: 's',
    description: 'Time to receive the first chunk, from issuing the generation request.',
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
  },
} as const;

/**
 * `gen_ai.provider.name` values: `openai` and `anthropic` are the convention's well-known values; Ollama has
 * none, and the convention asks for the provider's own lowercase name then.
 */
const GEN_AI_PROVIDER: Record<ProviderName, string> = { openai: 'openai', anthropic: 'anthropic', ollama: 'ollama' };

export interface GenAiConventions {
  /** Also emit `gen_ai.system` beside `gen_ai.provider.name`, for dashboards built on the old name. */
  duplicateSystem: boolean;
}

/**
 * What `OTEL_SEMCONV_STABILITY_OPT_IN` (a comma-separated list) asks for. micro-agent emits the latest GenAI
 * conventions by default (`gen_ai_latest_experimental` is accepted and changes nothing); `gen_ai/dup` also
 * emits the replaced `gen_ai.system`, as `http/dup` does for the HTTP conventions' old names.
 */
export function genAiConventions(env: NodeJS.ProcessEnv): GenAiConventions {
  const values = (env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '').split(',').map((value) => value.trim().toLowerCase());
  return { duplicateSystem: values.includes('gen_ai/dup') };
}

export function providerAttributes(provider: ProviderName, model: string, conventions: GenAiConventions): Attributes {
  const name = GEN_AI_PROVIDER[provider] ?? provider;
  return { [GEN_AI_PROVIDER_NAME]: name, ...(conventions.duplicateSystem ? { [GEN_AI_SYSTEM]: name } : {}), [GEN_AI_REQUEST_MODEL]: model };
}
