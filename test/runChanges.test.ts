/**
 * Trusting a run's change, through the real CLI: see it (`diff`), take it back (`undo`, refused over later
 * edits unless `--force`), commit it (`--commit` in a real git repository), write the tests first (`--yes`),
 * resume a cancelled run, and recover from a run killed mid-way.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, spawnCli } from './support/cli';
import { blockReply, BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { gitRepo } from './support/seeded';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const WRONG_MATH = 'exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n';

describe('trusting a run: diff, undo, commit, tests first, resume (CLI)', () => {
  const vendor = useVendorServer();
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
  const read = (root: string, file = 'math.js') => fs.readFileSync(path.join(root, file), 'utf8');

  async function passingRun(root: string, extra: string[] = []) {
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, ...extra], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return readLog(root).find((e) => e.type === 'run.started').runId as string;
  }

  it('diff prints the run as a unified diff; undo puts the original back byte for byte', async () => {
    const root = makeWorkspace();
    const runId = await passingRun(root);
    assert.equal(read(root), FIXED_MATH);

    for (const args of [['diff'], ['diff', runId]]) {
      const diff = await cli(args, root, {});
      assert.equal(diff.code, 0, diff.stderr);
      assert.match(
        diff.stdout,
        /^--- a\/math\.js\n\+\+\+ b\/math\.js\n@@ -1,2 \+1,2 @@\n-exports\.add = \(a, b\) => a - b;\n\+exports\.add = \(a, b\) => a \+ b;\n exports\.mul/,
      );
    }

    const undone = await cli(['undo'], root, {});
    assert.equal(undone.code, 0, undone.stderr);
    assert.match(undone.stdout, new RegExp(`run ${runId}: put back math\\.js`));
    assert.equal(read(root), BROKEN_MATH);
    const restored = readLog(root).find((e) => e.type === 'run.restored');
    assert.deepEqual({ ...restored, seq: 0, ts: 0 }, { type: 'run.restored', runId, iteration: 0, files: ['math.js'], forced: false, seq: 0, ts: 0 });

    // Undoing again changes nothing and says so.
    const again = await cli(['undo', runId], root, {});
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already the originals/);
  });

  it('a multi-file run: diff shows the created file from /dev/null; undo removes it and puts BOM and CRLF bytes back exactly', async () => {
    const original = Buffer.from('\uFEFFexports.add = (a, b) => a - b;\r\nexports.mul = (a, b) => a * b;\r\n');
    const root = makeWorkspace({ 'math.test.js': MATH_TEST });
    fs.writeFileSync(path.join(root, 'math.js'), original);
    const reply =
      blockReply('math.js', 'exports.add = (a, b) => a - b;\n', "exports.add = require('./lib/sum.js').sum;\n") +
      '\nlib/sum.js\n```js\n<<<<<<< SEARCH\n=======\nexports.sum = (a, b) => a + b;\n>>>>>>> REPLACE\n```\n';
    vendor.script({ kind: 'text', text: reply });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(read(root, 'lib/sum.js'), 'exports.sum = (a, b) => a + b;\n');

    const diff = await cli(['diff'], root, {});
    assert.match(diff.stdout, /--- a\/math\.js\n\+\+\+ b\/math\.js\n/);
    assert.match(diff.stdout, /--- \/dev\/null\n\+\+\+ b\/lib\/sum\.js\n@@ -0,0 \+1,1 @@\n\+exports\.sum = \(a, b\) => a \+ b;/);

    const undone = await cli(['undo'], root, {});
    assert.equal(undone.code, 0, undone.stderr);
    assert.deepEqual(fs.readFileSync(path.join(root, 'math.js')), original);
    assert.ok(!fs.existsSync(path.join(root, 'lib/sum.js')), 'the created file is removed');
  });

  it('undo refuses with exit 2 and the list of files when one changed after the run; --force undoes anyway', async () => {
    const root = makeWorkspace();
    const runId = await passingRun(root);
    const mine = FIXED_MATH + '// my own later edit\n';
    fs.writeFileSync(path.join(root, 'math.js'), mine);

    const refused = await cli(['undo', runId], root, {});
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /changed after the run[^\n]*\n {2}math\.js\n/);
    assert.match(refused.stderr, /--force/);
    assert.equal(read(root), mine, 'the user edit is never overwritten silently');

    const forced = await cli(['undo', runId, '--force'], root, {});
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(read(root), BROKEN_MATH);
    assert.equal(readLog(root).find((e) => e.type === 'run.restored').forced, true);
  });

  it('--commit commits exactly the run files in git; the user staged change stays staged, not committed', async () => {
    const root = makeWorkspace({
      'math.js': BROKEN_MATH,
      'math.test.js': MATH_TEST,
      'notes.txt': 'a\n',
    });
    const git = gitRepo(root);
    fs.writeFileSync(path.join(root, 'notes.txt'), 'a\nb\n');
    git('add', 'notes.txt');

    const runId = await passingRun(root, ['--commit']);
    assert.equal(git('rev-list', '--count', 'HEAD'), '2');
    assert.equal(git('show', '--name-only', '--format=', 'HEAD'), 'math.js');
    const message = git('log', '-1', '--format=%B');
    assert.match(message, /math\.js/);
    assert.match(message, new RegExp(runId));
    assert.match(message, /1 iteration\b/);
    assert.equal(git('diff', '--cached', '--name-only'), 'notes.txt', 'the staged change is still staged');
    assert.equal(git('show', 'HEAD:math.js') + '\n', FIXED_MATH);
    const committed = readLog(root).find((e) => e.type === 'run.committed');
    assert.equal(committed.commit, git('rev-parse', 'HEAD'));
    assert.deepEqual(committed.files, ['math.js']);
  });

  it('--commit outside a git repository is a clear error before any model call', async () => {
    const root = makeWorkspace();
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--commit'], root, env());
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /not in a git repository/);
    assert.equal(vendor.requests.length, 0);
    assert.equal(read(root), BROKEN_MATH);
  });

  it('tests first with --yes: the model writes the test file, then the code until it passes', async () => {
    const root = makeWorkspace({ 'package.json': '{ "name": "calc" }\n' });
    const tests = [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const { clamp } = require('./clamp.js');",
      "test('inside', () => assert.strictEqual(clamp(5, 0, 10), 5));",
      "test('below', () => assert.strictEqual(clamp(-1, 0, 10), 0));",
      "test('above', () => assert.strictEqual(clamp(11, 0, 10), 10));",
      '',
    ].join('\n');
    const code = 'exports.clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));\n';
    vendor.script({ kind: 'text', text: `Here are the tests.\n\n\`\`\`js\n${tests}\`\`\`\n` }, { kind: 'text', text: `\`\`\`js\n${code}\`\`\`\n` });
    const args = ['run', 'clamp.js', '-f', 'clamp.test.js', '-p', 'clamp(x, lo, hi) keeps x within [lo, hi]', '-t', 'node --test clamp.test.js'];

    // Without a terminal to ask on, tests first needs --yes.
    const refused = await cli(args, root, env());
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /--yes/);
    assert.ok(!fs.existsSync(path.join(root, 'clamp.test.js')));
    vendor.requests.length = 0;
    vendor.script({ kind: 'text', text: `Here are the tests.\n\n\`\`\`js\n${tests}\`\`\`\n` }, { kind: 'text', text: `\`\`\`js\n${code}\`\`\`\n` });

    const result = await cli([...args, '--yes'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(read(root, 'clamp.test.js'), tests, 'the accepted test file as the model wrote it');
    assert.equal(read(root, 'clamp.js'), code);
    assert.match(vendor.requests[0].body.messages.at(-1).content, /clamp\.test\.js[\s\S]*keeps x within/);
    assert.match(vendor.requests[1].body.messages.at(-1).content, /clamp\.test\.js/, 'the implementation call is shown the tests');
    const events = readLog(root);
    const generated = events.find((e) => e.type === 'tests.generated');
    assert.equal(generated.testFile, 'clamp.test.js');
    assert.equal(generated.file, 'clamp.js');
    assert.equal(generated.drafts, 1);
    assert.equal(generated.edited, false);
    assert.ok(events.findIndex((e) => e.type === 'tests.generated') < events.findIndex((e) => e.type === 'test.started'), 'written before the first test');
    assert.equal(events.at(-1).outcome, 'passed');
  });

  it('--resume continues a cancelled run at the next iteration, from its last attempt, with its history', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'hang' });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '5'], root, env());
    await until(() => vendor.requests.length === 2, 'the second model call', 30_000);
    first.child.kill('SIGINT');
    const ended = await first.result;
    assert.equal(ended.code, 130, first.output());
    assert.equal(read(root), BROKEN_MATH, 'a cancelled run restores the original');
    const firstId = readLog(root).find((e) => e.type === 'run.started').runId as string;

    vendor.script({ kind: 'text', text: fixReply() });
    const resumed = await cli(['run', '--resume', firstId], root, env());
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.equal(read(root), FIXED_MATH);
    const events = readLog(root);
    const started = events.filter((e) => e.type === 'run.started').at(-1);
    assert.equal(started.resumedFrom, firstId);
    assert.equal(started.maxRuns, 5);
    const mine = events.filter((e) => e.runId === started.runId);
    assert.deepEqual(
      mine.filter((e) => e.type === 'run.iteration').map((e) => e.iteration),
      [3],
      'the first run was cancelled during iteration 2: the resumed one goes on at 3',
    );
    assert.equal(mine.find((e) => e.type === 'test.started').iteration, 2, 'it first tests the attempt it starts from');
    assert.ok(
      events.some((e) => e.type === 'run.restored' && e.runId === firstId && e.iteration === 1),
      'attempt 1 was put back first',
    );
    const prompt = vendor.requests.at(-1)!.body.messages.at(-1).content as string;
    assert.match(prompt, /Attempt 1: the tests failed/, 'the model is told about the earlier attempt');
    assert.match(prompt, /a \* b/, 'and shown the file as attempt 1 left it');
    assert.equal(events.at(-1).outcome, 'passed');

    // The resumed run's undo goes back to the true originals, from before both runs.
    const undone = await cli(['undo', started.runId], root, {});
    assert.equal(undone.code, 0, undone.stderr);
    assert.equal(read(root), BROKEN_MATH);
  });

  it('after kill -9 mid-run, the next start reports the interrupted run with the undo command, and undo restores it', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'hang' });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND], root, env());
    await until(() => vendor.requests.length === 2, 'the second model call', 30_000);
    first.child.kill('SIGKILL');
    await first.result;
    assert.equal(read(root), WRONG_MATH, 'a killed run leaves its files mid-run');
    const runId = readLog(root).find((e) => e.type === 'run.started').runId as string;

    const diff = await cli(['diff', runId], root, {});
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stderr, new RegExp(`interrupted[\\s\\S]*micro-agent undo ${runId}`));
    assert.match(diff.stdout, /\+exports\.add = \(a, b\) => a \* b;/);
    assert.equal(read(root), WRONG_MATH, 'nothing restored behind the user back');
    const closed = readLog(root).find((e) => e.type === 'run.finished');
    assert.equal(closed.outcome, 'error');
    assert.equal(closed.reason, 'interrupted');

    const undone = await cli(['undo', runId], root, {});
    assert.equal(undone.code, 0, undone.stdout + undone.stderr);
    assert.equal(read(root), BROKEN_MATH);
  });
});
