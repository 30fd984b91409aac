import type Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { readRateLimit } from './rateLimit';
import { ChatRequest, RequestMessage, StreamedReply, VendorAdapter } from './types';

/** Where the SDK sends requests when no base URL is given. */
const ANTHROPIC_API = 'https://api.anthropic.com';
/** Anthropic allows four cache breakpoints in a request. */
const MAX_BREAKPOINTS = 4;
const EPHEMERAL = { type: 'ephemeral' } as const;

/**
 * The request body's `system` and `messages`. Plain messages go out as plain strings, as ever. A request with a
 * SplitMessage asks for caching: the system prompt becomes a text block marked `cache_control`, each message's
 * `stable` part a marked block of its own, and its `rest` an unmarked block after it. Anthropic caches the whole
 * prefix up to a marked block (system included), so the next call with the same system and stable part reads it
 * from the cache at a tenth of the input price.
 */
export function anthropicBody(req: Pick<ChatRequest, 'system' | 'messages'>): { system?: string | TextBlockParam[]; messages: MessageParam[] } {
  const caching = req.messages.some((m) => !('content' in m) && m.stable !== '');
  if (!caching) return { system: req.system, messages: req.messages.map((m) => ({ role: m.role, content: plain(m) })) };
  let breakpoints = 0;
  const mark = (text: string): TextBlockParam =>
    breakpoints < MAX_BREAKPOINTS ? (breakpoints++, { type: 'text', text, cache_control: EPHEMERAL }) : { type: 'text', text };
  // Anthropic refuses empty text blocks: an empty system prompt is left out, an empty part is not sent.
  const system = req.system ? [mark(req.system)] : undefined;
  const messages = req.messages.map((m): MessageParam => {
    if ('content' in m) return { role: m.role, content: m.content };
    const blocks: TextBlockParam[] = [];
    if (m.stable) blocks.push(mark(m.stable));
    if (m.rest) blocks.push({ type: 'text', text: m.rest });
    return { role: m.role, content: blocks };
  });
  return system ? { system, messages } : { messages };
}

function plain(m: RequestMessage): string {
  return 'content' in m ? m.content : m.rest;
}

/**
 * The Messages API through the official SDK, streamed; usage comes in message_start and message_delta.
 * Anthropic's `input_tokens` leaves out the prompt tokens read from or written to the cache; they are added, so that
 * `inputTokens` counts every prompt token as it does for OpenAI, and reported apart as cached and cache-written.
 */
export function anthropicAdapter(apiKey: string, baseURL = ANTHROPIC_API): VendorAdapter {
  // The SDK is loaded on the first call, not at start (the product bundles it apart: LAZY in esbuild.mjs).
  let client: Promise<Anthropic> | undefined;
  const sdk = () =>
    (client ??= import('@anthropic-ai/sdk').then(({ default: Anthropic }) => new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout: 10 * 60_000 })));
  return {
    name: 'anthropic',
    endpoint: baseURL,
    async stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply> {
      // withResponse: the same stream, plus the HTTP response whose headers carry the key's rate-limit headroom.
      const { data: stream, response } = await (
        await sdk()
      ).messages
        .create({ model: req.model, ...anthropicBody(req), max_tokens: req.maxTokens, stream: true }, { signal })
        .withResponse();
      const rateLimit = readRateLimit(response.headers);
      let text = '';
      let finishReason: StreamedReply['finishReason'] = null;
      let uncachedInput: number | null = null;
      let cacheRead: number | null = null;
      let cacheWrite: number | null = null;
      let outputTokens: number | null = null;
      for await (const event of stream) {
        switch (event.type) {
          case 'message_start': {
            const usage = event.message.usage;
            uncachedInput = usage.input_tokens;
            cacheRead = usage.cache_read_input_tokens ?? null;
            cacheWrite = usage.cache_creation_input_tokens ?? null;
            outputTokens = usage.output_tokens;
            break;
          }
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              text += event.delta.text;
              onToken();
            }
            break;
          case 'message_delta': {
            // Counts here are running totals for the message; the input ones, where given, supersede message_start's.
            const usage = event.usage;
            outputTokens = usage.output_tokens;
            if (usage.input_tokens != null) uncachedInput = usage.input_tokens;
            if (usage.cache_read_input_tokens != null) cacheRead = usage.cache_read_input_tokens;
            if (usage.cache_creation_input_tokens != null) cacheWrite = usage.cache_creation_input_tokens;
            finishReason =
              event.delta.stop_reason === 'end_turn' || event.delta.stop_reason === 'stop_sequence'
                ? 'stop'
                : event.delta.stop_reason === 'max_tokens'
                  ? 'length'
                  : 'other';
            break;
          }
        }
      }
      const inputTokens = uncachedInput === null ? null : uncachedInput + (cacheRead ?? 0) + (cacheWrite ?? 0);
      return {
        text,
        finishReason,
        inputTokens,
        outputTokens,
        cachedInputTokens: cacheRead,
        cacheWriteInputTokens: cacheWrite,
        outputTokensPerSec: null,
        loadMs: null,
        rateLimit,
      };
    },
  };
}
