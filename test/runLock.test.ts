import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { acquireRunLock, LockHeldError } from '../server/foundation/runLock';
import { statePaths } from '../server/foundation/workspace';
import { until } from './support/until';
import { cli, spawnCli } from './support/cli';
import { serve, stop } from './support/serve';
import { BROKEN_MATH, fakeKey, FIXED_MATH, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { useVendorServer } from './support/vendorServer';

const WRONG_MATH = 'exports.add = () => 0;\nexports.mul = (a, b) => a * b;\n';
const OTHER_WRONG_MATH = 'exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n';

/** The pid of a process that has exited: nothing runs under it (until the system hands it out again). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function writeLock(root: string, rel: string, holder: object | string): string {
  const file = statePaths(root).lock(rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof holder === 'string' ? holder : JSON.stringify(holder));
  return file;
}

const locksIn = (root: string) => (fs.existsSync(statePaths(root).locks) ? fs.readdirSync(statePaths(root).locks) : []);

describe('one run per file across processes (the run lock)', function () {
  this.timeout(60_000);
  let env: NodeJS.ProcessEnv;
  const vendor = useVendorServer();
  beforeEach(() => {
    env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
  });

  /** Starts a CLI run whose first model reply takes a while, and waits until that call is in flight. */
  async function firstRunInFlight(root: string, reply: string, args: string[] = []) {
    vendor.script({ kind: 'text', text: fixReply(reply), firstTokenDelayMs: 2500 });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND, ...args], root, env);
    await until(() => vendor.requests.length === 1 || first.child.exitCode !== null, 'the first run to call the model');
    const started = readLog(root).find((e) => e.type === 'run.started');
    assert.ok(started, first.output());
    return { first, runId: started.runId as string };
  }

  it('a second CLI process on the same file is refused naming the run that holds it; the first fixes the file', async () => {
    const root = makeWorkspace();
    const { first, runId } = await firstRunInFlight(root, FIXED_MATH);
    assert.equal(locksIn(root).length, 1, 'the first run holds a lock');

    const second = await cli(['run', './math.js', '-t', TEST_COMMAND], root, env);
    assert.equal(second.code, 2, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`math\\.js is being fixed by run ${runId} \\(pid ${first.child.pid}, since `));
    assert.match(second.stderr, /\.micro-agent\/locks\/[0-9a-f]+\.lock/);

    const result = await first.result;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    assert.equal(vendor.requests.length, 1, 'the refused run made no call');
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 1);
    assert.equal(readLog(root).filter((e) => e.type === 'test.started').length, 2, 'the refused run ran no tests');
    assert.deepEqual(locksIn(root), [], 'the lock is gone with the run');

    // The file is free again.
    vendor.script({ kind: 'text', text: fixReply() });
    assert.equal((await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env)).code, 0);
  });

  it('a second run started once the first wrote an attempt cannot take that attempt for the original: the original is back at the end', async () => {
    const root = makeWorkspace();
    // The first run's first attempt is wrong and written at once; its second model call is slow.
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'text', text: fixReply(OTHER_WRONG_MATH), firstTokenDelayMs: 2500 });
    // What a second run would get, were it let through.
    vendor.respond = () => ({ kind: 'text', text: fixReply(WRONG_MATH) });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '2'], root, env);
    await until(() => vendor.requests.length === 2 || first.child.exitCode !== null, "the first run's second model call");
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), WRONG_MATH, 'the first attempt is in the file');
    const runId = readLog(root).find((e) => e.type === 'run.started').runId as string;

    const second = await cli(['run', 'math.js', '-t', TEST_COMMAND, '-m', '1'], root, env);
    assert.equal(second.code, 2, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`being fixed by run ${runId}`));
    assert.ok(!second.stdout.includes('original restored'));

    const result = await first.result;
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH, 'the original, not an attempt');
    assert.equal((result.stdout.match(/original restored/g) ?? []).length, 1);
    assert.equal(vendor.requests.length, 2, 'the refused run made no call');
    assert.deepEqual(locksIn(root), []);
  });

  it('two CLI processes started at the same instant: exactly one runs', async () => {
    const root = makeWorkspace();
    vendor.respond = () => ({ kind: 'text', text: fixReply(), firstTokenDelayMs: 1500 });
    const results = await Promise.all([0, 1].map(() => cli(['run', 'math.js', '-t', TEST_COMMAND], root, env)));
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 2], results.map((r) => r.stdout + r.stderr).join('\n---\n'));
    assert.match(results.find((r) => r.code === 2)!.stderr, /being fixed by run \S+ \(pid \d+/);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 1);
  });

  it('takes over a lock whose process is gone, and refuses one whose process is alive', async () => {
    const root = makeWorkspace();
    const pid = await deadPid();
    const lock = writeLock(root, 'math.js', { pid, runId: 'dead-run', file: 'math.js', startedAt: Date.now() - 60_000 });
    vendor.script({ kind: 'text', text: fixReply() });
    const result = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    assert.ok(!fs.existsSync(lock), 'released after the run');

    // This test's own process is alive: its lock holds.
    fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
    writeLock(root, 'math.js', { pid: process.pid, runId: 'live-run', file: 'math.js', startedAt: Date.now() });
    const refused = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`being fixed by run live-run \\(pid ${process.pid},`));
    assert.equal(vendor.requests.length, 1);
  });

  it('in process: a lock is released once and only by its holder; torn locks are held while young, taken over when old', async () => {
    const root = makeWorkspace();
    const lock = acquireRunLock(root, 'math.js', 'run-a');
    assert.throws(
      () => acquireRunLock(root, 'math.js', 'run-b'),
      (err: LockHeldError) => err.holder?.runId === 'run-a',
    );
    const other = acquireRunLock(root, 'math.test.js', 'run-c');
    lock.release();
    const again = acquireRunLock(root, 'math.js', 'run-b');
    lock.release(); // a second release of run-a must not remove run-b's lock
    assert.throws(
      () => acquireRunLock(root, 'math.js', 'run-d'),
      (err: LockHeldError) => err.holder?.runId === 'run-b',
    );
    again.release();
    other.release();
    assert.deepEqual(locksIn(root), []);

    // Our pid on a lock this process never took: an earlier process had the same pid (a container's CLI).
    writeLock(root, 'math.js', { pid: process.pid, runId: 'earlier-life', file: 'math.js', startedAt: 0 });
    acquireRunLock(root, 'math.js', 'run-f').release();
    assert.deepEqual(locksIn(root), []);

    const torn = writeLock(root, 'math.js', '');
    assert.throws(() => acquireRunLock(root, 'math.js', 'run-e'), /being claimed by another run/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(torn, old, old);
    acquireRunLock(root, 'math.js', 'run-e').release();
    assert.deepEqual(locksIn(root), []);
  });

  it('after a kill -9, the next run says which run was interrupted and where its original is, and its lock does not block', async () => {
    const root = makeWorkspace();
    // The first reply is a wrong attempt, written to the file; the second call never answers: the kill lands there.
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'hang' }, { kind: 'text', text: fixReply() });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    await until(() => vendor.requests.length === 2, 'the second model call');
    const runId = readLog(root).find((e) => e.type === 'run.started').runId as string;
    first.child.kill('SIGKILL');
    const killed = await first.result;
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), WRONG_MATH, 'the kill left the attempt in the file');
    assert.equal(locksIn(root).length, 1, 'and its lock behind');

    const next = await cli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    const originalDir = `.micro-agent/runs/${runId}/`;
    assert.match(next.stdout, new RegExp(`run ${runId} on math\\.js was interrupted: its process \\(pid ${first.child.pid}\\) stopped`));
    assert.ok(next.stdout.includes(`the original of math.js is kept under ${originalDir}`), next.stdout);
    assert.equal(fs.readFileSync(path.join(root, originalDir, 'original.js'), 'utf8'), BROKEN_MATH, 'the original is where the notice says');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    assert.deepEqual(locksIn(root), []);
    const interrupted = readLog(root).find((e) => e.type === 'run.finished' && e.runId === runId);
    assert.equal(interrupted.reason, 'interrupted');
  });

  it('after a kill -9, micro-agent serve in that workspace says which run was interrupted too', async () => {
    const root = makeWorkspace();
    vendor.script({ kind: 'text', text: fixReply(WRONG_MATH) }, { kind: 'hang' });
    const first = spawnCli(['run', 'math.js', '-t', TEST_COMMAND], root, env);
    await until(() => vendor.requests.length === 2, 'the second model call');
    const runId = readLog(root).find((e) => e.type === 'run.started').runId as string;
    first.child.kill('SIGKILL');
    await first.result;
    const served = await serve(root, env);
    try {
      assert.match(served.output(), new RegExp(`run ${runId} on math\\.js was interrupted: its process \\(pid ${first.child.pid}\\) stopped`));
    } finally {
      await stop(served);
    }
  });
});
