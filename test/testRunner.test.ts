import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTests, tailOf, TEST_RUN_ENV, type TestRunOptions } from '../server/agent/testRunner';
import { makeWorkspace } from './support/fixtures';
import { isAlive } from './support/processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitDead = async (pid: number, ms = 2000) => {
  for (const end = Date.now() + ms; isAlive(pid) && Date.now() < end;) await sleep(20);
  return !isAlive(pid);
};
const waitForFile = async (file: string, ms = 10_000) => {
  for (const end = Date.now() + ms; !(fs.existsSync(file) && fs.statSync(file).size > 0) && Date.now() < end;) await sleep(20);
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
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isAlive(pid), false, 'the grandchild died with its tree');
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

/**
 * The grandchildren here call setsid(2): they leave the shell's process group and session, so killing the group does
 * not reach them, and they keep the output pipes open. The run must still end on time and take them down.
 */
describe('test runner: processes that escaped the process group', function () {
  const hasSetsid = (() => {
    try {
      execFileSync('sh', ['-c', 'command -v setsid'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const workspaces: string[] = [];
  // Every command here runs with this mark in its environment, so the safety net below finds what any test leaves
  // running, independently of the code under test (and of pid files a grandchild may not have written yet).
  const suiteId = randomUUID();
  const mark = `DEV_AI_TESTRUNNER_SUITE=${suiteId}`;
  const env = { ...process.env, DEV_AI_TESTRUNNER_SUITE: suiteId };
  const run = (options: Omit<TestRunOptions, 'env'>) => runTests({ ...options, env });

  before(function () {
    if (process.platform !== 'linux' || !hasSetsid) this.skip();
  });

  afterEach(() => {
    // Safety net: kill whatever a test left running.
    if (process.platform !== 'linux') return;
    for (const name of fs.readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      try {
        if (fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(mark)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile, or not ours
      }
    }
    for (const cwd of workspaces.splice(0)) fs.rmSync(cwd, { recursive: true, force: true });
  });

  const workspace = (files: Record<string, string> = {}) => {
    const cwd = makeWorkspace(files);
    workspaces.push(cwd);
    return cwd;
  };
  /**
   * Shell text that writes the shell's pid (its process group) to shell.pid, starts `sleep 1000` in a new session in
   * the background, inheriting the pipes unless redirected, and waits until that has written "<pid> <process group>"
   * to `file`.
   */
  const escapee = (file: string, redirect = '') =>
    `echo $$ > shell.pid; setsid sh -c 'echo $$ $(cut -d" " -f5 /proc/$$/stat) > ${file}; exec sleep 1000' ${redirect} & ` +
    `while [ ! -s ${file} ]; do sleep 0.02; done`;
  /** The escapee's pid, after checking that it really left the shell's process group. */
  const escapeePid = (cwd: string, file: string) => {
    const [pid, group] = fs.readFileSync(path.join(cwd, file), 'utf8').trim().split(' ').map(Number);
    const shell = Number(fs.readFileSync(path.join(cwd, 'shell.pid'), 'utf8'));
    assert.ok(pid > 0 && shell > 0);
    assert.notEqual(group, shell, 'the grandchild left the process group');
    return pid;
  };

  it('ends a passing run when the shell exits, though a setsid grandchild holds the pipes, and kills the grandchild', async () => {
    const cwd = workspace({ 'ok.test.js': `require('node:test')('ok', () => {});\n` });
    // The shell notes when it is about to exit, so that a slow `node --test` on a busy machine does not count.
    const command = `${escapee('g.pid')}; node --test ok.test.js; status=$?; date +%s%3N > exiting; exit $status`;
    const result = await run({ command, cwd, timeoutMs: 30_000 });
    const afterExit = Date.now() - Number(fs.readFileSync(path.join(cwd, 'exiting'), 'utf8'));
    assert.equal(result.passed, true, result.output);
    assert.equal(result.exitCode, 0);
    assert.equal(result.timedOut, false);
    assert.match(result.output, /# pass 1/);
    // A hang check, not a benchmark: before, this waited for the grandchild, i.e. forever.
    assert.ok(afterExit < 5000, `resolved ${afterExit} ms after the shell's last command`);
    assert.ok(await waitDead(escapeePid(cwd, 'g.pid')), 'the escaped grandchild was killed');
  });

  it('kills a daemon that escaped and does not hold the pipes, too', async () => {
    const cwd = workspace();
    const result = await run({ command: `${escapee('d.pid', '</dev/null >/dev/null 2>&1')}; echo done`, cwd, timeoutMs: 30_000 });
    assert.equal(result.passed, true);
    assert.equal(result.output, 'done\n');
    assert.ok(await waitDead(escapeePid(cwd, 'd.pid')), 'the daemon was killed');
  });

  it('times out a hanging command whose setsid grandchild holds the pipes', async () => {
    const cwd = workspace();
    const started = Date.now();
    const result = await run({ command: `${escapee('g.pid')}; echo waiting; sleep 1000`, cwd, timeoutMs: 1000 });
    const elapsed = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.equal(result.passed, false);
    assert.equal(result.output, 'waiting\n');
    assert.ok(elapsed < 5000, `resolved after ${elapsed} ms`);
    assert.ok(await waitDead(escapeePid(cwd, 'g.pid')), 'the escaped grandchild was killed');
  });

  it('ends a timed-out run after the SIGKILL grace when the shell ignores SIGTERM', async () => {
    const cwd = workspace();
    const started = Date.now();
    const result = await run({ command: `trap "" TERM; ${escapee('g.pid')}; sleep 1000`, cwd, timeoutMs: 1000 });
    const elapsed = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.equal(result.passed, false);
    assert.equal(result.signal, 'SIGKILL');
    // 1 s to the timeout, 2 s of grace after SIGTERM, then SIGKILL.
    assert.ok(elapsed >= 2900, `resolved after ${elapsed} ms, before the grace was over`);
    assert.ok(elapsed < 8000, `resolved after ${elapsed} ms`);
    assert.ok(await waitDead(escapeePid(cwd, 'g.pid')), 'the escaped grandchild was killed');
  });

  it('ends a cancelled run whose setsid grandchild holds the pipes', async () => {
    const cwd = workspace();
    const controller = new AbortController();
    const running = run({ command: `${escapee('g.pid')}; sleep 1000`, cwd, timeoutMs: 60_000, signal: controller.signal });
    await waitForFile(path.join(cwd, 'g.pid'));
    const started = Date.now();
    controller.abort();
    const result = await running;
    const elapsed = Date.now() - started;
    assert.equal(result.cancelled, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.passed, false);
    assert.ok(elapsed < 5000, `resolved ${elapsed} ms after the abort`);
    assert.ok(await waitDead(escapeePid(cwd, 'g.pid')), 'the escaped grandchild was killed');
  });

  it('leaves the processes of another run alone', async () => {
    const cwd = workspace();
    const slow = run({ command: 'sleep 1; echo slow', cwd, timeoutMs: 30_000 });
    const fast = await run({ command: 'echo fast', cwd, timeoutMs: 30_000 });
    assert.equal(fast.output, 'fast\n');
    const result = await slow;
    assert.equal(result.passed, true);
    assert.equal(result.output, 'slow\n');
  });
});

describe('test runner: environment and failures to start', () => {
  it("adds a run marker to the environment the caller passes, after an outer run's", async () => {
    const cwd = makeWorkspace({});
    const command = `echo "$FOO $${TEST_RUN_ENV}"`;
    const one = await runTests({ command, cwd, timeoutMs: 10_000, env: { ...process.env, FOO: 'bar', [TEST_RUN_ENV]: undefined } });
    assert.match(one.output, /^bar [0-9a-f-]{36}\n$/);
    const two = await runTests({ command, cwd, timeoutMs: 10_000, env: { ...process.env, FOO: 'baz', [TEST_RUN_ENV]: 'outer' } });
    assert.match(two.output, /^baz outer,[0-9a-f-]{36}\n$/);
    assert.notEqual(one.output.slice(4), two.output.slice(10), 'each run has its own id');
  });

  it('resolves, never rejects, when the command cannot be started', async () => {
    const cwd = path.join(makeWorkspace({}), 'missing');
    const result = await runTests({ command: 'echo never', cwd, timeoutMs: 10_000 });
    assert.equal(result.passed, false);
    assert.equal(result.exitCode, null);
    assert.equal(result.timedOut, false);
    assert.match(result.error ?? '', /could not be started[\s\S]*does not exist/);
    assert.match(result.output, /could not be started/);
  });
});
