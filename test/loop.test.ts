import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../server/engine/engine';
import type { AgentEvent, RunFinishedEvent } from '../server/protocol';
import { MAX_FILE_BYTES } from '../server/foundation/workspace';
import { engineWithLog } from './support/engine';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, TEST_COMMAND } from './support/fixtures';
import { useVendorServer, VendorHandle } from './support/vendorServer';

async function engineFor(root: string, env: Record<string, string>) {
  const { engine, events } = await engineWithLog(root, env);
  const finished = () => events.find((e): e is RunFinishedEvent => e.type === 'run.finished')!;
  return { engine, events, finished };
}

const WRONG_CODE = 'exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n';
const WRONG = fixReply(WRONG_CODE);

/** A file as Windows editors save it: a UTF-8 BOM, then CRLF line endings. */
const windowsBytes = (code: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(code.replace(/\n/g, '\r\n'))]);

/** The folder where a run keeps its original and attempts, from its run.started event. */
function runDirOf(root: string, events: AgentEvent[]): string {
  const started = events.find((e) => e.type === 'run.started');
  assert.ok(started?.type === 'run.started');
  return path.dirname(path.join(root, started.originalPath));
}

/** What the model was sent: every message's text, as the vendor server received it. */
const promptsOf = (vendor: VendorHandle): string[] => vendor.requests.map((r) => r.body.messages.map((m: { content: string }) => m.content).join('\n'));

describe('the loop, in process', () => {
  const vendor = useVendorServer();

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
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, model: 'gpt-4o', budgetUsd: 0.5, maxRuns: 10 });
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
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, budgetSec: 1 });
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
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
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
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'passed');
    const rejected = events.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.type === 'edit.rejected' && rejected.reason, 'truncated');
    assert.match(vendor.requests[1].body.messages[1].content, /cut off/);
    assert.equal(events.filter((e) => e.type === 'edit.applied').length, 1);
  });

  it('refuses a second run on the same file, and runs on other files at the same time', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'other.js': BROKEN_MATH });
    const { engine } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const first = await engine.start({ file: 'math.js', testCommand: 'sleep 5' });
    await assert.rejects(engine.start({ file: './math.js', testCommand: 'true' }), (err: EngineError) => err.code === 'run_in_progress');
    const other = await engine.start({ file: 'other.js', testCommand: 'true' });
    assert.equal(await other.done, 'passed');
    engine.cancel(first.runId);
    assert.equal(await first.done, 'cancelled');
  });
  it("keeps a CRLF file's BOM and line endings on every write, while the model sees LF text without a BOM", async () => {
    const original = windowsBytes(BROKEN_MATH);
    const root = makeWorkspace({ 'math.test.js': MATH_TEST });
    fs.writeFileSync(path.join(root, 'math.js'), original);
    // The model answers in LF: first the file unchanged (as it saw it), then a wrong fix, then the right one.
    vendor.script({ kind: 'text', text: fixReply(BROKEN_MATH) }, { kind: 'text', text: WRONG }, { kind: 'text', text: fixReply() });
    const { engine, events } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'passed');

    const onDisk = fs.readFileSync(path.join(root, 'math.js'));
    assert.deepEqual([...onDisk.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const lines = onDisk
      .subarray(3)
      .toString('utf8')
      .split(/(?<=\n)/);
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(line.endsWith('\r\n'), `line ${JSON.stringify(line)} does not end in CRLF`);
    assert.deepEqual(onDisk, windowsBytes(FIXED_MATH));

    // The LF copy of the file is the file: "unchanged", not a rewrite of every line ending.
    const rejected = events.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.type === 'edit.rejected' && rejected.reason, 'unchanged');
    // Each attempt kept under the run's folder is what was written to the file, byte for byte.
    const applied = events.filter((e) => e.type === 'edit.applied');
    assert.deepEqual(
      applied.map((e) => e.iteration),
      [2, 3],
    );
    const runDir = runDirOf(root, events);
    assert.deepEqual(fs.readFileSync(path.join(runDir, 'attempt-2.js')), windowsBytes(WRONG_CODE));
    assert.deepEqual(fs.readFileSync(path.join(runDir, 'attempt-3.js')), onDisk);
    assert.deepEqual(fs.readFileSync(path.join(runDir, 'original.js')), original);
    for (const e of applied) {
      assert.ok(e.type === 'edit.applied' && !e.diff.includes('\r'), 'the diff is of the LF text');
      assert.equal(e.type === 'edit.applied' && e.bytes, windowsBytes(e.iteration === 2 ? WRONG_CODE : FIXED_MATH).length);
    }

    const prompts = promptsOf(vendor);
    assert.equal(prompts.length, 3);
    assert.ok(prompts[0].includes(BROKEN_MATH), 'the model is sent the file');
    assert.ok(prompts[2].includes(WRONG_CODE), 'the model is sent the current attempt');
    for (const prompt of prompts) {
      assert.ok(!prompt.includes('\r'), 'a prompt holds a carriage return');
      assert.ok(!prompt.includes('\uFEFF'), 'a prompt holds a byte order mark');
    }
  });

  it('puts a CRLF file with a BOM back byte for byte when the run fails', async () => {
    const original = windowsBytes(BROKEN_MATH);
    const root = makeWorkspace({ 'math.test.js': MATH_TEST });
    fs.writeFileSync(path.join(root, 'math.js'), original);
    vendor.script({ kind: 'text', text: WRONG });
    const { engine, finished } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, maxRuns: 1 });
    assert.equal(await done, 'failed');
    assert.equal(finished().restored, true);
    assert.deepEqual(fs.readFileSync(path.join(root, 'math.js')), original);
  });

  it('refuses a reply larger than the files it reads, and writes nothing', async () => {
    const root = makeWorkspace();
    const huge = `${FIXED_MATH}// ${'x'.repeat(MAX_FILE_BYTES)}\n`;
    vendor.script({ kind: 'text', text: fixReply(huge) });
    const { engine, events, finished } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND, maxRuns: 1 });
    assert.equal(await done, 'failed');
    assert.equal(finished().reason, 'max_runs');
    const rejected = events.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.type === 'edit.rejected' && rejected.reason, 'too_large');
    assert.equal(events.filter((e) => e.type === 'edit.applied').length, 0);
    assert.equal(finished().restored, false, 'there was nothing to put back');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    assert.deepEqual(fs.readdirSync(runDirOf(root, events)), ['manifest.json', 'original.js']);
  });

  it('tells the model its reply was too large, and goes on', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(`${FIXED_MATH}// ${'x'.repeat(MAX_FILE_BYTES)}\n`) }, { kind: 'text', text: fixReply() });
    const { engine, events } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'passed');
    const kb = MAX_FILE_BYTES / 1024;
    assert.match(
      promptsOf(vendor)[1],
      new RegExp(`Attempt 1: your reply was not used: the new math.js would be ${kb + 1} KB; micro-agent writes files up to ${kb} KB`),
    );
    const applied = events.filter((e) => e.type === 'edit.applied');
    assert.deepEqual(
      applied.map((e) => e.iteration),
      [2],
    );
    assert.ok(!fs.existsSync(path.join(runDirOf(root, events), 'attempt-1.js')));
  });

  it("writes the block in the file's language when the reply shows the test command first", async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: `Run it with:\n\n\`\`\`bash\n${TEST_COMMAND}\n\`\`\`\n\n${fixReply()}` });
    const { engine } = await engineFor(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { done } = await engine.start({ file: 'math.js', testCommand: TEST_COMMAND });
    assert.equal(await done, 'passed');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
  });
});
