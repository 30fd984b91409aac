/**
 * How much a model reads in one request, in tokens: what decides whether a large file can be worked on at all.
 * From the vendors' model pages; a model not listed gets a conservative default.
 */
import type { ProviderName } from '../protocol/providers';

const WINDOWS: ReadonlyArray<[prefix: string, tokens: number]> = [
  ['gpt-4.1', 1_047_576],
  ['gpt-5', 400_000],
  ['gpt-4o', 128_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['claude-', 200_000],
];

/**
 * Ollama serves whatever the user pulled, so its window is asked of Ollama (`/api/show`, `Provider.contextWindow`)
 * by the engine before a run and by the adapter before each call. This guess (most coding models there read 32k
 * tokens) is only for a model whose details name no context length.
 */
const OLLAMA_DEFAULT = 32_768;
const DEFAULT = 128_000;

export function contextWindowTokens(provider: ProviderName, model: string): number {
  if (provider === 'ollama') return OLLAMA_DEFAULT;
  return WINDOWS.find(([prefix]) => model.startsWith(prefix))?.[1] ?? DEFAULT;
}

/** A rough count for planning, never for billing: about four characters a token in source code. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
