import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { askModel } from '../server/agent/askModel';
import { EventLog } from '../server/events/log';
import type { LlmResponseEvent, RunFinishedEvent } from '../server/protocol';
import { StartRunRequest } from '../server/protocol';
import { createProvider } from '../server/providers';
import { metricsEndpoint, startTelemetry, tracesEndpoint } from '../server/telemetry/telemetry';
import { engineWithLog } from './support/engine';
import { fakeKey, fixReply, makeWorkspace, TEST_COMMAND } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { OtlpReceiver, ReceivedSpan, startOtlpReceiver } from './support/otlpReceiver';
import { useVendorServer } from './support/vendorServer';

/** OTLP SpanKind and StatusCode as they travel on the wire. */
const KIND_INTERNAL = 1;
const KIND_CLIENT = 3;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;

const nanos = (ms: number) => BigInt(ms) * 1_000_000n;

/** An engine over a fresh log, with the log's events kept for comparing with the spans. */
async function engineWithTelemetry(root: string, env: Record<string, string>, service = 'micro-agent-test') {
  const { log, events, engine } = await engineWithLog(root, env);
  const telemetry = startTelemetry(log, env, service);
  assert.ok(telemetry, 'an endpoint is set, so telemetry starts');
  return { log, events, engine, telemetry };
}

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `exactly one ${what}, got ${items.length}`);
  return items[0];
}

describe('OpenTelemetry export over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(() => receiver.close());

  it('exports a fixing run as one trace: the agent span, its model call and its test runs, per the GenAI conventions', async () => {
    const root = makeWorkspace();
    const key = fakeKey();
    const prompt = 'PROMPT-MARKER: add must return the sum of its arguments';
    // The key inside the test command would reach a span name and an attribute, if the log did not redact it.
    const testCommand = `MA_SECRET_CHECK=${key} ${TEST_COMMAND}`;
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1200, output: 80 } });
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const { log, events, engine, telemetry } = await engineWithTelemetry(root, env);
    assert.equal(telemetry.endpoint, `${receiver.url}/v1/traces`);

    const { runId, done } = await engine.start({ file: 'math.js', testCommand, prompt, provider: 'openai', model: 'gpt-4.1-mini' });
    assert.equal(await done, 'passed');
    await telemetry.shutdown();
    log.close();

    // The wire: OTLP/HTTP JSON to each signal's path under the generic endpoint.
    assert.ok(receiver.requests.length >= 2);
    for (const request of receiver.requests) {
      assert.match(request.contentType ?? '', /^application\/json/);
      if (request.path === '/v1/traces') assert.ok(Array.isArray(request.body.resourceSpans));
      else assert.ok(request.path === '/v1/metrics' && Array.isArray(request.body.resourceMetrics), request.path);
    }
    const spans = receiver.spans();
    assert.equal(spans.length, 4, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace for the run');
    assert.match(spans[0].traceId, /^[0-9a-f]{32}$/);
    for (const span of spans) {
      assert.equal(span.resource['service.name'], 'micro-agent-test');
      assert.equal(span.resource['telemetry.sdk.name'], 'opentelemetry');
      assert.equal(span.scope, 'micro-agent');
    }

    const started = events.find((e) => e.type === 'run.started')!;
    const finished = events.find((e): e is RunFinishedEvent => e.type === 'run.finished')!;
    const root_ = only(
      spans.filter((s) => s.parentSpanId === ''),
      'root span',
    );
    assert.equal(root_.name, 'invoke_agent micro-agent');
    assert.equal(root_.kind, KIND_INTERNAL);
    assert.equal(root_.startTimeUnixNano, nanos(started.ts));
    assert.equal(root_.endTimeUnixNano, nanos(finished.ts));
    assert.equal(root_.status.code, STATUS_UNSET);
    assert.deepEqual(root_.attributes, {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'micro-agent',
      // The current name only: `gen_ai.system` is behind OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup.
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4.1-mini',
      'micro_agent.run.id': runId,
      'micro_agent.file': 'math.js',
      'micro_agent.test_command': `MA_SECRET_CHECK=*** ${TEST_COMMAND}`,
      'micro_agent.max_runs': 10,
      'micro_agent.run.outcome': 'passed',
      'micro_agent.run.reason': 'tests_passed',
      'micro_agent.run.iterations': 1,
      'micro_agent.run.cost_usd': finished.costUsd,
      'micro_agent.run.unpriced_calls': 0,
      'micro_agent.run.restored': false,
      // The well-formed edit rate: one reply, applied (a whole file, so no ladder step placed it).
      'micro_agent.edits.replies': 1,
      'micro_agent.edits.well_formed': 1,
      'micro_agent.edits.well_formed_rate': 1,
      'micro_agent.edits.match.exact': 0,
      'micro_agent.edits.match.whitespace': 0,
      'micro_agent.edits.match.indent': 0,
      'micro_agent.edits.match.tabs': 0,
      'micro_agent.edits.match.blank_lines': 0,
      'micro_agent.edits.match.elision': 0,
    });
    assert.deepEqual(
      root_.events.map((e) => e.name),
      ['micro_agent.edit.applied'],
    );
    assert.equal(root_.events[0].attributes['micro_agent.edit.lines_added'], 1);

    // The model call: a CLIENT child of the run, its usage exactly what the vendor reported.
    const request = events.find((e) => e.type === 'llm.request')!;
    const response = events.find((e): e is LlmResponseEvent => e.type === 'llm.response')!;
    const chat = only(
      spans.filter((s) => s.name.startsWith('chat ')),
      'chat span',
    );
    assert.equal(chat.name, 'chat gpt-4.1-mini');
    assert.equal(chat.kind, KIND_CLIENT);
    assert.equal(chat.parentSpanId, root_.spanId);
    assert.equal(chat.startTimeUnixNano, nanos(request.ts));
    assert.equal(chat.endTimeUnixNano, nanos(response.ts));
    assert.equal(chat.status.code, STATUS_UNSET);
    assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(chat.attributes['gen_ai.system'], undefined);
    assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(chat.attributes['gen_ai.request.model'], 'gpt-4.1-mini');
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 1200);
    assert.equal(chat.attributes['gen_ai.usage.output_tokens'], 80);
    assert.deepEqual(chat.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(chat.attributes['micro_agent.cost_usd'], response.costUsd);
    assert.ok((response.costUsd ?? 0) > 0, 'gpt-4.1-mini is priced');
    assert.equal(chat.attributes['micro_agent.ttft_ms'], response.ttftMs);
    assert.equal(chat.attributes['gen_ai.response.time_to_first_chunk'], response.ttftMs! / 1000);
    assert.equal(chat.attributes['micro_agent.retries'], 0);
    assert.equal(chat.attributes['micro_agent.iteration'], 1);

    // The test runs: the check before any model call (fails) and the one after the fix (passes).
    const tests = spans.filter((s) => s.name.startsWith('test ')).sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
    assert.equal(tests.length, 2);
    for (const test of tests) {
      assert.equal(test.name, `test MA_SECRET_CHECK=*** ${TEST_COMMAND}`);
      assert.equal(test.parentSpanId, root_.spanId);
      assert.equal(test.kind, KIND_INTERNAL);
      assert.equal(test.status.code, STATUS_UNSET);
      assert.ok(test.startTimeUnixNano >= root_.startTimeUnixNano && test.endTimeUnixNano <= root_.endTimeUnixNano);
    }
    assert.deepEqual(
      tests.map((t) => [
        t.attributes['micro_agent.iteration'],
        t.attributes['micro_agent.test.passed'],
        t.attributes['micro_agent.test.exit_code'],
        t.attributes['micro_agent.test.timed_out'],
      ]),
      [
        [0, false, 1, false],
        [1, true, 0, false],
      ],
    );
    assert.equal(typeof tests[0].attributes['micro_agent.test.duration_ms'], 'number');

    // The GenAI client metrics, flushed on shutdown: histograms with the conventions' names, units and attributes.
    const points = receiver.points();
    const call = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4.1-mini' };
    const usage = points.filter((p) => p.metric === 'gen_ai.client.token.usage');
    assert.deepEqual(
      usage.map((p) => [p.type, p.unit, p.attributes, p.count, p.sum]).sort(),
      [
        ['histogram', '{token}', { ...call, 'gen_ai.token.type': 'input' }, 1, 1200],
        ['histogram', '{token}', { ...call, 'gen_ai.token.type': 'output' }, 1, 80],
      ].sort(),
    );
    const duration = only(
      points.filter((p) => p.metric === 'gen_ai.client.operation.duration'),
      'duration point',
    );
    assert.deepEqual([duration.type, duration.unit, duration.attributes, duration.count, duration.sum], ['histogram', 's', call, 1, response.latencyMs / 1000]);
    assert.equal(duration.explicitBounds?.[0], 0.01, "the conventions' bucket boundaries");
    const firstChunk = only(
      points.filter((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk'),
      'time-to-first-chunk point',
    );
    assert.deepEqual(
      [firstChunk.type, firstChunk.unit, firstChunk.attributes, firstChunk.count, firstChunk.sum],
      ['histogram', 's', call, 1, response.ttftMs! / 1000],
    );
    for (const point of points) assert.equal(point.resource['service.name'], 'micro-agent-test');

    // No text content and no secret anywhere in what was sent.
    const sent = receiver.requests.map((r) => r.raw).join('\n');
    assert.ok(!sent.includes(key), 'the API key is never exported');
    assert.ok(!sent.includes('PROMPT-MARKER'), 'the prompt is never exported');
    assert.ok(!sent.includes('add function subtracted') && !sent.includes('exports.add'), 'neither the reply nor the code is exported');
    assert.ok(!sent.includes('TAP version') && !sent.includes('not ok'), 'test output is never exported');
  });

  it('marks a failed model call and the run it ended as errors, honouring the signal-specific endpoints as given and gen_ai/dup', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } } });
    const env = {
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: vendor.openaiUrl,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/custom/metrics`,
      // The compatibility switch: the replaced gen_ai.system beside gen_ai.provider.name.
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http, gen_ai/dup',
    };
    const { log, engine, telemetry } = await engineWithTelemetry(root, env);
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, provider: 'openai', model: 'gpt-4.1-mini' });
    assert.equal(await done, 'error');
    await telemetry.shutdown();
    log.close();

    assert.deepEqual([...new Set(receiver.requests.map((r) => r.path))].sort(), ['/custom/metrics', '/custom/traces']);
    const spans = receiver.spans();
    const agent = only(
      spans.filter((s) => s.name === 'invoke_agent micro-agent'),
      'agent span',
    );
    assert.equal(agent.status.code, STATUS_ERROR);
    assert.equal(agent.status.message, 'provider_error');
    assert.equal(agent.attributes['error.type'], 'auth');
    assert.equal(agent.attributes['micro_agent.run.outcome'], 'error');

    const chat = only(
      spans.filter((s) => s.name === 'chat gpt-4.1-mini'),
      'chat span',
    );
    assert.equal(chat.parentSpanId, agent.spanId);
    assert.equal(chat.status.code, STATUS_ERROR);
    assert.equal(chat.status.message, 'auth');
    assert.equal(chat.attributes['error.type'], 'auth');
    assert.equal(chat.attributes['http.response.status_code'], 401);
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], undefined, 'no usage was reported, so none is made up');
    assert.equal(chat.attributes['gen_ai.system'], 'openai');
    assert.equal(chat.attributes['gen_ai.provider.name'], 'openai');
    // A failed call counts in the duration with its error kind, and adds no tokens it never reported.
    const points = receiver.points();
    assert.deepEqual(
      points.map((p) => [p.metric, p.attributes['error.type'], p.attributes['gen_ai.system']]),
      [['gen_ai.client.operation.duration', 'auth', 'openai']],
    );
    assert.ok(!receiver.requests.some((r) => r.raw.includes('Incorrect API key')), "the vendor's error text is not exported");
  });

  it('exports a model call outside a run (a review) as a trace of its own', async () => {
    const root = makeWorkspace();
    vendor.script(
      { kind: 'text', text: 'No findings.', usage: { input: 300, output: 12 } },
      { kind: 'text', text: fixReply(), usage: { input: 900, output: 70 } },
    );
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/` };
    const { log, engine, telemetry } = await engineWithTelemetry(root, env);
    // The reviewer's path: askModel with no runId.
    await askModel(
      createProvider('openai', env),
      { model: 'gpt-4.1-mini', system: 'You review code.', messages: [{ role: 'user', content: 'REVIEW-MARKER' }], maxTokens: 200 },
      (e) => log.append(e),
      { iteration: null },
    );
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, provider: 'openai', model: 'gpt-4.1-mini' });
    assert.equal(await done, 'passed');
    await telemetry.shutdown();
    log.close();

    const spans = receiver.spans();
    const chats = spans.filter((s) => s.name === 'chat gpt-4.1-mini');
    assert.equal(chats.length, 2);
    const review = only(
      chats.filter((s) => s.parentSpanId === ''),
      'review chat span',
    );
    const agent = only(
      spans.filter((s) => s.name === 'invoke_agent micro-agent'),
      'agent span',
    );
    assert.notEqual(review.traceId, agent.traceId);
    assert.equal(review.attributes['gen_ai.usage.input_tokens'], 300);
    assert.equal(review.attributes['gen_ai.usage.output_tokens'], 12);
    assert.equal(review.attributes['micro_agent.iteration'], undefined);
    assert.equal(spans.filter((s) => s.traceId === agent.traceId).length, 4);
    assert.ok(!receiver.requests.some((r) => r.raw.includes('REVIEW-MARKER')));
  });

  it('a local model’s tokens/s and load time, and a key’s rate-limit headroom, reach the chat spans', async () => {
    const root = makeWorkspace();
    const key = fakeKey();
    vendor.limits = { requests: 100, tokens: 50_000, outputTokens: 0, windowMs: 60_000 };
    vendor.script(
      { kind: 'text', text: 'y'.repeat(400), ollamaTiming: { loadMs: 2500, evalMs: 2000 } },
      { kind: 'text', text: 'No findings.', usage: { input: 300, output: 12 } },
    );
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const { log, events, telemetry } = await engineWithTelemetry(root, env);
    const ask = (provider: ReturnType<typeof createProvider>, model: string) =>
      askModel(provider, { model, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }], maxTokens: 100 }, (e) => log.append(e), {
        iteration: null,
      });
    await ask(createProvider('ollama', {}, { ollamaUrl: vendor.ollamaUrl }), 'qwen2.5-coder');
    await ask(createProvider('openai', env), 'gpt-4.1-mini');
    await telemetry.shutdown();
    log.close();

    const responses = events.filter((e): e is LlmResponseEvent => e.type === 'llm.response');
    const [local, hosted] = ['chat qwen2.5-coder', 'chat gpt-4.1-mini'].map((name) =>
      only(
        receiver.spans().filter((s) => s.name === name),
        name,
      ),
    );
    // 100 tokens in 2 s of generating after a 2.5 s load, as Ollama's counts said.
    assert.equal(local.attributes['micro_agent.output_tokens_per_sec'], 50);
    assert.equal(local.attributes['micro_agent.load_ms'], 2500);
    assert.equal(local.attributes['micro_agent.rate_limit.requests.remaining'], undefined, 'Ollama has no rate limits: nothing, not zeros');
    const limit = responses[1].rateLimit!;
    assert.deepEqual(Object.fromEntries(Object.entries(hosted.attributes).filter(([name]) => name.startsWith('micro_agent.rate_limit.'))), {
      'micro_agent.rate_limit.requests.limit': 100,
      'micro_agent.rate_limit.requests.remaining': 99,
      'micro_agent.rate_limit.tokens.limit': 50_000,
      'micro_agent.rate_limit.tokens.remaining': limit.tokensRemaining,
      'micro_agent.rate_limit.reset_at': new Date(limit.resetAt!).toISOString(),
      'micro_agent.rate_limit.key.source': 'OPENAI_API_KEY',
      'micro_agent.rate_limit.key.fingerprint': limit.key!.fingerprint,
    });
    assert.match(String(hosted.attributes['micro_agent.rate_limit.key.fingerprint']), /^[0-9a-f]{8}$/);
    assert.equal(hosted.attributes['micro_agent.output_tokens_per_sec'], undefined, 'OpenAI does not report its generation time');
    assert.equal(hosted.attributes['micro_agent.load_ms'], undefined);
    assert.ok(!receiver.requests.some((r) => r.raw.includes(key)), 'the key never leaves in telemetry');
  });

  it("prompt caching: Anthropic requests carry cache_control; the vendor's cache counts reach the log and the span", async () => {
    const root = makeWorkspace();
    const env = {
      ANTHROPIC_API_KEY: fakeKey(),
      ANTHROPIC_BASE_URL: vendor.anthropicUrl,
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: vendor.openaiUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
    const telemetry = startTelemetry(log, env, 'micro-agent-test')!;
    vendor.script(
      { kind: 'text', text: 'ok', usage: { input: 4000, output: 50, cachedInput: 3000, cacheWrite: 600 } },
      { kind: 'text', text: 'ok', usage: { input: 4000, output: 50, cachedInput: 2048 } },
    );
    const messages = [{ role: 'user' as const, stable: 'STABLE-MARKER goal and test file\n', rest: 'the file as it is now' }];
    const emit = (e: Parameters<EventLog['append']>[0]) => {
      log.append(e);
    };
    await askModel(createProvider('anthropic', env), { model: 'claude-haiku-4-5', system: 'You fix code.', messages, maxTokens: 200 }, emit, {
      iteration: null,
    });
    await askModel(createProvider('openai', env), { model: 'gpt-4.1-mini', system: 'You fix code.', messages, maxTokens: 200 }, emit, { iteration: null });
    await telemetry.shutdown();
    const responses = log.read().filter((e): e is LlmResponseEvent => e.type === 'llm.response');
    log.close();

    // What was sent: the system prompt and the stable part marked for Anthropic's cache.
    const sent = vendor.requests[0].body;
    assert.deepEqual(sent.system, [{ type: 'text', text: 'You fix code.', cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(sent.messages[0].content[0], { type: 'text', text: 'STABLE-MARKER goal and test file\n', cache_control: { type: 'ephemeral' } });
    assert.equal(vendor.requests[1].body.messages[1].content, 'STABLE-MARKER goal and test file\nthe file as it is now');

    // What was logged: the vendors' usage fields, cached parts within inputTokens.
    const [claude, gpt] = responses;
    assert.deepEqual([claude.inputTokens, claude.cachedInputTokens, claude.cacheWriteInputTokens], [4000, 3000, 600]);
    assert.deepEqual([gpt.inputTokens, gpt.cachedInputTokens, gpt.cacheWriteInputTokens], [4000, 2048, null]);

    const spans = receiver.spans();
    const span = (name: string) =>
      only(
        spans.filter((s) => s.name === name),
        name,
      );
    const claudeSpan = span('chat claude-haiku-4-5');
    assert.equal(claudeSpan.attributes['gen_ai.usage.input_tokens'], 4000);
    assert.equal(claudeSpan.attributes['gen_ai.usage.cache_read.input_tokens'], 3000);
    assert.equal(claudeSpan.attributes['gen_ai.usage.cache_creation.input_tokens'], 600);
    assert.equal(claudeSpan.attributes['micro_agent.cost_usd'], claude.costUsd);
    const gptSpan = span('chat gpt-4.1-mini');
    assert.equal(gptSpan.attributes['gen_ai.usage.cache_read.input_tokens'], 2048);
    assert.equal(gptSpan.attributes['gen_ai.usage.cache_creation.input_tokens'], undefined, 'OpenAI reports no cache writes');
    assert.ok(!receiver.requests.some((r) => r.raw.includes('STABLE-MARKER')), 'no prompt text is exported');
  });

  it('is off without an endpoint or when the SDK is disabled, and refuses an endpoint that is not a URL', async () => {
    const root = makeWorkspace();
    const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
    try {
      assert.equal(startTelemetry(log, {}, 'micro-agent'), undefined);
      assert.equal(startTelemetry(log, { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'micro-agent'), undefined);
      assert.equal(startTelemetry(log, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' }, 'micro-agent'), undefined);
      assert.equal(
        startTelemetry(log, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }, 'micro-agent'),
        undefined,
      );
      assert.equal(startTelemetry(log, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'none' }, 'micro-agent'), undefined);
      assert.throws(() => startTelemetry(log, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'collector:4318' }, 'micro-agent'), /OTLP endpoint/);
      assert.throws(() => startTelemetry(log, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'micro-agent'), /OTLP endpoint/);
      assert.throws(() => startTelemetry(log, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'micro-agent'), /not a URL/);
      assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/traces');
      assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp' }), 'http://collector:4318/otlp/v1/traces');
      assert.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/t' }), 'http://b:4318/t');
      assert.equal(metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/metrics');
      assert.equal(
        metricsEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:4318/m' }),
        'http://b:4318/m',
      );
      // Nothing was started, so nothing was sent.
      log.append({ type: 'log', level: 'info', message: 'nothing listens' });
      assert.equal(receiver.requests.length, 0);
    } finally {
      log.close();
    }
  });

  it('the LSP host exports its runs when OTEL_EXPORTER_OTLP_ENDPOINT is set, flushing on shutdown', async () => {
    const root = makeWorkspace();
    const key = fakeKey();
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1500, output: 90 } });
    host = await startHost(
      root,
      { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      { provider: 'openai', model: 'gpt-4.1-mini' },
    );
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, {
      uri: pathToFileURL(path.join(root, 'math.js')).toString(),
      testCommand: TEST_COMMAND,
    });
    await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId);
    await host.stop();
    host = undefined;

    const spans: ReceivedSpan[] = receiver.spans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['chat gpt-4.1-mini', 'invoke_agent micro-agent', `test ${TEST_COMMAND}`, `test ${TEST_COMMAND}`]);
    const agent = only(
      spans.filter((s) => s.parentSpanId === ''),
      'root span',
    );
    assert.equal(agent.attributes['micro_agent.run.id'], runId);
    assert.equal(agent.resource['service.name'], 'micro-agent');
    const chat = only(
      spans.filter((s) => s.name.startsWith('chat ')),
      'chat span',
    );
    assert.equal(chat.parentSpanId, agent.spanId);
    assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 1500);
    assert.equal(chat.attributes['gen_ai.usage.output_tokens'], 90);
    const tokens = receiver.points().filter((p) => p.metric === 'gen_ai.client.token.usage');
    assert.deepEqual(tokens.map((p) => [p.attributes['gen_ai.token.type'], p.sum]).sort(), [
      ['input', 1500],
      ['output', 90],
    ]);
    assert.ok(!receiver.requests.some((r) => r.raw.includes(key)));
  });
});
