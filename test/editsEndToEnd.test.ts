/**
 * Edits that fit real code, end to end through the CLI and the host against the local vendor: search/replace
 * blocks on a large file, a fix in an imported module, a block that does not match, a failed multi-file run
 * put back byte for byte, paths the model may never write, and what real models send (a block in a markdown list,
 * a unified diff, an elided REPLACE, a pathological SEARCH).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StartRunRequest } from '../server/protocol';
import { cli } from './support/cli';
import { blockReply, fakeKey, makeWorkspace, readLog } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { useVendorServer } from './support/vendorServer';

const TEST_COMMAND = 'node --test';

/** ~4,000 lines (~150 KB) of plain functions with one bug in the middle. */
function bigModule(): string {
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) lines.push(`exports.f${i} = (x) => x + ${i}; // helper number ${i} of the generated module, padded`, '');
  lines.splice(2000, 0, 'exports.add = (a, b) => a - b;');
  return lines.join('\n') + '\n';
}

const BIG_TEST = `const test = require('node:test');
const assert = require('node:assert');
const m = require('./big.js');
test('add', () => assert.strictEqual(m.add(2, 3), 5));
test('f7', () => assert.strictEqual(m.f7(1), 8));
`;

const IMPORTING = `const { sum } = require('./lib/sum');\nexports.total = (xs) => sum(xs);\n`;
const BROKEN_SUM = `exports.sum = (xs) => xs.reduce((a, b) => a - b, 0);\n`;
/** What real models send (the edit corpus's shapes): a block inside a markdown list item, and a unified diff. */
const F = '```';
const LISTED_REPLY = [
  'The reduce subtracted:',
  '',
  '1. In `lib/sum.js`, add instead of subtracting:',
  '',
  `   ${F}js`,
  '   <<<<<<< SEARCH',
  '   exports.sum = (xs) => xs.reduce((a, b) => a - b, 0);',
  '   =======',
  '   exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);',
  '   >>>>>>> REPLACE',
  `   ${F}`,
  '',
].join('\n');
const DIFF_REPLY = [
  `${F}diff`,
  '--- a/lib/sum.js',
  '+++ b/lib/sum.js',
  '@@ -1 +1 @@',
  '-exports.sum = (xs) => xs.reduce((a, b) => a - b, 0);',
  '+exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);',
  F,
  '',
].join('\n');
const ELIDED_REPLY = blockReply('lib/sum.js', BROKEN_SUM, '// ... existing code ...\nexports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');

const TOTAL_TEST = `const test = require('node:test');
const assert = require('node:assert');
const { total } = require('./total.js');
test('total', () => assert.strictEqual(total([1, 2, 3]), 6));
`;

describe('search/replace edits, multi-file runs, large files: through the CLI', function () {
  this.timeout(90_000);
  const vendor = useVendorServer();
  const env = () => ({ OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });

  it('fixes one line of a ~4,000-line file with one block, leaving every other byte as it was', async () => {
    const root = makeWorkspace({ 'big.js': bigModule(), 'big.test.js': BIG_TEST });
    const reply = blockReply('big.js', 'exports.add = (a, b) => a - b;\n', 'exports.add = (a, b) => a + b;\n');
    vendor.script({ kind: 'text', text: reply });
    const result = await cli(['run', 'big.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'big.js'), 'utf8'), bigModule().replace('a - b', 'a + b'));
    assert.ok(reply.length < 200, 'the model sent a few lines, not the file');
    const applied = readLog(root).filter((e) => e.type === 'edit.applied');
    assert.deepEqual(
      applied.map((e) => [e.file, e.linesAdded, e.linesRemoved]),
      [['big.js', 1, 1]],
    );
  });

  it('fixes a bug in a module the file imports: the first prompt shows it, a block on it fixes it', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    vendor.script({ kind: 'text', text: blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n') });
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(vendor.requests[0].body.messages.at(-1).content, /Context file \(editable\): lib\/sum\.js[\s\S]*a - b/);
    const log = readLog(root);
    assert.deepEqual(log.find((e) => e.type === 'run.started').files, ['total.js', 'lib/sum.js']);
    assert.deepEqual(log.find((e) => e.type === 'run.finished').files, ['lib/sum.js']);
    assert.equal(fs.readFileSync(path.join(root, 'total.js'), 'utf8'), IMPORTING);
  });

  it('rejects a reply whose block matches nowhere (nothing written, the closest lines told), and the next reply passes', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    vendor.script(
      { kind: 'text', text: blockReply('lib/sum.js', `${BROKEN_SUM}exports.extra = 1;\n`, 'exports.sum = () => 6;\n') },
      { kind: 'text', text: blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n') },
    );
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const rejected = readLog(root).find((e) => e.type === 'edit.rejected');
    assert.equal(rejected.reason, 'edit_mismatch');
    assert.match(rejected.message, /block 1 \(lib\/sum\.js\)[\s\S]*matches nowhere[\s\S]*a - b, 0/);
    assert.equal(vendor.requests.length, 2);
    assert.match(vendor.requests[1].body.messages.at(-1).content, /matches nowhere/);
  });

  it('puts every file of a failed multi-file run back byte for byte: BOM, CRLF and the executable bit', async () => {
    const crlf = "\uFEFFconst { sum } = require('./lib/sum');\r\nexports.total = (xs) => sum(xs);\r\n";
    const root = makeWorkspace({ 'total.js': crlf, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    fs.chmodSync(path.join(root, 'lib/sum.js'), 0o755);
    const before = { total: fs.readFileSync(path.join(root, 'total.js')), sum: fs.readFileSync(path.join(root, 'lib/sum.js')) };
    vendor.script({
      kind: 'text',
      text:
        blockReply('total.js', 'exports.total = (xs) => sum(xs);\n', 'exports.total = (xs) => sum(xs) + 1;\n') +
        blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.length;\n'),
    });
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai', '-m', '1'], root, env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const log = readLog(root);
    assert.deepEqual(
      log.filter((e) => e.type === 'edit.applied').map((e) => e.file),
      ['total.js', 'lib/sum.js'],
    );
    // While it ran, the edits kept each file's shape.
    const attempt = fs.readFileSync(path.join(root, log.find((e) => e.type === 'edit.applied' && e.file === 'total.js').attemptPath), 'utf8');
    assert.ok(attempt.startsWith('\uFEFF') && attempt.includes('sum(xs) + 1;\r\n'));
    const finished = log.find((e) => e.type === 'run.finished');
    assert.equal(finished.restored, true);
    assert.deepEqual(fs.readFileSync(path.join(root, 'total.js')), before.total);
    assert.deepEqual(fs.readFileSync(path.join(root, 'lib/sum.js')), before.sum);
    assert.equal(fs.statSync(path.join(root, 'lib/sum.js')).mode & 0o777, 0o755);
  });

  it('never writes a test file, a path outside the workspace or node_modules: the whole reply is refused', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    fs.mkdirSync(path.join(root, 'node_modules', 'x'), { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules', 'x', 'index.js'), 'module.exports = 1;\n');
    vendor.script(
      { kind: 'text', text: blockReply('total.test.js', "test('total', () => assert.strictEqual(total([1, 2, 3]), 6));\n", '') },
      { kind: 'text', text: blockReply('node_modules/x/index.js', 'module.exports = 1;\n', 'module.exports = 2;\n') },
      { kind: 'text', text: blockReply('../outside.js', '', 'x\n') },
    );
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai', '-m', '3'], root, env());
    assert.equal(result.code, 1);
    const reasons = readLog(root)
      .filter((e) => e.type === 'edit.rejected')
      .map((e) => e.reason);
    assert.deepEqual(reasons, ['forbidden_path', 'forbidden_path', 'malformed']);
    assert.equal(fs.readFileSync(path.join(root, 'total.test.js'), 'utf8'), TOTAL_TEST);
    assert.equal(fs.readFileSync(path.join(root, 'node_modules', 'x', 'index.js'), 'utf8'), 'module.exports = 1;\n');
    assert.ok(!fs.existsSync(path.join(path.dirname(root), 'outside.js')));
  });

  it('applies what real models send: a block inside a markdown list item, and a unified diff, each passing at the first reply', async () => {
    for (const [reply, match] of [
      [LISTED_REPLY, 'exact'],
      [DIFF_REPLY, 'exact'],
    ]) {
      const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
      vendor.script({ kind: 'text', text: reply });
      const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(fs.readFileSync(path.join(root, 'lib/sum.js'), 'utf8'), 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');
      const log = readLog(root);
      assert.deepEqual(
        log.filter((e) => e.type === 'edit.applied').map((e) => [e.file, e.iteration, e.match]),
        [['lib/sum.js', 1, match]],
      );
      assert.equal(log.filter((e) => e.type === 'edit.rejected').length, 0);
    }
  });

  it('refuses an elided REPLACE as elided, writes nothing, tells the model, and the next reply passes', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    vendor.script({ kind: 'text', text: ELIDED_REPLY }, { kind: 'text', text: LISTED_REPLY });
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const log = readLog(root);
    const rejected = log.find((e) => e.type === 'edit.rejected');
    assert.equal(rejected.reason, 'elided');
    assert.equal(rejected.iteration, 1);
    assert.match(rejected.message, /would write "\/\/ \.\.\. existing code \.\.\." into lib\/sum\.js/);
    assert.deepEqual(
      log.filter((e) => e.type === 'edit.applied').map((e) => e.iteration),
      [2],
    );
    assert.match(vendor.requests[1].body.messages.at(-1).content, /your reply was not used: block 1 \(lib\/sum\.js\) would write/);
    // The well-formed edit rate: one reply of two applied, placed exactly.
    const stats = await cli(['stats'], root, {});
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /well-formed\s+placed by\n.*gpt-4\.1-mini.*\s50% of 2\s+exact 1\n/);
  });

  it('refuses a SEARCH of 32,000 blank lines against a file ending in 64,000 at once, and the run goes on', async () => {
    const padded = `${BROKEN_SUM}${'\n'.repeat(64_000)}`;
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': padded, 'total.test.js': TOTAL_TEST });
    vendor.script(
      { kind: 'text', text: blockReply('lib/sum.js', '\n'.repeat(32_000), 'exports.extra = 1;\n') },
      { kind: 'text', text: blockReply('lib/sum.js', `${'\n'.repeat(32_000)}x\n`, 'exports.extra = 1;\n') },
      { kind: 'text', text: blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n') },
    );
    const started = performance.now();
    const result = await cli(['run', 'lib/sum.js', '-t', TEST_COMMAND, '--provider', 'openai'], root, env());
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const rejected = readLog(root).filter((e) => e.type === 'edit.rejected');
    assert.deepEqual(
      rejected.map((e) => e.reason),
      ['edit_mismatch', 'edit_mismatch'],
    );
    assert.match(rejected[0].message, /only blank lines/);
    assert.match(rejected[1].message, /matches nowhere/);
    console.log(`      three replies, two pathological, in ${seconds.toFixed(1)} s`);
  });

  it('lays out requests for the prompt cache: Anthropic gets cache_control on the stable part, cached tokens come from its usage', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    const fix = blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');
    vendor.script({ kind: 'text', text: fix, usage: { input: 900, output: 40, cachedInput: 700, cacheWrite: 0 } });
    const result = await cli(['run', 'total.js', '-t', TEST_COMMAND, '--provider', 'anthropic'], root, {
      ANTHROPIC_API_KEY: fakeKey('sk-ant'),
      ANTHROPIC_BASE_URL: vendor.anthropicUrl,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const body = vendor.requests[0].body;
    assert.deepEqual(body.system.at(-1).cache_control, { type: 'ephemeral' });
    const [stable, rest] = body.messages[0].content;
    assert.deepEqual(stable.cache_control, { type: 'ephemeral' });
    assert.match(stable.text, /Context file \(editable\): lib\/sum\.js/);
    assert.match(rest.text, /## File to fix: total\.js/);
    const response = readLog(root).find((e) => e.type === 'llm.response');
    assert.equal(response.cachedInputTokens, 700);
  });

  it('refuses a file too large for the model before any call, with the sizes', async () => {
    const root = makeWorkspace({ 'big.js': bigModule(), 'big.test.js': BIG_TEST });
    const result = await cli(['run', 'big.js', '-t', TEST_COMMAND, '--provider', 'ollama'], root, { OLLAMA_HOST: vendor.openaiUrl });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /big\.js is \d+ KB: with the rest of the prompt that is about [\d,]+ tokens .* qwen2\.5-coder reads at most 32,768/);
    // The window is Ollama's own answer (the stand-in's model reads 32,768); nothing is sent to chat.
    assert.deepEqual(
      vendor.requests.map((r) => r.path),
      ['/api/show'],
    );
  });
});

describe('search/replace edits through the host', function () {
  this.timeout(60_000);
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });

  it('applies a block inside a markdown list item and a unified diff over LSP, each passing at the first reply', async () => {
    for (const reply of [LISTED_REPLY, DIFF_REPLY]) {
      const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
      host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { provider: 'openai', testCommand: TEST_COMMAND });
      vendor.script({ kind: 'text', text: reply });
      await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'total.js')).toString() });
      const finished = await host.waitFor((e) => e.type === 'run.finished');
      assert.ok(finished.type === 'run.finished' && finished.outcome === 'passed' && finished.iterations === 1, JSON.stringify(finished));
      assert.equal(fs.readFileSync(path.join(root, 'lib/sum.js'), 'utf8'), 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');
      await host.stop();
      host = undefined;
    }
  });

  it('refuses an elided REPLACE over LSP, and the next reply passes', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { provider: 'openai', testCommand: TEST_COMMAND });
    vendor.script({ kind: 'text', text: ELIDED_REPLY }, { kind: 'text', text: DIFF_REPLY });
    await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'total.js')).toString() });
    const rejected = await host.waitFor((e) => e.type === 'edit.rejected');
    assert.ok(rejected.type === 'edit.rejected' && rejected.reason === 'elided' && rejected.iteration === 1, JSON.stringify(rejected));
    assert.equal(fs.readFileSync(path.join(root, 'lib/sum.js'), 'utf8'), BROKEN_SUM);
    const finished = await host.waitFor((e) => e.type === 'run.finished');
    assert.ok(finished.type === 'run.finished' && finished.outcome === 'passed' && finished.iterations === 2, JSON.stringify(finished));
  });

  it('fixes the imported module over LSP and lists it in run.finished', async () => {
    const root = makeWorkspace({ 'total.js': IMPORTING, 'lib/sum.js': BROKEN_SUM, 'total.test.js': TOTAL_TEST });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { provider: 'openai', testCommand: TEST_COMMAND });
    vendor.script({ kind: 'text', text: blockReply('lib/sum.js', BROKEN_SUM, 'exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n') });
    await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, 'total.js')).toString() });
    const finished = await host.waitFor((e) => e.type === 'run.finished');
    assert.ok(finished.type === 'run.finished' && finished.outcome === 'passed', JSON.stringify(finished));
    assert.deepEqual(finished.files, ['lib/sum.js']);
    assert.match(fs.readFileSync(path.join(root, 'lib/sum.js'), 'utf8'), /a \+ b/);
  });
});
