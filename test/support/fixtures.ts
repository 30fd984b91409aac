import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BROKEN_MATH = `exports.add = (a, b) => a - b;\nexports.mul = (a, b) => a * b;\n`;
export const FIXED_MATH = `exports.add = (a, b) => a + b;\nexports.mul = (a, b) => a * b;\n`;
export const MATH_TEST = `const test = require('node:test');
const assert = require('node:assert');
const { add, mul } = require('./math.js');
test('add', () => assert.strictEqual(add(2, 3), 5));
test('mul', () => assert.strictEqual(mul(2, 3), 6));
`;
export const TEST_COMMAND = 'node --test math.test.js';

/** A model reply in the shape the loop asks for: a sentence, then the whole file in a fenced block. */
export function fixReply(code = FIXED_MATH): string {
  return `The add function subtracted; it now adds.\n\n\`\`\`js\n${code}\`\`\`\n`;
}

/** A model reply with one search/replace block, as a model following the system prompt writes it. */
export function blockReply(file: string, search: string, replace: string): string {
  return `Fixed it.\n\n${file}\n\`\`\`js\n<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n\`\`\`\n`;
}

/** A temp workspace with a broken module and its node:test suite. */
export function makeWorkspace(files: Record<string, string> = { 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST }): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-ws-')));
  for (const [name, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), contents);
  }
  return root;
}

export function readLog(root: string, name = '.micro-agent/events.jsonl'): any[] {
  const file = path.join(root, name);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** A value that looks like a real key, unique per test so a leak is unambiguous. */
export function fakeKey(prefix = 'sk-test'): string {
  return `${prefix}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

/** The repository root, found from wherever the bundled test lives (dist-test/, dist-test/e2e/, …). */
export const REPO = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'esbuild.mjs'))) return dir;
  }
  throw new Error(`no repository above ${__dirname}`);
})();
export const DIST = path.join(REPO, 'dist');
