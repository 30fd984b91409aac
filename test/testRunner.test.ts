import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests, tailOf } from '../server/agent/testRunner';
import { makeWorkspace } from './support/fixtures';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('test runner', () => {
  it('reports exit codes: 0 passes, anything else fails', async () => {
    const cwd = makeWorkspace({});
    const pass = await runTests({ command: 'echo ok', cwd, timeoutMs: 10_000 });
    assert.equal(pass.passed, true);
    assert.equal(pass.exitCode, 0);
    assert.equal(pass.output, 'ok\n');
    const fail = await runTests({ command: 'echo out; echo err >&2; exit 3', cwd, timeoutMs: 10_000 });
    assert.equal(fail.passed, false);
    assert.equal(fail.exitCode, 3);
    assert.match(fail.output, /out\n[\s\S]*err\n/);
  });

  it('keeps only the tail of huge output', async () => {
    const cwd = makeWorkspace({});
    const result = await runTests({
      command: `node -e "for (let i = 0; i < 100000; i++) console.log('line ' + i)"`,
      cwd,
      timeoutMs: 20_000,
      maxOutputBytes: 1000,
    });
    assert.equal(result.truncated, true);
    assert.ok(Buffer.byteLength(result.output) <= 1000);
    assert.match(result.output, /line 99999\n$/);
  });

  it('kills the whole process tree on timeout', async () => {
    const cwd = makeWorkspace({
      'tree.js': `const { spawn } = require('node:child_process');
const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
require('node:fs').writeFileSync('pid', String(c.pid));
setInterval(() => {}, 1000);`,
    });
    const result = await runTests({ command: 'node tree.js', cwd, timeoutMs: 1000 });
    assert.equal(result.timedOut, true);
    assert.equal(result.passed, false);
    const pid = Number(fs.readFileSync(path.join(cwd, 'pid'), 'utf8'));
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(pid), false, 'the grandchild died with its tree');
  });

  it('stops on cancel and does not wait for stragglers left behind by a passing command', async () => {
    const cwd = makeWorkspace({});
    const controller = new AbortController();
    const running = runTests({ command: 'sleep 30', cwd, timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const cancelled = await running;
    assert.equal(cancelled.cancelled, true);
    // A background process holding the output pipe would otherwise keep the run open for 30 s.
    const straggler = await runTests({ command: 'sleep 30 & echo done', cwd, timeoutMs: 60_000 });
    assert.equal(straggler.passed, true);
    assert.ok(straggler.durationMs < 20_000);
  });

  it('cuts text to its tail at a line start and says so', () => {
    assert.equal(tailOf('short', 100), 'short');
    const cut = tailOf('aaaa\nbbbb\ncccc\n', 8);
    assert.match(cut, /^\[… 10 earlier characters cut …\]\ncccc\n$/);
  });
});
