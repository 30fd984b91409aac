import { randomUUID } from 'node:crypto';
import type { EventInput, LlmResponseEvent } from '../protocol';
import { ChatRequest, ChatResult, messageText, Provider, ProviderError } from '../providers/types';

const PREVIEW_CHARS = 2000;

export type Emit = (event: EventInput) => void;

/**
 * One model call, recorded: `llm.request` before, `llm.response` after (with its metrics, also on failure).
 * Every caller that talks to a model (the loop, later the reviewer) goes through here, so stats see them all.
 */
export async function askModel(provider: Provider, req: ChatRequest, emit: Emit, context: { runId?: string; iteration: number | null }): Promise<ChatResult> {
  const callId = randomUUID();
  const base = { runId: context.runId, callId, provider: provider.name, model: req.model, iteration: context.iteration };
  const prompt = req.messages.map(messageText).join('\n\n');
  emit({ type: 'llm.request', ...base, promptChars: req.system.length + prompt.length, promptPreview: prompt.slice(0, PREVIEW_CHARS) });
  try {
    const result = await provider.chat(req);
    emit({
      type: 'llm.response',
      ...base,
      ...result.metrics,
      ok: true,
      finishReason: result.finishReason,
      responsePreview: result.text.slice(0, PREVIEW_CHARS),
    });
    return result;
  } catch (err) {
    const error = err instanceof ProviderError ? err : new ProviderError('bad_response', String(err));
    const metrics = error.metrics ?? {
      latencyMs: 0,
      ttftMs: null,
      inputTokens: null,
      outputTokens: null,
      cachedInputTokens: null,
      cacheWriteInputTokens: null,
      costUsd: null,
      retries: 0,
      outputTokensPerSec: null,
      loadMs: null,
      rateLimit: null,
    };
    const response: Omit<LlmResponseEvent, 'seq' | 'ts'> = {
      type: 'llm.response',
      ...base,
      ...metrics,
      provider: provider.name,
      model: req.model,
      ok: false,
      finishReason: null,
      responsePreview: '',
      error: { kind: error.kind, message: error.message, ...(error.status !== undefined ? { status: error.status } : {}) },
    };
    emit(response);
    throw error;
  }
}
