import * as assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { cli } from './support/cli';
import { evalCopies, snapshot, useEvalSandbox } from './support/evalRepo';
import { DIST, FIXED_MATH, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { rejection, startHost } from './support/lspClient';
import { serve, stop } from './support/serve';
import { until } from './support/until';
import { playModels, RecordedRequest, useVendorServer } from './support/vendorServer';
import { ErrorCodes, EvalRequest, EvalsRequest, RunsRequest, StartEvalRequest } from '../server/protocol';

const MUTANT_SOURCE = `exports.inRange = (x, lo, hi) => x >= lo && x <= hi;
exports.total = (items) => {
  let sum = 0;
  for (let i = 0; i < items.length; i++) sum = sum + items[i];
  return sum;
};
exports.ratio = (a, b) => a / b;
exports.clampTo = function (x, max) {
  if (x > max) return max;
  return x;
};
exports.pick = (list, index) => list[index];
exports.firstOf = (list) => exports.pick(list, 0);
exports.label = 'a < b'; // strings and comments are never mutated: x > y
`;
const UNTESTED = 'exports.twice = (x) => x * 2;\n';
const MUTANT_TEST = `const test = require('node:test');
const assert = require('node:assert/strict');
const { inRange, total, ratio, clampTo, pick, firstOf } = require('../src/mathx.js');
test('inRange', () => {
  assert.equal(inRange(5, 0, 10), true);
  assert.equal(inRange(11, 0, 10), false);
  assert.equal(inRange(0, 0, 10), true);
  assert.equal(inRange(-1, 0, 10), false);
});
test('total', () => assert.equal(total([1, 2, 3]), 6));
test('ratio', () => assert.equal(ratio(6, 3), 2));
test('clampTo', () => {
  assert.equal(clampTo(12, 10), 10);
  assert.equal(clampTo(3, 10), 3);
});
test('pick', () => {
  assert.equal(firstOf([7, 8]), 7);
  assert.equal(pick([1, 2], 1), 2);
});
`;
const MUTANT_COMMAND = 'node --test test/';
const RIGHT = 'gpt-4.1-mini';

function mutantWorkspace(): string {
  return makeWorkspace({ 'src/mathx.js': MUTANT_SOURCE, 'src/untested.js': UNTESTED, 'test/mathx.test.js': MUTANT_TEST });
}

describe('micro-agent eval: mutants, tasks files, the CI matrix, LSP and MCP', function () {
  this.timeout(180_000);
  const vendor = useVendorServer();
  const { tmp, env } = useEvalSandbox(vendor);

  it('the same seed gives the same mutants, each in a file the tests import, each caught by the tests; fewer found is said', async () => {
    const root = mutantWorkspace();
    const plan = async (seed: string, count = '4') => {
      const result = await cli(['eval', '--mutants', count, '--seed', seed, '--models', `openai:${RIGHT}`, '-t', MUTANT_COMMAND, '--plan'], root, env());
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout);
    };
    const first = await plan('7');
    const again = await plan('7');
    const tasksOf = (p: any) => p.include.map((job: any) => ({ id: job.task.id, files: job.task.files, origin: job.task.origin }));
    assert.equal(first.include.length, 4);
    assert.deepEqual(tasksOf(again), tasksOf(first), 'same seed, same tasks');
    assert.notEqual(first.evalId, again.evalId);
    for (const job of first.include) {
      assert.deepEqual(Object.keys(job.task.files), ['src/mathx.js'], 'only the non-test file the tests import');
      assert.notEqual(job.task.files['src/mathx.js'], MUTANT_SOURCE);
      assert.ok(job.task.files['src/mathx.js'].includes("exports.label = 'a < b'; // strings and comments are never mutated: x > y"));
      // Each kept mutant fails the tests, run live in a copy.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'mutant-check-'));
      fs.cpSync(root, copy, { recursive: true });
      fs.writeFileSync(path.join(copy, 'src/mathx.js'), job.task.files['src/mathx.js']);
      assert.throws(() => execSync(MUTANT_COMMAND, { cwd: copy, stdio: 'pipe' }), `mutant ${job.task.origin} must fail the tests`);
      fs.rmSync(copy, { recursive: true, force: true });
    }
    const other = await plan('8');
    assert.notDeepEqual(tasksOf(other), tasksOf(first), 'another seed, other mutants');

    const many = await plan('7', '400');
    assert.ok(many.include.length < 400);
    assert.match(many.notes.join('\n'), /found only \d+ mutant\(s\) the tests catch/);
    assert.deepEqual(fs.readFileSync(path.join(root, 'src/mathx.js'), 'utf8'), MUTANT_SOURCE);
  });

  it('--plan writes the matrix, --cell runs one job anywhere, merge builds the leaderboard', async () => {
    const root = mutantWorkspace();
    const before = snapshot(root);
    vendor.respond = playModels({
      [RIGHT]: () => ({ kind: 'text', text: fixReply(MUTANT_SOURCE) }),
      'gpt-4.1-nano': () => ({ kind: 'text', text: 'No idea.' }),
    });
    const planned = await cli(
      ['eval', '--mutants', '2', '--seed', '3', '--models', `openai:${RIGHT},openai:gpt-4.1-nano`, '-t', MUTANT_COMMAND, '--max-runs', '2', '--plan'],
      root,
      env(),
    );
    assert.equal(planned.code, 0, planned.stderr);
    const plan = JSON.parse(planned.stdout);
    assert.equal(plan.include.length, 4);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-results-'));
    const files: string[] = [];
    for (const [i, job] of plan.include.entries()) {
      const result = await cli(['eval', '--cell', JSON.stringify(job)], root, env());
      assert.equal(result.code, 0, result.stderr);
      const parsed = JSON.parse(result.stdout);
      assert.equal(parsed.evalId, plan.evalId);
      assert.equal(parsed.cell.model, job.model);
      files.push(path.join(out, `cell-${i}.json`));
      fs.writeFileSync(files.at(-1)!, result.stdout);
    }
    const merged = await cli(['eval', 'merge', ...files, '--json'], root, env());
    assert.equal(merged.code, 0, merged.stderr);
    const report = JSON.parse(merged.stdout);
    assert.equal(report.evalId, plan.evalId);
    assert.equal(report.tasks, 2);
    assert.equal(report.complete, true);
    assert.deepEqual(
      report.models.map((row: any) => [row.model, row.passed]),
      [
        [`openai:${RIGHT}`, 2],
        ['openai:gpt-4.1-nano', 0],
      ],
    );
    const table = await cli(['eval', 'merge', ...files], root, env());
    assert.match(table.stdout, /openai:gpt-4\.1-mini\s+2\/2\s+100% \(34%–100%\)/);
    assert.deepEqual(snapshot(root), before);
  });

  it('serves microAgent/startEval, evals and eval over LSP with a --tasks file, and refuses bad params', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'tasks.jsonl'), `${JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND, prompt: 'add must add' })}\n`);
    vendor.respond = playModels({ [RIGHT]: () => ({ kind: 'text', text: fixReply(FIXED_MATH) }) });
    const host = await startHost(root, env());
    try {
      const bad = await rejection(host.connection.sendRequest(StartEvalRequest.type, { tasks: 'tasks.jsonl', models: ['gpt-4o'] }));
      assert.equal(bad.code, ErrorCodes.InvalidParams);
      const { evalId } = await host.connection.sendRequest(StartEvalRequest.type, { tasks: 'tasks.jsonl', models: [`openai:${RIGHT}`] });
      const cell = await host.waitFor((e) => e.type === 'eval.cell' && e.evalId === evalId, 60_000);
      assert.equal((cell as any).outcome, 'passed');
      await host.waitFor((e) => e.type === 'eval.finished' && e.evalId === evalId, 60_000);
      const { evals } = await host.connection.sendRequest(EvalsRequest.type);
      assert.deepEqual(
        evals.map((e) => [e.evalId, e.status, e.cellsDone, e.cells]),
        [[evalId, 'finished', 1, 1]],
      );
      const report = await host.connection.sendRequest(EvalRequest.type, { evalId });
      assert.equal(report.tasks, 1);
      assert.equal(report.models[0].model, `openai:${RIGHT}`);
      assert.equal(report.models[0].passed, 1);
      assert.equal(report.cells[0].runId, (cell as any).runId);
      // The run list tells the eval's runs from everyday ones.
      const { runs } = await host.connection.sendRequest(RunsRequest.type);
      assert.deepEqual(
        runs.map((run) => [run.runId, run.evalId]),
        [[(cell as any).runId, evalId]],
      );
      const missing = await rejection(host.connection.sendRequest(EvalRequest.type, { evalId: 'ev-nope' }));
      assert.equal(missing.code, ErrorCodes.NotFound);
      // The run's file in the workspace was never touched: the cell ran in a copy.
      assert.notEqual(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    } finally {
      await host.stop();
    }
  });

  it('serves evals over REST: POST /v1/evals, GET /v1/evals and /v1/evals/<evalId>; a read-only token may not start one', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'tasks.jsonl'), `${JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND })}\n`);
    vendor.respond = playModels({ [RIGHT]: () => ({ kind: 'text', text: fixReply(FIXED_MATH) }) });
    const served = await serve(root, env());
    try {
      const call = (method: string, route: string, token: string, body?: unknown) =>
        fetch(`${served.url}/v1${route}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const params = { tasks: 'tasks.jsonl', models: [`openai:${RIGHT}`] };
      assert.equal((await call('POST', '/evals', served.info.readToken, params)).status, 403);
      const started = await call('POST', '/evals', served.info.token, params);
      assert.equal(started.status, 201);
      const { evalId } = (await started.json()) as { evalId: string };
      await until(() => readLog(root).some((e) => e.type === 'eval.finished' && e.evalId === evalId), 'the eval to finish', 60_000);
      const list = await (await call('GET', '/evals', served.info.readToken)).json();
      assert.deepEqual(
        list.evals.map((e: any) => [e.evalId, e.status]),
        [[evalId, 'finished']],
      );
      const report = await (await call('GET', `/evals/${evalId}`, served.info.readToken)).json();
      assert.equal(report.models[0].passed, 1);
      assert.equal((await call('GET', '/evals/ev-unknown', served.info.readToken)).status, 404);
    } finally {
      await stop(served);
    }
  });

  it('an unpriced model has null costs and ranks after a priced one with the same pass rate; a local one costs $0 and ranks first', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'tasks.jsonl'), `${JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND })}\n`);
    vendor.respond = () => ({ kind: 'text', text: fixReply(FIXED_MATH) });
    const models = `openai:ft-unpriced-model,ollama:qwen2.5-coder,openai:${RIGHT}`;
    const result = await cli(['eval', '--tasks', 'tasks.jsonl', '--models', models, '--json'], root, {
      ...env(),
      OLLAMA_HOST: vendor.ollamaUrl,
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(
      report.models.map((row: any) => [row.model, row.passRate, row.costUsd === null, row.costPerPassUsd === null]),
      [
        ['ollama:qwen2.5-coder', 1, false, false],
        [`openai:${RIGHT}`, 1, false, false],
        ['openai:ft-unpriced-model', 1, true, true],
      ],
    );
    assert.equal(report.cells.find((cell: any) => cell.model === 'openai:ft-unpriced-model').costUsd, null);
    assert.equal(report.models[0].costUsd, 0);
  });

  it('MCP run_eval answers with the leaderboard', async () => {
    const root = makeWorkspace();
    fs.writeFileSync(path.join(root, 'tasks.jsonl'), `${JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND })}\n`);
    const copiesBefore = evalCopies(tmp());
    const wrongFirst = 'exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n';
    vendor.respond = playModels({
      [RIGHT]: () => ({ kind: 'text', text: fixReply(FIXED_MATH) }),
      'gpt-4.1': (_request: RecordedRequest, attempt: number) => ({ kind: 'text', text: fixReply(attempt > 1 ? FIXED_MATH : wrongFirst) }),
    });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(DIST, 'cli.js'), 'mcp', '--workspace', root],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env() },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'dev-ai-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result: any = await client.callTool(
        { name: 'run_eval', arguments: { tasks: 'tasks.jsonl', models: [`openai:gpt-4.1`, `openai:${RIGHT}`] } },
        undefined,
        { timeout: 120_000 },
      );
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.deepEqual(
        result.structuredContent.models.map((row: any) => [row.model, row.passed, row.passAt1]),
        [
          [`openai:${RIGHT}`, 1, 1],
          ['openai:gpt-4.1', 1, 0],
        ],
      );
      assert.match(result.content[0].text, /openai:gpt-4\.1-mini/);
      const refused: any = await client.callTool({ name: 'run_eval', arguments: { tasks: 'tasks.jsonl' } });
      assert.equal(refused.isError, true);
      assert.match(refused.content[0].text, /--models/);
    } finally {
      await client.close();
    }
    assert.equal(readLog(root).filter((e) => e.type === 'eval.cell').length, 2);
    assert.deepEqual(evalCopies(tmp()), copiesBefore);
  });
});
