import { PROVIDER_INFO, ProviderName, unknownProviderMessage } from '../protocol/providers';
import { anthropicAdapter } from './anthropic';
import { CallPolicy, DEFAULT_POLICY, callModel } from './call';
import { contextWindowTokens } from './contextWindows';
import { keyIdentity } from './rateLimit';
import { ollamaAdapter } from './ollama';
import { openAiAdapter } from './openai';
import { ConfigError, Env } from '../foundation/config';
import type { Secrets } from '../foundation/secrets';
import { ChatRequest, Provider, RequestMessage, VendorAdapter } from './types';

function requireKey(env: Env, variable: string, provider: ProviderName): string {
  const key = env[variable]?.trim();
  if (!key) throw new ConfigError(`${provider}: no API key. Set ${variable} (or store one with "dev-ai: Set API Key").`);
  return key;
}

export function createAdapter(name: ProviderName, env: Env, ollamaUrl?: string): VendorAdapter {
  switch (name) {
    case 'openai': {
      const apiKey = requireKey(env, PROVIDER_INFO.openai.keyVariable, name);
      const adapter = openAiAdapter({ name, apiKey, baseURL: env.OPENAI_BASE_URL || undefined, maxTokensField: 'max_completion_tokens' });
      return { ...adapter, key: keyIdentity(PROVIDER_INFO.openai.keyVariable, apiKey) };
    }
    case 'anthropic': {
      const apiKey = requireKey(env, PROVIDER_INFO.anthropic.keyVariable, name);
      return { ...anthropicAdapter(apiKey, env.ANTHROPIC_BASE_URL || undefined), key: keyIdentity(PROVIDER_INFO.anthropic.keyVariable, apiKey) };
    }
    case 'ollama':
      return ollamaAdapter(ollamaUrl || env.OLLAMA_HOST);
    default:
      throw new ConfigError(unknownProviderMessage(name));
  }
}

/**
 * A ready provider. Throws ConfigError (naming the variable) before any call when a key is missing. With
 * `secrets`, every request is redacted as the log is before it leaves: a secret that reached a prompt (a test
 * that printed a key, a file that holds one) goes to the vendor as `***`.
 */
export function createProvider(name: ProviderName, env: Env, options: { ollamaUrl?: string; policy?: CallPolicy; secrets?: Secrets } = {}): Provider {
  const adapter = createAdapter(name, env, options.ollamaUrl);
  const policy = options.policy ?? DEFAULT_POLICY;
  const { secrets } = options;
  return {
    name,
    chat: (req) => callModel(adapter, secrets ? redactRequest(secrets, req) : req, policy),
    contextWindow: async (model, signal) => (await adapter.contextLength?.(model, signal)) ?? contextWindowTokens(name, model),
  };
}

export { ProviderError } from './types';
export type { ChatRequest, ChatResult, Provider } from './types';

/** A model request with every secret in its text replaced: nothing known to be secret leaves for a vendor. */
function redactRequest(secrets: Secrets, request: ChatRequest): ChatRequest {
  if (secrets.values().length === 0) return request;
  const message = (m: RequestMessage): RequestMessage =>
    'content' in m ? { ...m, content: secrets.redact(m.content) } : { ...m, stable: secrets.redact(m.stable), rest: secrets.redact(m.rest) };
  return { ...request, system: secrets.redact(request.system), messages: request.messages.map(message) };
}
