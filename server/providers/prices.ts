import type { ProviderName } from '../protocol';

/** USD per million tokens. Sources: the vendors' public price pages; update as they change. */
interface Price {
  input: number;
  output: number;
}

const PRICES: Record<string, Price> = {
  // OpenAI
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o4-mini': { input: 1.1, output: 4.4 },
  // Anthropic
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4-0': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4-0': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
};

/** Dated snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) and `-latest` share their family's price. */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

export function priceOf(model: string): Price | undefined {
  return PRICES[model] ?? PRICES[model.replace(SNAPSHOT_SUFFIX, '')];
}

/**
 * Cost of one call, or null when it cannot be known: an unpriced model or missing usage.
 * Ollama runs on the user's machine, so its calls cost nothing by definition.
 */
export function costOf(provider: ProviderName, model: string, inputTokens: number | null, outputTokens: number | null): number | null {
  if (provider === 'ollama') return 0;
  const price = priceOf(model);
  if (!price || inputTokens === null || outputTokens === null) return null;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}
