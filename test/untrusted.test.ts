/**
 * A cloned repository, the code under test or a model reply must never steer micro-agent outside the
 * workspace (issue 25). Each finding of that red team, as an attacker would try it, through the real CLI,
 * `serve` or MCP process: forged run records and log lines, links, git pathspecs and hooks, a webhook that
 * never stops talking, an oversized MCP message, secrets in the environment of code under test.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from './support/apiClient';
import { cli, spawnCli } from './support/cli';
import { blockReply, BROKEN_MATH, DIST, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { gitRepo } from './support/seeded';
import { serve, Served, stop } from './support/serve';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const WRONG_MATH = 'exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A workspace inside a folder of its own, so that "outside the workspace" is a place the test can watch. */
function nestedWorkspace(files?: Record<string, string>): { root: string; outside: string } {
  const root = makeWorkspace(files);
  const outside = path.dirname(root);
  const nested = path.join(fs.mkdtempSync(path.join(outside, 'micro-agent-outside-')), 'ws');
  fs.renameSync(root, nested);
  return { root: nested, outside: path.dirname(nested) };
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

/**
 * What a cloned repository can ship: `.micro-agent/events.jsonl` with one run its dead process left open, and
 * `runs/<id>/manifest.json` with the given content, beside the given copies.
 */
function shipRun(root: string, runId: string, manifest: unknown, copies: Record<string, string> = {}): void {
  const runDir = path.join(root, '.micro-agent', 'runs', runId);
  fs.mkdirSync(runDir, { recursive: true });
  for (const [rel, text] of Object.entries(copies)) {
    fs.mkdirSync(path.dirname(path.join(runDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(runDir, rel), text);
  }
  fs.writeFileSync(path.join(runDir, 'manifest.json'), JSON.stringify(manifest));
  const log = path.join(root, '.micro-agent', 'events.jsonl');
  const started = {
    seq: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length + 1 : 1,
    ts: Date.now() - 60_000,
    type: 'run.started',
    runId,
    file: 'math.js',
    files: ['math.js'],
    testCommand: TEST_COMMAND,
    provider: 'openai',
    model: 'gpt-4.1-mini',
    maxRuns: 3,
    budgetUsd: null,
    budgetMs: null,
    prompt: null,
    originalPath: `.micro-agent/runs/${runId}/original.js`,
    pid: deadPid(),
  };
  fs.appendFileSync(log, JSON.stringify(started) + '\n');
}

function record(runId: string, originals: Record<string, string | null>, current: Record<string, { copy: string | null; sha256: string | null }> = {}) {
  return { version: 1, runId, target: 'math.js', originals: { 'math.js': null, ...originals }, checkpoints: [], current, restoredTo: null };
}

describe('untrusted state: forged run records (findings 1-3)', function () {
  this.timeout(60_000);
  let served: Served | undefined;
  afterEach(() => stop(served));

  it('1: undo of a shipped run whose record names ../victim.txt is refused with the reason; the file outside is untouched', async () => {
    const { root, outside } = nestedWorkspace();
    fs.writeFileSync(path.join(outside, 'victim.txt'), 'precious\n');
    shipRun(root, 'mx1-aaaaaa', record('mx1-aaaaaa', { '../victim.txt': 'original.js' }), { 'original.js': 'overwritten by undo\n' });

    const undone = await cli(['undo', 'mx1-aaaaaa'], root, {});
    assert.equal(undone.code, 2, undone.stdout + undone.stderr);
    assert.match(undone.stderr, /refused: .*\.\.\/victim\.txt.* outside the workspace/);
    assert.match(undone.stderr, /nothing was changed/);
    assert.equal(fs.readFileSync(path.join(outside, 'victim.txt'), 'utf8'), 'precious\n');
    // The start that closed the shipped run says its record is refused rather than inviting an undo.
    assert.match(undone.stderr, /record is refused/);
  });

  it('2: POST /v1/runs/<id>/undo of a record naming {"../precious.txt": null} is refused (422); nothing outside is deleted', async () => {
    const { root, outside } = nestedWorkspace();
    fs.writeFileSync(path.join(outside, 'precious.txt'), 'keep me\n');
    shipRun(root, 'mx2-bbbbbb', record('mx2-bbbbbb', { '../precious.txt': null }));
    served = await serve(root, {});
    const answer = await request(`${served.url}/v1/runs/mx2-bbbbbb/undo`, { method: 'POST', token: served.info.token });
    assert.equal(answer.status, 422, answer.text);
    assert.equal(answer.json().error.code, -32008);
    assert.match(answer.json().error.message, /precious\.txt is outside the workspace/);
    assert.ok(fs.existsSync(path.join(outside, 'precious.txt')), 'the file outside is still there');
  });

  it('3: a copy path leaving the run folder: GET /changes with the read token and `micro-agent diff` refuse, and never show the file', async () => {
    const { root, outside } = nestedWorkspace();
    const secret = `secret-${fakeKey()}`;
    fs.writeFileSync(path.join(outside, 'secret.txt'), `${secret}\n`);
    const manifest = {
      ...record('mx3-cccccc', {}),
      originals: { 'math.js': '../../../../secret.txt' },
      current: { 'math.js': { copy: 'attempt-1.js', sha256: sha(BROKEN_MATH) } },
    };
    shipRun(root, 'mx3-cccccc', manifest, { 'attempt-1.js': 'x\n' });
    // A link inside the run folder that points out of it is refused the same way.
    shipRun(root, 'mx3-dddddd', { ...manifest, runId: 'mx3-dddddd', originals: { 'math.js': 'linked.js' } }, { 'attempt-1.js': 'x\n' });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, '.micro-agent/runs/mx3-dddddd/linked.js'));

    served = await serve(root, {});
    for (const runId of ['mx3-cccccc', 'mx3-dddddd']) {
      const answer = await request(`${served.url}/v1/runs/${runId}/changes`, { token: served.info.readToken });
      assert.equal(answer.status, 422, answer.text);
      assert.match(answer.json().error.message, /the original of math\.js: .*not a (path inside|kept copy in) the run's folder/);
      assert.ok(!answer.text.includes(secret));
      const diff = await cli(['diff', runId], root, {});
      assert.equal(diff.code, 2);
      assert.ok(!(diff.stdout + diff.stderr).includes(secret), 'the secret is printed nowhere');
    }
  });

  it('run ids from the log or a client never become a path: a forged run.started with runId "../.." is no run', async () => {
    const root = makeWorkspace();
    fs.mkdirSync(path.join(root, '.micro-agent'));
    const forged = { seq: 1, ts: Date.now(), type: 'run.started', runId: '../../x', file: 'math.js', testCommand: 'true', provider: 'openai' };
    fs.writeFileSync(path.join(root, '.micro-agent/events.jsonl'), JSON.stringify({ ...forged, model: 'm', maxRuns: 1, pid: deadPid() }) + '\n');
    const diff = await cli(['diff'], root, {});
    assert.equal(diff.code, 2, diff.stdout + diff.stderr);
    assert.match(diff.stderr, /no runs yet/);
  });
});

describe('untrusted input to the model: prompt files and links (findings 4-5)', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });

  it('4: a <file>.prompt.md linked outside the workspace or to .micro-agent/api.json is refused before any call', async () => {
    const { root, outside } = nestedWorkspace();
    const secret = `credential-${fakeKey()}`;
    fs.writeFileSync(path.join(outside, 'credentials'), secret);
    fs.mkdirSync(path.join(root, '.micro-agent'));
    fs.writeFileSync(path.join(root, '.micro-agent/api.json'), JSON.stringify({ token: secret }));
    for (const [target, reason] of [
      [path.join(outside, 'credentials'), /math\.js\.prompt\.md: .*resolves outside the workspace/],
      [path.join(root, '.micro-agent/api.json'), /math\.js\.prompt\.md .*\.micro-agent\//],
    ] as const) {
      fs.rmSync(path.join(root, 'math.js.prompt.md'), { force: true });
      fs.symlinkSync(target, path.join(root, 'math.js.prompt.md'));
      vendor.script({ kind: 'text', text: fixReply() });
      const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env());
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, reason);
      assert.equal(vendor.requests.length, 0, 'nothing went to the vendor');
      assert.ok(!fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8').includes(secret));
    }
    // -p naming such a link is refused the same way.
    fs.symlinkSync(path.join(outside, 'credentials'), path.join(root, 'goal.md'));
    fs.rmSync(path.join(root, 'math.js.prompt.md'));
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-p', 'goal.md'], root, env());
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /-p goal\.md: .*outside the workspace/);
    assert.equal(vendor.requests.length, 0);
  });

  it('5: new files through links to .git/, .micro-agent/ and node_modules/ are rejected edits (forbidden_path); nothing lands there', async () => {
    const root = makeWorkspace();
    execFileSync('git', ['init', '-q'], { cwd: root });
    fs.mkdirSync(path.join(root, '.micro-agent'));
    fs.mkdirSync(path.join(root, 'node_modules'));
    fs.symlinkSync('.git', path.join(root, 'gd'));
    fs.symlinkSync('.micro-agent', path.join(root, 'ma'));
    fs.symlinkSync('node_modules', path.join(root, 'nm'));
    const create = (file: string, text: string) => `\n${file}\n\`\`\`\n<<<<<<< SEARCH\n=======\n${text}>>>>>>> REPLACE\n\`\`\`\n`;
    const fix = blockReply('math.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a + b;\n');
    vendor.script(
      { kind: 'text', text: fix + create('gd/hooks/pre-commit', '#!/bin/sh\necho pwned\n') },
      { kind: 'text', text: fix + create('ma/runs/forged/manifest.json', '{"version":1}\n') },
      { kind: 'text', text: fix + create('nm/left-pad/index.js', 'module.exports = 0;\n') },
    );
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '3'], root, env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const rejected = readLog(root).filter((e) => e.type === 'edit.rejected');
    assert.deepEqual(
      rejected.map((e) => e.reason),
      ['forbidden_path', 'forbidden_path', 'forbidden_path'],
    );
    assert.match(rejected[0].message, /would land in \.git\//);
    assert.match(rejected[1].message, /would land in \.micro-agent\//);
    assert.match(rejected[2].message, /would land in node_modules\//);
    assert.ok(!fs.existsSync(path.join(root, '.git/hooks/pre-commit')));
    assert.ok(!fs.existsSync(path.join(root, '.micro-agent/runs/forged')));
    assert.ok(!fs.existsSync(path.join(root, 'node_modules/left-pad')));
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });
});

describe('secrets never reach code under test or a prompt (finding 6)', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();

  it('6: the webhook URL, admin keys and API keys are not in the test command environment; a key in a file reaches the vendor as ***', async () => {
    const key = fakeKey();
    const hook = `http://127.0.0.1:9/services/T000/B000/${fakeKey('hooktoken')}`;
    const admin = fakeKey('sk-admin');
    // The code under test carries the key in a comment: the prompt holds it, and it must not leave.
    const root = makeWorkspace({ 'math.js': `// ${key}\n${BROKEN_MATH}`, 'math.test.js': MATH_TEST });
    // What model-written code under test could do: read its environment, and print it into the output the next prompt quotes.
    const testCommand = `node -e "console.log(JSON.stringify(process.env))" > env.json; echo "hook=$MICRO_AGENT_ALERT_WEBHOOK"; ${TEST_COMMAND}`;
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'text', text: fixReply(`// fixed\n${FIXED_MATH}`) });
    const result = await cli(['run', 'math.js', '-t', testCommand, '-m', '2'], root, {
      OPENAI_API_KEY: key,
      OPENAI_BASE_URL: vendor.openaiUrl,
      MICRO_AGENT_ALERT_WEBHOOK: hook,
      OPENAI_ADMIN_KEY: admin,
      ANTHROPIC_ADMIN_KEY: admin + 'a',
      // The same secret under a name micro-agent does not know is stripped by its value.
      MY_COPY_OF_THE_HOOK: hook,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const testEnv = fs.readFileSync(path.join(root, 'env.json'), 'utf8');
    for (const secret of [key, hook, admin]) assert.ok(!testEnv.includes(secret), `the test command saw ${secret.slice(0, 12)}…`);
    assert.ok(!('MY_COPY_OF_THE_HOOK' in JSON.parse(testEnv)));
    const sent = JSON.stringify(vendor.requests.map((r) => r.body));
    assert.ok(sent.includes('// ***'), 'the key in the file was redacted in the prompt');
    for (const secret of [key, hook, admin]) assert.ok(!sent.includes(secret), 'no secret left for the vendor');
  });
});

describe('git under --commit (findings 7-8)', function () {
  this.timeout(90_000);
  const vendor = useVendorServer(() => stop(served));
  let served: Served | undefined;
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });

  function repo(files: Record<string, string> = {}): { root: string; git: (...args: string[]) => string } {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, ...files });
    return { root, git: gitRepo(root) };
  }

  it('7: a file the model named ":(glob)*.js" is that file to git: the user staged, unstaged and untracked .js files stay out', async () => {
    const { root, git } = repo({ 'staged.js': '1\n', 'edited.js': '1\n' });
    fs.writeFileSync(path.join(root, 'staged.js'), '2\n');
    git('add', 'staged.js');
    fs.writeFileSync(path.join(root, 'edited.js'), '2\n');
    fs.writeFileSync(path.join(root, 'untracked.js'), 'mine\n');
    const reply =
      blockReply('math.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a + b;\n') +
      '\n:(glob)*.js\n```js\n<<<<<<< SEARCH\n=======\n// a file with an odd name\n>>>>>>> REPLACE\n```\n';
    vendor.script({ kind: 'text', text: reply });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--commit'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(git('show', '--name-only', '--format=', 'HEAD').split('\n').sort(), [':(glob)*.js', 'math.js']);
    assert.equal(git('diff', '--cached', '--name-only'), 'staged.js', 'the staged change is still staged, not committed');
    assert.equal(git('diff', '--name-only'), 'edited.js', 'the unstaged edit is still unstaged');
    assert.match(git('status', '--porcelain', '--', 'untracked.js'), /^\?\? untracked\.js$/);
  });

  it('8: a pre-commit hook that waits does not freeze serve (stats answer meanwhile); one that never ends is stopped at devAi.git.timeoutSec', async () => {
    const { root, git } = repo();
    const marker = (name: string) => path.join(root, '..', `${path.basename(root)}.hook-${name}`);
    const [started, release, finished] = [marker('started'), marker('release'), marker('finished')];
    const hook = path.join(root, '.git/hooks/pre-commit');
    // It waits for the test to release it (20 s at most), then says it finished: a synchronous git would hold the
    // stats answer until then, so the answer would come only after the hook finished.
    const wait = `i=0\nwhile [ ! -f '${release}' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\ntouch '${finished}'\n`;
    fs.writeFileSync(hook, `#!/bin/sh\ntouch '${started}'\n${wait}`, { mode: 0o755 });
    served = await serve(root, env(), ['-t', TEST_COMMAND]);
    vendor.script({ kind: 'text', text: fixReply() });
    const start = await request(`${served.url}/v1/runs`, { method: 'POST', token: served.info.token, body: JSON.stringify({ file: 'math.js', commit: true }) });
    assert.equal(start.status, 201, start.text);
    await until(() => fs.existsSync(started), 'the hook to start');
    const stats = await request(`${served.url}/v1/stats`, { token: served.info.token });
    assert.equal(stats.status, 200);
    assert.ok(!fs.existsSync(finished), 'serve answered while the hook was still running');
    fs.writeFileSync(release, '');
    await until(() => readLog(root).find((e) => e.type === 'run.committed'), 'the commit');
    assert.equal(git('rev-list', '--count', 'HEAD'), '2');
    await stop(served);
    served = undefined;

    // A hook that never ends: the commit is given up after the timeout, the pass stands, and the CLI exits.
    fs.writeFileSync(hook, `#!/bin/sh\necho hook pid $$ > '${started}'\nexec sleep 600\n`, { mode: 0o755 });
    git('reset', '-q', '--hard', 'HEAD~1');
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--commit'], root, { ...env(), MICRO_AGENT_GIT_TIMEOUT_SEC: '1' });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const failed = readLog(root).find((e) => e.type === 'log' && /not committed/.test(e.message));
    assert.match(failed.message, /git commit took longer than 1 s \(devAi\.git\.timeoutSec\) and was stopped/);
    assert.equal(git('rev-list', '--count', 'HEAD'), '1');
    const pid = Number(/hook pid (\d+)/.exec(fs.readFileSync(started, 'utf8'))?.[1]);
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the hook to be killed');
  });
});

describe('bounded peers: the webhook and MCP (findings 10-11)', function () {
  this.timeout(90_000);
  const vendor = useVendorServer();

  it('10: a webhook receiver that streams without end gets at most a little of its body read, then the connection closed', async () => {
    let written = 0;
    let closed = false;
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('close', () => (closed = true));
        pump();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const root = makeWorkspace();
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      // One call costing past the daily cap raises an alert, which goes to the webhook.
      vendor.script({ kind: 'text', text: fixReply(), usage: { input: 100_000, output: 10 } });
      const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', '0.01'], root, {
        OPENAI_API_KEY: fakeKey(),
        OPENAI_BASE_URL: vendor.openaiUrl,
        MICRO_AGENT_ALERT_WEBHOOK: url,
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      await until(() => closed, 'micro-agent to close the connection');
      // 64 KB read, plus what the sockets' buffers took before the reader stopped: megabytes, never the gigabytes of before.
      assert.ok(written < 32 * 1024 * 1024, `the receiver got ${written} bytes out`);
      assert.ok(!readLog(root).some((e) => e.type === 'log' && /alert webhook/.test(e.message)), 'the alert was delivered');
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('11: an MCP message over the limit is refused with an error to its request; the server keeps serving and a run in flight passes', async () => {
    const root = makeWorkspace();
    const slowTest = `node -e "setTimeout(() => {}, 1500)" && ${TEST_COMMAND}`;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(DIST, 'cli.js'), 'mcp', '--workspace', root, '-t', slowTest],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    const client = new Client({ name: 'dev-ai-test', version: '1.0.0' });
    client.onerror = () => undefined;
    await client.connect(transport);
    try {
      vendor.script({ kind: 'text', text: fixReply() });
      const fix = client.callTool({ name: 'fix_file', arguments: { file: 'math.js' } }, undefined, { timeout: 60_000 });
      await until(() => readLog(root).some((e) => e.type === 'test.started'), 'the run to start');
      await assert.rejects(
        client.callTool({ name: 'fix_file', arguments: { file: 'math.js', prompt: 'x'.repeat(12 * 1024 * 1024) } }),
        /message of [\d,]+ bytes refused: micro-agent reads MCP messages of up to 4 MB/,
      );
      assert.match(stderr, /MCP: message of [\d,]+ bytes refused.*still serving/);
      const tools = await client.listTools();
      assert.equal(tools.tools.length, 6, 'the server still answers');
      const done = (await fix) as unknown as { structuredContent: { outcome: string } };
      assert.equal(done.structuredContent.outcome, 'passed', 'the run in flight was not cancelled');
      assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    } finally {
      await client.close();
    }
  });
});

describe('the money: costs and tokens from the log or a vendor (finding 12)', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
  const call = (costUsd: unknown) => ({
    seq: 1,
    ts: Date.now(),
    type: 'llm.response',
    callId: 'forged',
    provider: 'openai',
    model: 'gpt-4.1-mini',
    iteration: 1,
    latencyMs: 10,
    ttftMs: 5,
    inputTokens: 10,
    outputTokens: 10,
    costUsd,
    retries: 0,
    ok: true,
    finishReason: 'stop',
    responsePreview: '',
  });

  it('12a: a cost logged as a string is ignored and said, and --daily-budget runs instead of crashing', async () => {
    const root = makeWorkspace();
    fs.mkdirSync(path.join(root, '.micro-agent'));
    // Added as a string it made "00.09", past 80% of the cap, and the alert's text called toFixed on it.
    fs.writeFileSync(path.join(root, '.micro-agent/events.jsonl'), JSON.stringify(call('0.09')) + '\n');
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', '0.10'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.ok(readLog(root).some((e) => e.type === 'log' && /daily budget: 1 value\(s\) .* ignored, not added/.test(e.message)));
  });

  it('12b: a negative cost appended by code under test does not lift the daily cap', async () => {
    const root = makeWorkspace();
    // The tests append a forged call of -$1,000 to the log every time they run.
    const forged = JSON.stringify(call(-1000)).replaceAll('"', '\\"');
    const forge = `node -e "require('fs').appendFileSync('.micro-agent/events.jsonl', JSON.stringify(${forged}) + '\\n')"`;
    // Each call costs $0.15 (375,000 input tokens at $0.40 per million) against a cap of $0.10.
    vendor.respond = () => ({ kind: 'text', text: fixReply(WRONG_MATH), usage: { input: 375_000, output: 0 } });
    const result = await cli(['run', 'math.js', '-t', `${forge}; ${TEST_COMMAND}`, '-m', '3', '--daily-budget', '0.10'], root, env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(vendor.requests.length, 1, 'one call, then the cap');
    assert.equal(readLog(root).at(-1).reason, 'budget_daily');
  });

  it('12c: a vendor reporting completion_tokens -1e8 logs no negative cost or tokens; stats and the cap never go below zero', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 1000, output: -1e8 } });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', '5'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const response = readLog(root).find((e) => e.type === 'llm.response');
    assert.equal(response.outputTokens, null);
    assert.equal(response.costUsd, null, 'an unknown usage prices nothing');
    assert.equal(readLog(root).at(-1).unpricedCalls, 1, 'and is counted as unpriced');
    const stats = JSON.parse((await cli(['stats', '--json'], root, {})).stdout);
    for (const model of stats.providers) {
      for (const key of ['inputTokens', 'outputTokens', 'costUsd']) assert.ok(model[key] === null || model[key] >= 0, `${key} ${model[key]}`);
    }
  });
});

describe('smaller findings (13)', function () {
  this.timeout(60_000);
  const vendor = useVendorServer(() => stop(served));
  let served: Served | undefined;
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
  const create = (file: string, text: string) => `\n${file}\n\`\`\`js\n<<<<<<< SEARCH\n=======\n${text}>>>>>>> REPLACE\n\`\`\`\n`;

  it('13a: a failed run leaves the user dangling symlink a reply tried to write through as it was', async () => {
    const root = makeWorkspace();
    fs.symlinkSync('nowhere/target.js', path.join(root, 'link.js'));
    const wrong = blockReply('math.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a * b;\n');
    vendor.script({ kind: 'text', text: wrong + create('link.js', 'module.exports = 1;\n') });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '1'], root, env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.ok(fs.lstatSync(path.join(root, 'link.js')).isSymbolicLink());
    assert.equal(fs.readlinkSync(path.join(root, 'link.js')), 'nowhere/target.js');
    assert.ok(!fs.existsSync(path.join(root, 'nowhere')), 'nothing written through it');
  });

  it('13b: a failed run that created files in many new folders leaves none of them; a folder that was there stays', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, 'keep/.gitkeep': '' });
    let reply = blockReply('math.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a * b;\n');
    for (let i = 0; i < 40; i++) reply += create(`gen/d${i}/deeper/f${i}.js`, `module.exports = ${i};\n`);
    reply += create('keep/new.js', 'module.exports = 0;\n');
    vendor.script({ kind: 'text', text: reply });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '1'], root, env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(readLog(root).filter((e) => e.type === 'edit.applied').length, 42);
    assert.ok(!fs.existsSync(path.join(root, 'gen')), 'no empty folder left');
    assert.deepEqual(fs.readdirSync(path.join(root, 'keep')), ['.gitkeep']);
  });

  it('13c: a NUL byte in a block path is a rejected edit, not internal_error', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: create('lib/evil\u0000.js', 'x\n') }, { kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '2'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const rejected = readLog(root).find((e) => e.type === 'edit.rejected');
    // The reply reader does not take a line with a NUL byte for a path (malformed); the containment check refuses
    // one that gets that far (forbidden_path). Either way nothing is written and the run goes on.
    assert.ok(['malformed', 'forbidden_path'].includes(rejected.reason), rejected.message);
    assert.ok(!fs.readdirSync(root).includes('lib'));
    assert.equal(readLog(root).at(-1).reason, 'tests_passed');
  });

  it('13d: /v1/tests, /undo, /restore and /resume refuse unknown fields (400, naming them)', async () => {
    const root = makeWorkspace();
    served = await serve(root, env());
    const post = (route: string, body: object) =>
      request(`${served!.url}/v1${route}`, { method: 'POST', token: served!.info.token, body: JSON.stringify(body) });
    for (const [route, body] of [
      ['/tests', { file: 'math.js', testFile: 'math2.test.js', prompt: 'adds', bogus: 1 }],
      ['/runs/any-run/undo', { force: true, bogus: 1 }],
      ['/runs/any-run/restore', { iteration: 0, bogus: 1 }],
      ['/runs/any-run/resume', { maxRuns: 2, bogus: 1 }],
    ] as const) {
      const answer = await post(route, body);
      assert.equal(answer.status, 400, `${route}: ${answer.text}`);
      assert.match(answer.json().error.message, /unknown field: bogus/);
    }
    assert.equal(vendor.requests.length, 0);
  });

  it('13e: --daily-budget "" is an error, not "no cap"', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND, '--daily-budget', ''], root, env());
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /--daily-budget needs a number/);
    assert.equal(vendor.requests.length, 0);
    const mcp = spawnCli(['mcp', '--workspace', root, '--daily-budget', ' '], root, env());
    assert.equal((await mcp.result).code, 2);
  });
});
