import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { TestOutcome } from '../protocol/events';
import { stripAnsi } from '../testResults';

export interface TestRunOptions {
  command: string;
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Output kept in memory, tail first; older output is dropped. */
  maxOutputBytes?: number;
}

/** How the run ended (the fields `test.finished` shares) and what it printed. */
export interface TestRunResult extends TestOutcome {
  /** The last `maxOutputBytes` of stdout and stderr, interleaved as they arrived. */
  output: string;
  /** True when older output was dropped. */
  truncated: boolean;
  /** Set when the command could not be run at all (the shell did not start, say): the reason, also in `output`. */
  error?: string;
}

/**
 * The environment variable that marks every process of a test run: `<id>` of each run it belongs to, comma-separated
 * when runs nest (a test command that itself runs micro-agent).
 */
export const TEST_RUN_ENV = 'MICRO_AGENT_TEST_RUN';

/** After SIGTERM, how long the process tree gets before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Once the shell is gone, how long the pipes get to deliver what is already in them before we stop reading. */
const DRAIN_MS = 200;

/**
 * Runs a test command through the shell as a real child process in its own process group, so that on
 * timeout or cancel the whole tree (the shell, npm, the test runner and its workers) is killed, not just the
 * shell. Exit code 0 means the tests passed.
 *
 * The run ends when the shell exits, not when its output pipes close: a process the tests left behind keeps the
 * pipes open for as long as it lives, and one that called setsid(2) (a daemon, `setsid x &`) has also left the
 * process group, so killing the group does not reach it. When the shell has exited, we kill its process group and
 * every process that carries this run's marker (below), give the pipes up to `DRAIN_MS` to deliver what is already
 * in them (they close at once when nothing else holds them), look for marked processes once more, then stop reading
 * and resolve. On timeout or cancel the group gets SIGTERM, then SIGKILL after `KILL_GRACE_MS`; the run resolves
 * once the shell has exited, or `KILL_GRACE_MS + DRAIN_MS` after the SIGTERM at the latest, however long anything
 * holds the pipes.
 *
 * Finding what escaped the group: each run puts a random id in its environment (`TEST_RUN_ENV`, appended to an
 * outer run's when runs nest); every process the command starts inherits it, through setsid and double forks alike,
 * so when the run ends (exit, timeout or cancel) a scan of `/proc/<pid>/environ` finds them and SIGKILLs them, our
 * own process excepted. A second scan as the run resolves catches one whose environment could not be read the first
 * time (it reads empty in the middle of an exec). So a daemon a test command deliberately starts (a build server, a
 * file watcher) does not outlive the run either. Limits: the scan is Linux-only (on macOS and other POSIX systems
 * only the process group is killed; on Windows `taskkill /T` kills the tree by parentage); a process that clears or
 * replaces its environment when it execs (`env -i`), or runs as another user (setuid), cannot be found, and if it
 * holds the pipes, it is simply no longer read from.
 *
 * It never rejects: when the command cannot be started (a missing working directory, EMFILE), it resolves as a
 * failed run with `exitCode: null` and the reason in `error` and `output`.
 */
export function runTests(options: TestRunOptions): Promise<TestRunResult> {
  const maxBytes = options.maxOutputBytes ?? 256 * 1024;
  const started = performance.now();
  const runId = randomUUID();
  const baseEnv = options.env ?? process.env;
  const outer = baseEnv[TEST_RUN_ENV];
  const env: NodeJS.ProcessEnv = { ...baseEnv, [TEST_RUN_ENV]: outer ? `${outer},${runId}` : runId };

  return new Promise((resolve) => {
    const tail = new TailBuffer(maxBytes);
    let timedOut = false;
    let cancelled = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let error: string | undefined;
    let done = false;
    let reaped = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let child: ChildProcess | undefined;

    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // A second look: a process in the middle of an exec during the first scan showed no environment then. If it
      // holds the pipes, it also kept them from closing, so the drain gave its exec time to finish.
      if (reaped) killMarked(runId);
      // Whatever still holds the pipes (a process we could not find) is no longer waited for.
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      if (error !== undefined) tail.push(Buffer.from(`${tail.size > 0 ? '\n' : ''}${error}\n`));
      resolve({
        exitCode,
        signal: exitSignal,
        durationMs: Math.round(performance.now() - started),
        passed: exitCode === 0 && !timedOut && !cancelled && error === undefined,
        timedOut,
        cancelled,
        // Colour is asked off (NO_COLOR…), but some runners colour anyway: no escape goes further than here.
        output: stripAnsi(tail.text()),
        truncated: tail.dropped,
        ...(error !== undefined ? { error } : {}),
      });
    };
    /** Ends the run within `DRAIN_MS`: sooner when the pipes close first. */
    const drainThenFinish = () => {
      if (done || drainTimer) return;
      drainTimer = setTimeout(finish, DRAIN_MS);
    };
    /** Kills what is left of the run: the process group, and what escaped it but carries the marker. */
    const reap = () => {
      if (reaped) return;
      reaped = true;
      killProcessTree(child?.pid, 'SIGKILL');
      killMarked(runId);
    };
    const stop = (why: 'timeout' | 'cancel') => {
      if (done || timedOut || cancelled) return;
      if (why === 'timeout') timedOut = true;
      else cancelled = true;
      killProcessTree(child?.pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        // The shell outlived SIGTERM: kill everything and end the run shortly, whether or not it ever exits.
        reap();
        drainThenFinish();
      }, KILL_GRACE_MS);
    };
    const onAbort = () => stop('cancel');
    // Fires only after the synchronous spawn below; cleared by every way the run ends.
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);

    try {
      child = spawn(options.command, {
        cwd: options.cwd,
        env,
        shell: true,
        // A new process group on POSIX: -pid addresses the whole tree.
        detached: process.platform !== 'win32',
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      // Invalid options throw synchronously; report them like any other failure to start.
      error = startError(err, options.cwd);
      finish();
      return;
    }

    const ignore = () => {};
    child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    // A read error ends that stream; the run still ends on the shell's exit.
    child.stdout?.on('error', ignore);
    child.stderr?.on('error', ignore);
    child.on('error', (err) => {
      if (child?.pid === undefined) {
        // The shell never started (a missing cwd, EMFILE): no exit or close will follow.
        error = startError(err, options.cwd);
        finish();
        return;
      }
      // Started, but something failed later: end the run now rather than trust that exit follows.
      error = `The test command failed: ${err.message}`;
      reap();
      drainThenFinish();
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      clearTimeout(timer);
      clearTimeout(killTimer);
      // Stragglers in the group and escapees hold the pipes open and would outlive the run: end them, which
      // normally lets the pipes close at once; wait for that only briefly.
      reap();
      drainThenFinish();
    });
    child.on('close', finish);

    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function startError(err: unknown, cwd: string): string {
  const message = err instanceof Error ? err.message : String(err);
  let hint = '';
  try {
    if (!fs.statSync(cwd).isDirectory()) hint = ` (the working directory ${cwd} is not a directory)`;
  } catch {
    hint = ` (the working directory ${cwd} does not exist)`;
  }
  return `The test command could not be started: ${message}${hint}`;
}

function killProcessTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') {
      spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true, stdio: 'ignore' }).on('error', () => {});
    } else process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * SIGKILLs every process whose environment carries the run id in `TEST_RUN_ENV` (Linux: `/proc/<pid>/environ`; a
 * no-op elsewhere). One readdir of /proc when nothing is found; when something was, another pass catches children
 * it forked between our read and our kill (at most three passes). A few ms for a few hundred processes. Processes that vanish or are not ours (ENOENT,
 * ESRCH, EACCES, EPERM) are skipped silently. Returns how many were killed.
 */
function killMarked(runId: string): number {
  if (process.platform !== 'linux') return 0;
  let total = 0;
  for (let pass = 0; pass < 3; pass++) {
    const killed = killMarkedOnce(runId);
    total += killed;
    if (killed === 0) break;
  }
  return total;
}

function killMarkedOnce(runId: string): number {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    // The id is random: a quick byte search rules out nearly every process before any parsing.
    if (environ.indexOf(runId) === -1 || !carriesMarker(environ.toString('utf8'), runId)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // ESRCH: gone meanwhile; EPERM: not ours.
    }
  }
  return killed;
}

function carriesMarker(environ: string, runId: string): boolean {
  const prefix = `${TEST_RUN_ENV}=`;
  for (const entry of environ.split('\0')) {
    if (entry.startsWith(prefix) && entry.slice(prefix.length).split(',').includes(runId)) return true;
  }
  return false;
}

/** Keeps the last `max` bytes of a stream without holding the rest. */
class TailBuffer {
  private chunks: Buffer[] = [];
  size = 0;
  dropped = false;
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const excess = this.size - this.max;
      const first = this.chunks[0];
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  text(): string {
    // A cut may split a UTF-8 sequence; the decoder turns the stray bytes into one replacement character.
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The last `maxChars` of a text, cut at a line start where one is near, marked when cut. */
export function tailOf(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = text.length - maxChars;
  const newline = text.indexOf('\n', cut);
  if (newline !== -1 && newline - cut < 200) cut = newline + 1;
  return `[… ${cut} earlier characters cut …]\n${text.slice(cut)}`;
}
