import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentEvent, CancelRunRequest, ErrorCodes, EventsRequest, RunFinishedEvent, RunsRequest, StartRunRequest, StatsRequest } from '../server/protocol';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { HostClient, rejection, startHost } from './support/lspClient';
import { isAlive } from './support/processes';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const uriOf = (root: string, file: string) => pathToFileURL(path.join(root, file)).toString();
const finishedOf =
  (runId: string) =>
  (e: AgentEvent): boolean =>
    e.type === 'run.finished' && e.runId === runId;

describe('micro-agent host over LSP stdio', () => {
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });

  it('fixes a broken module, pushing every event live, with work-done progress and replayable history', async () => {
    const root = makeWorkspace();
    const key = fakeKey();
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1200, output: 80 } });
    host = await startHost(root, { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl }, { provider: 'openai', model: 'gpt-4.1-mini' });

    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: TEST_COMMAND });
    const finished = (await host.waitFor(finishedOf(runId))) as RunFinishedEvent;
    assert.equal(finished.outcome, 'passed');
    assert.equal(finished.iterations, 1);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);

    // Live notifications are exactly the log, in order.
    const logged = readLog(root);
    assert.deepEqual(host.events, logged);
    assert.deepEqual(
      logged.map((e) => e.type),
      [
        'run.started',
        'test.started',
        'test.finished',
        'run.iteration',
        'llm.request',
        'llm.response',
        'edit.applied',
        'test.started',
        'test.finished',
        'run.finished',
      ],
    );

    // Replay: everything, then only what came after a seq.
    const all = await host.connection.sendRequest(EventsRequest.type, {});
    assert.deepEqual(all.events, logged);
    assert.equal(all.lastSeq, logged.at(-1).seq);
    const tail = await host.connection.sendRequest(EventsRequest.type, { afterSeq: logged[4].seq, limit: 2 });
    assert.deepEqual(tail.events, logged.slice(5, 7));

    // Work-done progress: begin (cancellable), reports, end.
    await until(() => host!.progress.some((p) => p.value.kind === 'end'), 'progress end');
    const kinds = host.progress.map((p) => p.value.kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(host.progress[0].value.cancellable, true);
    assert.ok(kinds.includes('report'));

    const stats = await host.connection.sendRequest(StatsRequest.type);
    assert.equal(stats.providers.length, 1);
    assert.deepEqual(
      { ...stats.providers[0], p50LatencyMs: null, p95LatencyMs: null, p50TtftMs: null },
      {
        provider: 'openai',
        model: 'gpt-4.1-mini',
        calls: 1,
        errors: 0,
        p50LatencyMs: null,
        p95LatencyMs: null,
        p50TtftMs: null,
        inputTokens: 1200,
        // The fake vendor reported no cache usage.
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        outputTokens: 80,
        costUsd: (1200 * 0.4 + 80 * 1.6) / 1e6,
        unpricedCalls: 0,
        // One reply, applied: a whole file, so no ladder step placed it.
        editReplies: 1,
        wellFormedRate: 1,
        matchSteps: { exact: 0, whitespace: 0, indent: 0, tabs: 0, blank_lines: 0, elision: 0 },
      },
    );
    assert.equal(stats.runs.total, 1);
    assert.equal(stats.runs.passed, 1);
    assert.equal(stats.runs.passRate, 1);
    const { runs } = await host.connection.sendRequest(RunsRequest.type);
    assert.equal(runs[0].runId, runId);
    assert.equal(runs[0].status, 'passed');

    const everything = JSON.stringify(host.events) + host.stderr() + fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8');
    assert.ok(!everything.includes(key), 'the key must appear nowhere');
  });

  it('takes the test command and limits from the devAi settings', async () => {
    const root = makeWorkspace();
    vendor.respond = () => ({ kind: 'text', text: fixReply('exports.add = () => 1;\nexports.mul = () => 1;\n') });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { testCommand: TEST_COMMAND, maxRuns: 1 });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js') });
    const finished = (await host.waitFor(finishedOf(runId))) as RunFinishedEvent;
    assert.equal(finished.outcome, 'failed');
    assert.equal(finished.reason, 'max_runs');
    assert.equal(finished.iterations, 1);
    assert.equal(finished.restored, true);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    const started = host.events.find((e) => e.type === 'run.started');
    assert.equal(started?.type === 'run.started' && started.testCommand, TEST_COMMAND);
  });

  it('tells the editor, once, that it cannot read a runner it does not know: the pass there is the exit code alone', async () => {
    const root = makeWorkspace();
    const check = `node -e "process.exit(require('fs').readFileSync('math.js', 'utf8').includes('a + b') ? 0 : 1)"`;
    vendor.respond = () => ({ kind: 'text', text: fixReply() });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { testCommand: check });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js') });
    assert.equal(((await host.waitFor(finishedOf(runId))) as RunFinishedEvent).outcome, 'passed');
    const started = host.events.find((e) => e.type === 'run.started');
    assert.equal(started?.type === 'run.started' && started.runner, 'unknown');
    // The extension shows a `warn` log event of a run as a warning (extension/runEnd.ts).
    const warnings = host.events.filter((e) => e.type === 'log' && e.level === 'warn' && e.runId === runId);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].type === 'log' ? warnings[0].message : '', /cannot read this test runner's output .*: a pass here is the exit code alone/);
  });

  it('cancel mid-test kills the whole test process tree and refuses a second run on the same file meanwhile', async () => {
    const root = makeWorkspace({
      'math.js': BROKEN_MATH,
      // The test command starts a grandchild that would outlive a naive kill of the shell.
      'slow-test.js': `const { spawn } = require('node:child_process');
const fs = require('node:fs');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
fs.writeFileSync('grandchild.pid', String(child.pid));
setInterval(() => {}, 1000);
`,
    });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: 'node slow-test.js' });
    const pidFile = path.join(root, 'grandchild.pid');
    await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '', 'the test to start its grandchild');
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(isAlive(grandchild));

    const second = await rejection(host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: 'true' }));
    assert.equal(second.code, ErrorCodes.RunInProgress);
    assert.match(second.message, /already going on math\.js/);

    assert.deepEqual(await host.connection.sendRequest(CancelRunRequest.type, { runId }), { cancelled: true });
    const finished = (await host.waitFor(finishedOf(runId))) as RunFinishedEvent;
    assert.equal(finished.outcome, 'cancelled');
    const testFinished = host.events.find((e) => e.type === 'test.finished');
    assert.equal(testFinished?.type === 'test.finished' && testFinished.cancelled, true);
    await until(() => !isAlive(grandchild), 'the grandchild to die', 5000);
    assert.equal(vendor.requests.length, 0);
    assert.deepEqual(await host.connection.sendRequest(CancelRunRequest.type, { runId }), { cancelled: false });
  });

  it('cancels a run from the progress notification (window/workDoneProgress/cancel) and restores the file', async () => {
    const root = makeWorkspace();
    // The model answers slowly, so the cancel lands mid-call after an attempt was written.
    vendor.script(
      { kind: 'text', text: fixReply('exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n') },
      { kind: 'text', text: fixReply(), firstTokenDelayMs: 10_000 },
    );
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: TEST_COMMAND });
    await host.waitFor((e) => e.type === 'llm.request' && e.iteration === 2);
    await until(() => host!.progress.length > 0, 'progress');
    await host.connection.sendNotification('window/workDoneProgress/cancel', { token: host.progress[0].token });
    const finished = (await host.waitFor(finishedOf(runId))) as RunFinishedEvent;
    assert.equal(finished.outcome, 'cancelled');
    assert.equal(finished.restored, true);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    const response = host.events.find((e) => e.type === 'llm.response' && e.iteration === 2);
    assert.equal(response?.type === 'llm.response' && response.error?.kind, 'cancelled');
  });

  it('refuses bad requests with clear errors: outside the workspace, missing key, no test command', async () => {
    const root = makeWorkspace();
    fs.symlinkSync('/etc/hostname', path.join(root, 'escape.js'));
    host = await startHost(root, {});
    const outside = await rejection(host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL('/etc/hostname').toString(), testCommand: 'true' }));
    assert.equal(outside.code, ErrorCodes.InvalidParams);
    assert.match(outside.message, /outside the workspace/);
    const symlink = await rejection(host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'escape.js'), testCommand: 'true' }));
    assert.match(symlink.message, /symlink/);
    const noKey = await rejection(host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: 'true', provider: 'openai' }));
    assert.equal(noKey.code, ErrorCodes.Configuration);
    assert.match(noKey.message, /OPENAI_API_KEY/);
    const noTest = await rejection(host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js') }));
    assert.match(noTest.message, /no test command/);
    const badProvider = await rejection(
      host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: 'true', provider: 'gemini' as never }),
    );
    assert.match(badProvider.message, /unknown provider/);
    assert.equal(readLog(root).length, 0, 'nothing was started');
  });

  it('continues seq after a restart and closes runs a killed host left open', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 30_000 });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: uriOf(root, 'math.js'), testCommand: TEST_COMMAND });
    await host.waitFor((e) => e.type === 'llm.request');
    host.child.kill('SIGKILL');
    await new Promise((r) => host!.child.once('exit', r));
    const lastSeq = readLog(root).at(-1).seq;

    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
    const { runs } = await host.connection.sendRequest(RunsRequest.type);
    const interrupted = runs.find((r) => r.runId === runId);
    assert.equal(interrupted?.status, 'error');
    assert.equal(interrupted?.reason, 'interrupted');
    const log = readLog(root);
    assert.equal(log.at(-1).seq, lastSeq + 1);
    assert.equal(log.at(-1).type, 'run.finished');
  });
});
