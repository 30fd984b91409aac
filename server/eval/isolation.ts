/**
 * The isolated copies an eval works in, so that the user's repository stays byte for byte as it was outside
 * `.micro-agent/`: files (bytes, mode, mtime), HEAD, refs, the index, the stash and `.git/config`.
 *
 * - A commit's copy is a temporary clone, `git clone --shared --no-checkout` into the system's temp folder, then
 *   checked out there: `--shared` borrows the user's objects through the clone's own alternates file, so nothing
 *   is written into the user's `.git` (`git worktree add` would write `.git/worktrees/`).
 * - The working tree's copy (mutants, `--tasks`) copies the files as they are on disk, dirty and staged work
 *   included, without ever running a git command that may refresh the user's index (`git status` would).
 * - `node_modules` is linked, not copied: installing per cell would cost more than the loop.
 *
 * Every copy is registered until removed; `removeAllCopies` is the last word on Ctrl-C and at exit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IGNORED_FOLDERS } from '../agent/context';
import { runGit } from '../foundation/git';
import { isAlive } from '../foundation/runLock';
import { STATE_DIR_NAME } from '../foundation/workspace';

/** Every copy of this process not yet removed. */
const live = new Set<string>();

/** Where copies go: one folder per copy under the system's temp folder, named so a leftover is recognisable. */
const COPY_PREFIX = 'micro-agent-eval-';

export interface GitSetup {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Git for the eval: never a lock it can do without (GIT_OPTIONAL_LOCKS=0: no index refresh in the user's
 * repository), no pager, no prompt.
 */
export function gitEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat' };
}

function newCopyDir(): string {
  // The pid in the name: a process killed outright (kill -9) cannot clean up; the next eval removes what it left.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${COPY_PREFIX}${process.pid}-`));
  live.add(dir);
  return dir;
}

/** A temporary clone of `repo` checked out at `rev` (detached). */
export async function cloneAt(repo: string, rev: string, setup: GitSetup): Promise<string> {
  const dir = newCopyDir();
  try {
    const options = { ...setup, env: gitEnv(setup.env) };
    await runGit(os.tmpdir(), ['clone', '--quiet', '--shared', '--no-checkout', '--', repo, dir], options);
    await runGit(dir, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', rev], options);
    linkNodeModules(repo, dir);
    return dir;
  } catch (err) {
    removeCopy(dir);
    throw err;
  }
}

/**
 * A copy of the working tree as it is on disk (without `.git`, `.micro-agent`, `node_modules` and the usual build
 * folders; `node_modules` is linked). Symbolic links are copied as links; modes are kept.
 */
export function copyWorkingTree(root: string): string {
  const dir = newCopyDir();
  try {
    copyFolder(root, dir);
    linkNodeModules(root, dir);
    return dir;
  } catch (err) {
    removeCopy(dir);
    throw err;
  }
}

/** Folders a working-tree copy leaves out (the engine's, git's, dependencies and build output). */
const NOT_COPIED: ReadonlySet<string> = new Set([...IGNORED_FOLDERS, STATE_DIR_NAME, '.git', 'node_modules']);

function copyFolder(from: string, to: string): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (NOT_COPIED.has(entry.name)) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(target, { mode: fs.statSync(source).mode & 0o7777 });
      copyFolder(source, target);
    } else if (entry.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(source), target);
    } else if (entry.isFile()) {
      // copyFile reads the source: its mtime and mode stay as they are; the copy gets the mode.
      fs.copyFileSync(source, target);
      fs.chmodSync(target, fs.statSync(source).mode & 0o7777);
    }
  }
}

/** Links the user's `node_modules` into the copy, when there is one and the copy has none. */
function linkNodeModules(root: string, dir: string): void {
  const modules = path.join(root, 'node_modules');
  if (fs.existsSync(modules) && !fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(modules, path.join(dir, 'node_modules'), 'dir');
}

/** Writes `files` (copy-relative path → text) into the copy. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, contents] of Object.entries(files)) {
    const abs = path.resolve(dir, rel);
    if (!abs.startsWith(dir + path.sep)) throw new Error(`${rel} is outside the copy`);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, contents);
  }
}

/** Removes a copy (a linked `node_modules` is unlinked, never followed). */
export function removeCopy(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  live.delete(dir);
}

/** Removes every copy this process still has: on Ctrl-C and at exit, after the cells were cancelled. */
export function removeAllCopies(): void {
  for (const dir of [...live]) {
    try {
      removeCopy(dir);
    } catch {
      // Best effort at exit: what cannot be removed now (a file held open) is in the temp folder the system cleans.
    }
  }
}

/**
 * Removes the copies of eval processes that are gone (killed before they could clean up); the copies of live
 * processes (another eval running beside this one) stay.
 */
export function sweepStaleCopies(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = name.startsWith(COPY_PREFIX) ? Number(/^(\d+)-/.exec(name.slice(COPY_PREFIX.length))?.[1]) : 0;
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    try {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Someone else's to remove (another user's temp file); not ours to fail on.
    }
  }
}
