import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A path the engine may not touch; the message says why, for the user. */
export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathError';
  }
}

/**
 * The largest file the loop will send to a model and rewrite; bigger files are refused, never truncated. The
 * model must answer with the whole file, and 64 KB (~16k tokens) is what common models can write in one reply.
 */
export const MAX_FILE_BYTES = 64 * 1024;

/**
 * Resolves a user- or client-supplied path to a real file inside the workspace.
 * Refuses NUL bytes, `..` and absolute paths that leave the workspace, and symlinks whose target does.
 */
export function resolveInWorkspace(root: string, input: string): { abs: string; rel: string } {
  if (!input || input.includes('\0')) throw new PathError('invalid file path');
  const realRoot = fs.realpathSync(root);
  // Lexical check first (`..`, absolute paths), against the root as given and as resolved (e.g. /tmp links).
  const lexical = path.resolve(root, input);
  if (!isInside(path.resolve(root), lexical) && !isInside(realRoot, lexical)) throw new PathError(`${input} is outside the workspace ${root}`);
  let real: string;
  try {
    real = fs.realpathSync(lexical);
  } catch {
    throw new PathError(`${input} does not exist`);
  }
  if (!isInside(realRoot, real)) throw new PathError(`${input} resolves outside the workspace (symlink)`);
  const stat = fs.statSync(real);
  if (!stat.isFile()) throw new PathError(`${input} is not a regular file`);
  return { abs: real, rel: toPosix(path.relative(realRoot, real)) };
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Reads a source file the loop may work on: size-limited, and refuses binary content. */
export function readSource(abs: string, rel: string): string {
  const size = fs.statSync(abs).size;
  if (size > MAX_FILE_BYTES) throw new PathError(`${rel} is ${Math.round(size / 1024)} KB; micro-agent works on files up to ${MAX_FILE_BYTES / 1024} KB`);
  const buffer = fs.readFileSync(abs);
  if (buffer.includes(0)) throw new PathError(`${rel} looks binary; micro-agent only edits text files`);
  return buffer.toString('utf8');
}

/**
 * Replaces a file's contents atomically: a temporary file beside it, fsynced, then renamed over it, keeping
 * its mode. A reader (the test runner, the editor) sees the old file or the new one, never half of one.
 */
export function writeAtomic(abs: string, contents: string): void {
  const mode = fs.existsSync(abs) ? fs.statSync(abs).mode & 0o7777 : 0o644;
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(4).toString('hex')}.micro-agent.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, abs);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** The engine's own folder in a workspace; never a run's target, test file or context. */
export const STATE_DIR_NAME = '.micro-agent';

/** Every path the engine keeps under `<workspace>/.micro-agent/`, named in one place. */
export function statePaths(root: string) {
  const dir = path.join(root, STATE_DIR_NAME);
  return {
    dir,
    /** The event log (unless `devAi.logPath` / `--log` moves it). */
    events: path.join(dir, 'events.jsonl'),
    /** The running live API's URL and tokens, for scripts (0600). */
    apiInfo: path.join(dir, 'api.json'),
    /** The live API's tokens, kept across restarts (0600). */
    apiTokens: path.join(dir, 'api-tokens.json'),
    /** Review findings the user chose to ignore. */
    reviewIgnored: path.join(dir, 'review-ignored.json'),
    /** A run's original and its attempts. */
    runDir: (runId: string) => path.join(dir, 'runs', runId),
  };
}

/** `<workspace>/.micro-agent`, created with a .gitignore so the engine's files never end up in commits. */
export function ensureStateDir(root: string): string {
  const { dir } = statePaths(root);
  fs.mkdirSync(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
  return dir;
}
