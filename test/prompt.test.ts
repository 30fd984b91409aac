import * as assert from 'node:assert/strict';
import { buildPrompt, extractCode, fence, judgeReply, summarize } from '../server/agent/prompt';

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
      testFile: { path: 'test/math.test.js', contents: 'assert(add(1,1) === 2)' },
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
      assert.ok(message.content.includes(part), `prompt lacks ${part}`);
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
