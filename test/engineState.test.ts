import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, StartRunRequest } from '../server/protocol';
import { request } from './support/apiClient';
import { cli, CliResult } from './support/cli';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, readLog, TEST_COMMAND } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { serve, Served, stop } from './support/serve';
import { useVendorServer } from './support/vendorServer';

const TOKENS = '{"full":"ma-full-secret-token","read":"ma-read-secret-token"}\n';
const GIT_CONFIG = '[core]\n\trepositoryformatversion = 0\n';

/** Every file under `dir`, with its contents: what a test compares before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out[path.relative(dir, full)] = fs.readFileSync(full, 'utf8');
  }
  return out;
}

const refused = (result: CliResult, why: RegExp) => {
  assert.equal(result.code, 2, result.stdout + result.stderr);
  assert.match(result.stderr, why);
};

describe("the engine's own state and git's are never a run's file", function () {
  this.timeout(60_000);
  let env: NodeJS.ProcessEnv;
  const vendor = useVendorServer();
  beforeEach(() => {
    // Were a request to get through, the model would answer it: a refusal must come before any call.
    vendor.respond = () => ({ kind: 'text', text: fixReply() });
    env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
  });

  it('the CLI refuses .micro-agent/ and .git/ as the target, the -f test file or the -p prompt file, before any call', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, '.git/config': GIT_CONFIG, '.micro-agent/api-tokens.json': TOKENS });
    fs.symlinkSync('.micro-agent/api-tokens.json', path.join(root, 'tokens.js'));
    fs.symlinkSync('.git', path.join(root, 'repo'));
    const cases: [string[], RegExp][] = [
      [['run', '.micro-agent/events.jsonl', '-t', 'true'], /\.micro-agent\/events\.jsonl is inside \.micro-agent\/, micro-agent's own state/],
      [['run', '.micro-agent/api-tokens.json', '-t', 'true'], /is inside \.micro-agent\//],
      [['run', 'src/../.micro-agent/api-tokens.json', '-t', 'true'], /is inside \.micro-agent\//],
      [['run', path.join(root, '.git', 'config'), '-t', 'true'], /is inside \.git\/, git's own data/],
      [['run', 'tokens.js', '-t', 'true'], /tokens\.js resolves into \.micro-agent\//],
      [['run', 'repo/config', '-t', 'true'], /repo\/config resolves into \.git\//],
      [['run', 'math.js', '-t', TEST_COMMAND, '-f', '.git/config'], /\.git\/config is inside \.git\//],
      [['run', 'math.js', '-t', TEST_COMMAND, '-f', 'tokens.js'], /tokens\.js resolves into \.micro-agent\//],
      [['run', 'math.js', '-t', TEST_COMMAND, '-p', '.micro-agent/api-tokens.json'], /-p \.micro-agent\/api-tokens\.json: .*is inside \.micro-agent\//],
    ];
    const before = { ...snapshot(path.join(root, '.git')), tokens: fs.readFileSync(path.join(root, '.micro-agent/api-tokens.json'), 'utf8') };
    for (const [args, why] of cases) {
      const result = await cli(args, root, env);
      refused(result, why);
      assert.ok(!result.stdout.includes('iteration'), `nothing started for ${args.join(' ')}`);
    }
    assert.equal(vendor.requests.length, 0, 'the vendor heard nothing');
    assert.deepEqual({ ...snapshot(path.join(root, '.git')), tokens: fs.readFileSync(path.join(root, '.micro-agent/api-tokens.json'), 'utf8') }, before);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    assert.equal(readLog(root).length, 0, 'no run started, no test ran');
  });

  it('a symlinked .micro-agent pointing outside the workspace: every command refuses, and nothing is written outside', async () => {
    const root = makeWorkspace();
    const outside = makeWorkspace({ 'keep.txt': 'theirs\n' });
    fs.symlinkSync(outside, path.join(root, '.micro-agent'));

    const run = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /\.micro-agent is a symlink; micro-agent keeps its state only in a real folder inside the workspace/);
    const rotate = await cli(['token', 'rotate', '--workspace', root], root, {});
    assert.notEqual(rotate.code, 0);
    assert.match(rotate.stderr, /\.micro-agent is a symlink/);
    const served = await cli(['serve', '--workspace', root, '--port', '0', '-t', TEST_COMMAND], root, env);
    assert.notEqual(served.code, 0);
    assert.match(served.stderr, /\.micro-agent is a symlink/);

    assert.deepEqual(snapshot(outside), { 'keep.txt': 'theirs\n' }, 'nothing written through the link');
    assert.equal(vendor.requests.length, 0);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('a real .micro-agent whose runs/ or event log links outside is refused too', async () => {
    const outside = makeWorkspace({});
    const runsLinked = makeWorkspace();
    fs.mkdirSync(path.join(runsLinked, '.micro-agent'));
    fs.symlinkSync(outside, path.join(runsLinked, '.micro-agent', 'runs'));
    const logLinked = makeWorkspace();
    fs.mkdirSync(path.join(logLinked, '.micro-agent'));
    fs.symlinkSync(path.join(outside, 'events.jsonl'), path.join(logLinked, '.micro-agent', 'events.jsonl'));
    for (const [root, name] of [
      [runsLinked, 'runs'],
      [logLinked, 'events.jsonl'],
    ]) {
      const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, new RegExp(`\\.micro-agent/${name.replace('.', '\\.')} is a symlink`));
    }
    assert.deepEqual(snapshot(outside), {});
    assert.equal(vendor.requests.length, 0);
  });

  describe('over the live API (micro-agent serve)', () => {
    let served: Served | undefined;
    afterEach(() => stop(served));

    it('POST /v1/runs on .micro-agent/api-tokens.json is a 400, before any call: the tokens never reach the vendor', async () => {
      const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, '.git/config': GIT_CONFIG });
      served = await serve(root, env, ['-t', TEST_COMMAND]);
      const { url, info } = served;
      fs.symlinkSync('.micro-agent/api-tokens.json', path.join(root, 'tokens.js'));
      const tokens = fs.readFileSync(path.join(root, '.micro-agent/api-tokens.json'), 'utf8');
      const post = (body: object) => request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify(body) });

      for (const [body, why] of [
        [{ file: '.micro-agent/api-tokens.json' }, /\.micro-agent\/api-tokens\.json is inside \.micro-agent\//],
        [{ file: '.micro-agent/api.json' }, /is inside \.micro-agent\//],
        [{ file: '.micro-agent/events.jsonl', testCommand: 'true' }, /is inside \.micro-agent\//],
        [{ file: 'tokens.js' }, /resolves into \.micro-agent\//],
        [{ uri: pathToFileURL(path.join(root, '.git', 'config')).toString() }, /is inside \.git\//],
      ] as const) {
        const answer = await post(body);
        assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${answer.text}`);
        assert.match(answer.json().error.message, why);
      }
      assert.equal(vendor.requests.length, 0);
      assert.ok(!JSON.stringify(vendor.requests).includes(info.token));
      assert.equal(fs.readFileSync(path.join(root, '.micro-agent/api-tokens.json'), 'utf8'), tokens, 'the tokens file is untouched');
      assert.ok(!readLog(root).some((e) => e.type === 'run.started' || e.type === 'test.started'));
    });
  });

  describe('in the editor (LSP host)', () => {
    let host: HostClient | undefined;
    afterEach(() => host?.stop());

    it('refuses startRun on a file in .micro-agent/ or .git/ with invalid params', async () => {
      const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST, '.git/config': GIT_CONFIG, '.micro-agent/api-tokens.json': TOKENS });
      host = await startHost(root, env);
      for (const file of ['.micro-agent/api-tokens.json', '.git/config']) {
        const error: { code: number; message: string } = await host.connection
          .sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, file)).toString(), testCommand: 'true' })
          .then(
            () => assert.fail(`${file} was accepted`),
            (err: { code: number; message: string }) => err,
          );
        assert.equal(error.code, ErrorCodes.InvalidParams);
        assert.match(error.message, /is inside \.(micro-agent|git)\//);
      }
      assert.equal(vendor.requests.length, 0);
      assert.equal(fs.readFileSync(path.join(root, '.micro-agent/api-tokens.json'), 'utf8'), TOKENS);
    });
  });
});
