import Anthropic from '@anthropic-ai/sdk';
import { ChatRequest, StreamedReply, VendorAdapter } from './types';

/** The Messages API through the official SDK, streamed; usage comes in message_start and message_delta. */
export function anthropicAdapter(apiKey: string, baseURL?: string): VendorAdapter {
  const client = new Anthropic({ apiKey, baseURL, maxRetries: 0, timeout: 10 * 60_000 });
  return {
    name: 'anthropic',
    endpoint: client.baseURL,
    async stream(req: ChatRequest, signal: AbortSignal, onToken: () => void): Promise<StreamedReply> {
      const stream = await client.messages.create(
        { model: req.model, system: req.system, messages: req.messages, max_tokens: req.maxTokens, stream: true },
        { signal },
      );
      let text = '';
      let finishReason: StreamedReply['finishReason'] = null;
      let inputTokens: number | null = null;
      let outputTokens: number | null = null;
      for await (const event of stream) {
        switch (event.type) {
          case 'message_start': {
            const usage = event.message.usage;
            // Cached prompt tokens are input too; they are billed at other rates, which the table ignores.
            inputTokens = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
            outputTokens = usage.output_tokens;
            break;
          }
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              text += event.delta.text;
              onToken();
            }
            break;
          case 'message_delta':
            // output_tokens here is the running total for the message.
            outputTokens = event.usage.output_tokens;
            finishReason =
              event.delta.stop_reason === 'end_turn' || event.delta.stop_reason === 'stop_sequence'
                ? 'stop'
                : event.delta.stop_reason === 'max_tokens'
                  ? 'length'
                  : 'other';
            break;
        }
      }
      return { text, finishReason, inputTokens, outputTokens };
    },
  };
}
