import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, spawnCli } from './support/cli';
import { addWorkInProgress, CALC, EVAL_TEST_COMMAND, evalCopies, makeEvalRepo, snapshot, STRINGS, useEvalSandbox } from './support/evalRepo';
import { FIXED_MATH, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { until } from './support/until';
import { playModels, promptText, RecordedRequest, Reply, useVendorServer } from './support/vendorServer';
import { compareRows } from '../server/protocol/leaderboard';

const RIGHT = 'gpt-4.1-mini';
const SECOND = 'gpt-4.1';
const MALFORMED = 'gpt-4o-mini';
const WRONG = 'gpt-4.1-nano';
const MODELS = [RIGHT, SECOND, MALFORMED, WRONG].map((model) => `openai:${model}`).join(',');

/** Which task a prompt is about: the file it shows (each task's target holds one of these). */
const taskOf = (request: RecordedRequest) => (promptText(request).includes('exports.capitalize') ? 'strings' : 'calc');
const fixed = (request: RecordedRequest) => (taskOf(request) === 'strings' ? STRINGS.fixed : CALC.fixed);
const wrong = (request: RecordedRequest, k: number) => (taskOf(request) === 'strings' ? STRINGS.wrong(k) : CALC.wrong(k));
const text = (reply: string): Reply => ({ kind: 'text', text: reply });

/** The four models the leaderboard must rank as designed. */
const PLAYERS = {
  [RIGHT]: (request: RecordedRequest) => text(fixReply(fixed(request))),
  [SECOND]: (request: RecordedRequest, attempt: number) => text(fixReply(attempt >= 2 ? fixed(request) : wrong(request, attempt))),
  // A search/replace block without its REPLACE marker: never a well-formed edit.
  [MALFORMED]: (_request: RecordedRequest, attempt: number) =>
    text(`Fixed.\n\nsrc/calc.js\n\`\`\`js\n<<<<<<< SEARCH\nexports.mul = (a, b) => a + b;\n=======\nexports.mul = (a, b) => a * b + ${attempt};\n\`\`\`\n`),
  [WRONG]: (request: RecordedRequest, attempt: number) => text(fixReply(wrong(request, attempt))),
};

/** The Wilson interval as the issue defines it, written out again here (z = 1.96, no continuity correction). */
function wilson(k: number, n: number): [number, number] {
  const z = 1.96;
  const p = k / n;
  const center = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [center - half, center + half];
}

describe('micro-agent eval', function () {
  this.timeout(180_000);
  const vendor = useVendorServer();
  const { tmp, env } = useEvalSandbox(vendor);

  it('mines exactly the bug fixes from real git history, ranks four models as designed, and leaves the repository untouched', async () => {
    const repo = makeEvalRepo();
    addWorkInProgress(repo.root);
    fs.mkdirSync(path.join(repo.root, '.micro-agent'));
    const before = snapshot(repo.root);
    const copiesBefore = evalCopies(tmp());
    vendor.respond = playModels(PLAYERS, taskOf);

    const result = await cli(
      ['eval', '--from-git', `${repo.base}..HEAD`, '--models', MODELS, '-t', EVAL_TEST_COMMAND, '--max-runs', '3', '--concurrency', '2', '--json'],
      repo.root,
      env(),
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);

    // Exactly the two fixes are tasks: not the test-only commit, not the refactor whose tests pass without it.
    assert.equal(report.tasks, 2, `${report.notes.join('\n')}\n${result.stderr}`);
    assert.deepEqual(report.taskList.map((task: any) => task.id).sort(), [`git-${repo.fixCapitalize.slice(0, 10)}`, `git-${repo.fixMul.slice(0, 10)}`].sort());
    const mulTask = report.taskList.find((task: any) => task.id === `git-${repo.fixMul.slice(0, 10)}`);
    assert.deepEqual(mulTask.files, ['src/calc.js']);
    assert.equal(mulTask.referenceDiffLines, 2);

    // The leaderboard as designed: right first, right-at-the-second-try second (same pass rate, dearer per pass).
    const names = report.models.map((row: any) => row.model);
    assert.deepEqual(names.slice(0, 2), [`openai:${RIGHT}`, `openai:${SECOND}`]);
    assert.deepEqual(new Set(names.slice(2)), new Set([`openai:${MALFORMED}`, `openai:${WRONG}`]));
    assert.deepEqual([...report.models].sort(compareRows), report.models, 'models are in leaderboard order');
    const row = (model: string) => report.models.find((r: any) => r.model === `openai:${model}`);
    assert.equal(row(RIGHT).passRate, 1);
    assert.equal(row(RIGHT).passAt1, 1);
    assert.equal(row(SECOND).passRate, 1);
    assert.equal(row(SECOND).passAt1, 0);
    assert.equal(row(SECOND).meanIterations, 2);
    assert.equal(row(MALFORMED).passRate, 0);
    assert.equal(row(MALFORMED).wellFormedRate, 0);
    assert.equal(row(WRONG).passRate, 0);
    assert.equal(row(WRONG).wellFormedRate, 1);
    assert.equal(row(WRONG).meanIterations, null);
    assert.equal(row(WRONG).costPerPassUsd, null);

    // Every number equals a count over the events.
    const events = readLog(repo.root);
    const evalId = report.evalId;
    const cells = events.filter((e) => e.type === 'eval.cell' && e.evalId === evalId);
    assert.equal(cells.length, 8);
    const runIds = new Set(cells.map((cell) => cell.runId));
    for (const event of events.filter((e) => e.runId && runIds.has(e.runId)))
      assert.equal(event.evalId, evalId, `${event.type} of an eval's run carries evalId`);
    for (const model of report.models) {
      const mine = cells.filter((cell) => cell.model === model.model);
      const finished = events.filter((e) => e.type === 'run.finished' && mine.some((cell) => cell.runId === e.runId));
      const calls = events.filter((e) => e.type === 'llm.response' && e.evalId === evalId && `openai:${e.model}` === model.model);
      const runsOf = (e: any) => mine.some((cell) => cell.runId === e.runId);
      const judged = events.filter((e) => runsOf(e) && (e.type === 'edit.applied' || (e.type === 'edit.rejected' && e.reason !== 'tests_missing')));
      const replies = new Set(judged.map((e) => `${e.runId}/${e.iteration}`));
      const wellFormed = new Set(judged.filter((e) => e.type === 'edit.applied').map((e) => `${e.runId}/${e.iteration}`));
      const passed = finished.filter((e) => e.outcome === 'passed');
      assert.equal(model.tasks, 2);
      assert.equal(model.passed, passed.length);
      assert.equal(model.passRate, passed.length / 2);
      assert.equal(model.passAt1, passed.filter((e) => e.iterations === 1).length / 2);
      assert.equal(model.wellFormedRate, wellFormed.size / replies.size);
      assert.equal(model.meanIterations, passed.length ? passed.reduce((s, e) => s + e.iterations, 0) / passed.length : null);
      const cost = calls.reduce((s, e) => s + e.costUsd, 0);
      assert.ok(Math.abs(model.costUsd - cost) < 1e-12, `${model.model} cost ${model.costUsd} vs ${cost}`);
      assert.equal(model.costPerPassUsd, passed.length ? model.costUsd / passed.length : null);
      assert.equal(model.meanWallMs, mine.reduce((s, cell) => s + cell.wallMs, 0) / 2);
      const [low, high] = wilson(passed.length, 2);
      assert.ok(Math.abs(model.passRateLow - low) < 1e-12 && Math.abs(model.passRateHigh - high) < 1e-12, `${model.model} Wilson interval`);
      for (const cell of mine) {
        const run = finished.find((e) => e.runId === cell.runId);
        assert.equal(cell.iterations, run.iterations);
        assert.equal(cell.outcome, run.outcome);
      }
    }
    assert.deepEqual(
      events.filter((e) => e.evalId === evalId && e.type.startsWith('eval.')).map((e) => e.type),
      ['eval.started', ...cells.map(() => 'eval.cell'), 'eval.finished'],
    );

    // Untouched: the tree, the index, the stash, the branches, HEAD, .git/config; no copy left behind.
    assert.deepEqual(snapshot(repo.root), before);
    assert.deepEqual(evalCopies(tmp()), copiesBefore);

    // An eval's runs happened in copies that are gone: `diff` and `undo` without an id never mean one of them.
    const diff = await cli(['diff'], repo.root, env());
    assert.equal(diff.code, 2, diff.stderr);
    assert.match(diff.stderr, /no runs yet/);
  });

  it('Ctrl-C mid-eval exits 130, leaves the repository byte-identical and no copy; --resume runs only the missing cells', async () => {
    const repo = makeEvalRepo();
    addWorkInProgress(repo.root);
    fs.mkdirSync(path.join(repo.root, '.micro-agent'));
    const before = snapshot(repo.root);
    const copiesBefore = evalCopies(tmp());
    // Slow replies: the cells are mid-call (their copies exist) when Ctrl-C comes.
    vendor.respond = (request) => ({ ...(PLAYERS[RIGHT](request) as Reply & { kind: 'text' }), firstTokenDelayMs: 3000 });
    const key = env();
    const child = spawnCli(
      ['eval', '--from-git', `${repo.base}..HEAD`, '--models', `openai:${RIGHT},openai:${WRONG}`, '-t', EVAL_TEST_COMMAND, '--concurrency', '2'],
      repo.root,
      key,
    );
    await until(() => readLog(repo.root).filter((e) => e.type === 'llm.request' && e.evalId).length >= 2, 'two cells mid-call', 60_000);
    assert.ok(evalCopies(tmp()).length > copiesBefore.length, 'the running cells have their copies');
    const running = readLog(repo.root).find((e) => e.type === 'eval.started').evalId;
    const twice = await cli(['eval', '--resume', running], repo.root, key);
    assert.equal(twice.code, 2, 'a resume while the eval runs elsewhere would run its cells twice');
    assert.match(twice.stderr, /running in another process/);
    child.child.kill('SIGINT');
    const result = await child.result;
    assert.equal(result.code, 130, result.stdout + result.stderr);
    assert.deepEqual(snapshot(repo.root), before);
    assert.deepEqual(evalCopies(tmp()), copiesBefore);
    const events = readLog(repo.root);
    const evalId = events.find((e) => e.type === 'eval.started').evalId;
    assert.equal(events.filter((e) => e.type === 'eval.finished').at(-1).outcome, 'cancelled');
    const done = events.filter((e) => e.type === 'eval.cell' && e.outcome !== 'cancelled').length;
    assert.ok(done < 4, 'Ctrl-C came before every cell finished');

    vendor.respond = playModels(PLAYERS, taskOf);
    const asked = vendor.requests.length;
    const resumed = await cli(['eval', '--resume', evalId, '--json'], repo.root, key);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    const report = JSON.parse(resumed.stdout);
    assert.equal(report.complete, true);
    assert.equal(report.cells.length, 4);
    const after = readLog(repo.root);
    const restarted = after.filter((e) => e.type === 'eval.started' && e.evalId === evalId).at(-1);
    assert.equal(restarted.resumed, true);
    assert.equal(restarted.cells, 4 - done, 'only the missing cells run again');
    const newCells = after.filter((e) => e.type === 'eval.cell' && e.seq > restarted.seq);
    assert.equal(newCells.length, 4 - done);
    assert.ok(vendor.requests.length > asked);
    assert.deepEqual(
      report.models.map((r: any) => r.model),
      [`openai:${RIGHT}`, `openai:${WRONG}`],
    );
    assert.deepEqual(snapshot(repo.root), before);
    assert.deepEqual(evalCopies(tmp()), copiesBefore);
  });

  it("after kill -9, the next eval removes the dead process's copies, closes its runs without touching the workspace, and resumes", async () => {
    const repo = makeEvalRepo();
    fs.mkdirSync(path.join(repo.root, '.micro-agent'));
    const before = snapshot(repo.root);
    const copiesBefore = evalCopies(tmp());
    vendor.respond = (request) => ({ ...(PLAYERS[RIGHT](request) as Reply & { kind: 'text' }), firstTokenDelayMs: 5000 });
    const key = env();
    const child = spawnCli(['eval', '--from-git', `${repo.base}..HEAD`, '--models', `openai:${RIGHT}`, '-t', EVAL_TEST_COMMAND], repo.root, key);
    await until(() => readLog(repo.root).some((e) => e.type === 'llm.request' && e.evalId), 'a cell mid-call', 60_000);
    child.child.kill('SIGKILL');
    await child.result;
    assert.ok(evalCopies(tmp()).length > copiesBefore.length, 'a process killed outright leaves its copy');
    const evalId = readLog(repo.root).find((e) => e.type === 'eval.started').evalId;

    vendor.respond = playModels(PLAYERS, taskOf);
    const resumed = await cli(['eval', '--resume', evalId, '--json'], repo.root, key);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).complete, true);
    const interrupted = readLog(repo.root).filter((e) => e.type === 'run.finished' && e.reason === 'interrupted');
    assert.equal(interrupted.length, 1);
    assert.equal(interrupted[0].evalId, evalId);
    assert.deepEqual(interrupted[0].files, []);
    assert.deepEqual(evalCopies(tmp()), copiesBefore);
    assert.deepEqual(snapshot(repo.root), before);
  });

  it('honours --budget and the daily cap: a cell refused for money is an outcome, not a crash', async () => {
    const tasks = Array.from({ length: 3 }, () => JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND })).join('\n');
    // Each call costs $0.40 (a million input tokens of gpt-4.1-mini).
    vendor.respond = () => ({ kind: 'text', text: fixReply(FIXED_MATH), usage: { input: 1_000_000, output: 0 } });
    const run = async (flags: string[]) => {
      const root = makeWorkspace();
      fs.writeFileSync(path.join(root, 'tasks.jsonl'), tasks);
      const result = await cli(['eval', '--tasks', 'tasks.jsonl', '--models', `openai:${RIGHT}`, '--json', ...flags], root, env());
      assert.equal(result.code, 0, result.stdout + result.stderr);
      return JSON.parse(result.stdout);
    };
    const budgeted = await run(['--budget', '0.5']);
    assert.deepEqual(
      budgeted.cells.map((cell: any) => [cell.outcome, cell.reason]),
      [
        ['passed', 'tests_passed'],
        ['passed', 'tests_passed'],
        ['refused', 'budget_eval'],
      ],
    );
    const refused = budgeted.cells[2];
    assert.equal(refused.runId, null);
    assert.equal(refused.costUsd, null);
    assert.equal(budgeted.models[0].tasks, 3);
    assert.equal(budgeted.models[0].passed, 2);

    const capped = await run(['--daily-budget', '0.3']);
    assert.deepEqual(
      capped.cells.map((cell: any) => cell.outcome),
      ['passed', 'refused', 'refused'],
    );
    assert.equal(capped.cells[1].reason, 'budget_daily');
  });

  it('exits 2 on a usage error', async () => {
    const repo = makeEvalRepo();
    const noModels = await cli(['eval', '--from-git', 'HEAD~2..HEAD', '-t', EVAL_TEST_COMMAND], repo.root, env());
    assert.equal(noModels.code, 2, noModels.stderr);
    assert.match(noModels.stderr, /--models/);
    const badRange = await cli(['eval', '--from-git', 'nosuchref..HEAD', '--models', `openai:${RIGHT}`, '-t', EVAL_TEST_COMMAND], repo.root, env());
    assert.equal(badRange.code, 2, badRange.stderr);
    // Whoever follows the events sees that eval end, with why.
    const ended = readLog(repo.root).find((e) => e.type === 'eval.finished');
    assert.match(ended.error, /nosuchref/);
    const badModel = await cli(['eval', '--from-git', 'HEAD~1..HEAD', '--models', 'gpt-4o', '-t', EVAL_TEST_COMMAND], repo.root, env());
    assert.equal(badModel.code, 2, badModel.stderr);
  });
});
