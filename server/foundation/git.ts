/**
 * `--commit`: a passing run's files committed to git, and nothing else. `git commit --only -- <paths>` commits
 * those paths as they are in the work tree and leaves every other staged change staged, so the user's own
 * work in progress never rides along. Git runs as the user would run it (their config, hooks and identity).
 *
 * Git is a child process like the tests: a hook is the repository's code, so it runs asynchronously (the
 * host and `serve` keep answering while it does), within `devAi.git.timeoutSec`, cancellable with the run,
 * without the secrets the engine knows in its environment, and its process group is killed when it overstays.
 * Every path goes after `--literal-pathspecs`: a file the model named `:(glob)*.js` is that file, not a pattern.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

export interface GitOptions {
  /** The whole commit's time (add, commit with its hooks, rev-parse). */
  timeoutMs: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Once git has exited, how long its pipes get to deliver what is already in them. */
const DRAIN_MS = 200;

/** Output kept from a git command (a hook may print without end): its tail, for the error message. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/** Runs one git command; resolves with its stdout, rejects with GitError (its stderr's last lines, a timeout, a cancel). */
function git(cwd: string, args: string[], deadline: number, options: GitOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const posix = process.platform !== 'win32';
    const child = spawn('git', ['--literal-pathspecs', ...args], { cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: posix });
    let stdout = '';
    let stderr = '';
    const keep = (text: string, chunk: string) => (text + chunk).slice(-MAX_OUTPUT_CHARS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = keep(stdout, chunk)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = keep(stderr, chunk)));
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped ??= why;
      try {
        // The group: a hook's own children (a test run, a sleep) go with it.
        if (posix && child.pid) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(
      () => stop(`took longer than ${Math.round(options.timeoutMs / 1000)} s (devAi.git.timeoutSec) and was stopped`),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = () => stop('was cancelled');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const settle = (error: GitError | undefined) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(stdout.trim());
    };
    child.on('error', (err) => settle(new GitError(`git could not be run: ${err.message}`)));
    // 'exit', not 'close': something a hook left running may hold the pipes for as long as it lives. But what git
    // itself wrote may still be in the pipes when it exits: they get DRAIN_MS to deliver it (they close at once
    // when nothing else holds them), or the output is cut (seen under load: an empty `rev-list`).
    child.on('exit', (code) => {
      const drained = Promise.all(
        [child.stdout, child.stderr].map((pipe) => new Promise((resolve) => (pipe.readableEnded ? resolve(undefined) : pipe.once('close', resolve)))),
      );
      void Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]).then(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        if (stopped) settle(new GitError(`git ${args[0]} ${stopped}`));
        else if (code !== 0) settle(new GitError(`git ${args[0]} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code}`}`));
        else settle(undefined);
      });
    });
  });
}

/**
 * The work tree `dir` belongs to, or undefined when it is not in a git repository: the nearest folder up with
 * a `.git` (a folder, or a worktree's file). Found on disk, not by running git, so checking a request never
 * waits on a child process.
 */
export function gitWorkTree(dir: string): string | undefined {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, '.git'))) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

/** One git command within `options.timeoutMs`, cancellable, its process group killed when it overstays: its stdout, trimmed. */
export function runGit(cwd: string, args: string[], options: GitOptions): Promise<string> {
  return git(cwd, args, Date.now() + options.timeoutMs, options);
}

/** Commits exactly `files` (paths relative to `cwd`) with `message`; resolves with the new commit's hash. */
export async function commitFiles(cwd: string, files: readonly string[], message: string, options: GitOptions): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  // New files must be known to git before `--only` can take them; `add` of a tracked file changes nothing else.
  await git(cwd, ['add', '--', ...files], deadline, options);
  await git(cwd, ['commit', '--only', '-m', message, '--', ...files], deadline, options);
  return git(cwd, ['rev-parse', 'HEAD'], deadline, options);
}
