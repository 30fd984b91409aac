import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, EngineError } from '../server/engine';
import { EventLog } from '../server/events/log';
import type { AgentEvent, RunFinishedEvent } from '../server/protocol';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, TEST_COMMAND } from './support/fixtures';
import { startVendorServer, VendorServer } from './support/vendorServer';

async function engineFor(root: string, env: Record<string, string>) {
  const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
  const events: AgentEvent[] = [];
  log.onEvent((e) => events.push(e));
  const engine = await Engine.create({ root, log, env });
  const finished = () => events.find((e): e is RunFinishedEvent => e.type === 'run.finished')!;
  return { engine, events, finished };
}

const WRONG = fixReply('exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n');

describe('the loop, in process', () => {
  let vendor: VendorServer;
  beforeEach(async () => (vendor = await startVendorServer()));
  afterEach(() => vendor.close());

  it('stops when the USD budget is spent and restores the file', async () => {
    const root = makeWorkspace();
    let n = 0;
    vendor.respond = () => ({
      kind: 'text',
      text: fixReply(`exports.add = () => ${n++};\nexports.mul = (a, b) => a * b;\n`),
      usage: { input: 100_000, output: 10_000 },
    });
    const { engine, finished } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    // gpt-4o: 100k in + 10k out = $0.35 a call; a $0.5 budget allows two calls.
    const { done } = engine.start({ file: 'math.js', testCommand: TEST_COMMAND, model: 'gpt-4o', budgetUsd: 0.5, maxRuns: 10 });
    assert.equal(await done, 'failed');
    assert.equal(finished().reason, 'budget_usd');
    assert.equal(finished().iterations, 2);
    assert.ok(Math.abs(finished().costUsd - 0.7) < 1e-9);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('stops at the time budget, aborting the call in flight', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: WRONG, firstTokenDelayMs: 20_000 });
    const { engine, finished, events } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = engine.start({ file: 'math.js', testCommand: TEST_COMMAND, budgetSec: 1 });
    assert.equal(await done, 'failed');
    assert.equal(finished().reason, 'budget_time');
    const response = events.find((e) => e.type === 'llm.response');
    assert.equal(response?.type === 'llm.response' && response.ok, false);
  });

  it('ends with error on a rejected key, restoring the file and naming the failure', async () => {
    const root = makeWorkspace();
    vendor.script(
      { kind: 'text', text: WRONG },
      { kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } } },
    );
    const { engine, finished } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'error');
    assert.equal(finished().reason, 'provider_error');
    assert.equal(finished().errorKind, 'auth');
    assert.match(finished().error!, /401/);
    assert.equal(finished().restored, true);
    assert.equal(vendor.requests.length, 2, 'auth failures are not retried');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('records a truncated reply without touching the file and tells the model', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: '```js\nexports.add = (a, b) =>', finishReason: 'length' }, { kind: 'text', text: fixReply() });
    const { engine, events } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'passed');
    const rejected = events.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.type === 'edit.rejected' && rejected.reason, 'truncated');
    assert.match(vendor.requests[1].body.messages[1].content, /cut off/);
    assert.equal(events.filter((e) => e.type === 'edit.applied').length, 1);
  });

  it('refuses a second run on the same file, and runs on other files at the same time', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'other.js': BROKEN_MATH });
    const { engine } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const first = engine.start({ file: 'math.js', testCommand: 'sleep 5' });
    assert.throws(
      () => engine.start({ file: './math.js', testCommand: 'true' }),
      (err: EngineError) => err.code === 'run_in_progress',
    );
    const other = engine.start({ file: 'other.js', testCommand: 'true' });
    assert.equal(await other.done, 'passed');
    engine.cancel(first.runId);
    assert.equal(await first.done, 'cancelled');
  });
});
