/**
 * A small repository with real git history for `micro-agent eval`, built with the real git: two commits that each
 * fix a bug a live `node --test` suite catches (one of them also adds the test), one commit that changes only a
 * test, and one that changes source without fixing anything. And a snapshot of everything outside `.micro-agent/`
 * (every file's bytes, mode and mtime; `.git` whole: HEAD, refs, the index, the stash, the config).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fakeKey } from './fixtures';

export const EVAL_TEST_COMMAND = 'node --test test/';

const TEST_HEAD = "const test = require('node:test');\nconst assert = require('node:assert/strict');\n";

export const STRINGS = {
  broken: "exports.capitalize = (s) => s.charAt(0) + s.slice(1);\nexports.shout = (s) => s.toUpperCase() + '!';\n",
  fixed: "exports.capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);\nexports.shout = (s) => s.toUpperCase() + '!';\n",
  wrong: (k: number) => `exports.capitalize = (s) => s.charAt(0) + s.slice(1) + ''.repeat(${k});\nexports.shout = (s) => s.toUpperCase() + '!';\n`,
};

const calc = (mul: string, clamp = '(x < lo ? lo : x > hi ? hi : x)') =>
  `exports.add = (a, b) => a + b;\nexports.sub = (a, b) => a - b;\nexports.mul = (a, b) => ${mul};\nexports.clamp = (x, lo, hi) => ${clamp};\n`;

export const CALC = {
  broken: calc('a + b'),
  fixed: calc('a * b'),
  wrong: (k: number) => calc(`a * b + ${k}`),
};

const CALC_TEST = `${TEST_HEAD}const { add, sub, clamp } = require('../src/calc.js');
test('add', () => assert.equal(add(2, 3), 5));
test('sub', () => assert.equal(sub(5, 3), 2));
test('clamp', () => assert.equal(clamp(12, 0, 10), 10));
`;
const CALC_TEST_WITH_MUL = CALC_TEST.replace('{ add, sub, clamp }', '{ add, sub, mul, clamp }') + "test('mul', () => assert.equal(mul(2, 3), 6));\n";

function git(root: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' },
  }).trim();
}

function write(root: string, files: Record<string, string>): void {
  for (const [file, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), contents);
  }
}

function commit(root: string, message: string, files: Record<string, string>): string {
  write(root, files);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', message);
  return git(root, 'rev-parse', 'HEAD');
}

export interface EvalRepo {
  root: string;
  /** The first commit (the range's start, excluded), the two fixes, the test-only commit, the non-fix. */
  base: string;
  fixCapitalize: string;
  fixMul: string;
  testOnly: string;
  notAFix: string;
}

export function makeEvalRepo(): EvalRepo {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-evalrepo-')));
  git(root, 'init', '-q', '-b', 'main');
  const base = commit(root, 'Initial calc and strings', {
    'src/calc.js': CALC.broken,
    'src/strings.js': STRINGS.broken,
    'test/calc.test.js': CALC_TEST,
    'test/strings.test.js': `${TEST_HEAD}const { capitalize, shout } = require('../src/strings.js');
test('capitalize', () => assert.equal(capitalize('hello'), 'Hello'));
test('shout', () => assert.equal(shout('hi'), 'HI!'));
`,
    'README.md': '# calc\n',
  });
  const fixCapitalize = commit(root, 'Fix capitalize: upper-case the first letter', { 'src/strings.js': STRINGS.fixed });
  const fixMul = commit(root, 'Fix mul, which added\n\nmul(2, 3) was 5.', { 'src/calc.js': CALC.fixed, 'test/calc.test.js': CALC_TEST_WITH_MUL });
  const testOnly = commit(root, 'test: more sub cases', {
    'test/calc.test.js': CALC_TEST_WITH_MUL + "test('sub negative', () => assert.equal(sub(1, 3), -2));\n",
  });
  const notAFix = commit(root, 'Refactor clamp with Math.min and Math.max; document it', {
    'src/calc.js': calc('a * b', 'Math.min(Math.max(x, lo), hi)'),
    'README.md': '# calc\n\nclamp(x, lo, hi) keeps x within [lo, hi].\n',
  });
  return { root, base, fixCapitalize, fixMul, testOnly, notAFix };
}

/** Work in progress the eval must leave as it is: a stash, a staged new file, an unstaged change. */
export function addWorkInProgress(root: string): void {
  fs.appendFileSync(path.join(root, 'README.md'), '\nwork in progress for the stash\n');
  git(root, 'stash', 'push', '-q', '-m', 'wip');
  write(root, { 'NOTES.md': 'staged notes\n' });
  git(root, 'add', 'NOTES.md');
  fs.appendFileSync(path.join(root, 'src/strings.js'), '// an unstaged edit\n');
}

/** Everything outside `.micro-agent/`: files by bytes, mode and mtime, links by target, folders by mode. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (child === '.micro-agent') continue;
      const abs = path.join(root, child);
      const stat = fs.lstatSync(abs);
      if (entry.isSymbolicLink()) out[child] = `link ${fs.readlinkSync(abs)}`;
      else if (entry.isDirectory()) {
        out[child] = `dir ${stat.mode.toString(8)}`;
        walk(child);
      } else out[child] = `file ${stat.mode.toString(8)} ${stat.mtimeMs} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

/**
 * A temp folder of the test's own for the processes it starts (their TMPDIR), so that the copies it counts are
 * theirs, not those of an eval another suite runs at the same time.
 */
export function tempDir(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-evaltmp-')));
}

/**
 * Per test: a `tempDir` for the eval's processes, removed after the test, and their environment: that TMPDIR and the
 * key pointing them at the chat stand-in.
 */
export function useEvalSandbox(vendor: { openaiUrl: string }): { tmp: () => string; env: () => NodeJS.ProcessEnv } {
  let tmp = '';
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  return { tmp: () => tmp, env: () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl, TMPDIR: tmp }) };
}

/** The eval copies in `dir` (a TMPDIR) now. */
export function evalCopies(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.startsWith('micro-agent-eval-'));
}

export { git as gitIn };
