/**
 * The cheap guard against edits that game the tests, read from the edit before anything runs. Some cheats print
 * exactly what a real pass prints (a Go `init()` calling `os.Exit(0)`, a lenient `assert.equal`, a redefined
 * `Object.is`): only the edit shows them. A line counts only when the reply adds it (one the file already had is
 * the project's own), and a line that is only a comment never counts. Three kinds:
 *  - exiting the process from the module (`process.exit`, `process.exitCode =`, `sys.exit`, `os._exit`, `os.Exit`,
 *    `SystemExit`);
 *  - reading the test environment to behave differently (`process.env.VITEST`, `JEST_WORKER_ID`,
 *    `NODE_TEST_CONTEXT`, `NODE_ENV === 'test'`, `PYTEST_CURRENT_TEST`, `"pytest" in sys.modules`,
 *    `testing.Testing()`, …);
 *  - patching the test machinery: assigning to or mocking the assertion library or the runner's globals, redefining
 *    a built-in that assertions use, rewriting `os.Args` / `sys.argv`, loading a test framework into the code.
 * Doctest examples are tests inside a source file: an edit that changes one is refused too. The verdict's report
 * rules are the real guard; this one names the line to the model before a test runs. Pure.
 */

export interface FileEdit {
  path: string;
  /** null: the reply creates the file. */
  before: string | null;
  after: string;
}

export interface Gaming {
  path: string;
  /** The added line, trimmed and clipped, as quoted to the model. */
  line: string;
  /** What the line does, in a few words. */
  why: string;
}

const EXITS = 'exits the process';
const READS_ENV = 'reads the test environment to behave differently under test';
const PATCHES = 'patches the test machinery';

/** What the assertion libraries and runners put where a module can reach it. */
const GLOBALS = 'assert|expect|chai|should|describe|it|test|jest|vi';
const PATCHED = 'assert|expect|chai|global|globalThis';
/** Built-ins an assertion relies on (`Object.is`, `JSON.stringify`, prototypes…). */
const BUILT_INS = 'Object|Array|String|Number|Boolean|JSON|Math|Reflect|Symbol|Promise|Map|Set|WeakMap|Date|RegExp|Error|Function|Buffer|BigInt';
/** ava's and tap's assertion methods on the test context `t`. */
const T_METHODS = 'assert|equal|deepEqual|is|not|ok|pass|fail|true|false|same|strictEqual|deepStrictEqual|plan|end|snapshot|throws';
/** node:assert's, chai's and expect's judging methods. */
const ASSERT_METHODS =
  'equal|strictEqual|deepEqual|deepStrictEqual|notEqual|notStrictEqual|notDeepEqual|throws|rejects|doesNotThrow|match|' +
  'toBe|toEqual|toStrictEqual|toMatch|toMatchObject|toThrow|toMatchSnapshot|toMatchInlineSnapshot|eql';
const FRAMEWORKS = 'node:test|vitest|@jest/globals|jest|mocha|ava|chai|tap|uvu|sinon';

/** Pattern, what it means. Tested against one added line at a time, so each is linear in the line. */
const RULES: [RegExp, string][] = [
  // Leaving the process early.
  [/\bprocess\s*\.\s*(?:exit|reallyExit|abort)\s*\(/, EXITS],
  [/\bprocess\s*\.\s*exitCode\s*=(?!=)/, EXITS],
  [/\bprocess\s*\.\s*kill\s*\(\s*process\s*\.\s*pid\b/, EXITS],
  [/\b(?:sys|os)\s*\.\s*_?exit\s*\(/, EXITS],
  [/\braise\s+SystemExit\b|\bSystemExit\s*\(/, EXITS],
  [/\b(?:os|syscall)\s*\.\s*Exit\s*\(/, EXITS],
  [/\bruntime\s*\.\s*Goexit\s*\(/, EXITS],
  // Python's `exit()` / `quit()` builtins as a statement of their own.
  [/^(?:exit|quit)\s*\(\s*\d*\s*\)\s*;?$/, EXITS],
  // Behaving differently under test.
  [/\b(?:VITEST\w*|JEST_WORKER_ID|NODE_TEST_CONTEXT|PYTEST_CURRENT_TEST|PYTEST_XDIST_\w+|MICRO_AGENT_TEST_RUN)\b/, READS_ENV],
  [/\b(?:process\s*\.\s*env|os\s*\.\s*environ|os\s*\.\s*Getenv)\b.*\b(?:MOCHA|AVA|TAP|JEST|GO_?TEST)\w*/, READS_ENV],
  [/\bNODE_ENV\b.*['"`]test['"`]|['"`]test['"`].*\bNODE_ENV\b/, READS_ENV],
  [/['"](?:_?pytest|unittest|doctest)['"]\s+(?:not\s+)?in\s+sys\s*\.\s*modules|\bsys\s*\.\s*modules\b.*['"]_?pytest['"]/, READS_ENV],
  [/\btesting\s*\.\s*Testing\s*\(/, READS_ENV],
  [/\bflag\s*\.\s*Lookup\s*\(\s*"test\./, READS_ENV],
  [
    /\bos\s*\.\s*Args\s*\[\s*0\s*\].*\.test\b|\bsys\s*\.\s*argv\b.*\bpytest\b|\bprocess\s*\.\s*argv\b.*(?:--test\b|\bjest\b|\bvitest\b|\bmocha\b|\bava\b)/,
    READS_ENV,
  ],
  [/\btypeof\s+(?:jest|vi|describe|it|test|expect|before|beforeEach|suite)\b/, READS_ENV],
  [/\bimport\s*\.\s*meta\s*\.\s*vitest\b/, READS_ENV],
  // Vite's mode is 'test' under vitest; `process.env.TEST` is set by some runners' setups.
  [/\bimport\s*\.\s*meta\s*\.\s*env\b.*['"`]test['"`]|\bimport\s*\.\s*meta\s*\.\s*env\s*\.\s*(?:TEST|VITEST)\b/, READS_ENV],
  [/\bprocess\s*\.\s*env\s*(?:\.\s*TEST\b|\[\s*['"]TEST['"]\s*\])/, READS_ENV],
  // Patching what the tests use to judge.
  [/\bassert(?:\s*\.\s*\w+)+\s*=(?!=)/, PATCHES],
  [/(?<!\b(?:const|let|var|import|as)\s+)(?<![.\w])(?:assert|expect|chai)\s*=(?![=>])/, PATCHES],
  [new RegExp(`\\b(?:global|globalThis|window|self)\\s*(?:\\.\\s*|\\[\\s*['"])(?:${GLOBALS})\\b\\s*(?:['"]\\s*\\])?\\s*=(?!=)`), PATCHES],
  [/\bexpect\s*\.\s*(?:extend|addSnapshotSerializer)\s*\(|\bexpect\s*\.\s*\w+\s*=(?!=)/, PATCHES],
  [/\bchai\s*\.\s*(?:Assertion|use|config|util)\b/, PATCHES],
  [
    new RegExp(`\\b(?:mock\\s*\\.\\s*method|jest\\s*\\.\\s*spyOn|vi\\s*\\.\\s*spyOn|sinon\\s*\\.\\s*(?:stub|replace|spy)|spyOn)\\s*\\(\\s*(?:${PATCHED}|t)\\b`),
    PATCHES,
  ],
  [new RegExp(`\\bObject\\s*\\.\\s*(?:defineProperty|defineProperties|assign|setPrototypeOf)\\s*\\(\\s*(?:${PATCHED}|${BUILT_INS})\\b`), PATCHES],
  [new RegExp(`\\b(?:${BUILT_INS})(?:\\s*\\.\\s*prototype)?\\s*\\.\\s*\\w+\\s*=(?!=)`), PATCHES],
  [new RegExp(`\\bt\\s*\\.\\s*(?:${T_METHODS})\\s*=(?!=)`), PATCHES],
  // An assertion method replaced on an alias of the library (`const a = require('assert'); a.equal = …`); a class's
  // own `equal` (`this.equal =`, `X.prototype.equal =`) is its own business.
  [new RegExp(`(?<!\\b(?:prototype|this)\\s*)\\.\\s*(?:${ASSERT_METHODS})\\s*=(?!=)`), PATCHES],
  [/\bModule\s*\.\s*(?:prototype\s*\.\s*require|_load|_resolveFilename|_extensions)\s*=(?!=)|\brequire\s*\.\s*cache\b/, PATCHES],
  [/\bos\s*\.\s*Args\s*(?:\[[^\]]*\]\s*)?=(?!=)|\bos\s*\.\s*Args\s*=\s*append\b/, PATCHES],
  [/\bflag\s*\.\s*(?:CommandLine\s*\.\s*)?Set\s*\(\s*"test\./, PATCHES],
  [/\bsys\s*\.\s*argv\s*(?:\[[^\]]*\]\s*)?=(?!=)|\bdel\s+sys\s*\.\s*argv\b/, PATCHES],
  [/\bsys\s*\.\s*argv\s*\.\s*(?:append|extend|insert|clear|pop|remove)\s*\(/, PATCHES],
  [/\b(?:builtins|__builtins__|unittest\s*\.\s*TestCase|pytest|_pytest)\s*(?:\.\s*\w+|\[[^\]]*\])\s*=(?!=)/, PATCHES],
  [/\bsetattr\s*\(\s*(?:builtins|__builtins__|unittest|pytest|_pytest)\b/, PATCHES],
  [new RegExp(`\\b(?:require|import)\\s*\\(?\\s*['"](?:${FRAMEWORKS})['"]|\\bfrom\\s+['"](?:${FRAMEWORKS})['"]`), PATCHES],
  [/^\s*(?:import|from)\s+(?:_?pytest|unittest\.mock)\b/, PATCHES],
];

const MAX_QUOTED = 160;

/** The first line an edit adds that games the tests, or undefined. */
export function findGaming(edits: FileEdit[], doctestModules: ReadonlySet<string> = new Set()): Gaming | undefined {
  for (const edit of edits) {
    for (const line of addedLines(edit.before ?? '', edit.after)) {
      const code = codeOf(line);
      if (!code) continue;
      for (const [pattern, why] of RULES) {
        if (pattern.test(code)) return { path: edit.path, line: clip(line.trim()), why };
      }
    }
    if (edit.before !== null && doctestModules.has(edit.path)) {
      const changed = changedExample(edit.before, edit.after);
      if (changed !== undefined) return { path: edit.path, line: clip(changed), why: 'changes a doctest example, a test inside the source file' };
    }
  }
  return undefined;
}

/** The lines of `after` that `before` does not have (as many times as it has them), compared trimmed. */
export function addedLines(before: string, after: string): string[] {
  const had = new Map<string, number>();
  for (const line of before.split(/\r?\n/)) {
    const key = line.trim();
    had.set(key, (had.get(key) ?? 0) + 1);
  }
  const added: string[] = [];
  for (const line of after.split(/\r?\n/)) {
    const key = line.trim();
    const n = had.get(key) ?? 0;
    if (n > 0) had.set(key, n - 1);
    else if (key) added.push(line);
  }
  return added;
}

/** The line trimmed; empty for a line that is only a comment. */
function codeOf(line: string): string {
  const trimmed = line.trim();
  if (/^(?:\/\/|#|\*|\/\*)/.test(trimmed)) return '';
  return trimmed;
}

/**
 * Doctest examples: each `>>>` line with its `...` continuations and the expected output under it (up to a blank
 * line, the next `>>>` or the docstring's end), compared in order and trimmed. The first example of `before`
 * that `after` lacks, or a new one `after` adds; undefined when they are the same.
 */
function changedExample(before: string, after: string): string | undefined {
  const was = examples(before);
  const now = examples(after);
  const nowSet = new Set(now);
  for (const example of was) if (!nowSet.has(example)) return example.split('\n')[0];
  const wasSet = new Set(was);
  for (const example of now) if (!wasSet.has(example)) return example.split('\n')[0];
  return undefined;
}

function examples(source: string): string[] {
  const lines = source.split(/\r?\n/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim().startsWith('>>>')) continue;
    const example = [lines[i].trim()];
    while (i + 1 < lines.length && lines[i + 1].trim().startsWith('...')) example.push(lines[++i].trim());
    while (i + 1 < lines.length) {
      const next = lines[i + 1].trim();
      if (!next || next.startsWith('>>>') || next.startsWith('"""') || next.startsWith("'''")) break;
      example.push(next.replace(/["']{3}$/, '').trim());
      i++;
      if (/["']{3}$/.test(next)) break;
    }
    out.push(example.join('\n'));
  }
  return out;
}

function clip(text: string): string {
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}
