/**
 * The run-trust methods over the real host (LSP over stdio) and the live API (`micro-agent serve`): what a
 * run changed, restore any attempt, undo refused over later edits with the files as error data, resume,
 * tests-first drafts, and the interrupted-runs notice after a killed host.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource, LSPErrorCodes } from 'vscode-languageserver-protocol';
import {
  ErrorCodes,
  InterruptedRunsNotification,
  InterruptedRunsParams,
  RestoreAttemptRequest,
  ResumeRunRequest,
  RunChangesRequest,
  StartRunRequest,
  UndoRunRequest,
  WriteTestsRequest,
} from '../server/protocol';
import { request } from './support/apiClient';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, TEST_COMMAND } from './support/fixtures';
import { HostClient, rejection, startHost } from './support/lspClient';
import { serve, Served, stop } from './support/serve';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const WRONG_MATH = 'exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n';

describe('run changes, restore, undo and resume over the host and the live API', () => {
  let host: HostClient | undefined;
  let served: Served | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
    await stop(served);
    served = undefined;
  });
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
  const read = (root: string, file = 'math.js') => fs.readFileSync(path.join(root, file), 'utf8');

  it('lists a two-attempt run, restores attempt 1, refuses undo over a later edit with the files, then undoes with force', async () => {
    const root = makeWorkspace();
    host = await startHost(root, env(), { testCommand: TEST_COMMAND });
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'text', text: fixReply() });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'math.js')).toString() });
    await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId, 30_000);

    const changes = await host.connection.sendRequest(RunChangesRequest.type, {});
    assert.equal(changes.runId, runId, 'without a run id: the latest run');
    assert.deepEqual(
      changes.checkpoints.map((c) => [c.iteration, c.files, c.kept]),
      [
        [1, ['math.js'], true],
        [2, ['math.js'], true],
      ],
    );
    assert.equal(changes.files.length, 1);
    const [file] = changes.files;
    assert.equal(file.status, 'modified');
    assert.equal(file.changedSince, false);
    assert.equal(fs.readFileSync(path.join(root, file.original!), 'utf8'), BROKEN_MATH, 'the original side of the diff');
    assert.equal(fs.readFileSync(path.join(root, file.result!), 'utf8'), FIXED_MATH, 'the result side');
    assert.match(file.diff, /-exports\.add = \(a, b\) => a - b;\n\+exports\.add = \(a, b\) => a \+ b;/);

    const restored = await host.connection.sendRequest(RestoreAttemptRequest.type, { runId, iteration: 1 });
    assert.deepEqual(restored, { runId, iteration: 1, files: ['math.js'] });
    assert.equal(read(root), WRONG_MATH);
    await host.waitFor((e) => e.type === 'run.restored' && e.iteration === 1);
    assert.equal((await host.connection.sendRequest(RunChangesRequest.type, { runId })).restoredTo, 1);

    const missing = await rejection(host.connection.sendRequest(RestoreAttemptRequest.type, { runId, iteration: 7 }));
    assert.equal(missing.code, ErrorCodes.NotFound);
    assert.match(missing.message, /checkpoints: 1, 2/);

    fs.writeFileSync(path.join(root, 'math.js'), WRONG_MATH + '// mine\n');
    const refused = await rejection(host.connection.sendRequest(UndoRunRequest.type, { runId }));
    assert.equal(refused.code, ErrorCodes.ChangedSince);
    assert.deepEqual(refused.data, { files: ['math.js'] });
    assert.equal(read(root), WRONG_MATH + '// mine\n');
    assert.equal((await host.connection.sendRequest(RunChangesRequest.type, { runId })).files[0].changedSince, true);

    await host.connection.sendRequest(UndoRunRequest.type, { runId, force: true });
    assert.equal(read(root), BROKEN_MATH);

    const passed = await rejection(host.connection.sendRequest(ResumeRunRequest.type, { runId }));
    assert.equal(passed.code, ErrorCodes.InvalidParams);
    assert.match(passed.message, /passed: there is nothing to resume/);
  });

  it('resumes a failed run from the host: the next iteration, from its last attempt', async () => {
    const root = makeWorkspace();
    host = await startHost(root, env(), { testCommand: TEST_COMMAND, maxRuns: 1 });
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) });
    const first = await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'math.js')).toString() });
    const failed = await host.waitFor((e) => e.type === 'run.finished' && e.runId === first.runId, 30_000);
    assert.equal(failed.type === 'run.finished' && failed.reason, 'max_runs');
    assert.equal(read(root), BROKEN_MATH);

    vendor.script({ kind: 'text', text: fixReply() });
    const { runId } = await host.connection.sendRequest(ResumeRunRequest.type, { runId: first.runId, maxRuns: 2 });
    const finished = await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId, 30_000);
    assert.equal(finished.type === 'run.finished' && finished.outcome, 'passed');
    assert.equal(finished.type === 'run.finished' && finished.iterations, 2);
    const started = host.events.find((e) => e.type === 'run.started' && e.runId === runId);
    assert.equal(started?.type === 'run.started' && started.resumedFrom, first.runId);
    assert.equal(started?.type === 'run.started' && started.maxRuns, 3);
    assert.equal(read(root), FIXED_MATH);
  });

  it('writes a test draft without touching the disk, and refuses an existing test file', async () => {
    const root = makeWorkspace();
    host = await startHost(root, env(), { testCommand: TEST_COMMAND });
    const draft = "const test = require('node:test');\ntest('x', () => {});\n";
    vendor.script({ kind: 'text', text: `\`\`\`js\n${draft}\`\`\`` });
    const uri = pathToFileURL(path.join(root, 'math.js')).toString();
    const result = await host.connection.sendRequest(WriteTestsRequest.type, { uri, testFile: 'math.more.test.js', prompt: 'add adds' });
    assert.deepEqual(result, { testFile: 'math.more.test.js', contents: draft });
    assert.ok(!fs.existsSync(path.join(root, 'math.more.test.js')), 'a draft is not written');
    assert.match(vendor.requests[0].body.messages.at(-1).content, /math\.more\.test\.js[\s\S]*add adds[\s\S]*exports\.add = \(a, b\) => a - b/);

    // Accepted as drafted (also when named among the test files): the run writes it before its first test.
    const accepted = await host.connection.sendRequest(StartRunRequest.type, {
      uri,
      testCommand: 'node --test math.more.test.js',
      testFiles: ['math.more.test.js'],
      generatedTests: { testFile: 'math.more.test.js', contents: draft },
    });
    const generated = await host.waitFor((e) => e.type === 'tests.generated' && e.runId === accepted.runId);
    assert.deepEqual(generated.type === 'tests.generated' && [generated.testFile, generated.drafts, generated.edited], ['math.more.test.js', 1, false]);
    await host.waitFor((e) => e.type === 'run.finished' && e.runId === accepted.runId && e.outcome === 'passed');
    assert.equal(read(root, 'math.more.test.js'), draft);

    const exists = await rejection(host.connection.sendRequest(WriteTestsRequest.type, { uri, testFile: 'math.test.js', prompt: 'add adds' }));
    assert.equal(exists.code, ErrorCodes.InvalidParams);
    assert.match(exists.message, /exists already/);
    const reserved = await rejection(host.connection.sendRequest(WriteTestsRequest.type, { uri, testFile: '.git/hooks/t.test.js', prompt: 'x' }));
    assert.equal(reserved.code, ErrorCodes.InvalidParams);

    // Cancelling the request (the editor's progress Cancel) stops the model call.
    vendor.script({ kind: 'hang' });
    const source = new CancellationTokenSource();
    const pending = rejection(host.connection.sendRequest(WriteTestsRequest.type, { uri, testFile: 'math.other.test.js', prompt: 'add adds' }, source.token));
    await until(() => vendor.requests.length === 2, 'the second draft request');
    source.cancel();
    assert.equal((await pending).code, LSPErrorCodes.RequestCancelled);
    const aborted = await host.waitFor((e) => e.type === 'llm.response' && !e.ok);
    assert.equal(aborted.type === 'llm.response' && aborted.error?.kind, 'cancelled');
  });

  it('after a killed host, the next host sends interruptedRuns; nothing is restored until the user undoes', async () => {
    const root = makeWorkspace();
    host = await startHost(root, env(), { testCommand: TEST_COMMAND });
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'hang' });
    const { runId } = await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'math.js')).toString() });
    await until(() => vendor.requests.length === 2, 'the second model call', 30_000);
    host.child.kill('SIGKILL');
    await new Promise((resolve) => host!.child.once('exit', resolve));
    host = undefined;
    assert.equal(read(root), WRONG_MATH);

    const notices: InterruptedRunsParams[] = [];
    host = await startHost(root, env(), { testCommand: TEST_COMMAND }, {}, (connection) =>
      connection.onNotification(InterruptedRunsNotification.type, (params) => void notices.push(params)),
    );
    await until(() => notices.length > 0, 'the interruptedRuns notification');
    assert.deepEqual(notices[0], { runs: [{ runId, file: 'math.js', files: ['math.js'] }] });
    assert.equal(read(root), WRONG_MATH, 'nothing restored behind the user back');
    await host.connection.sendRequest(UndoRunRequest.type, { runId });
    assert.equal(read(root), BROKEN_MATH);
  });

  it('serves the same over REST: changes, 409 with the files, read-only tokens refused, undo', async () => {
    const root = makeWorkspace();
    served = await serve(root, env(), ['-t', TEST_COMMAND]);
    const { token, readToken } = served.info;
    vendor.script({ kind: 'text', text: fixReply() });
    const started = await request(`${served.url}/v1/runs`, { method: 'POST', token, body: JSON.stringify({ file: 'math.js' }) });
    assert.equal(started.status, 201, started.text);
    const runId = started.json().runId as string;
    await until(() => read(root) === FIXED_MATH && /tests pass/.test(served!.output()), 'the run to pass', 30_000);

    const changes = await request(`${served.url}/v1/runs/${runId}/changes`, { token: readToken });
    assert.equal(changes.status, 200, changes.text);
    assert.equal(changes.json().files[0].file, 'math.js');

    const readOnly = await request(`${served.url}/v1/runs/${runId}/undo`, { method: 'POST', token: readToken });
    assert.equal(readOnly.status, 403);

    fs.writeFileSync(path.join(root, 'math.js'), FIXED_MATH + '// mine\n');
    const conflict = await request(`${served.url}/v1/runs/${runId}/undo`, { method: 'POST', token });
    assert.equal(conflict.status, 409, conflict.text);
    assert.deepEqual(conflict.json().error.files, ['math.js']);

    const undone = await request(`${served.url}/v1/runs/${runId}/undo`, { method: 'POST', token, body: JSON.stringify({ force: true }) });
    assert.equal(undone.status, 200, undone.text);
    assert.deepEqual(undone.json(), { runId, iteration: 0, files: ['math.js'] });
    assert.equal(read(root), BROKEN_MATH);

    const unknown = await request(`${served.url}/v1/runs/nope-123/changes`, { token });
    assert.equal(unknown.status, 404);
  });
});
