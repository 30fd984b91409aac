/**
 * `--commit`: a passing run's files committed to git, and nothing else. `git commit --only -- <paths>` commits
 * those paths as they are in the work tree and leaves every other staged change staged, so the user's own
 * work in progress never rides along. Git runs as the user would run it (their config, hooks and identity).
 */
import { execFileSync } from 'node:child_process';

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

/** Git's output is small here; a hook that prints a lot still fits. */
const MAX_BUFFER = 16 * 1024 * 1024;

function git(cwd: string, args: string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: MAX_BUFFER }).trim();
  } catch (err) {
    const { stderr, message } = err as { stderr?: string; message: string };
    throw new GitError(`git ${args[0]} failed: ${(stderr || message).trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** The work tree `dir` belongs to, or undefined when it is not in a git repository (or git is missing). */
export function gitWorkTree(dir: string): string | undefined {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']);
  } catch {
    return undefined;
  }
}

/** Commits exactly `files` (paths relative to `cwd`) with `message`; returns the new commit's hash. */
export function commitFiles(cwd: string, files: readonly string[], message: string): string {
  // New files must be known to git before `--only` can take them; `add` of a tracked file changes nothing else.
  git(cwd, ['add', '--', ...files]);
  git(cwd, ['commit', '--only', '-m', message, '--', ...files]);
  return git(cwd, ['rev-parse', 'HEAD']);
}
