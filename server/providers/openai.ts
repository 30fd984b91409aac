import type OpenAI from 'openai';
import type { ProviderName } from '../protocol';
import { readRateLimit } from './rateLimit';
import { ChatRequest, messageText, StreamedReply, VendorAdapter } from './types';

/** Where the SDK sends requests when no base URL is given. */
const OPENAI_API = 'https://api.openai.com/v1';

export interface OpenAiOptions {
  name: ProviderName;
  apiKey: string;
  baseURL?: string;
  /** OpenAI's own API wants `max_completion_tokens`; OpenAI-compatible servers know `max_tokens`. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

/**
 * chat.completions through the official SDK, always streamed, usage requested in the last chunk. A SplitMessage
 * goes out as one string, `stable + rest`: with the system message before it, that is a byte-identical prefix from
 * call to call, which OpenAI caches by itself (from 1,024 tokens up) and reports as
 * `prompt_tokens_details.cached_tokens`, a part of `prompt_tokens`. OpenAI neither reports nor bills cache writes.
 */
export function openAiAdapter(options: OpenAiOptions): VendorAdapter {
  const baseURL = options.baseURL ?? OPENAI_API;
  // The SDK is loaded on the first call, not at start (the product bundles it apart: LAZY in esbuild.mjs).
  // Retries and timeouts are ours (call.ts), so they can be counted and classified.
  let client: Promise<OpenAI> | undefined;
  const sdk = () =>
    (client ??= import('openai').then(({ default: OpenAI }) => new OpenAI({ apiKey: options.apiKey, baseURL, maxRetries: 0, timeout: 10 * 60_000 })));
  return {
    name: options.name,
    endpoint: baseURL,
    async stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply> {
      // withResponse: the same stream, plus the HTTP response whose headers carry the key's rate-limit headroom.
      const { data: stream, response } = await (
        await sdk()
      ).chat.completions
        .create(
          {
            model: req.model,
            messages: [{ role: 'system', content: req.system }, ...req.messages.map((m) => ({ role: m.role, content: messageText(m) }))],
            stream: true,
            stream_options: { include_usage: true },
            [options.maxTokensField]: req.maxTokens,
          },
          { signal },
        )
        .withResponse();
      const rateLimit = readRateLimit(response.headers);
      let text = '';
      let finishReason: StreamedReply['finishReason'] = null;
      let inputTokens: number | null = null;
      let outputTokens: number | null = null;
      let cachedInputTokens: number | null = null;
      for await (const chunk of stream) {
        const choice = chunk.choices?.[0];
        const delta = choice?.delta?.content;
        if (delta) {
          text += delta;
          onToken();
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason === 'stop' ? 'stop' : choice.finish_reason === 'length' ? 'length' : 'other';
        if (chunk.usage) {
          inputTokens = chunk.usage.prompt_tokens;
          outputTokens = chunk.usage.completion_tokens;
          // Ollama and other OpenAI-compatible servers leave the details out: not reported, not 0.
          cachedInputTokens = chunk.usage.prompt_tokens_details?.cached_tokens ?? null;
        }
      }
      return {
        text,
        finishReason,
        inputTokens,
        outputTokens,
        cachedInputTokens,
        cacheWriteInputTokens: null,
        outputTokensPerSec: null,
        loadMs: null,
        rateLimit,
      };
    },
  };
}
