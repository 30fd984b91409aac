import type { ProviderName } from '../protocol';
import { anthropicAdapter } from './anthropic';
import { CallPolicy, DEFAULT_POLICY, callModel } from './call';
import { ollamaAdapter } from './ollama';
import { openAiAdapter } from './openai';
import { ConfigError, Provider, VendorAdapter } from './types';

export const DEFAULT_MODELS: Record<ProviderName, string> = {
  openai: 'gpt-4.1-mini',
  anthropic: 'claude-sonnet-4-5',
  ollama: 'qwen2.5-coder',
};

/** The variables a provider reads its key from; the log redacts their values. */
export const KEY_VARIABLES: Record<ProviderName, string | null> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  ollama: null,
};

export type Env = Record<string, string | undefined>;

/** Every secret value present in the environment, for redaction. */
export function secretsIn(env: Env): string[] {
  return Object.values(KEY_VARIABLES).flatMap((name) => (name && env[name] ? [env[name]!] : []));
}

/** The provider to use when neither the request nor the settings name one: the first with a key, else Ollama. */
export function defaultProvider(env: Env): ProviderName {
  if (env.OPENAI_API_KEY) return 'openai';
  if (env.ANTHROPIC_API_KEY) return 'anthropic';
  return 'ollama';
}

function requireKey(env: Env, variable: string, provider: ProviderName): string {
  const key = env[variable]?.trim();
  if (!key) throw new ConfigError(`${provider}: no API key. Set ${variable} (or store one with "dev-ai: Set API Key").`);
  return key;
}

export function createAdapter(name: ProviderName, env: Env, ollamaUrl?: string): VendorAdapter {
  switch (name) {
    case 'openai':
      return openAiAdapter({
        name,
        apiKey: requireKey(env, 'OPENAI_API_KEY', name),
        baseURL: env.OPENAI_BASE_URL || undefined,
        maxTokensField: 'max_completion_tokens',
      });
    case 'anthropic':
      return anthropicAdapter(requireKey(env, 'ANTHROPIC_API_KEY', name), env.ANTHROPIC_BASE_URL || undefined);
    case 'ollama':
      return ollamaAdapter(ollamaUrl || env.OLLAMA_HOST);
    default:
      throw new ConfigError(`unknown provider "${name as string}" (expected openai, anthropic or ollama)`);
  }
}

/** A ready provider. Throws ConfigError (naming the variable) before any call when a key is missing. */
export function createProvider(name: ProviderName, env: Env, options: { ollamaUrl?: string; policy?: CallPolicy } = {}): Provider {
  const adapter = createAdapter(name, env, options.ollamaUrl);
  const policy = options.policy ?? DEFAULT_POLICY;
  return { name, chat: (req) => callModel(adapter, req, policy) };
}

export { ConfigError, ProviderError } from './types';
export type { ChatRequest, ChatResult, Provider } from './types';
