import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { askModel } from '../server/agent/askModel';
import type { EventInput, LlmResponseEvent } from '../server/protocol';
import { createProvider } from '../server/providers/index';
import { contextLengthOf, numCtx, ollamaRoot } from '../server/providers/ollama';
import { ChatRequest } from '../server/providers/types';
import { cli } from './support/cli';
import { blockReply, makeWorkspace, readLog } from './support/fixtures';
import { FAST, failure } from './support/providerCalls';
import { OLLAMA_DEFAULT_NUM_CTX, useVendorServer } from './support/vendorServer';

const SYSTEM = 'Answer with edits.';

/** A request whose prompt the stand-in counts as exactly `tokens` (4 characters a token, system prompt included). */
function promptOf(tokens: number, maxTokens = 4096): ChatRequest {
  return { model: 'qwen2.5-coder', system: SYSTEM, messages: [{ role: 'user', content: 'x'.repeat(tokens * 4 - SYSTEM.length) }], maxTokens };
}

describe('Ollama, natively: /api/chat with num_ctx sized to the prompt, the window from /api/show', () => {
  const vendor = useVendorServer();
  const ollama = (policy = FAST) => createProvider('ollama', {}, { ollamaUrl: vendor.ollamaUrl, policy });
  const paths = () => vendor.requests.map((r) => r.path);

  it('a 12,000-token prompt: num_ctx covers it, every token is read, and tokens and tokens/s are logged', async () => {
    vendor.ollamaModels = { 'qwen2.5-coder': { arch: 'qwen2', contextLength: 32_768 } };
    // 400 characters: 100 output tokens, generated in 2 s of eval_duration after a 2.5 s cold load.
    vendor.script({ kind: 'text', text: 'y'.repeat(400), chunkSize: 50, ollamaTiming: { loadMs: 2500, evalMs: 2000 } });
    const events: EventInput[] = [];
    const result = await askModel(ollama(), promptOf(12_000), (event) => events.push(event), { iteration: 1 });

    assert.deepEqual(paths(), ['/api/show', '/api/chat']);
    const chat = vendor.requests[1].body;
    assert.equal(chat.stream, true);
    assert.deepEqual(chat.messages[0], { role: 'system', content: SYSTEM });
    assert.equal(chat.options.num_predict, 4096);
    assert.ok(chat.options.num_ctx >= 12_000 + 4096, `num_ctx ${chat.options.num_ctx} covers the prompt and the reply`);
    assert.ok(chat.options.num_ctx <= 32_768, 'and stays within the model');
    // The stand-in reads the prompt through num_ctx: all 12,000 tokens were read, none cut from the front.
    assert.equal(result.metrics.inputTokens, 12_000);
    assert.equal(result.metrics.outputTokens, 100);
    assert.equal(result.metrics.outputTokensPerSec, 50);
    assert.equal(result.metrics.loadMs, 2500);
    assert.equal(result.metrics.costUsd, 0);
    assert.equal(result.metrics.rateLimit, null, 'Ollama has no rate limits');
    assert.equal(result.text, 'y'.repeat(400));
    const logged = events.find((e): e is Omit<LlmResponseEvent, 'seq' | 'ts'> => e.type === 'llm.response');
    assert.equal(logged?.inputTokens, 12_000);
    assert.equal(logged?.outputTokens, 100);
    assert.equal(logged?.outputTokensPerSec, 50);
    assert.equal(logged?.loadMs, 2500);
  });

  it('the control: the same prompt without num_ctx is cut to Ollama’s default window, as the /v1 API left it', async () => {
    vendor.script({ kind: 'text', text: 'cut' });
    const { messages } = promptOf(12_000);
    const res = await fetch(`${vendor.ollamaUrl}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen2.5-coder', messages: [{ role: 'system', content: SYSTEM }, ...messages], stream: true }),
    });
    const last = JSON.parse((await res.text()).trim().split('\n').at(-1)!);
    assert.equal(last.prompt_eval_count, OLLAMA_DEFAULT_NUM_CTX, 'a third of the prompt read, without an error');
  });

  it('a prompt larger than the model’s window is refused before any chat request, with the sizes', async () => {
    vendor.ollamaModels = { 'qwen2.5-coder': { arch: 'qwen2', contextLength: 8192 } };
    const error = await failure(ollama().chat(promptOf(12_000)));
    assert.equal(error.kind, 'invalid_request');
    assert.match(error.message, /about 12,000 tokens plus 4,096 for the reply, but qwen2\.5-coder reads at most 8,192/);
    assert.equal(error.metrics?.retries, 0, 'not retried: the prompt will not shrink');
    assert.deepEqual(paths(), ['/api/show'], 'no /api/chat');
    // One that fits is sent, with the window capped at the model's length.
    vendor.script({ kind: 'text', text: 'fits' });
    await ollama().chat(promptOf(3000, 1024));
    assert.equal(vendor.requests.at(-1)?.body.options.num_ctx, 8192);
  });

  it('the window is asked once per model; retries and a second call reuse it', async () => {
    vendor.script({ kind: 'error', status: 500 }, { kind: 'text', text: 'recovered' }, { kind: 'text', text: 'again' });
    const provider = ollama();
    assert.equal((await provider.chat(promptOf(100))).metrics.retries, 1);
    await provider.chat(promptOf(100));
    assert.deepEqual(paths(), ['/api/show', '/api/chat', '/api/chat', '/api/chat']);
  });

  it('a model not pulled is refused as Ollama says it, naming the pull, not retried', async () => {
    const error = await failure(ollama().chat({ ...promptOf(100), model: 'llama9' }));
    assert.equal(error.kind, 'invalid_request');
    assert.equal(error.status, 404);
    assert.match(error.message, /model 'llama9' not found.*ollama pull llama9/);
    assert.deepEqual(paths(), ['/api/show']);
  });

  it('streams: time to first token, a reset mid-stream retried, a bad line a bad_response, a length stop', async () => {
    vendor.script(
      { kind: 'reset', afterChunks: 1 },
      { kind: 'text', text: 'slow start', firstTokenDelayMs: 300, chunkSize: 2, chunkDelayMs: 10, finishReason: 'length' },
    );
    const result = await ollama().chat(promptOf(100));
    assert.equal(result.text, 'slow start');
    assert.equal(result.finishReason, 'length');
    assert.equal(result.metrics.retries, 1);
    assert.ok(result.metrics.ttftMs! >= 280 && result.metrics.ttftMs! < result.metrics.latencyMs, `ttft ${result.metrics.ttftMs}`);
    vendor.respond = () => ({ kind: 'malformed' });
    assert.equal((await failure(ollama({ ...FAST, maxRetries: 0 }).chat(promptOf(100)))).kind, 'bad_response');
  });

  it('an error line after the 200 is a server error, retried', async () => {
    vendor.respond = () => ({ kind: 'errorLine', text: 'par', message: 'llama runner process has terminated: signal: killed' });
    const error = await failure(ollama({ ...FAST, maxRetries: 1 }).chat(promptOf(100)));
    assert.equal(error.kind, 'server');
    assert.match(error.message, /ollama failed mid-reply: llama runner process has terminated/);
    assert.equal(error.metrics?.retries, 1);
    assert.deepEqual(paths(), ['/api/show', '/api/chat', '/api/chat']);
  });

  it('a stall times out, a cancel stops the stream, and nothing is retried after a cancel', async () => {
    vendor.respond = () => ({ kind: 'hang' });
    const stalled = await failure(ollama({ ...FAST, maxRetries: 0, stallTimeoutMs: 300 }).chat(promptOf(100)));
    assert.equal(stalled.kind, 'timeout');
    assert.match(stalled.message, /no response from ollama for 300 ms/);
    vendor.respond = () => ({ kind: 'text', text: 'x'.repeat(200), chunkSize: 1, chunkDelayMs: 20 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const chats = () => paths().filter((p) => p === '/api/chat').length;
    const before = chats();
    const cancelled = await failure(ollama().chat({ ...promptOf(100), signal: controller.signal }));
    assert.equal(cancelled.kind, 'cancelled');
    assert.equal(chats(), before + 1);
  });

  it('Ollama not running: a network error that says where it looked', async () => {
    const port = await freePort();
    const error = await failure(createProvider('ollama', {}, { ollamaUrl: `127.0.0.1:${port}`, policy: { ...FAST, maxRetries: 0 } }).chat(promptOf(100)));
    assert.equal(error.kind, 'network');
    assert.match(error.message, new RegExp(`ollama unreachable at http://127\\.0\\.0\\.1:${port}.*Is Ollama running\\?`));
  });
});

/**
 * Plain functions with one bug. At the default 460 lines, about 44 KB: with its test and the instructions, a prompt
 * of some 12,000 tokens.
 */
function largeModule(length = 460): string {
  const lines = Array.from({ length }, (_, i) => `exports.f${i} = (x) => x + ${i}; // helper number ${i} of a generated module, padded out to size`);
  lines.splice(length / 2, 0, 'exports.add = (a, b) => a - b;');
  return lines.join('\n') + '\n';
}

const LARGE_TEST = `const test = require('node:test');
const assert = require('node:assert');
const m = require('./large.js');
test('add', () => assert.strictEqual(m.add(2, 3), 5));
`;

describe('Ollama end to end: micro-agent run against the stand-in', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();

  it('a large file: num_ctx covers the whole prompt, the log has its tokens, tokens/s and load time, the run passes', async () => {
    const root = makeWorkspace({ 'large.js': largeModule(), 'large.test.js': LARGE_TEST });
    const reply = blockReply('large.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a + b;\n');
    vendor.script({ kind: 'text', text: reply, ollamaTiming: { loadMs: 3100, evalMs: 1250 } });
    // OLLAMA_HOST as a setting written for the OpenAI-compatible API names it: with /v1. The native root is derived.
    const result = await cli(['run', 'large.js', '-t', 'node --test', '--provider', 'ollama'], root, { OLLAMA_HOST: vendor.openaiUrl });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(
      vendor.requests.map((r) => r.path),
      ['/api/show', '/api/chat'],
    );
    const chat = vendor.requests[1].body;
    const promptTokens = Math.ceil(chat.messages.reduce((sum: number, m: { content: string }) => sum + m.content.length, 0) / 4);
    assert.ok(promptTokens >= 11_000, `the prompt is about ${promptTokens} tokens`);
    assert.ok(
      chat.options.num_ctx >= promptTokens + chat.options.num_predict,
      `num_ctx ${chat.options.num_ctx} for ${promptTokens} + ${chat.options.num_predict}`,
    );
    const response = readLog(root).find((e) => e.type === 'llm.response');
    assert.equal(response.inputTokens, promptTokens, 'Ollama read every prompt token: nothing was cut');
    // The stand-in counts the reply at 4 characters a token and generated it in 1.25 s of eval_duration.
    const outputTokens = Math.ceil(reply.length / 4);
    assert.equal(response.outputTokens, outputTokens);
    assert.equal(response.outputTokensPerSec, outputTokens / 1.25);
    assert.equal(response.loadMs, 3100);
    assert.equal(response.costUsd, 0);
    assert.equal(response.rateLimit, null);
    assert.equal(readLog(root).find((e) => e.type === 'run.finished').outcome, 'passed');
    assert.match(result.stdout + result.stderr, new RegExp(`model: .*, ${Math.round(outputTokens / 1.25)} tokens/s, loading 3\\.1s,`));
  });
});

describe('Ollama: the engine checks a run against the window Ollama reports, before the run starts', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();
  const reply = blockReply('large.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a + b;\n');

  it('a model with an 8k window refuses the 12,000-token file: no tests run, no /api/chat, the sizes said', async () => {
    vendor.ollamaModels = { 'small-coder': { arch: 'llama', contextLength: 8192 } };
    const root = makeWorkspace({ 'large.js': largeModule(), 'large.test.js': LARGE_TEST });
    const result = await cli(['run', 'large.js', '-t', 'node --test', '--provider', 'ollama', '--model', 'small-coder'], root, {
      OLLAMA_HOST: vendor.ollamaUrl,
    });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /large\.js is \d+ KB: with the rest of the prompt that is about [\d,]+ tokens plus [\d,]+ for the reply, but small-coder reads at most 8,192/,
    );
    assert.deepEqual(
      vendor.requests.map((r) => r.path),
      ['/api/show'],
      'asked for the window, sent nothing',
    );
    assert.equal(vendor.requests[0].body.model, 'small-coder');
    const types = readLog(root).map((e) => e.type);
    assert.ok(!types.includes('run.started') && !types.some((t) => t.startsWith('test.')), `refused before the run: ${types.join(', ')}`);
  });

  it('a model with a 128k window takes a 40,000-token file that a fixed 32k guess refused; one /api/show for the check and the call', async () => {
    vendor.ollamaModels = { 'long-coder': { arch: 'qwen2', contextLength: 131_072 } };
    vendor.script({ kind: 'text', text: reply, ollamaTiming: { loadMs: 900, evalMs: 500 } });
    const root = makeWorkspace({ 'large.js': largeModule(1500), 'large.test.js': LARGE_TEST });
    const result = await cli(['run', 'large.js', '-t', 'node --test', '--provider', 'ollama', '--model', 'long-coder'], root, {
      OLLAMA_HOST: vendor.ollamaUrl,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(
      vendor.requests.map((r) => r.path),
      ['/api/show', '/api/chat'],
      'the window asked once per model in the process',
    );
    const chat = vendor.requests[1].body;
    const promptTokens = Math.ceil(chat.messages.reduce((sum: number, m: { content: string }) => sum + m.content.length, 0) / 4);
    assert.ok(promptTokens > 32_768, `the prompt is about ${promptTokens} tokens, more than the old guess`);
    assert.ok(chat.options.num_ctx >= promptTokens + chat.options.num_predict && chat.options.num_ctx <= 131_072, `num_ctx ${chat.options.num_ctx}`);
    const response = readLog(root).find((e) => e.type === 'llm.response');
    assert.equal(response.inputTokens, promptTokens, 'every prompt token read');
  });
});

describe('Ollama not there when a run starts', function () {
  this.timeout(60_000);

  it('the window cannot be asked: the run is not refused for it, and its call says where it looked', async () => {
    const root = makeWorkspace({ 'large.js': largeModule(), 'large.test.js': LARGE_TEST });
    const port = await freePort();
    const result = await cli(['run', 'large.js', '-t', 'node --test', '--provider', 'ollama', '--max-runs', '1'], root, { OLLAMA_HOST: `127.0.0.1:${port}` });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, new RegExp(`ollama unreachable at http://127\\.0\\.0\\.1:${port}`));
    const types = readLog(root).map((e) => e.type);
    assert.ok(types.includes('run.started') && types.includes('llm.response'), types.join(', '));
  });
});

describe('Ollama: the root URL, the window size, the context length', () => {
  it('derives the native root from a setting that may name the OpenAI-compatible /v1', () => {
    assert.equal(ollamaRoot(undefined), 'http://127.0.0.1:11434');
    assert.equal(ollamaRoot('0.0.0.0:11434'), 'http://0.0.0.0:11434');
    assert.equal(ollamaRoot('https://gpu-box:8443/'), 'https://gpu-box:8443');
    assert.equal(ollamaRoot('http://localhost:11434/v1'), 'http://localhost:11434');
    assert.equal(ollamaRoot('http://localhost:11434/v1/'), 'http://localhost:11434');
  });

  it('num_ctx: the prompt with a quarter more, the reply, in whole 8k steps, at most the model’s length', () => {
    assert.equal(numCtx(12_000, 4096, 32_768), 24_576);
    assert.equal(numCtx(12_000, 4096, 16_384), 16_384);
    assert.equal(numCtx(100, 1000, null), 8192);
    // Prompts that differ by a few hundred tokens get the same window: Ollama reloads the model when it changes.
    assert.equal(numCtx(3000, 4096, 131_072), numCtx(3200, 4096, 131_072));
  });

  it('reads <arch>.context_length from model_info, else the one there is, else unknown', () => {
    assert.equal(contextLengthOf({ model_info: { 'general.architecture': 'llama', 'llama.context_length': 131_072 } }), 131_072);
    assert.equal(contextLengthOf({ model_info: { 'general.architecture': 'x', 'qwen2.context_length': 32_768 } }), 32_768);
    assert.equal(contextLengthOf({ model_info: { 'a.context_length': 1, 'b.context_length': 2 } }), null);
    assert.equal(contextLengthOf({ model_info: { 'general.architecture': 'llama', 'llama.context_length': '8k' } }), null);
    assert.equal(contextLengthOf({}), null);
    assert.equal(contextLengthOf(null), null);
  });
});

/** A port nothing listens on. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
