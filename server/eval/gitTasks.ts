/**
 * `--from-git <rev-range>`: real bugs from the repository's history. A commit in the range that changed non-test
 * source files, and whose tests pass at that commit, is a task when putting those files back as they were in its
 * parent (in a temporary clone, with the commit's own tests) makes the tests fail: the historical bug, its real
 * fix the reference, its message the optional goal. Everything runs in clones; the user's repository is only read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lineDelta } from '../agent/diff';
import { runTests } from '../agent/testRunner';
import { looksLikeTestFile } from '../agent/workingSet';
import { runGit } from '../foundation/git';
import type { EvalTaskSpec } from '../protocol/eval';
import { cloneAt, gitEnv, type GitSetup, removeCopy } from './isolation';
import { mapLimited } from './pool';

/** Extensions of source files: what a fix changes (docs, configs and data are not a bug's fix). */
const SOURCE_EXTENSIONS: ReadonlySet<string> = new Set([
  ...['.js', '.mjs', '.cjs', '.jsx', '.ts', '.mts', '.cts', '.tsx', '.py', '.go', '.rs', '.java', '.kt', '.rb', '.php', '.cs'],
  ...['.c', '.cc', '.cpp', '.h', '.hpp', '.swift', '.scala', '.ex', '.exs', '.lua', '.sh'],
]);
/** The most commits one range may hold: mining runs the tests twice per commit. */
export const MAX_RANGE_COMMITS = 500;

export interface MiningSetup extends GitSetup {
  root: string;
  testCommand: string;
  testTimeoutMs: number;
  /** The environment of the tests (no secrets). */
  testEnv: NodeJS.ProcessEnv;
  /** What mining says about commits it skipped or could not use. */
  note: (message: string) => void;
  /** Commits tried at a time (each a clone and two test runs). */
  concurrency: number;
}

export function isSourceFile(rel: string): boolean {
  return SOURCE_EXTENSIONS.has(path.extname(rel).toLowerCase()) && !looksLikeTestFile(rel);
}

/** A rev range as the user wrote it, refused when it could be read as an option (`--output=…`). */
export function checkRange(range: string): string {
  if (!range.trim() || range.startsWith('-') || /\s/.test(range))
    throw new RangeError(`--from-git ${JSON.stringify(range)} is not a rev range (e.g. HEAD~20..HEAD)`);
  return range;
}

export async function tasksFromGit(range: string, setup: MiningSetup): Promise<EvalTaskSpec[]> {
  const git = (args: string[]) => runGit(setup.root, args, { ...setup, env: gitEnv(setup.env) });
  const listed = await git(['rev-list', '--reverse', '--no-merges', `--max-count=${MAX_RANGE_COMMITS}`, checkRange(range), '--']);
  const commits = listed.split('\n').filter(Boolean);
  const tasks = await mapLimited(commits, setup.concurrency, (commit) => commitTask(commit, setup, git), setup.signal);
  setup.signal?.throwIfAborted();
  // In the range's order, whatever order the tries finished in.
  return tasks.filter((task): task is EvalTaskSpec => task !== undefined);
}

/** The commit as a task, if it changed non-test source files of one parent (see taskOf). */
async function commitTask(commit: string, setup: MiningSetup, git: (args: string[]) => Promise<string>): Promise<EvalTaskSpec | undefined> {
  const parents = (await git(['rev-list', '--parents', '-n', '1', commit])).split(' ').slice(1);
  if (parents.length !== 1) return undefined;
  const changed = await git(['diff-tree', '--no-commit-id', '-r', '--name-status', '--no-renames', parents[0], commit]);
  const sources = changed
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([status, file]) => status === 'M' && file !== undefined && isSourceFile(file))
    .map(([, file]) => file);
  return sources.length === 0 ? undefined : taskOf(commit, parents[0], sources, setup, git);
}

/** The commit as a task, or undefined (its tests fail at the commit, or pass with the old sources: no bug). */
async function taskOf(commit: string, parent: string, sources: string[], setup: MiningSetup, git: (args: string[]) => Promise<string>) {
  const short = commit.slice(0, 10);
  const copy = await cloneAt(setup.root, commit, setup);
  try {
    const test = () => runTests({ command: setup.testCommand, cwd: copy, timeoutMs: setup.testTimeoutMs, signal: setup.signal, env: setup.testEnv });
    if (!(await test()).passed) {
      setup.note(`commit ${short}: its tests fail at the commit itself, so it is no task`);
      return undefined;
    }
    const fixed = Object.fromEntries(sources.map((file) => [file, fs.readFileSync(path.join(copy, file), 'utf8')]));
    await runGit(copy, ['checkout', '--quiet', parent, '--', ...sources], { ...setup, env: gitEnv(setup.env) });
    const broken = Object.fromEntries(sources.map((file) => [file, fs.readFileSync(path.join(copy, file), 'utf8')]));
    // The tests pass without the change: a refactor, not a fix the tests catch.
    if ((await test()).passed) return undefined;
    const message = (await git(['log', '-1', '--format=%B', commit])).trim();
    const referenceDiffLines = sources.reduce((sum, file) => {
      const delta = lineDelta(broken[file], fixed[file]);
      return sum + delta.linesAdded + delta.linesRemoved;
    }, 0);
    const task: EvalTaskSpec = {
      id: `git-${short}`,
      source: 'git',
      baseRev: commit,
      files: broken,
      target: sources[0],
      testCommand: setup.testCommand,
      prompt: message || null,
      setup: null,
      origin: `${short} ${message.split('\n')[0]}`.trim(),
      referenceDiffLines,
    };
    return task;
  } finally {
    removeCopy(copy);
  }
}
