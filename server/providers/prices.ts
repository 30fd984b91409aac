import type { ProviderName } from '../protocol/providers';
import type { ModelPrice } from '../protocol/providerUsage';

/**
 * USD per million tokens. Sources: the vendors' public price pages; update as they change.
 * `cachedInput`: a prompt token read from the vendor's prompt cache. `cacheWrite`: one written to it, where the
 * vendor bills that apart (Anthropic, 5-minute cache); absent means writes cost the plain input rate (OpenAI
 * caches automatically and charges nothing extra).
 */
export interface Price {
  input: number;
  cachedInput: number;
  cacheWrite?: number;
  output: number;
}

/**
 * OpenAI's cached input is a fixed share of input per family: gpt-5 10%, gpt-4.1 and the o-series 25%, gpt-4o
 * 50%. Anthropic: a cache read is 10% of input, a 5-minute cache write 125%.
 */
const PRICES: Record<string, Price> = {
  // OpenAI
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
  // Anthropic
  'claude-opus-4-5': { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
  'claude-opus-4-1': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-opus-4-0': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-sonnet-4-5': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-opus-4': { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
  'claude-sonnet-4-0': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-sonnet-4': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-3-7-sonnet': { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
  'claude-haiku-4-5': { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5 },
  'claude-3-5-haiku': { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4 },
};

/** Dated snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) and `-latest` share their family's price. */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/** The alias of a dated snapshot (`gpt-4.1-mini-2025-04-14` → `gpt-4.1-mini`); any other name as it is. */
export function modelFamily(model: string): string {
  return model.replace(SNAPSHOT_SUFFIX, '');
}

/**
 * The user's own prices (`devAi.prices`, `.micro-agent/prices.json`), over the table: they price what it lacks (an
 * OpenRouter or vLLM model, a new snapshot) and override what it has (a negotiated rate). Held here, not passed
 * along, because every cost of the process (each call's in `call.ts`, the reconciliation's) must use the same.
 */
let customPrices: Readonly<Record<string, Price>> = {};

/** Replaces the custom prices (per million tokens; cached and cache-write default to the input rate). */
export function setCustomPrices(prices: Readonly<Record<string, ModelPrice>>): void {
  customPrices = Object.fromEntries(
    Object.entries(prices).map(([model, p]) => [
      model,
      { input: p.input, output: p.output, cachedInput: p.cached ?? p.input, cacheWrite: p.cacheWrite ?? p.input },
    ]),
  );
}

export function priceOf(model: string): Price | undefined {
  const family = modelFamily(model);
  return customPrices[model] ?? customPrices[family] ?? PRICES[model] ?? PRICES[family];
}

/** The parts of `inputTokens` that the prompt cache served or took; null (not reported) counts as none. */
export interface CacheUsage {
  cachedInputTokens: number | null;
  cacheWriteInputTokens: number | null;
}

/**
 * Cost of one call, or null when it cannot be known: an unpriced model or missing usage.
 * `inputTokens` is every prompt token (see CallMetrics); the cached and cache-written ones among them are billed
 * at their own rates, the rest at the input rate:
 *   (input − cached − written) × input + cached × cachedInput + written × cacheWrite + output × output
 * Ollama runs on the user's machine, so its calls cost nothing by definition.
 */
export function costOf(
  provider: ProviderName,
  model: string,
  inputTokens: number | null,
  outputTokens: number | null,
  cache: CacheUsage = { cachedInputTokens: null, cacheWriteInputTokens: null },
): number | null {
  if (provider === 'ollama') return 0;
  const price = priceOf(model);
  if (!price || inputTokens === null || outputTokens === null) return null;
  const cached = cache.cachedInputTokens ?? 0;
  const written = cache.cacheWriteInputTokens ?? 0;
  // A vendor's parts never exceed its total; should one ever, bill what it said rather than a negative remainder.
  const uncached = Math.max(0, inputTokens - cached - written);
  return (uncached * price.input + cached * price.cachedInput + written * (price.cacheWrite ?? price.input) + outputTokens * price.output) / 1_000_000;
}
