/**
 * One run per file across every process on a workspace (the editor's host, a terminal CLI, `micro-agent
 * serve`): a run holds `.micro-agent/locks/<hash>.lock`, created with O_EXCL and holding `{ pid, runId, file,
 * startedAt }`. A lock whose process is gone (kill -9, a crash) is taken over; a live one refuses the run.
 */
import * as fs from 'node:fs';
import { ensureStateDir, statePaths } from './workspace';

export interface LockHolder {
  pid: number;
  runId: string;
  /** Workspace-relative path of the file being fixed. */
  file: string;
  startedAt: number;
}

/** The file is locked by a run whose process is alive; `holder` is undefined while that run is still writing its lock. */
export class LockHeldError extends Error {
  constructor(
    readonly holder: LockHolder | undefined,
    readonly lockFile: string,
  ) {
    super(
      holder
        ? `is being fixed by run ${holder.runId} (pid ${holder.pid}, since ${new Date(holder.startedAt).toISOString()})`
        : `is being claimed by another run at this moment (lock ${lockFile})`,
    );
    this.name = 'LockHeldError';
  }
}

export interface RunLock {
  readonly file: string;
  /** Removes the lock if it is still ours; safe to call more than once. */
  release(): void;
}

/**
 * A lock file this young without readable content is a lock being written (open and write are two steps):
 * treated as held. Older, its writer died between the two and it is taken over.
 */
const UNWRITTEN_GRACE_MS = 10_000;
/** A takeover marker older than this was left by a process that died mid-takeover. */
const TAKEOVER_GRACE_MS = 10_000;
/** Tries before giving up when other processes keep taking and releasing the lock under us. */
const MAX_TRIES = 5;

/** Locks held by this process, removed on exit so an exiting process (a second Ctrl-C) leaves none behind. */
const held = new Map<string, string>();
let exitHookInstalled = false;

/** Takes the lock on `rel` (workspace-relative) for `runId`; throws LockHeldError when a live run holds it. */
export function acquireRunLock(root: string, rel: string, runId: string): RunLock {
  ensureStateDir(root);
  const paths = statePaths(root);
  fs.mkdirSync(paths.locks, { recursive: true });
  const file = paths.lock(rel);
  const content = JSON.stringify({ pid: process.pid, runId, file: rel, startedAt: Date.now() } satisfies LockHolder) + '\n';
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    if (create(file, content)) {
      installExitHook();
      held.set(file, content);
      return { file, release: () => release(file, content) };
    }
    const current = read(file);
    if (current === undefined) continue; // released meanwhile: try again
    const holder = parse(current.text);
    if (holder ? holds(file, holder, current.text) : Date.now() - current.mtimeMs < UNWRITTEN_GRACE_MS) throw new LockHeldError(holder, file);
    takeOver(file, current.text);
  }
  throw new LockHeldError(undefined, file);
}

/**
 * Whether the lock's run may still be going. Our own pid counts only for a lock this process took: one with
 * our pid that it did not take was left by an earlier process that had the same pid (containers start the CLI
 * under the same low pid every time).
 */
function holds(file: string, holder: LockHolder, text: string): boolean {
  return holder.pid === process.pid ? held.get(file) === text : isAlive(holder.pid);
}

/** Creates the lock file only if there is none (O_EXCL); false when one exists. */
function create(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Removes a stale lock, unless it changed since it was judged stale: two processes taking over the same stale
 * lock must not have the slower one delete the lock the faster one just created. The check and the removal
 * happen under a takeover marker (O_EXCL as well), so they are one step for every process that plays by it.
 */
function takeOver(file: string, staleText: string): void {
  const marker = `${file}.takeover`;
  if (!create(marker, `${process.pid}\n`)) {
    // Someone else is taking it over; their marker is removed when they are done, or aged out if they died.
    const age = read(marker);
    if (age && Date.now() - age.mtimeMs > TAKEOVER_GRACE_MS) fs.rmSync(marker, { force: true });
    return;
  }
  try {
    if (read(file)?.text === staleText) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

function release(file: string, content: string): void {
  if (held.get(file) !== content) return;
  held.delete(file);
  // Only our own lock: if it was (wrongly) taken over, the new holder's lock stays.
  if (read(file)?.text === content) fs.rmSync(file, { force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [file, content] of held) {
      try {
        release(file, content);
      } catch {
        // exiting anyway; a lock left behind is stale once this process is gone
      }
    }
  });
}

function read(file: string): { text: string; mtimeMs: number } | undefined {
  try {
    return { text: fs.readFileSync(file, 'utf8'), mtimeMs: fs.statSync(file).mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 0 && typeof value.runId === 'string') {
      return { pid: value.pid, runId: value.runId, file: String(value.file), startedAt: Number(value.startedAt) };
    }
  } catch {
    // torn or foreign content
  }
  return undefined;
}

/** Whether a process with this pid exists; EPERM means it does, owned by someone else. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
