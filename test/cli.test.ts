import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli } from './support/cli';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { startOtlpReceiver } from './support/otlpReceiver';
import { useVendorServer } from './support/vendorServer';

describe('micro-agent CLI', () => {
  const vendor = useVendorServer();

  it('fixes a broken module against a real node --test suite over the OpenAI SDK, keeping the key secret', async () => {
    const root = makeWorkspace();
    const key = fakeKey();
    // First reply has no code block: it must not touch the file, and the model must be told.
    vendor.script({ kind: 'text', text: 'I think add is wrong.' }, { kind: 'text', text: fixReply(), usage: { input: 900, output: 60 } });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai', '--model', 'gpt-4o-mini'], root, {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: vendor.openaiUrl,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    assert.match(result.stdout, /iteration 2\/10/);
    assert.match(result.stdout, /tests: pass/);

    // The SDK sent the key as a bearer token and asked for usage in the stream.
    assert.equal(vendor.requests.length, 2);
    assert.equal(vendor.requests[0].headers.authorization, `Bearer ${key}`);
    assert.equal(vendor.requests[0].body.stream, true);
    assert.deepEqual(vendor.requests[0].body.stream_options, { include_usage: true });
    assert.match(vendor.requests[1].body.messages[1].content, /no fenced code block/);
    assert.match(vendor.requests[1].body.messages[1].content, /AssertionError|Expected values to be strictly equal/);

    const events = readLog(root);
    const types = events.map((e) => e.type);
    assert.deepEqual(
      types.filter((t) => t !== 'run.iteration' && t !== 'llm.request'),
      [
        'run.started',
        'test.started',
        'test.finished',
        'llm.response',
        'edit.rejected',
        'llm.response',
        'edit.applied',
        'test.started',
        'test.finished',
        'run.finished',
      ],
    );
    const priced = events.filter((e) => e.type === 'llm.response')[1];
    assert.equal(priced.inputTokens, 900);
    assert.equal(priced.outputTokens, 60);
    assert.equal(priced.costUsd, (900 * 0.15 + 60 * 0.6) / 1e6);
    const finished = events.at(-1);
    assert.equal(finished.outcome, 'passed');
    assert.equal(finished.iterations, 2);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].seq > events[i - 1].seq, 'seq strictly increases');

    const everything = result.stdout + result.stderr + fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8');
    assert.ok(!everything.includes(key), 'the key must appear nowhere');
  });

  it('restores the original and exits 1 when the tests still fail after max runs', async () => {
    const root = makeWorkspace();
    vendor.respond = () => ({ kind: 'text', text: fixReply('exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n') });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '2'], root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    const finished = readLog(root).at(-1);
    assert.equal(finished.outcome, 'failed');
    assert.equal(finished.reason, 'max_runs');
    assert.equal(finished.restored, true);
    // The second attempt repeats the first: it is rejected as unchanged, not tested again.
    assert.equal(readLog(root).filter((e) => e.type === 'edit.rejected' && e.reason === 'unchanged').length, 1);
  });

  it('keeps the last attempt with --keep', async () => {
    const root = makeWorkspace();
    const attempt = 'exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n';
    vendor.script({ kind: 'text', text: fixReply(attempt) });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '1', '--keep'], root, {
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: vendor.openaiUrl,
    });
    assert.equal(result.code, 1);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), attempt);
    const started = readLog(root)[0];
    assert.equal(fs.readFileSync(path.join(root, started.originalPath), 'utf8'), BROKEN_MATH, 'the original stays recoverable');
  });

  it('exits 0 without any model call when the tests already pass', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'math.js'), FIXED_MATH);
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(vendor.requests.length, 0);
    assert.match(result.stdout, /tests already pass/);
  });

  it('exits 2 naming the variable when the key is missing, before any call', async () => {
    const root = makeWorkspace();
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'anthropic'], root, { ANTHROPIC_BASE_URL: vendor.anthropicUrl });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /ANTHROPIC_API_KEY/);
    assert.equal(vendor.requests.length, 0);
  });

  it('exits 2 on usage errors and paths outside the workspace', async () => {
    const root = makeWorkspace();
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
    assert.equal((await cli(['run'], root, env)).code, 2);
    assert.equal((await cli(['run', 'math.js'], root, env)).code, 2, 'no test command');
    assert.equal((await cli(['run', 'math.js', '-t', 'true', '-m', 'lots'], root, env)).code, 2);
    const outside = await cli(['run', '../../etc/passwd', '-t', 'true'], root, env);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /outside the workspace/);
    assert.equal((await cli(['frobnicate'], root, env)).code, 2);
  });

  it('reads <file>.prompt.md beside the file as the prompt and uses Anthropic', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'math.prompt.md'), 'add must return the sum of its arguments');
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1000, output: 100 } });
    const key = fakeKey('sk-ant');
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'anthropic', '--model', 'claude-sonnet-4-5-20250929'], root, {
      ANTHROPIC_API_KEY: key,
      ANTHROPIC_BASE_URL: vendor.anthropicUrl,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    // Older SDKs send x-api-key, newer ones a bearer token: either way the key reached the vendor.
    const { authorization, 'x-api-key': apiKey } = vendor.requests[0].headers;
    assert.ok(apiKey === key || authorization === `Bearer ${key}`, 'the key reaches the vendor');
    // The user message goes as text blocks, the stable part marked for Anthropic's prompt cache.
    const blocks: { text: string }[] = vendor.requests[0].body.messages[0].content;
    assert.match(blocks.map((part) => part.text).join(''), /add must return the sum/);
    const response = readLog(root).find((e) => e.type === 'llm.response');
    assert.equal(response.costUsd, (1000 * 3 + 100 * 15) / 1e6);
  });

  it('prints the stats table from the log, loading none of what only model calls, exports or MCP need', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 500, output: 50 } });
    // NODE_DEBUG=module names every file Node loads: the bundles kept apart (dist/lazy/, LAZY in esbuild.mjs).
    const lazyLoaded = (stderr: string) => [...new Set([...stderr.matchAll(/load "[^"]*\/dist\/lazy\/([\w.]+)"/g)].map((m) => m[1]))];
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, NODE_DEBUG: 'module' };
    const run = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--model', 'gpt-4.1-mini'], root, env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(lazyLoaded(run.stderr), ['openai.js'], 'a run loads the SDK it calls, on its first call');
    const result = await cli(['stats'], root, { NODE_DEBUG: 'module' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(lazyLoaded(result.stderr), [], 'stats needs none of them');
    assert.match(result.stdout, /openai\s+gpt-4\.1-mini\s+1\s+0/);
    assert.match(result.stdout, /runs: 1 \(1 passed/);
    assert.match(result.stdout, /pass rate: 100%/);
  });

  it('exports the run as a trace when OTEL_EXPORTER_OTLP_ENDPOINT is set, before it exits', async () => {
    const root = makeWorkspace();
    const receiver = await startOtlpReceiver();
    try {
      vendor.script({ kind: 'text', text: fixReply(), usage: { input: 700, output: 40 } });
      const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--model', 'gpt-4.1-mini'], root, {
        OPENAI_API_KEY: fakeKey(),
        OPENAI_BASE_URL: vendor.openaiUrl,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stderr, new RegExp(`exporting traces to ${receiver.url}/v1/traces`));
      const spans = receiver.spans();
      const runId = readLog(root).find((e) => e.type === 'run.started').runId;
      const agent = spans.find((s) => s.parentSpanId === '');
      assert.equal(agent?.name, 'invoke_agent micro-agent');
      assert.equal(agent.attributes['micro_agent.run.id'], runId);
      const chat = spans.find((s) => s.name === 'chat gpt-4.1-mini');
      assert.equal(chat?.parentSpanId, agent.spanId);
      assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 700);
      // The metrics too, flushed before the process exits.
      assert.match(result.stderr, new RegExp(`metrics to ${receiver.url}/v1/metrics`));
      const input = receiver.points().find((p) => p.metric === 'gen_ai.client.token.usage' && p.attributes['gen_ai.token.type'] === 'input');
      assert.equal(input?.sum, 700);
    } finally {
      await receiver.close();
    }
  });

  it('reports an OTLP endpoint that is not a URL and still runs', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, {
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: vendor.openaiUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /no OpenTelemetry export: .*collector:4318/);
  });
});
