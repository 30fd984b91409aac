import { DEFAULT_OLLAMA_URL } from '../protocol/providers';
import { openAiAdapter } from './openai';
import { VendorAdapter } from './types';

/** `OLLAMA_HOST` is often `host:port` without scheme or `/v1`; the OpenAI SDK needs the full base URL. */
export function ollamaBaseUrl(host: string | undefined): string {
  if (!host) return `${DEFAULT_OLLAMA_URL}/v1`;
  const withScheme = /^https?:\/\//.test(host) ? host : `http://${host}`;
  const trimmed = withScheme.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
}

/** Ollama's OpenAI-compatible endpoint, through the OpenAI SDK. It needs no key, but the SDK insists on one. */
export function ollamaAdapter(host: string | undefined): VendorAdapter {
  return openAiAdapter({ name: 'ollama', apiKey: 'ollama', baseURL: ollamaBaseUrl(host), maxTokensField: 'max_tokens' });
}
