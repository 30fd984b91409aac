import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { AlertMonitor } from '../server/alerts/alerts';
import { ErrorCodes, EventInput, IGNORE_FINDING_COMMAND, ReviewRequest, StartRunRequest } from '../server/protocol';
import { EventFactory } from './support/events';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const CODE = ['function mean(values) {', '  let sum = 0;', '  for (const v of values) sum += v;', '  return sum / (values.length - 1);', '}', ''].join('\n');
const review = (findings: unknown[]) => ({ kind: 'text' as const, text: '```json\n' + JSON.stringify({ findings }) + '\n```' });

describe('AI review and test failures as diagnostics, over LSP', () => {
  let host: HostClient | undefined;
  let root: string;
  let uri: string;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });
  beforeEach(() => {
    root = makeWorkspace({ 'stats.js': CODE, 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    uri = pathToFileURL(path.join(root, 'stats.js')).toString();
  });

  const start = async (settings: Record<string, unknown> = {}) => {
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { model: 'gpt-4.1-mini', ...settings });
    await host.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'javascript', version: 1, text: CODE } });
    return host;
  };

  it('publishes findings as diagnostics with the right ranges, and offers the fix, micro-agent and ignore', async () => {
    const h = await start();
    vendor.script(
      review([
        { line: 4, endLine: 4, severity: 'error', message: 'mean divides by length - 1', fix: { replacement: '  return sum / values.length;' } },
        { line: 1, endLine: 5, severity: 'hint', message: 'consider a guard for empty arrays' },
        { line: 9, endLine: 9, severity: 'warning', message: 'past the end' },
      ]),
    );
    const result = await h.connection.sendRequest(ReviewRequest.type, { uri });
    assert.equal(result.findings.length, 2);
    await until(() => (h.diagnostics.get(uri)?.length ?? 0) === 2, 'diagnostics');
    const [error, hint] = h.diagnostics.get(uri)!;
    assert.deepEqual(error.range, { start: { line: 3, character: 0 }, end: { line: 3, character: 35 } });
    assert.equal(error.severity, 1);
    assert.equal(error.source, 'dev-ai');
    assert.deepEqual(hint.range, { start: { line: 0, character: 0 }, end: { line: 4, character: 1 } });
    assert.equal(hint.severity, 4);

    // The review went through the model like any call: review and llm events, the numbered listing.
    const types = h.events.map((e) => e.type);
    assert.deepEqual(types, ['review.started', 'llm.request', 'llm.response', 'review.finished']);
    const finished = h.events.at(-1)!;
    assert.equal(finished.type === 'review.finished' && finished.dropped.length, 1);
    assert.match(vendor.requests[0].body.messages[1].content, /4\| {3}return sum \/ \(values.length - 1\);/);

    const actions: any[] = await h.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: error.range,
      context: { diagnostics: [error] },
    });
    assert.deepEqual(
      actions.map((a) => a.title),
      ['Apply dev-ai fix', 'Fix with micro-agent', 'Ignore this dev-ai finding'],
    );
    assert.deepEqual(actions[0].edit.changes[uri], [{ range: error.range, newText: '  return sum / values.length;' }]);
    assert.deepEqual(actions[1].command, { title: 'Fix with micro-agent', command: 'devAi.fixFile', arguments: [uri] });

    // Ignore: gone now (from the cache: no new call), and remembered on disk.
    await h.connection.sendRequest('workspace/executeCommand', { command: IGNORE_FINDING_COMMAND, arguments: actions[2].command.arguments });
    await until(() => h.diagnostics.get(uri)?.length === 1, 'the ignored finding to go');
    assert.equal(vendor.requests.length, 1);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root, '.micro-agent', 'review-ignored.json'), 'utf8')).length, 1);
  });

  it('moves diagnostics with their lines on edits elsewhere, and drops one once its lines change', async () => {
    const h = await start();
    vendor.script(
      review([
        { line: 4, endLine: 4, severity: 'error', message: 'mean divides by length - 1', fix: { replacement: '  return sum / values.length;' } },
        { line: 1, endLine: 1, severity: 'info', message: 'name it average' },
      ]),
    );
    await h.connection.sendRequest(ReviewRequest.type, { uri });
    await until(() => h.diagnostics.get(uri)?.length === 2, 'diagnostics');
    const edit = async (version: number, range: object, text: string) =>
      h.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ range, text }] });

    // Two lines inserted above line 4: the finding moves down with its line, the one on line 1 stays.
    await edit(2, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, '  // a\n  // b\n');
    await until(() => h.diagnostics.get(uri)?.[0]?.range.start.line === 5, 'the finding to move to line 6');
    assert.deepEqual(
      h.diagnostics.get(uri)!.map((d) => [d.range.start.line, d.range.end.line]),
      [
        [5, 5],
        [0, 0],
      ],
    );

    // The user applies the fix: that finding is resolved and goes; the other one stays.
    const [error] = h.diagnostics.get(uri)!;
    const [apply]: any[] = await h.connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: error.range,
      context: { diagnostics: [error] },
    });
    const [change] = apply.edit.changes[uri];
    await edit(3, change.range, change.newText);
    await until(() => h.diagnostics.get(uri)?.length === 1, 'the fixed finding to go');
    assert.equal(h.diagnostics.get(uri)![0].message, 'name it average');
  });

  it('reviews an unchanged file again for 0 calls, and a changed one anew', async () => {
    const h = await start();
    vendor.respond = () => review([{ line: 2, endLine: 2, severity: 'info', message: 'fine' }]);
    assert.equal((await h.connection.sendRequest(ReviewRequest.type, { uri })).cached, false);
    assert.equal((await h.connection.sendRequest(ReviewRequest.type, { uri })).cached, true);
    assert.equal(vendor.requests.length, 1);
    await h.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: CODE + '// more\n' }] });
    assert.equal((await h.connection.sendRequest(ReviewRequest.type, { uri })).cached, false);
    assert.equal(vendor.requests.length, 2);
  });

  it('cancels a review when the document changes mid-review', async () => {
    const h = await start();
    vendor.script({ ...review([]), firstTokenDelayMs: 10_000 });
    const pending = h.connection.sendRequest(ReviewRequest.type, { uri });
    await until(() => vendor.requests.length === 1, 'the review call');
    await h.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: CODE + '\n' }] });
    await assert.rejects(pending, (err: { code: number; message: string }) => err.code === -32801 && /the document changed/.test(err.message));
    await until(() => h.events.some((e) => e.type === 'review.finished'), 'review.finished');
    const finished = h.events.find((e) => e.type === 'review.finished');
    assert.equal(finished?.type === 'review.finished' && finished.outcome, 'cancelled');

    // The client cancels the request ($/cancelRequest): the model call stops too.
    vendor.script({ ...review([]), firstTokenDelayMs: 10_000 });
    const source = new CancellationTokenSource();
    const cancelled = h.connection.sendRequest(ReviewRequest.type, { uri }, source.token);
    await until(() => vendor.requests.length === 2, 'the second review call');
    source.cancel();
    await assert.rejects(cancelled, (err: { code: number }) => err.code === -32800);
    await until(() => h.events.filter((e) => e.type === 'review.finished' && e.outcome === 'cancelled').length === 2, 'the second review.finished');
  });

  it('says clearly when the model answers malformed JSON, and refuses files over the size limit', async () => {
    const h = await start({ review: { maxFileKb: 1 } });
    vendor.script({ kind: 'text', text: '{"findings": [ {"line": 2,' });
    const bad = await h.connection.sendRequest(ReviewRequest.type, { uri }).then(
      () => undefined,
      (err) => err,
    );
    assert.match(bad.message, /not valid JSON/);
    fs.writeFileSync(path.join(root, 'big.js'), 'x'.repeat(2048));
    const big = await h.connection.sendRequest(ReviewRequest.type, { uri: pathToFileURL(path.join(root, 'big.js')).toString() }).then(
      () => undefined,
      (err) => err,
    );
    assert.equal(big.code, ErrorCodes.InvalidParams);
    assert.match(big.message, /limited to 1 KB/);
    assert.equal(vendor.requests.length, 1);
  });

  it('stops reviewing for the hour once the hourly budget is spent, with an alert', async () => {
    const h = await start({ review: { hourlyBudgetUsd: 0.0001 } });
    vendor.respond = () => ({ ...review([]), usage: { input: 10_000, output: 100 } });
    await h.connection.sendRequest(ReviewRequest.type, { uri });
    await h.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: CODE + '\n' }] });
    const refused = await h.connection.sendRequest(ReviewRequest.type, { uri }).then(
      () => undefined,
      (err) => err,
    );
    assert.match(refused.message, /hourlyBudgetUsd/);
    assert.equal(vendor.requests.length, 1);
    await h.waitFor((e) => e.type === 'alert' && e.kind === 'budget');
  });

  it('publishes failing tests where they fail and clears them when the tests pass', async () => {
    const h = await start();
    vendor.script({ kind: 'text', text: 'no block' }, { kind: 'text', text: fixReply() });
    const testUri = pathToFileURL(path.join(root, 'math.test.js')).toString();
    const { runId } = await h.connection.sendRequest(StartRunRequest.type, {
      uri: pathToFileURL(path.join(root, 'math.js')).toString(),
      testCommand: TEST_COMMAND,
    });
    await until(() => (h.diagnostics.get(testUri)?.length ?? 0) > 0, 'a test failure diagnostic');
    const [failure] = h.diagnostics.get(testUri)!;
    assert.equal(failure.range.start.line, 3, 'line 4 of math.test.js, where add is asserted');
    assert.match(failure.message, /test failed: add/);
    await h.waitFor((e) => e.type === 'run.finished' && e.runId === runId);
    await until(() => h.diagnostics.get(testUri)?.length === 0, 'the diagnostics to clear');
  });

  it('auto-fixes after a save when enabled: tests fail, a run starts with the configured command', async () => {
    const h = await start({ autoFix: true, testCommand: TEST_COMMAND });
    vendor.script({ kind: 'text', text: fixReply() });
    const mathUri = pathToFileURL(path.join(root, 'math.js')).toString();
    await h.connection.sendNotification('textDocument/didOpen', { textDocument: { uri: mathUri, languageId: 'javascript', version: 1, text: BROKEN_MATH } });
    await h.connection.sendNotification('textDocument/didSave', { textDocument: { uri: mathUri } });
    const started = await h.waitFor((e) => e.type === 'run.started');
    assert.equal(started.type === 'run.started' && started.testCommand, TEST_COMMAND);
    const finished = await h.waitFor((e) => e.type === 'run.finished');
    assert.equal(finished.type === 'run.finished' && finished.outcome, 'passed');
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 1);
  });
});

describe('alerts', () => {
  const monitor = () => {
    const raised: EventInput[] = [];
    return { raised, m: new AlertMonitor((a) => raised.push(a)) };
  };

  it('raises one error-rate alert per provider per quiet period', () => {
    const { raised, m } = monitor();
    const f = new EventFactory();
    for (let i = 0; i < 10; i++) m.observe(f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 100, ok: i % 2 === 0 }));
    assert.equal(raised.length, 1);
    assert.match((raised[0] as any).message, /openai failed 2 of its last 5 calls \(40%\)/);
  });

  it('raises a latency alert for a call far slower than the usual', () => {
    const { raised, m } = monitor();
    const f = new EventFactory();
    for (let i = 0; i < 12; i++) m.observe(f.call(undefined, 'anthropic', 'claude-sonnet-4-5', { latencyMs: 2000 }));
    assert.equal(raised.length, 0);
    m.observe(f.call(undefined, 'anthropic', 'claude-sonnet-4-5', { latencyMs: 9000 }));
    assert.equal(raised.length, 1);
    assert.equal((raised[0] as any).kind, 'latency');
  });

  it('raises a budget alert when a run stops at its budget', () => {
    const { raised, m } = monitor();
    m.observe({
      seq: 1,
      ts: 1,
      type: 'run.finished',
      runId: 'r',
      outcome: 'failed',
      reason: 'budget_usd',
      iterations: 2,
      costUsd: 0.5,
      unpricedCalls: 0,
      durationMs: 1,
      restored: true,
    });
    assert.equal((raised[0] as any).kind, 'budget');
  });
});
