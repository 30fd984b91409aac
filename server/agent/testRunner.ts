import { spawn } from 'node:child_process';

export interface TestRunOptions {
  command: string;
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Output kept in memory, tail first; older output is dropped. */
  maxOutputBytes?: number;
}

export interface TestRunResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  passed: boolean;
  timedOut: boolean;
  cancelled: boolean;
  /** The last `maxOutputBytes` of stdout and stderr, interleaved as they arrived. */
  output: string;
  /** True when older output was dropped. */
  truncated: boolean;
}

/** After SIGTERM, how long the process tree gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

/**
 * Runs a test command through the shell as a real child process in its own process group, so that on
 * timeout or cancel the whole tree (the shell, npm, the test runner and its workers) is killed, not just the
 * shell. Exit code 0 means the tests passed.
 */
export function runTests(options: TestRunOptions): Promise<TestRunResult> {
  const maxBytes = options.maxOutputBytes ?? 256 * 1024;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      shell: true,
      // A new process group on POSIX: -pid addresses the whole tree.
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const tail = new TailBuffer(maxBytes);
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;

    const killTree = (signal: NodeJS.Signals) => killProcessTree(child.pid, signal);
    const stop = (why: 'timeout' | 'cancel') => {
      if (timedOut || cancelled) return;
      if (why === 'timeout') timedOut = true;
      else cancelled = true;
      killTree('SIGTERM');
      killTimer = setTimeout(() => killTree('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = () => stop('cancel');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    // When the shell exits, stragglers it left behind (a forgotten server, a watcher) would hold the pipes
    // open and keep `close` from firing: end them.
    child.on('exit', () => killTree('SIGKILL'));
    child.on('error', (err) => {
      cleanup();
      reject(err);
    });
    child.on('close', (code, signal) => {
      cleanup();
      resolve({
        exitCode: code,
        signal,
        durationMs: Math.round(performance.now() - started),
        passed: code === 0 && !timedOut && !cancelled,
        timedOut,
        cancelled,
        output: tail.text(),
        truncated: tail.dropped,
      });
    });

    function cleanup() {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  });
}

function killProcessTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    if (process.platform === 'win32') spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { windowsHide: true });
    else process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Keeps the last `max` bytes of a stream without holding the rest. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
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
