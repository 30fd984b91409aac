import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunId } from '../protocol/methods';

/** A path the engine may not touch; the message says why, for the user. */
export class PathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathError';
  }
}

/**
 * The largest file the loop will send to a model and rewrite; bigger files are refused, never truncated. Whether
 * a file up to this size fits is the model's to say (its context window, checked before any call); the model
 * answers with search/replace blocks, so a large file costs its size in input, not in output.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

/** What a path is resolved for: a read (shown to a model) or a write (a run's edit, a restore), which also keeps out of `node_modules/`. */
export interface ContainmentOptions {
  /** The path may name a file to be created: its real parent folder (links followed) decides where it lands. */
  mayBeMissing?: boolean;
  /** A write: `node_modules/` is reserved too (a package's files are not the workspace's to change). */
  write?: boolean;
}

/**
 * The one containment check: every path micro-agent reads for a model or writes, whoever named it (a client, a
 * flag, a model reply, a record read back from `.micro-agent/`), resolves here to a real file inside the workspace.
 * Refuses NUL bytes, `..` and absolute paths that leave the workspace, links whose target does (or that point
 * nowhere), and paths in `.micro-agent/` or `.git/` (and, for a write, `node_modules/`) as written or as resolved.
 * A file to be created is judged by where it would land: its nearest existing folder, resolved through links.
 */
export function resolveInWorkspace(root: string, input: string, options: ContainmentOptions = {}): { abs: string; rel: string } {
  if (typeof input !== 'string' || !input || input.includes('\0')) throw new PathError('invalid file path');
  if (input.length > MAX_PATH_CHARS)
    throw new PathError(`a path of ${input.length.toLocaleString('en-US')} characters; at most ${MAX_PATH_CHARS} are accepted`);
  try {
    return contain(root, input, options);
  } catch (err) {
    // What the file system says about a path no one should have named (a name too long, a loop of links) is a refusal too.
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof PathError || typeof code !== 'string') throw err;
    throw new PathError(`${input.slice(0, 200)} cannot be used (${code})`);
  }
}

/** The longest path accepted anywhere (a request's, a record's, a reply's), as the engine's request limits say. */
const MAX_PATH_CHARS = 4096;

function contain(root: string, input: string, options: ContainmentOptions): { abs: string; rel: string } {
  const realRoot = fs.realpathSync(root);
  const reserved = options.write ? WRITE_RESERVED : READ_RESERVED;
  // Lexical check first (`..`, absolute paths), against the root as given and as resolved (e.g. /tmp links).
  const lexical = path.resolve(root, input);
  if (!isInside(path.resolve(root), lexical) && !isInside(realRoot, lexical)) throw new PathError(`${input} is outside the workspace ${root}`);
  refuseReserved(root, input, reserved);
  let real: string;
  try {
    real = fs.realpathSync(lexical);
  } catch {
    if (lstatOrUndefined(lexical)?.isSymbolicLink())
      throw new PathError(`${input} is a link to a file that does not exist; micro-agent does not write through it`);
    if (!options.mayBeMissing) throw new PathError(`${input} does not exist`);
    // A file to be created: where it would really land is under its nearest existing folder, resolved.
    const missing = [path.basename(lexical)];
    let dir = path.dirname(lexical);
    while (!lstatOrUndefined(dir)) {
      missing.unshift(path.basename(dir));
      dir = path.dirname(dir);
    }
    const parent = realpathOrUndefined(dir);
    if (parent === undefined) throw new PathError(`${input} would be created through a link that points nowhere (${toPosix(path.relative(root, dir))})`);
    if (!fs.statSync(parent).isDirectory()) throw new PathError(`${input} would be created inside ${toPosix(path.relative(root, dir))}, which is not a folder`);
    const abs = path.join(parent, ...missing);
    if (!isInside(realRoot, abs)) throw new PathError(`${input} would be created outside the workspace (a linked folder)`);
    refuseReserved(root, abs, reserved, 'would land in');
    return { abs, rel: toPosix(path.relative(realRoot, abs)) };
  }
  if (!isInside(realRoot, real)) throw new PathError(`${input} resolves outside the workspace (symlink)`);
  refuseReserved(root, real, reserved, 'resolves into');
  const stat = fs.statSync(real);
  if (!stat.isFile()) throw new PathError(`${input} is not a regular file`);
  return { abs: real, rel: toPosix(path.relative(realRoot, real)) };
}

/**
 * The engine's own state (the log, the API tokens, originals) and git's are never a run's file or context:
 * refuses (PathError) a path in the workspace's `.micro-agent/` or `.git/` (or another of `reserved`) as written,
 * or, for an existing path, through a symlink that points there. Paths outside the workspace pass: the caller
 * decides about those.
 */
function refuseReserved(root: string, input: string, reserved: ReadonlySet<string> = READ_RESERVED, verb = 'is inside'): void {
  const realRoot = fs.realpathSync(root);
  const lexical = path.resolve(root, input);
  const real = realpathOrUndefined(lexical);
  const candidates: [string, string | undefined, string][] = [
    [path.resolve(root), lexical, verb],
    [realRoot, lexical, verb],
    [realRoot, real, 'resolves into'],
  ];
  for (const [base, candidate, how] of candidates) {
    const folder = candidate && isInside(base, candidate) ? reservedFolder(path.relative(base, candidate), reserved) : undefined;
    if (folder) throw new PathError(`${input} ${how} ${folder}/, ${RESERVED_FOLDERS[folder]}; micro-agent never sends it to a model or writes it`);
  }
}

/** Folders of a workspace whose files no run may read or write (`node_modules`: write), and whose they are. */
const RESERVED_FOLDERS: Record<string, string> = {
  '.micro-agent': "micro-agent's own state",
  '.git': "git's own data",
  node_modules: "the installed packages' files",
};
const READ_RESERVED: ReadonlySet<string> = new Set(['.micro-agent', '.git']);
const WRITE_RESERVED: ReadonlySet<string> = new Set([...READ_RESERVED, 'node_modules']);

/**
 * The reserved folder a workspace-relative path lies in, if any: at any depth (a nested repository's `.git`
 * holds hooks that git runs), compared case-insensitively (macOS and Windows file systems are).
 */
function reservedFolder(rel: string, reserved: ReadonlySet<string>): string | undefined {
  return rel
    .split(/[\\/]/)
    .map((segment) => segment.toLowerCase())
    .find((segment) => reserved.has(segment));
}

/** A normalized, '/'-separated relative path: no `.`, `..` or empty segment, no backslash, no NUL, within the path bound. */
export function isRelativePath(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 4096 &&
    !/[\\\0]/.test(value) &&
    !path.posix.isAbsolute(value) &&
    value.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
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
export function writeAtomic(abs: string, contents: string | Buffer): void {
  const mode = fs.existsSync(abs) ? fs.statSync(abs).mode & 0o7777 : 0o644;
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(4).toString('hex')}.micro-agent.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    if (typeof contents === 'string') fs.writeSync(fd, contents);
    else fs.writeSync(fd, contents);
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
  const runs = path.join(dir, 'runs');
  const locks = path.join(dir, 'locks');
  return {
    dir,
    /** Keeps the folder out of commits. */
    gitignore: path.join(dir, '.gitignore'),
    /** The event log (unless `devAi.logPath` / `--log` moves it). */
    events: path.join(dir, 'events.jsonl'),
    /** The running live API's URL and tokens, for scripts (0600). */
    apiInfo: path.join(dir, 'api.json'),
    /** The live API's tokens, kept across restarts (0600). */
    apiTokens: path.join(dir, 'api-tokens.json'),
    /** Review findings the user chose to ignore. */
    reviewIgnored: path.join(dir, 'review-ignored.json'),
    /** The vendors' org usage and cost reports as last fetched (`usage/usageStore.ts`): a cache, rebuilt when missing. */
    providerUsage: path.join(dir, 'provider-usage.json'),
    /** Custom model prices (USD per million tokens), beside `devAi.prices`; `micro-agent usage --write-prices` writes it. */
    prices: path.join(dir, 'prices.json'),
    /** Every run's folder. */
    runs,
    /**
     * A run's original and its attempts. Run ids also come from the log and from clients: one that is not in a
     * run id's shape (`../x`) never becomes a path.
     */
    runDir: (runId: string) => {
      if (!isRunId(runId)) throw new PathError(`${JSON.stringify(String(runId).slice(0, 80))} is not a run id`);
      return path.join(runs, runId);
    },
    /** `micro-agent eval`: each eval's task specs and options, kept so that `--resume <evalId>` needs only the id. */
    evals: path.join(dir, 'evals'),
    evalSpec: (evalId: string) => {
      if (!isRunId(evalId)) throw new PathError(`${JSON.stringify(String(evalId).slice(0, 80))} is not an eval id`);
      return path.join(dir, 'evals', `${evalId}.json`);
    },
    /** The stats index derived from the event log (`events/logIndex.ts`); rebuilt when missing. */
    index: path.join(dir, 'index'),
    /** The run locks, one per file being fixed, shared by every process on this workspace. */
    locks,
    /** The lock on one file, named by a hash of its workspace-relative path. */
    lock: (relPath: string) => path.join(locks, `${createHash('sha256').update(toPosix(relPath)).digest('hex').slice(0, 32)}.lock`),
  };
}

/**
 * `<workspace>/.micro-agent`, created with a .gitignore so the engine's files never end up in commits.
 * Refuses (PathError) a state folder that is a symlink or lies outside the workspace, and symlinks among the
 * engine's own files there, so that no write of the engine lands outside the workspace through them.
 */
export function ensureStateDir(root: string): string {
  const paths = statePaths(root);
  const { dir } = paths;
  const existing = lstatOrUndefined(dir);
  if (existing?.isSymbolicLink())
    throw new PathError(`${dir} is a symlink; micro-agent keeps its state only in a real folder inside the workspace (remove the link)`);
  if (existing && !existing.isDirectory()) throw new PathError(`${dir} is not a folder; micro-agent keeps its state there (remove or rename it)`);
  if (!existing) fs.mkdirSync(dir, { recursive: true });
  if (!isInside(fs.realpathSync(root), fs.realpathSync(dir)))
    throw new PathError(`${dir} resolves outside the workspace ${root}; micro-agent keeps its state only inside it`);
  for (const entry of [
    paths.gitignore,
    paths.events,
    paths.apiInfo,
    paths.apiTokens,
    paths.reviewIgnored,
    paths.providerUsage,
    paths.prices,
    paths.runs,
    paths.locks,
    paths.index,
  ]) {
    if (lstatOrUndefined(entry)?.isSymbolicLink())
      throw new PathError(`${entry} is a symlink; micro-agent does not write through links in its state folder (remove it)`);
  }
  if (!fs.existsSync(paths.gitignore)) fs.writeFileSync(paths.gitignore, '*\n');
  return dir;
}

export function realpathOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    // ENOTDIR: a file stands where a folder of the path would be, so nothing is there either.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
