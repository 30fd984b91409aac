import * as assert from 'node:assert/strict';
import { classify } from '../server/providers/call';
import { parseRetryAfter } from '../server/providers/rateLimit';
import { createProvider } from '../server/providers/index';
import { costOf, priceOf } from '../server/providers/prices';
import { ConfigError } from '../server/foundation/config';
import { ChatRequest, messageText, SplitMessage } from '../server/providers/types';
import { FAST, failure } from './support/providerCalls';
import { useVendorServer } from './support/vendorServer';

const ask = { model: 'gpt-4o-mini', system: 'be brief', messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: 100 };

describe('providers over the official SDKs, against a local vendor server', () => {
  const openai = (policy = FAST) => createProvider('openai', { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: vendor.openaiUrl }, { policy });
  const anthropic = (policy = FAST) =>
    createProvider('anthropic', { ANTHROPIC_API_KEY: 'sk-ant-test-key', ANTHROPIC_BASE_URL: vendor.anthropicUrl }, { policy });
  const vendor = useVendorServer();

  it('OpenAI: streams chat.completions, takes usage from the last chunk and prices it', async () => {
    vendor.script({ kind: 'text', text: 'Hello there, this reply arrives in several chunks.', chunkSize: 7, usage: { input: 1000, output: 200 } });
    const result = await openai().chat(ask);
    assert.equal(result.text, 'Hello there, this reply arrives in several chunks.');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.metrics.inputTokens, 1000);
    assert.equal(result.metrics.outputTokens, 200);
    assert.equal(result.metrics.costUsd, (1000 * 0.15 + 200 * 0.6) / 1e6);
    assert.equal(result.metrics.retries, 0);
    assert.ok(result.metrics.ttftMs !== null && result.metrics.ttftMs <= result.metrics.latencyMs);
    const request = vendor.requests[0];
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer sk-test-key');
    assert.equal(request.body.stream, true);
    assert.deepEqual(request.body.stream_options, { include_usage: true });
    assert.equal(request.body.max_completion_tokens, 100);
    assert.deepEqual(request.body.messages[0], { role: 'system', content: 'be brief' });
  });

  it('Anthropic: streams Messages, usage from message_start and message_delta, dated ids priced by family', async () => {
    vendor.script({ kind: 'text', text: 'Bonjour.', usage: { input: 2000, output: 300 }, finishReason: 'length' });
    const result = await anthropic().chat({ ...ask, model: 'claude-sonnet-4-5-20250929' });
    assert.equal(result.text, 'Bonjour.');
    assert.equal(result.finishReason, 'length');
    assert.equal(result.metrics.inputTokens, 2000);
    assert.equal(result.metrics.outputTokens, 300);
    assert.equal(result.metrics.costUsd, (2000 * 3 + 300 * 15) / 1e6);
    const request = vendor.requests[0];
    assert.equal(request.path, '/v1/messages');
    assert.equal(request.body.system, 'be brief');
    assert.equal(request.body.stream, true);
    assert.equal(request.body.max_tokens, 100);
    const { authorization, 'x-api-key': apiKey } = request.headers;
    assert.ok(apiKey === 'sk-ant-test-key' || authorization === 'Bearer sk-ant-test-key');
  });

  it('an unknown model or missing usage gives cost null, never a made-up 0', async () => {
    vendor.script({ kind: 'text', text: 'a', usage: { input: 10, output: 2 } }, { kind: 'text', text: 'b', usage: null });
    const unknown = await openai().chat({ ...ask, model: 'my-finetune' });
    assert.equal(unknown.metrics.inputTokens, 10);
    assert.equal(unknown.metrics.costUsd, null);
    const noUsage = await openai().chat(ask);
    assert.equal(noUsage.metrics.inputTokens, null);
    assert.equal(noUsage.metrics.costUsd, null);
  });

  it('a missing key is a ConfigError naming the variable, before any request', () => {
    assert.throws(
      () => createProvider('openai', { OPENAI_BASE_URL: vendor.openaiUrl }),
      (err: Error) => err instanceof ConfigError && /OPENAI_API_KEY/.test(err.message),
    );
    assert.throws(
      () => createProvider('anthropic', { ANTHROPIC_API_KEY: '  ' }),
      (err: Error) => err instanceof ConfigError && /ANTHROPIC_API_KEY/.test(err.message),
    );
    assert.equal(vendor.requests.length, 0);
  });

  it('429 with retry-after: waits as asked, then succeeds, counting the retry', async () => {
    vendor.script({ kind: 'error', status: 429, headers: { 'retry-after': '1' } }, { kind: 'text', text: 'ok' });
    const started = Date.now();
    const result = await openai().chat(ask);
    assert.equal(result.text, 'ok');
    assert.equal(result.metrics.retries, 1);
    assert.ok(Date.now() - started >= 950, 'the retry-after wait was honoured');
    assert.equal(vendor.requests.length, 2);
  });

  it('429 asking for a longer wait than allowed fails at once as rate_limit', async () => {
    vendor.script({ kind: 'error', status: 429, headers: { 'retry-after': '600' } });
    const error = await failure(openai().chat(ask));
    assert.equal(error.kind, 'rate_limit');
    assert.equal(error.status, 429);
    assert.equal(vendor.requests.length, 1);
  });

  it('500s are retried with backoff; when they persist the error says server, with metrics', async () => {
    vendor.script({ kind: 'error', status: 500 }, { kind: 'text', text: 'recovered' });
    assert.equal((await anthropic().chat(ask)).metrics.retries, 1);
    vendor.respond = () => ({ kind: 'error', status: 503 });
    const error = await failure(anthropic().chat(ask));
    assert.equal(error.kind, 'server');
    assert.equal(error.metrics?.retries, FAST.maxRetries);
    assert.equal(vendor.requests.length, 2 + FAST.maxRetries + 1);
  });

  it('auth and bad-request errors are not retried', async () => {
    vendor.script({ kind: 'error', status: 401 }, { kind: 'error', status: 400 });
    assert.equal((await failure(openai().chat(ask))).kind, 'auth');
    assert.equal((await failure(openai().chat(ask))).kind, 'invalid_request');
    assert.equal(vendor.requests.length, 2);
  });

  it('a connection reset, before the response or mid-stream, is a network error and is retried', async () => {
    vendor.script({ kind: 'reset' }, { kind: 'reset', afterChunks: 2 }, { kind: 'text', text: 'third time lucky' });
    const result = await openai().chat(ask);
    assert.equal(result.text, 'third time lucky');
    assert.equal(result.metrics.retries, 2);
    vendor.respond = () => ({ kind: 'reset', afterChunks: 1 });
    const error = await failure(anthropic({ ...FAST, maxRetries: 0 }).chat(ask));
    assert.equal(error.kind, 'network');
  });

  it('malformed SSE is a bad_response', async () => {
    vendor.respond = () => ({ kind: 'malformed' });
    assert.equal((await failure(openai({ ...FAST, maxRetries: 0 }).chat(ask))).kind, 'bad_response');
    assert.equal((await failure(anthropic({ ...FAST, maxRetries: 0 }).chat(ask))).kind, 'bad_response');
  });

  it('measures a slow first token as time to first token', async () => {
    vendor.script({ kind: 'text', text: 'slow start, then fast', firstTokenDelayMs: 400, chunkSize: 5, chunkDelayMs: 20 });
    const { metrics } = await openai().chat(ask);
    assert.ok(metrics.ttftMs! >= 380, `ttft ${metrics.ttftMs}`);
    assert.ok(metrics.latencyMs > metrics.ttftMs!, 'the rest of the stream comes after the first token');
  });

  it('a stalled stream times out', async () => {
    vendor.respond = () => ({ kind: 'hang' });
    const error = await failure(openai({ ...FAST, maxRetries: 0, stallTimeoutMs: 300 }).chat(ask));
    assert.equal(error.kind, 'timeout');
    assert.match(error.message, /no response from openai for 300 ms/);
    // Tokens arrive, then the stream stalls: the partial reply must not pass as a complete one.
    vendor.respond = () => ({ kind: 'text', text: 'first chunk, then silence', chunkSize: 12, chunkDelayMs: 2000 });
    assert.equal((await failure(openai({ ...FAST, maxRetries: 0, stallTimeoutMs: 300 }).chat(ask))).kind, 'timeout');
  });

  it('cancellation aborts the stream and is not retried', async () => {
    vendor.respond = () => ({ kind: 'text', text: 'x'.repeat(200), chunkSize: 1, chunkDelayMs: 20 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const error = await failure(openai().chat({ ...ask, signal: controller.signal }));
    assert.equal(error.kind, 'cancelled');
    assert.equal(vendor.requests.length, 1);
  });
});

describe('prompt caching: a stable prefix, cache usage from the vendors, cached rates', () => {
  const openai = () => createProvider('openai', { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: vendor.openaiUrl }, { policy: FAST });
  const anthropic = () => createProvider('anthropic', { ANTHROPIC_API_KEY: 'sk-ant-test-key', ANTHROPIC_BASE_URL: vendor.anthropicUrl }, { policy: FAST });
  const vendor = useVendorServer();
  const split: ChatRequest = {
    model: 'claude-haiku-4-5',
    system: 'be brief',
    messages: [{ role: 'user', stable: '## Goal\nadd numbers\n\n## Test file\n...\n\n', rest: '## File to fix\nexports.add = (a, b) => a - b;' }],
    maxTokens: 100,
  };
  /** What the price table says the call costs: uncached input, cache reads and writes, output, each at its rate. */
  const expected = (model: string, u: { input: number; cached: number; written: number; output: number }) => {
    const p = priceOf(model)!;
    return ((u.input - u.cached - u.written) * p.input + u.cached * p.cachedInput + u.written * (p.cacheWrite ?? p.input) + u.output * p.output) / 1e6;
  };

  it('Anthropic: the system prompt and the stable part carry cache_control, the rest follows unmarked', async () => {
    vendor.script({ kind: 'text', text: 'ok' });
    await anthropic().chat(split);
    const body = vendor.requests[0].body;
    assert.deepEqual(body.system, [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(body.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: '## Goal\nadd numbers\n\n## Test file\n...\n\n', cache_control: { type: 'ephemeral' } },
          { type: 'text', text: '## File to fix\nexports.add = (a, b) => a - b;' },
        ],
      },
    ]);
  });

  it('Anthropic: an empty system prompt or an empty part is left out (the API refuses empty text blocks)', async () => {
    vendor.script({ kind: 'text', text: 'ok' });
    await anthropic().chat({ ...split, system: '', messages: [{ role: 'user', stable: 'all of it is stable', rest: '' }] });
    const body = vendor.requests[0].body;
    assert.equal(body.system, undefined);
    assert.deepEqual(body.messages[0].content, [{ type: 'text', text: 'all of it is stable', cache_control: { type: 'ephemeral' } }]);
  });

  it('OpenAI: the split message goes out as one string, system first, so the prefix is byte-identical call to call', async () => {
    vendor.script({ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' });
    const { stable } = split.messages[0] as SplitMessage;
    await openai().chat({ ...split, model: 'gpt-4.1' });
    await openai().chat({ ...split, model: 'gpt-4.1', messages: [{ role: 'user', stable, rest: 'a different file' }] });
    const [first, second] = vendor.requests.map((r) => r.body.messages);
    assert.deepEqual(first, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: messageText(split.messages[0]) },
    ]);
    assert.deepEqual(second[1], { role: 'user', content: `${stable}a different file` });
    const prefix = JSON.stringify(first).slice(0, JSON.stringify(first).indexOf(stable) + stable.length);
    assert.ok(JSON.stringify(second).startsWith(prefix), "the second request starts with the first one's stable prefix");
  });

  it('OpenAI: cachedInputTokens from prompt_tokens_details.cached_tokens, part of inputTokens, priced at the cached rate', async () => {
    vendor.script({ kind: 'text', text: 'ok', usage: { input: 3000, output: 200, cachedInput: 2048 } });
    const { metrics } = await openai().chat({ ...split, model: 'gpt-4.1' });
    assert.equal(metrics.inputTokens, 3000);
    assert.equal(metrics.cachedInputTokens, 2048);
    assert.equal(metrics.cacheWriteInputTokens, null, 'OpenAI reports no cache writes');
    assert.equal(metrics.costUsd, expected('gpt-4.1', { input: 3000, cached: 2048, written: 0, output: 200 }));
    assert.ok(metrics.costUsd < costOf('openai', 'gpt-4.1', 3000, 200)!, 'cheaper than the same call uncached');
  });

  it('OpenAI: no prompt_tokens_details means not reported (null), billed at the full input rate', async () => {
    vendor.script({ kind: 'text', text: 'ok', usage: { input: 3000, output: 200 } });
    const { metrics } = await openai().chat({ ...split, model: 'gpt-4.1' });
    assert.equal(metrics.cachedInputTokens, null);
    assert.equal(metrics.costUsd, costOf('openai', 'gpt-4.1', 3000, 200));
  });

  it('Anthropic: cache_read/cache_creation_input_tokens become cachedInputTokens/cacheWriteInputTokens; inputTokens counts them', async () => {
    // The wire's input_tokens is 3000 − 2500 − 400 = 100: Anthropic leaves the cached parts out of it.
    vendor.script({ kind: 'text', text: 'ok', usage: { input: 3000, output: 200, cachedInput: 2500, cacheWrite: 400 } });
    const { metrics } = await anthropic().chat(split);
    assert.equal(metrics.inputTokens, 3000);
    assert.equal(metrics.cachedInputTokens, 2500);
    assert.equal(metrics.cacheWriteInputTokens, 400);
    assert.equal(metrics.costUsd, expected('claude-haiku-4-5', { input: 3000, cached: 2500, written: 400, output: 200 }));
    assert.equal(metrics.costUsd, (100 * 1 + 2500 * 0.1 + 400 * 1.25 + 200 * 5) / 1e6);
  });

  it('Anthropic: cache counts given only in message_start, or only in message_delta, are read either way', async () => {
    const usage = { input: 5000, output: 50, cachedInput: 4000, cacheWrite: 0 };
    vendor.script({ kind: 'text', text: 'ok', usage, cacheUsageIn: 'start' }, { kind: 'text', text: 'ok', usage, cacheUsageIn: 'delta' });
    for (const where of ['start', 'delta']) {
      const { metrics } = await anthropic().chat(split);
      assert.deepEqual([metrics.inputTokens, metrics.cachedInputTokens, metrics.cacheWriteInputTokens], [5000, 4000, 0], where);
    }
  });

  it('plain messages stay plain: no cache_control, system a string, cache counts not reported are null', async () => {
    vendor.script({ kind: 'text', text: 'ok', usage: { input: 100, output: 10 } });
    const { metrics } = await anthropic().chat({ ...split, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(vendor.requests[0].body.system, 'be brief');
    assert.deepEqual(vendor.requests[0].body.messages, [{ role: 'user', content: 'hello' }]);
    assert.equal(metrics.cachedInputTokens, null);
    assert.equal(metrics.cacheWriteInputTokens, null);
    assert.equal(metrics.costUsd, costOf('anthropic', 'claude-haiku-4-5', 100, 10));
  });

  it("prices cache reads and writes at the vendors' rates", () => {
    assert.equal(priceOf('gpt-4.1')!.cachedInput, priceOf('gpt-4.1')!.input * 0.25);
    assert.equal(priceOf('gpt-4o')!.cachedInput, priceOf('gpt-4o')!.input * 0.5);
    assert.equal(priceOf('gpt-5')!.cachedInput, priceOf('gpt-5')!.input * 0.1);
    assert.equal(priceOf('o4-mini')!.cachedInput, priceOf('o4-mini')!.input * 0.25);
    assert.equal(priceOf('claude-opus-4-1')!.cachedInput, priceOf('claude-opus-4-1')!.input * 0.1);
    assert.equal(priceOf('claude-opus-4-1')!.cacheWrite, priceOf('claude-opus-4-1')!.input * 1.25);
    // A million tokens all read from the cache cost the cached rate; all written, the write rate (OpenAI: no surcharge).
    assert.equal(costOf('anthropic', 'claude-haiku-4-5', 1_000_000, 0, { cachedInputTokens: 1_000_000, cacheWriteInputTokens: null }), 0.1);
    assert.equal(costOf('anthropic', 'claude-haiku-4-5', 1_000_000, 0, { cachedInputTokens: 0, cacheWriteInputTokens: 1_000_000 }), 1.25);
    assert.equal(costOf('openai', 'gpt-4.1', 1_000_000, 0, { cachedInputTokens: null, cacheWriteInputTokens: 1_000_000 }), 2);
    assert.equal(costOf('ollama', 'qwen2.5-coder', 1000, 10, { cachedInputTokens: 900, cacheWriteInputTokens: null }), 0);
  });
});

describe('retry-after, prices and classification', () => {
  it('parses retry-after in seconds, as a date, and retry-after-ms', () => {
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '3' })), 3000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    const now = Date.parse('2026-11-24T12:00:00Z');
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 24 Nov 2026 12:00:05 GMT' }), now), 5000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('prices known models and their dated snapshots only', () => {
    assert.deepEqual(priceOf('gpt-4o-2024-08-06'), priceOf('gpt-4o'));
    assert.deepEqual(priceOf('claude-3-5-haiku-latest'), priceOf('claude-3-5-haiku'));
    assert.equal(priceOf('gpt-4o-pro'), undefined, 'a different model is not its prefix family');
    assert.equal(costOf('openai', 'gpt-4.1', 1_000_000, 1_000_000), 10);
    assert.equal(costOf('openai', 'gpt-4.1', null, 5), null);
  });

  it('classifies thrown errors', () => {
    const status = (s: number) => classify(Object.assign(new Error('x'), { status: s, headers: new Headers() }), 'openai');
    assert.equal(status(403).kind, 'auth');
    assert.equal(status(408).kind, 'timeout');
    assert.equal(status(529).kind, 'server');
    assert.equal(status(422).kind, 'invalid_request');
    assert.equal(classify(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'openai').kind, 'network');
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(classify(new Error('whatever'), 'openai', aborted.signal).kind, 'cancelled');
    assert.equal(status(429).retryable, true);
    assert.equal(status(401).retryable, false);
  });
});
