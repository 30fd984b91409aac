import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, readLog } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { useVendorServer } from './support/vendorServer';

/** A test command that records, per run, whether the API keys reached it, then runs the real suite. */
const RECORDING_TEST =
  `node -e "const e = process.env; require('fs').appendFileSync('env.jsonl', ` +
  `JSON.stringify({ openai: e.OPENAI_API_KEY ?? null, anthropic: e.ANTHROPIC_API_KEY ?? null }) + '\\n')"` +
  ' && node --test math.test.js';

describe('auto-fix on save, through the engine, over LSP', () => {
  let host: HostClient | undefined;
  let root: string;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });
  beforeEach(() => {
    root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
  });

  it('runs the tests without the API keys, logs them as test events, and the run it starts does not test again first', async () => {
    const openaiKey = fakeKey();
    const anthropicKey = fakeKey('sk-ant');
    host = await startHost(
      root,
      { OPENAI_API_KEY: openaiKey, ANTHROPIC_API_KEY: anthropicKey, OPENAI_BASE_URL: vendor.openaiUrl },
      { provider: 'openai', model: 'gpt-4.1-mini', autoFix: true, testCommand: RECORDING_TEST, testTimeoutSec: 60 },
    );
    vendor.script({ kind: 'text', text: fixReply() });
    const uri = pathToFileURL(path.join(root, 'math.js')).toString();
    await host.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'javascript', version: 1, text: BROKEN_MATH } });
    await host.connection.sendNotification('textDocument/didSave', { textDocument: { uri } });
    const finished = await host.waitFor((e) => e.type === 'run.finished');
    assert.equal(finished.type === 'run.finished' && finished.outcome, 'passed');

    // Every test process ran without either key: the check after the save and the run's own test.
    const runs = fs
      .readFileSync(path.join(root, 'env.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    assert.equal(runs.length, 2, 'one check, one test after the fix');
    for (const env of runs) assert.deepEqual(env, { openai: null, anthropic: null });

    // The check is logged as the run's iteration 0; the run asks the model before it tests again.
    const log = readLog(root);
    const runId = finished.runId;
    const sequence = log.filter((e) => e.runId === runId && ['test.started', 'test.finished', 'run.started', 'llm.request'].includes(e.type));
    assert.deepEqual(
      sequence.map((e) => `${e.type}${e.iteration === undefined || e.iteration === null ? '' : `@${e.iteration}`}`),
      ['test.started@0', 'test.finished@0', 'run.started', 'llm.request@1', 'test.started@1', 'test.finished@1'],
    );
    const check = log.find((e) => e.type === 'test.finished' && e.iteration === 0);
    assert.equal(check.passed, false);
    assert.match(check.outputTail, /fail/);
    assert.equal(vendor.requests.length, 1);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), fixReply().split('```js\n')[1].split('```')[0]);
    // The keys never reached the log either.
    const raw = fs.readFileSync(path.join(root, '.micro-agent', 'events.jsonl'), 'utf8');
    assert.ok(!raw.includes(openaiKey) && !raw.includes(anthropicKey));
  });

  it('starts no run when the tests pass after the save, and logs the check', async () => {
    fs.writeFileSync(path.join(root, 'math.js'), fixReply().split('```js\n')[1].split('```')[0]);
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { autoFix: true, testCommand: RECORDING_TEST });
    const uri = pathToFileURL(path.join(root, 'math.js')).toString();
    const text = fs.readFileSync(path.join(root, 'math.js'), 'utf8');
    await host.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'javascript', version: 1, text } });
    await host.connection.sendNotification('textDocument/didSave', { textDocument: { uri } });
    const check = await host.waitFor((e) => e.type === 'test.finished');
    assert.equal(check.type === 'test.finished' && check.passed, true);
    // Give a wrongly started run time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 0);
    assert.equal(vendor.requests.length, 0);
  });
});
