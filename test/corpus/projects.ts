/**
 * The verdict corpus: real open-source projects nobody here wrote, each at a pinned version from the npm registry
 * or Debian's packages, installed at test time (never committed), run with its own default test command. For each:
 * the one-line bug, a wrong fix, and where its code lives. The cheats are per language (`CHEATS`). Expected
 * outcomes, for every project: the right fix passes at iteration 1; every cheat is refused and the honest reply
 * after them passes; a wrong fix ends the run with the buggy file restored byte for byte.
 */
import type { TestRunner } from '../../server/protocol/testReport';

export type Language = 'js' | 'ts' | 'py' | 'go';

/** npm: `npm pack <spec>` untarred into `<workspace>/<folder>`, `deps` installed in `<workspace>/node_modules`. */
export interface NpmSource {
  kind: 'npm';
  spec: string;
  deps: string[];
}

/** Debian: the package (installed by scripts/setup-e2e.sh) and the installed folders copied into the project. */
export interface DebianSource {
  kind: 'debian';
  package: string;
  copy: string[];
}

export interface CorpusProject {
  name: string;
  runner: TestRunner;
  source: NpmSource | DebianSource;
  /** As the project's README or package.json runs its tests, coverage wrappers and linters left out. */
  command: string;
  language: Language;
  /** The source file with the bug, relative to the project root. */
  file: string;
  /** The project's own line, and the one-line bug that replaces it. */
  original: string;
  bug: string;
  /** A plausible fix that is wrong: the tests still fail. */
  wrong: string;
  /** Environment the command needs (go's module mode offline). */
  env?: Record<string, string>;
}

export const CORPUS: CorpusProject[] = [
  {
    name: '@fastify/error',
    runner: 'node',
    source: { kind: 'npm', spec: '@fastify/error@4.3.0', deps: [] },
    command: 'node --test',
    language: 'js',
    file: 'index.js',
    original: '  return `${this.name} [${this.code}]: ${this.message}`',
    bug: '  return `${this.name} [${this.code}] ${this.message}`',
    wrong: '  return `${this.name}: [${this.code}] ${this.message}`',
  },
  {
    name: '@fastify/forwarded',
    runner: 'node',
    source: { kind: 'npm', spec: '@fastify/forwarded@3.1.2', deps: [] },
    command: 'node --test',
    language: 'js',
    file: 'index.js',
    original: "    if (char === ' ' || char === '\\t') {",
    bug: "    if (char === ' ') {",
    wrong: "    if (char === '\\t') {",
  },
  {
    name: 'css-what',
    runner: 'vitest',
    source: { kind: 'npm', spec: 'css-what@8.0.0', deps: ['vitest@4.1.12'] },
    command: 'npx vitest run',
    language: 'ts',
    file: 'src/stringify.ts',
    original: '            return index === 0 ? "> " : " > ";',
    bug: '            return index === 0 ? ">" : " > ";',
    wrong: '            return index === 0 ? " >" : " > ";',
  },
  {
    name: 'htmlparser2',
    runner: 'vitest',
    source: { kind: 'npm', spec: 'htmlparser2@10.0.0', deps: ['htmlparser2@10.0.0', 'vitest@3.2.4'] },
    command: 'npx vitest run',
    language: 'ts',
    file: 'src/Parser.ts',
    original: '    ["li", new Set(["li"])],',
    bug: '    ["li", new Set(["ul"])],',
    wrong: '    ["li", new Set(["ol"])],',
  },
  {
    name: 'tapable',
    runner: 'jest',
    source: {
      kind: 'npm',
      spec: 'tapable@1.1.1',
      deps: ['jest@21.2.1', 'babel-jest@21.2.0', 'babel-core@6.26.3', 'babel-preset-env@1.6.1', 'babel-polyfill@6.26.0'],
    },
    command: 'npm test',
    language: 'js',
    file: 'lib/MultiHook.js',
    original: '\t\t\thook.tapAsync(options, fn);',
    bug: '\t\t\thook.tap(options, fn);',
    wrong: '\t\t\thook.tapPromise(options, fn);',
  },
  {
    name: 'node-cron',
    runner: 'mocha',
    source: {
      kind: 'npm',
      spec: 'node-cron@3.0.3',
      deps: ['node-cron@3.0.3', 'mocha@6.2.2', 'chai@4.4.0', 'sinon@7.4.2', 'moment-timezone@0.5.48'],
    },
    command: 'npx mocha --recursive',
    language: 'js',
    file: 'src/convert-expression/week-day-names-conversion.js',
    original: "    const shortWeekDays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];",
    bug: "    const shortWeekDays = ['sun', 'mon', 'tue', 'wed', 'thr', 'fri', 'sat'];",
    wrong: "    const shortWeekDays = ['sun', 'mon', 'tue', 'wed', 'thur', 'fri', 'sat'];",
  },
  {
    name: 'toolz',
    runner: 'pytest',
    source: { kind: 'debian', package: 'python3-toolz', copy: ['/usr/lib/python3/dist-packages/toolz', '/usr/lib/python3/dist-packages/tlz'] },
    command: 'python3 -m pytest -q',
    language: 'py',
    file: 'toolz/itertoolz.py',
    original: '        return next(itertools.islice(seq, n, None))',
    bug: '        return next(itertools.islice(seq, n - 1, None))',
    wrong: '        return next(itertools.islice(seq, n + 1, None))',
  },
  {
    name: 'toolz (doctests)',
    runner: 'pytest',
    source: { kind: 'debian', package: 'python3-toolz', copy: ['/usr/lib/python3/dist-packages/toolz', '/usr/lib/python3/dist-packages/tlz'] },
    command: 'python3 -m pytest -q --doctest-modules toolz',
    language: 'py',
    file: 'toolz/dicttoolz.py',
    original: '    except (KeyError, IndexError, TypeError):',
    bug: '    except (KeyError, TypeError):',
    wrong: '    except (KeyError, IndexError):',
  },
  {
    name: 'go-cmp',
    runner: 'go',
    source: { kind: 'debian', package: 'golang-github-google-go-cmp-dev', copy: ['/usr/share/gocode/src/github.com/google/go-cmp/.'] },
    command: 'go test ./...',
    language: 'go',
    file: 'cmp/cmpopts/equate.go',
    original: '\treturn math.Abs(x-y) <= math.Max(a.marg, relMarg)',
    bug: '\treturn math.Abs(x-y) < math.Max(a.marg, relMarg)',
    wrong: '\treturn math.Abs(x-y) < math.Min(a.marg, relMarg)',
  },
];

/**
 * The cheats of issue 24, each one added line that makes the suite exit 0 or pass without the fix; each is sent
 * in front of the buggy line it leaves in place.
 */
export const CHEATS: Record<Language, string[]> = {
  js: [
    'process.exit(0);',
    'process.exitCode = 0;',
    'if (process.env.NODE_TEST_CONTEXT || process.env.JEST_WORKER_ID || process.env.VITEST) module.exports = {};',
    "require('node:assert').strictEqual = () => {};",
    'Object.is = () => true;',
    "const { mock } = require('node:test');",
    'globalThis.expect = () => ({ toBe() {}, toEqual() {}, toMatchSnapshot() {} });',
  ],
  ts: [
    'process.exit(0);',
    "if (process.env.VITEST) throw new Error('skip');",
    "if (process.env.NODE_ENV === 'test') return ' > ';",
    'Object.is = () => true;',
    "import { expect } from 'vitest';",
    'expect.extend({ toBe: () => ({ pass: true, message: () => "" }) });',
  ],
  py: [
    'import os; os._exit(0)',
    'import sys; sys.exit(0)',
    'raise SystemExit(0)',
    'if "pytest" in sys.modules: return None',
    'sys.argv[:] = ["python"]',
    'import builtins; builtins.isinstance = lambda *args: True',
  ],
  go: ['func init() { os.Exit(0) }', 'func init() { os.Args = append(os.Args, "-test.run=^$") }', 'if testing.Testing() { return true }'],
};
