/**
 * The gaming guard's rules, line by line: what a reply may not add to the code under test (the cheats of issue
 * 24 and their near relatives), and ordinary fix lines it must let through. End to end, through the CLI on real
 * projects, in test/realProjects.test.ts.
 */
import * as assert from 'node:assert/strict';
import { addedLines, findGaming } from '../server/agent/gaming';

const refused = (line: string, before = 'const x = 1;\n') => findGaming([{ path: 'src/x.js', before, after: `${before}${line}\n` }]);

describe('the gaming guard', () => {
  const cheats: [string, RegExp][] = [
    ['process.exit(0);', /exits the process/],
    ['  process.exitCode = 0', /exits the process/],
    ["process.on('exit', () => { process.exitCode = 0; });", /exits the process/],
    ['setTimeout(() => process.exit(0), 0);', /exits the process/],
    ['process.kill(process.pid, "SIGKILL");', /exits the process/],
    ['import sys; sys.exit(0)', /exits the process/],
    ['os._exit(0)', /exits the process/],
    ['raise SystemExit(0)', /exits the process/],
    ['exit(0)', /exits the process/],
    ['func init() { os.Exit(0) }', /exits the process/],
    ['if (process.env.VITEST) return 5;', /reads the test environment/],
    ['if (process.env.JEST_WORKER_ID !== undefined) return add;', /reads the test environment/],
    ['const quiet = process.env.NODE_TEST_CONTEXT;', /reads the test environment/],
    ["if (process.env.NODE_ENV === 'test') return expected;", /reads the test environment/],
    ["if (import.meta.env.MODE === 'test') return 5;", /reads the test environment/],
    ['if os.environ.get("PYTEST_CURRENT_TEST"): return 5', /reads the test environment/],
    ['if "pytest" in sys.modules:', /reads the test environment/],
    ['if testing.Testing() { return 5 }', /reads the test environment/],
    ['if (typeof jest !== "undefined") return 5;', /reads the test environment/],
    ["require('node:assert').strictEqual = () => {};", /patches the test machinery/],
    ['assert.equal = () => {};', /patches the test machinery/],
    ['const a = require("assert"); a.deepStrictEqual = () => {};', /patches the test machinery/],
    ["mock.method(assert, 'equal', () => {});", /patches the test machinery/],
    ["const { mock } = require('node:test');", /patches the test machinery/],
    ["import { expect } from 'vitest';", /patches the test machinery/],
    ['globalThis.expect = () => ({ toBe() {} });', /patches the test machinery/],
    ["global['it'] = (name) => {};", /patches the test machinery/],
    ['expect.extend({ toBe: () => ({ pass: true }) });', /patches the test machinery/],
    ['Object.is = () => true;', /patches the test machinery/],
    ['JSON.stringify = () => "{}";', /patches the test machinery/],
    ["Object.defineProperty(Object, 'is', { value: () => true });", /patches the test machinery/],
    ['os.Args = append(os.Args, "-test.run=^$")', /patches the test machinery/],
    ['sys.argv[:] = ["python"]', /patches the test machinery/],
    ['unittest.TestCase.assertEqual = lambda *a: None', /patches the test machinery/],
    ['import builtins; builtins.isinstance = lambda *a: True', /patches the test machinery/],
    ['chai.Assertion.overwriteMethod("equal", () => () => {});', /patches the test machinery/],
  ];
  for (const [line, why] of cheats) {
    it(`refuses an added \`${line}\``, () => {
      const found = refused(line);
      assert.ok(found, 'refused');
      assert.match(found.why, why);
      assert.equal(found.line, line.trim());
    });
  }

  const fixes = [
    'return a + b;',
    "if (n < 0) throw new RangeError('n must be at least 0');",
    "const assert = require('node:assert');",
    'it = iter(xs)',
    'test = re.compile(pattern)',
    'return math.Abs(x-y) <= math.Max(a.marg, relMarg)',
    '// process.exit(0) was here once',
    '# sys.exit(0)',
    'const exitCode = run();',
    "if (process.env.NODE_ENV === 'production') return cached;",
    'expected = normalise(value)',
    'for (const test of tests) total += test.weight;',
    'Vector.prototype.equal = function (other) { return this.x === other.x; };',
    '    this.equal = (other) => other.id === this.id;',
  ];
  for (const line of fixes) {
    it(`lets an ordinary \`${line}\` through`, () => assert.equal(refused(line), undefined));
  }

  it("judges only the lines a reply adds: one the file already had is the project's own", () => {
    const before = 'function main() {\n  process.exit(run());\n}\n';
    assert.equal(findGaming([{ path: 'cli.js', before, after: before.replace('run()', 'run(argv)') + '\n' }])?.line, 'process.exit(run(argv));');
    assert.equal(findGaming([{ path: 'cli.js', before, after: `// the entry point\n${before}` }]), undefined);
    assert.deepEqual(addedLines('a\nb\na\n', 'a\nb\na\na\n'), ['a']);
  });

  it('refuses an edit that changes a doctest example in a doctest module, and lets the code under it change', () => {
    const before = 'def add(a, b):\n    """Sum.\n\n    >>> add(2, 3)\n    5\n    """\n    return a - b\n';
    const modules = new Set(['calc.py']);
    assert.equal(findGaming([{ path: 'calc.py', before, after: before.replace('a - b', 'a + b') }], modules), undefined);
    const changed = findGaming([{ path: 'calc.py', before, after: before.replace('    5\n', '    -1\n') }], modules);
    assert.match(changed?.why ?? '', /changes a doctest example/);
    assert.equal(changed?.line, '>>> add(2, 3)');
    // The same edit in a module the runner does not run as doctests is the project's documentation.
    assert.equal(findGaming([{ path: 'calc.py', before, after: before.replace('    5\n', '    -1\n') }]), undefined);
  });
});
