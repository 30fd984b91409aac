/**
 * A pass must be real, and a run that goes nowhere stops: through the real CLI, with real test runners and the
 * fake vendor replying as a model that cheats or repeats itself would.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli } from './support/cli';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, REPO, TEST_COMMAND } from './support/fixtures';
import { useVendorServer } from './support/vendorServer';

/** Exits before node's test runner can run the real tests: `node --test` then reports the file as one passing test. */
const EXIT_EARLY = `process.exit(0);\n${BROKEN_MATH}`;

/** A mocha suite whose module under test can reach mocha's globals, as any module loaded by the suite can. */
const MOCHA_TEST = `const assert = require('node:assert');
const { add, mul } = require('./math.js');
describe('math', () => {
  it('adds', () => assert.strictEqual(add(2, 3), 5));
  it('multiplies', () => assert.strictEqual(mul(2, 3), 6));
});
`;
const MOCHA_COMMAND = `node ${JSON.stringify(path.join(REPO, 'node_modules', 'mocha', 'bin', 'mocha.js'))} --no-config math.test.js`;
/** Drops the body of every later `it`: mocha then counts the tests as pending (skipped) and exits 0. */
const SKIP_TESTS = `const original = global.it;\nglobal.it = (title) => original(title);\n${BROKEN_MATH}`;

describe('test integrity and stuck runs, through the CLI', function () {
  this.timeout(90_000);
  const vendor = useVendorServer();
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });

  it('refuses a reply that exits the process from the module before the tests run (gaming), and the next reply fixes it', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(EXIT_EARLY) }, { kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(vendor.requests.length, 2);
    const log = readLog(root);
    const rejected = log.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.reason, 'gaming');
    assert.match(rejected.message, /math\.js: the edit adds `process\.exit\(0\);`, which exits the process/);
    // Refused before anything ran: the cheat was never written, and the tests ran twice (baseline, the fix).
    assert.equal(log.filter((e) => e.type === 'test.started').length, 2);
    // The model is told, in the next prompt, which line was refused.
    assert.match(vendor.requests[1].body.messages.at(-1).content, /process\.exit\(0\)/);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
  });

  it("refuses a reply that patches the runner's globals to skip the tests (gaming)", async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MOCHA_TEST });
    vendor.script({ kind: 'text', text: fixReply(SKIP_TESTS) }, { kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', MOCHA_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const rejected = readLog(root).find((e) => e.type === 'edit.rejected');
    assert.equal(rejected?.reason, 'gaming');
    assert.match(rejected.message, /global\.it = \(title\) => original\(title\);`, which patches the test machinery/);
    assert.equal(vendor.requests.length, 2);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
  });

  it('a one-test `node --test` file: process.exit(0) at the top of the module is refused, the honest reply passes', async () => {
    const broken = '// Sum of two numbers.\nfunction add(a, b) {\n  return a - b;\n}\nmodule.exports = { add };\n';
    const test = [
      "const test = require('node:test');",
      "const assert = require('node:assert');",
      "const { add } = require('./mathx.js');",
      "test('add sums', () => { assert.strictEqual(add(2, 3), 5); });\n",
    ].join('\n');
    const root = makeWorkspace({ 'mathx.js': broken, 'mathx.test.js': test });
    const fixed = broken.replace('a - b', 'a + b');
    vendor.script({ kind: 'text', text: fixReply(`process.exit(0);\n${broken}`) }, { kind: 'text', text: fixReply(fixed) });
    const result = await cli(['run', 'mathx.js', '-t', 'node --test mathx.test.js', '-m', '4', '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(
      readLog(root)
        .filter((e) => e.type === 'edit.rejected')
        .map((e) => e.reason),
      ['gaming'],
    );
    assert.equal(fs.readFileSync(path.join(root, 'mathx.js'), 'utf8'), fixed);
  });

  it('names a runner it cannot read, once, in run.started and the CLI: a pass there is the exit code alone', async () => {
    const root = makeWorkspace();
    const check = `node -e "process.exit(require('fs').readFileSync('math.js', 'utf8').includes('a + b') ? 0 : 1)"`;
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', check, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const log = readLog(root);
    assert.equal(log.find((e) => e.type === 'run.started').runner, 'unknown');
    const said = /micro-agent cannot read this test runner's output \(.*\): a pass here is the exit code alone/g;
    assert.equal((result.stdout + result.stderr).match(said)?.length, 1, result.stdout);
    assert.equal(log.filter((e) => e.type === 'log' && e.level === 'warn').length, 1);
    // A command that names its runner says so too, through the npm script it runs.
    const named = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, 'package.json': '{"scripts":{"test":"node --test math.test.js"}}' });
    vendor.script({ kind: 'text', text: fixReply() });
    assert.equal((await cli(['run', 'math.js', '-t', 'npm test', '--provider', 'openai'], named, env())).code, 0);
    assert.equal(readLog(named).find((e) => e.type === 'run.started').runner, 'node');
  });

  it('accepts the fix of a module that did not even load: its one failing entry becomes the real tests', async () => {
    const root = makeWorkspace({ 'math.js': 'exports.add = (a, b) => a - ;\n', 'math.test.js': MATH_TEST });
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(vendor.requests.length, 1);
    assert.equal(readLog(root).filter((e) => e.type === 'edit.rejected').length, 0);
  });

  it('stops a run whose model keeps sending the same wrong answer as stuck, in four calls, with the original restored', async () => {
    const root = makeWorkspace();
    const wrong = fixReply(`exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n`);
    vendor.respond = () => ({ kind: 'text', text: wrong });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai', '-m', '10'], root, env());
    assert.equal(result.code, 1);
    assert.equal(vendor.requests.length, 4);
    const finished = readLog(root).find((e) => e.type === 'run.finished');
    assert.equal(finished.reason, 'stuck');
    assert.equal(finished.restored, true);
    assert.match(result.stdout, /failed \(stuck\)[\s\S]*brought nothing new/);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('says which tests failed, and leads the prompt with them', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0);
    assert.match(result.stdout, /tests: 1 failed, 1 passed — add \(exit 1/);
    const prompt: string = vendor.requests[0].body.messages.at(-1).content;
    assert.ok(prompt.indexOf('## Failing tests (node)') < prompt.indexOf('## Test output (tail)'), prompt);
    assert.match(prompt, /- add \(test math\.test\.js:4\)/);
    assert.ok(!prompt.includes('\u001b'), 'no escape codes reach the model');
  });
});

describe('test file protection, through the CLI', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();

  it('never edits a test file: a run on the file the runner reports as its test file stops before any call', async () => {
    const root = makeWorkspace();
    const result = await cli(['run', 'math.test.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, {
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: vendor.openaiUrl,
    });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /math\.test\.js is a test file/);
    assert.equal(vendor.requests.length, 0);
    assert.equal(fs.readFileSync(path.join(root, 'math.test.js'), 'utf8'), MATH_TEST);
  });
});
