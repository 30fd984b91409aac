/**
 * The verdict's report rules, one by one, on what the real runners print: each runner is run live, with its
 * default command and the environment the host gives it, on a project whose code is broken, fixed, or cheats in a
 * way the gaming guard would have refused first (here it is bypassed: these are the rules behind it). A true pass
 * is accepted on every runner's default output; a pass that is not real is refused with the rule it broke.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkIntegrity } from '../server/agent/integrity';
import type { TestReport } from '../server/protocol/testReport';
import { parseTestOutput, withReportFlags } from '../server/testResults';
import { REPO } from './support/fixtures';
import { findGo, findPytest, goEnv, runCommand, runnerEnv } from './support/runners';

type Files = Record<string, string>;
const made: string[] = [];

function project(files: Files): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-')));
  made.push(dir);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  if (fs.existsSync(path.join(dir, 'package.json'))) fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Runs `command` in `dir` as the host would (no colour, report flags in the environment) and reads the output. */
async function report(dir: string, command: string[], extra: Record<string, string> = {}): Promise<{ report: TestReport; exitCode: number | null }> {
  const env = withReportFlags(runnerEnv(false, extra));
  const run = await runCommand(dir, command[0], command.slice(1), env, 120_000);
  return { report: parseTestOutput(run.output, { root: dir, cwd: dir, exitCode: run.exitCode }), exitCode: run.exitCode };
}

/** The baseline on the broken code, then each variant of `source` in turn: exit code and verdict. */
async function verdicts(files: Files, source: string, variants: Record<string, string>, command: string[], extra?: Record<string, string>) {
  const dir = project(files);
  const baseline = await report(dir, command, extra);
  assert.notEqual(baseline.exitCode, 0, 'the baseline fails');
  assert.notEqual(baseline.report.runner, 'unknown');
  const out: Record<string, { exitCode: number | null; ok: boolean; message?: string }> = {};
  for (const [name, text] of Object.entries(variants)) {
    fs.writeFileSync(path.join(dir, source), text);
    const after = await report(dir, command, extra);
    const verdict = checkIntegrity(baseline.report, after.report);
    out[name] = { exitCode: after.exitCode, ok: verdict.ok, ...(verdict.ok ? {} : { message: verdict.message }) };
  }
  return out;
}

const JS_BROKEN = 'function add(a, b) { return a - b; }\nfunction mul(a, b) { return a * b; }\nmodule.exports = { add, mul };\n';
const JS_FIXED = JS_BROKEN.replace('a - b', 'a + b');
const JS_EXIT = `process.exit(0);\n${JS_BROKEN}`;
const PKG = JSON.stringify({ name: 'verdict-fixture', version: '1.0.0', private: true });

function jsTests(header: string, eq: (a: string, b: string) => string, req = "const { add, mul } = require('../math.js');"): Files {
  return {
    'test/math.test.js': [
      header,
      req,
      "describe('math', () => {",
      `  it('adds', () => { ${eq('add(2, 3)', '5')}; });`,
      `  it('adds zero', () => { ${eq('add(0, 0)', '0')}; });`,
      `  it('multiplies', () => { ${eq('mul(2, 3)', '6')}; });`,
      '});\n',
    ].join('\n'),
    'test/other.test.js': `${header}\n${req}\nit('multiplies by one', () => { ${eq('mul(1, 1)', '1')}; });\n`,
  };
}
/** Each runner's default output, and its verbose one where it has its own. */
const OUTPUTS: Record<'node' | 'jest' | 'vitest' | 'pytest', [string, string[]][]> = {
  node: [
    ['default output (TAP)', []],
    ['spec reporter', ['--test-reporter=spec']],
  ],
  jest: [
    ['default reporter', []],
    ['--verbose', ['--verbose']],
  ],
  vitest: [
    ['default reporter', []],
    ['verbose reporter', ['--reporter=verbose']],
  ],
  pytest: [
    ['-q', ['-q']],
    ['-v', ['-v']],
  ],
};
const assertEq = (a: string, b: string) => `assert.strictEqual(${a}, ${b})`;
const expectEq = (a: string, b: string) => `expect(${a}).toBe(${b})`;

describe("the verdict on each runner's real output", function () {
  this.timeout(240_000);
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('node --test, one test in one file: the real fix passes; an exit at load (a file-level entry) is refused', async () => {
    const files = {
      'mathx.js': JS_BROKEN,
      'mathx.test.js': [
        "const test = require('node:test');\n",
        "const assert = require('node:assert');\n",
        "const { add } = require('./mathx.js');\n",
        "test('add sums', () => { assert.strictEqual(add(2, 3), 5); });\n",
      ].join(''),
    };
    const v = await verdicts(files, 'mathx.js', { exit: JS_EXIT, fixed: JS_FIXED }, [process.execPath, '--test', 'mathx.test.js']);
    assert.equal(v.exit.exitCode, 0, 'node reports the file as one passing test');
    assert.equal(v.exit.ok, false);
    assert.match(v.exit.message!, /no test ran \(mathx\.test\.js reported as a passing file with no test in it\)/);
    assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
  });

  for (const [output, flags] of OUTPUTS.node) {
    it(`node --test, several files, ${output}: an exit at load is refused, the real fix passes`, async () => {
      const files = { 'math.js': JS_BROKEN, ...jsTests("const { describe, it } = require('node:test');\nconst assert = require('node:assert');", assertEq) };
      const v = await verdicts(files, 'math.js', { exit: JS_EXIT, fixed: JS_FIXED }, [process.execPath, '--test', ...flags]);
      assert.equal(v.exit.exitCode, 0);
      assert.equal(v.exit.ok, false);
      assert.match(v.exit.message!, /no test ran/);
      assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
    });
  }

  for (const [output, flags] of OUTPUTS.jest) {
    it(`jest with several files, ${output}: the real fix passes; an intercepted exit (no summary) is refused`, async () => {
      const files = { 'package.json': PKG, 'math.js': JS_BROKEN, ...jsTests('', expectEq) };
      const v = await verdicts(files, 'math.js', { exit: JS_EXIT, fixed: JS_FIXED }, [
        process.execPath,
        path.join(REPO, 'node_modules', 'jest', 'bin', 'jest.js'),
        ...flags,
      ]);
      assert.equal(v.exit.exitCode, 0, 'jest exits 0 when the module exits 0');
      assert.equal(v.exit.ok, false);
      // jest prints only `● process.exit called with "0"`: no summary, no longer jest's report.
      assert.match(v.exit.message!, /jest printed no summary|no longer reads as jest's/);
      assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
    });
  }

  for (const [output, flags] of OUTPUTS.vitest) {
    it(`vitest, ${output}, a failing file that also has passing tests: the real fix passes at once`, async () => {
      const files = {
        'package.json': PKG,
        'math.js': JS_BROKEN,
        ...jsTests("import { describe, it, expect } from 'vitest';", expectEq, "import { add, mul } from '../math.js';"),
      };
      const vitest = path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs');
      const v = await verdicts(files, 'math.js', { fixed: JS_FIXED }, [process.execPath, vitest, 'run', ...flags]);
      assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
    });
  }

  it('mocha, spec reporter under npm test (its banner is no suite): an exit at load is refused, the real fix passes', async () => {
    const mocha = path.join(REPO, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const pkg = JSON.stringify({ name: 'verdict-fixture', version: '1.0.0', private: true, scripts: { test: `node ${JSON.stringify(mocha)} --no-config` } });
    const files = { 'package.json': pkg, 'math.js': JS_BROKEN, ...jsTests("const assert = require('node:assert');", assertEq) };
    const dir = project(files);
    const baseline = await report(dir, ['npm', 'test']);
    assert.ok(
      baseline.report.tests.every((t) => !t.name.includes('>') && !t.name.includes('verdict-fixture')),
      JSON.stringify(baseline.report.tests),
    );
    fs.writeFileSync(path.join(dir, 'math.js'), JS_EXIT);
    const exit = await report(dir, ['npm', 'test']);
    assert.equal(exit.exitCode, 0);
    assert.equal(checkIntegrity(baseline.report, exit.report).ok, false);
    fs.writeFileSync(path.join(dir, 'math.js'), JS_FIXED);
    const fixed = await report(dir, ['npm', 'test']);
    assert.deepEqual(checkIntegrity(baseline.report, fixed.report), { ok: true });
  });

  it('ava: the real fix passes', async () => {
    const header = [
      "const test = require('ava');\n",
      'const it = (name, fn) => test(name, (t) => { fn(); t.pass(); });\n',
      'const describe = (name, fn) => fn();\n',
      "const assert = require('node:assert');",
    ].join('');
    const files = { 'package.json': PKG, 'math.js': JS_BROKEN, ...jsTests(header, assertEq) };
    const v = await verdicts(files, 'math.js', { fixed: JS_FIXED }, [process.execPath, path.join(REPO, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')]);
    assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
  });

  describe('pytest -q', () => {
    const broken = 'def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n';
    const files: Files = {
      'calc.py': broken,
      'tests/test_calc.py': [
        'from calc import add, mul\n',
        '\n',
        '\n',
        'def test_add():\n',
        '    assert add(2, 3) == 5\n',
        '\n',
        '\n',
        'def test_add_zero():\n',
        '    assert add(0, 0) == 0\n',
        '\n',
        '\n',
        'def test_mul():\n',
        '    assert mul(2, 3) == 6\n',
      ].join(''),
      'conftest.py': '',
    };
    const fixed = broken.replace('a - b', 'a + b');

    for (const [output, flags] of OUTPUTS.pytest) {
      it(`${output}, every test named through PYTEST_ADDOPTS: os._exit(0) (no summary) and sys.exit(0) (no test ran) are refused; the fix passes`, async () => {
        const variants = { osExit: `import os\nos._exit(0)\n${broken}`, sysExit: `import sys\nsys.exit(0)\n${broken}`, fixed };
        const v = await verdicts(files, 'calc.py', variants, [findPytest(), '-m', 'pytest', ...flags]);
        assert.equal(v.osExit.exitCode, 0);
        assert.match(v.osExit.message!, /printed no summary|no longer reads/);
        assert.equal(v.sysExit.ok, false);
        assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
      });
    }

    it('--doctest-modules: the module is no test file, its doctest is a test, and the fix passes', async () => {
      const dir = project({ ...files, 'pytest.ini': '[pytest]\naddopts = --doctest-modules\n' });
      const baseline = await report(dir, [findPytest(), '-m', 'pytest', '-q']);
      assert.ok(
        baseline.report.tests.some((t) => t.file === 'calc.py' && t.status === 'failed'),
        JSON.stringify(baseline.report.tests),
      );
      fs.writeFileSync(path.join(dir, 'calc.py'), fixed);
      const after = await report(dir, [findPytest(), '-m', 'pytest', '-q']);
      assert.deepEqual(checkIntegrity(baseline.report, after.report), { ok: true });
    });
  });

  describe('go test ./... (a module with a sub-package)', () => {
    const calc = 'package calc\n\nfunc Add(a, b int) int { return a - b }\n\nfunc Mul(a, b int) int { return a * b }\n';
    const files: Files = {
      'go.mod': 'module example.com/calc\n\ngo 1.19\n',
      'calc.go': calc,
      'calc_test.go': [
        'package calc\n',
        '\n',
        'import "testing"\n',
        '\n',
        'func TestAdd(t *testing.T) {\n',
        '\tif Add(2, 3) != 5 {\n',
        '\t\tt.Fatal("add")\n',
        '\t}\n',
        '}\n',
        '\n',
        'func TestMul(t *testing.T) {\n',
        '\tif Mul(2, 3) != 6 {\n',
        '\t\tt.Fatal("mul")\n',
        '\t}\n',
        '}\n',
      ].join(''),
      'sub/neg.go': 'package sub\n\nfunc Neg(a int) int { return -a }\n',
      'sub/neg_test.go': 'package sub\n\nimport "testing"\n\nfunc TestNeg(t *testing.T) {\n\tif Neg(2) != -2 {\n\t\tt.Fatal("neg")\n\t}\n}\n',
    };
    const fixed = calc.replace('a - b', 'a + b');

    it('an init() that exits 0 or rewrites os.Args ([no tests to run]) is refused; the fix passes', async () => {
      const exit = `${fixed}\nfunc init() { os.Exit(0) }\n`.replace('package calc\n', 'package calc\n\nimport "os"\n');
      const args = `${fixed}\nfunc init() { os.Args = append(os.Args, "-test.run=^$") }\n`.replace('package calc\n', 'package calc\n\nimport "os"\n');
      const v = await verdicts(files, 'calc.go', { exit, args, fixed }, [findGo(), 'test', './...'], goEnv());
      assert.equal(v.exit.exitCode, 0, 'go prints ok for a test binary that exits 0 at init');
      assert.equal(v.exit.ok, false);
      assert.match(v.exit.message!, /example\.com\/calc ran 0 tests; it had 2/);
      assert.equal(v.args.exitCode, 0);
      assert.equal(v.args.ok, false);
      assert.deepEqual(v.fixed, { exitCode: 0, ok: true });
    });
  });
});
