import * as assert from 'node:assert/strict';
import { buildPrompt, extractCode, fence, judgeReply, languageNames, summarize } from '../server/agent/prompt';
import { messageText } from '../server/providers/types';
import { emptyReport } from '../server/testResults';

describe('model replies', () => {
  it('takes the whole file from the first fenced block, keeping inner blank lines', () => {
    const reply = 'Fixed it.\n\n```js\nconst a = 1;\n\nmodule.exports = a;\n```\nmore text\n```\nsecond block\n```';
    assert.deepEqual(extractCode(reply, 'stop'), { ok: true, code: 'const a = 1;\n\nmodule.exports = a;\n' });
  });

  it('accepts tildes and longer fences that contain backtick fences', () => {
    assert.deepEqual(extractCode('~~~python\nprint(1)\n~~~', 'stop'), { ok: true, code: 'print(1)\n' });
    const md = '````md\n# doc\n```js\nx()\n```\n````';
    assert.deepEqual(extractCode(md, 'stop'), { ok: true, code: '# doc\n```js\nx()\n```\n' });
  });

  it('handles CRLF replies', () => {
    assert.deepEqual(extractCode('```\r\na\r\nb\r\n```\r\n', 'stop'), { ok: true, code: 'a\nb\n' });
  });

  it('rejects replies without a block, with an empty block, or cut off', () => {
    assert.equal(mustFail(extractCode('just prose', 'stop')), 'no_code_block');
    assert.equal(mustFail(extractCode('prose cut by the limit', 'length')), 'truncated');
    assert.equal(mustFail(extractCode('```js\n\n   \n```', 'stop')), 'empty');
    assert.equal(mustFail(extractCode('```js\nconst a = 1;\nconst b', 'length')), 'truncated');
    assert.equal(mustFail(extractCode('```js\nconst a = 1;\n', 'stop')), 'truncated');
    assert.equal(mustFail(extractCode('', null)), 'no_code_block');
  });

  it('rejects a reply that changes nothing', () => {
    assert.equal(mustFail(judgeReply('```\nsame\n```', 'stop', 'same\n')), 'unchanged');
    assert.deepEqual(judgeReply('```\nnew\n```', 'stop', 'old\n'), { ok: true, code: 'new\n' });
  });

  it("takes the block in the target file's language, not the command shown before it", () => {
    const reply = 'Run the tests with:\n\n```bash\nnode --test math.test.js\n```\n\nThe file:\n\n```js\nexports.add = (a, b) => a + b;\n```\n';
    assert.deepEqual(judgeReply(reply, 'stop', 'old\n', 'src/math.js'), { ok: true, code: 'exports.add = (a, b) => a + b;\n' });
    // Without a file, the first block, as before.
    assert.deepEqual(judgeReply(reply, 'stop', 'old\n'), { ok: true, code: 'node --test math.test.js\n' });
  });

  it('knows a language by any of its usual names, whatever the info string adds after it', () => {
    const reply = (info: string) => `\`\`\`sh\n$ run\n\`\`\`\n\`\`\`${info}\nfile\n\`\`\`\n\`\`\`\nlast\n\`\`\``;
    for (const [file, info] of [
      ['a.js', 'javascript'],
      ['a.mjs', 'js'],
      ['a.cjs', 'JavaScript'],
      ['a.ts', 'typescript'],
      ['a.tsx', 'tsx'],
      ['a.ts', 'ts title="a.ts"'],
      ['a.ts', 'ts:src/a.ts'],
      ['a.py', 'python'],
      ['a.py', 'py'],
      ['main.go', 'go'],
      ['lib.rs', 'rust'],
      ['a.lua', 'lua'],
    ]) {
      assert.deepEqual(extractCode(reply(info), 'stop', file), { ok: true, code: 'file\n' }, `${file} with \`\`\`${info}`);
    }
    assert.ok(languageNames('x.JS').has('javascript'));
    assert.equal(languageNames('Makefile').size, 0);
  });

  it("falls back to the first block when no block is tagged with the file's language", () => {
    assert.deepEqual(extractCode('```\nuntagged\n```\n```python\nprint(1)\n```', 'stop', 'a.js'), { ok: true, code: 'untagged\n' });
    assert.deepEqual(extractCode('```ts\nconst a = 1;\n```\n```bash\nnpm test\n```', 'stop', 'Makefile'), { ok: true, code: 'const a = 1;\n' });
    // A block of another language shown first still wins when the reply has nothing in the file's.
    assert.deepEqual(extractCode('```bash\nnpm test\n```', 'stop', 'a.js'), { ok: true, code: 'npm test\n' });
  });

  it("judges the block in the file's language: cut off, empty, unchanged", () => {
    // A command first, then the file cut off by the token limit: truncated, never the command as the file.
    assert.equal(mustFail(extractCode('```bash\nnpm test\n```\n```js\nexports.add = (a, b) =>', 'length', 'a.js')), 'truncated');
    assert.equal(mustFail(judgeReply('```bash\nnpm test\n```\n```js\nsame\n```', 'stop', 'same\n', 'a.js')), 'unchanged');
    // An empty block in the language gives way to a later one with code; with none, the reply is empty.
    assert.deepEqual(extractCode('```js\n```\n```js\ncode\n```', 'stop', 'a.js'), { ok: true, code: 'code\n' });
    assert.equal(mustFail(extractCode('```bash\nnpm test\n```\n```js\n\n```', 'stop', 'a.js')), 'empty');
    // Fences inside a longer fence are its text, not blocks of their own.
    assert.deepEqual(extractCode('````md\n```js\nx()\n```\n````\n```js\ny()\n```', 'stop', 'a.js'), { ok: true, code: 'y()\n' });
    assert.deepEqual(extractCode('````md\n```js\nx()\n```\n````', 'stop', 'a.md'), { ok: true, code: '```js\nx()\n```\n' });
  });
});

describe('prompts', () => {
  it('fences text so backticks inside cannot close the block early', () => {
    assert.equal(fence('a\n', 'js'), '```js\na\n```');
    assert.equal(fence('x\n````\ny', ''), '`````\nx\n````\ny\n`````');
  });

  it('sends the file, the goal, the test output and the earlier attempts in one message', () => {
    const [message] = buildPrompt({
      file: 'src/math.js',
      contents: 'exports.add = (a, b) => a - b;\n',
      testCommand: 'npm test',
      goal: 'add adds',
      testFiles: [{ path: 'test/math.test.js', contents: 'assert(add(1,1) === 2)' }],
      context: [],
      workspaceFiles: [],
      report: emptyReport(),
      testOutput: 'AssertionError: 0 !== 2',
      testExitCode: 1,
      attempts: [
        { iteration: 1, kind: 'rejected', reason: 'no_code_block', message: 'the reply had no fenced code block' },
        { iteration: 2, kind: 'tested', exitCode: 1, timedOut: false, summary: 'still 0 !== 2' },
      ],
    });
    assert.equal(message.role, 'user');
    for (const part of [
      'src/math.js',
      'a - b',
      'add adds',
      'test/math.test.js',
      'npm test',
      'exit code 1',
      'AssertionError: 0 !== 2',
      'Attempt 1: your reply was not used: the reply had no fenced code block',
      'Attempt 2: the tests failed (exit 1). Last output: still 0 !== 2',
    ]) {
      assert.ok(messageText(message).includes(part), `prompt lacks ${part}`);
    }
  });

  it('summarises the last lines of output', () => {
    assert.equal(summarize('a\n\nb\nc\nd\ne\n'), 'b | c | d | e');
    assert.equal(summarize(''), '(no output)');
    assert.ok(summarize('x'.repeat(1000)).length <= 301);
  });
});

function mustFail(result: ReturnType<typeof extractCode>): string {
  assert.equal(result.ok, false);
  return result.ok ? '' : result.reason;
}
