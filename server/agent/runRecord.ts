/**
 * What a run did to the workspace's files, kept in its folder as `manifest.json`: where each file's original is,
 * every attempt written (the checkpoints), and what micro-agent last put in each file (the bytes' hash). The
 * working set rewrites it with every write, so a run killed mid-way leaves a record as current as its files.
 * Diff, undo, restore and resume read it; the event log says what happened, this says where the bytes are.
 * Paths inside are relative to the run's folder; file keys are workspace-relative.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint, FileChange } from '../protocol/methods';
import {
  isInside,
  isRelativePath,
  lstatOrUndefined,
  PathError,
  realpathOrUndefined,
  resolveInWorkspace,
  STATE_DIR_NAME,
  statePaths,
  toPosix,
  writeAtomic,
} from '../foundation/workspace';
import { unifiedDiff } from './diff';
import { toModelText } from './textFile';

export interface RunRecord {
  version: 1;
  runId: string;
  target: string;
  /** Each file the run may have written: where its bytes from before the run are kept; null when it did not exist. */
  originals: Record<string, string | null>;
  checkpoints: { iteration: number; files: Record<string, string>; kept: boolean }[];
  /** What micro-agent last put in each file: a kept copy of those bytes (null: no file) and their hash. */
  current: Record<string, FileState>;
  /** The checkpoint the files were last put back to (0: the originals), by undo, restore or the run's own end. */
  restoredTo: number | null;
}

export interface FileState {
  copy: string | null;
  sha256: string | null;
}

const MANIFEST = 'manifest.json';

/** A unified diff of a whole run stays readable up to here; past it the diff says where it was cut. */
const RUN_DIFF_MAX_CHARS = 2_000_000;

/** Undo or restore would overwrite files changed since the run last wrote them. */
export class ChangedSinceError extends Error {
  constructor(readonly files: string[]) {
    super(`changed since the run: ${files.join(', ')}`);
    this.name = 'ChangedSinceError';
  }
}

export function sha256(bytes: Buffer | null): string | null {
  return bytes === null ? null : createHash('sha256').update(bytes).digest('hex');
}

/**
 * A run record that cannot be trusted: not JSON, the wrong shape, a path that leaves the workspace or the run's
 * folder, a link. The message says which and why; nothing of the record is acted on.
 */
export class RecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordError';
  }
}

/** A record past this is no record micro-agent wrote (10,000 files with three checkpoints each are ~5 MB). */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
/** Files and checkpoints a record may name: past these it is refused, never walked. */
const MAX_RECORD_FILES = 100_000;
const MAX_CHECKPOINTS = 10_000;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads a run's record and validates all of it before anything acts on it: the folder (`runs/<runId>`, a real
 * folder, no link on the way), the shape and numbers, every file key through the one containment check
 * (`resolveInWorkspace`: inside the workspace, outside `.git/`, `.micro-agent/` and `node_modules/`, through
 * links), and every copy inside the run's own folder, a regular file that is there. A cloned repository can ship
 * a `.micro-agent/` folder, and code under test can write one: this is the gate between them and undo, restore,
 * diff and resume. Undefined when the run has no record; RecordError when it has one that fails.
 */
export function readRecord(root: string, runId: string): { record: RunRecord; runDir: string } | undefined {
  const runDir = statePaths(root).runDir(runId);
  const where = toPosix(path.relative(root, runDir));
  const folder = lstatOrUndefined(runDir);
  if (!folder) return undefined;
  const expected = path.join(fs.realpathSync(root), STATE_DIR_NAME, 'runs', runId);
  if (!folder.isDirectory() || realpathOrUndefined(runDir) !== expected)
    throw new RecordError(`${where} is not a real folder of micro-agent's (a link, or a file)`);
  const manifest = path.join(runDir, MANIFEST);
  const stat = lstatOrUndefined(manifest);
  if (!stat) return undefined;
  if (!stat.isFile()) throw new RecordError(`${where}/${MANIFEST} is not a regular file (a link?)`);
  if (stat.size > MAX_MANIFEST_BYTES) throw new RecordError(`${where}/${MANIFEST} is ${Math.round(stat.size / 1024 / 1024)} MB, more than a record can be`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  } catch (err) {
    throw new RecordError(`${where}/${MANIFEST} is not JSON: ${(err as Error).message}`);
  }
  try {
    return { record: checkRecord(root, runDir, runId, value), runDir };
  } catch (err) {
    if (err instanceof RecordError) throw new RecordError(`${where}/${MANIFEST}: ${err.message}`);
    throw err;
  }
}

/** The validator of a record's content (see `readRecord`): returns it typed, or throws RecordError naming the first fault. */
function checkRecord(root: string, runDir: string, runId: string, value: unknown): RunRecord {
  const fail = (message: string): never => {
    throw new RecordError(message);
  };
  const record = objectOf(value, 'the record');
  if (record.version !== 1) fail(`version ${JSON.stringify(record.version)} is not one micro-agent writes`);
  if (record.runId !== runId) fail(`it names run ${JSON.stringify(record.runId)}, not ${runId}`);
  const realRunDir = fs.realpathSync(runDir);
  const file = (key: string) => {
    try {
      resolveInWorkspace(root, key, { mayBeMissing: true, write: true });
    } catch (err) {
      if (err instanceof PathError) fail(err.message);
      throw err;
    }
    if (!isRelativePath(key)) fail(`${JSON.stringify(key.slice(0, 200))} is not a plain workspace-relative path`);
    return key;
  };
  const copy = (rel: unknown, what: string): string => {
    if (typeof rel !== 'string' || !isRelativePath(rel)) return fail(`${what}: ${JSON.stringify(rel)} is not a path inside the run's folder`);
    const abs = path.join(runDir, rel);
    if (!lstatOrUndefined(abs)?.isFile() || !isInside(realRunDir, realpathOrUndefined(abs) ?? ''))
      fail(`${what}: ${rel} is not a kept copy in the run's folder`);
    return rel;
  };
  const entries = <T>(map: unknown, what: string, check: (key: string, value: unknown) => T): Record<string, T> => {
    const keys = Object.keys(objectOf(map, what));
    if (keys.length > MAX_RECORD_FILES) fail(`${what} names ${keys.length} files, more than a run writes`);
    return Object.fromEntries(keys.map((key) => [file(key), check(key, (map as Record<string, unknown>)[key])]));
  };
  const originals = entries(record.originals, 'originals', (key, original) => (original === null ? null : copy(original, `the original of ${key}`)));
  const known = (key: string, what: string) => {
    if (!Object.hasOwn(originals, key)) fail(`${what} names ${key}, which has no original`);
  };
  if (typeof record.target !== 'string') return fail('target is not a path');
  known(record.target, 'target');
  if (!Array.isArray(record.checkpoints) || record.checkpoints.length > MAX_CHECKPOINTS) return fail('checkpoints is not a list of checkpoints');
  const checkpoints = record.checkpoints.map((item: unknown, i): RunRecord['checkpoints'][number] => {
    const checkpoint = objectOf(item, `checkpoint ${i}`);
    if (!isWhole(checkpoint.iteration)) fail(`checkpoint ${i}: iteration ${JSON.stringify(checkpoint.iteration)} is not a whole number ≥ 0`);
    if (typeof checkpoint.kept !== 'boolean') fail(`checkpoint ${i}: kept is not true or false`);
    const files = entries(checkpoint.files, `checkpoint ${i}`, (key, kept) => {
      known(key, `checkpoint ${i}`);
      return copy(kept, `attempt ${String(checkpoint.iteration)} of ${key}`);
    });
    return { iteration: checkpoint.iteration as number, files, kept: checkpoint.kept as boolean };
  });
  const current = entries(record.current, 'current', (key, state): FileState => {
    known(key, 'current');
    const { copy: kept, sha256: hash } = objectOf(state, `current ${key}`);
    if (hash !== null && !(typeof hash === 'string' && SHA256.test(hash))) fail(`current ${key}: ${JSON.stringify(hash)} is not a sha256`);
    return { copy: kept === null ? null : copy(kept, `what the run left in ${key}`), sha256: hash as string | null };
  });
  if (record.restoredTo !== null && !isWhole(record.restoredTo)) fail(`restoredTo ${JSON.stringify(record.restoredTo)} is not a whole number ≥ 0`);
  return { version: 1, runId, target: record.target, originals, checkpoints, current, restoredTo: record.restoredTo as number | null };
}

function isWhole(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RecordError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

export function saveRecord(runDir: string, record: RunRecord): void {
  writeAtomic(path.join(runDir, MANIFEST), JSON.stringify(record, null, 1));
}

/** The files on disk that are no longer what the run last left in them. */
export function changedSince(root: string, record: RunRecord): string[] {
  return Object.entries(record.current)
    .filter(([rel, state]) => sha256(readOrNull(path.join(root, rel))) !== state.sha256)
    .map(([rel]) => rel);
}

/** Each file whose bytes the run left different from its original, with the diff between them. */
export function fileChanges(root: string, runDir: string, record: RunRecord): FileChange[] {
  const changed = new Set(changedSince(root, record));
  const changes: FileChange[] = [];
  for (const [file, original] of Object.entries(record.originals)) {
    const result = record.current[file]?.copy ?? original;
    const before = original === null ? null : fs.readFileSync(path.join(runDir, original));
    const after = result === null ? null : fs.readFileSync(path.join(runDir, result));
    if (sha256(before) === sha256(after)) continue;
    // Lines, not a text ending in a newline: the last line's end is not a line of its own.
    const text = (bytes: Buffer | null) => (bytes === null ? '' : toModelText(bytes.toString('utf8')).replace(/\n$/, ''));
    const hunks = (a: Buffer | null, b: Buffer | null) => unifiedDiff(text(a), text(b), 3, RUN_DIFF_MAX_CHARS);
    changes.push({
      file,
      status: original === null ? 'created' : 'modified',
      original: original === null ? null : inWorkspace(root, runDir, original),
      result: result === null ? null : inWorkspace(root, runDir, result),
      changedSince: changed.has(file),
      diff: `--- ${original === null ? '/dev/null' : `a/${file}`}\n+++ ${result === null ? '/dev/null' : `b/${file}`}\n${hunks(before, after)}\n`,
    });
  }
  return changes;
}

export function checkpointsOf(record: RunRecord): Checkpoint[] {
  return record.checkpoints.map((checkpoint) => ({ iteration: checkpoint.iteration, files: Object.keys(checkpoint.files), kept: checkpoint.kept }));
}

/** The latest attempt the run kept (a faked pass it took back does not count); 0 when none was. */
export function lastKept(record: RunRecord): number {
  return record.checkpoints.filter((checkpoint) => checkpoint.kept).reduce((last, checkpoint) => Math.max(last, checkpoint.iteration), 0);
}

/**
 * Puts every file the run wrote back as `iteration` left it (0: the originals): the kept attempts before it
 * in order, then that attempt itself, even one the run took back. Refused with ChangedSinceError, before
 * anything is written, when a file is no longer what the run left, unless `force`. Returns the files written.
 */
export function restoreTo(root: string, runDir: string, record: RunRecord, iteration: number, force: boolean): string[] {
  const wanted = stateAt(record, iteration);
  if (!force) {
    const changed = changedSince(root, record);
    if (changed.length) throw new ChangedSinceError(changed);
  }
  // Every file is checked and every copy read before the first write: a restore is all or nothing.
  const plan = Object.entries(wanted).map(([rel, copy]) => {
    const bytes = copy === null ? null : fs.readFileSync(path.join(runDir, copy));
    return { rel, copy, abs: restorable(root, rel), bytes, hash: sha256(bytes) };
  });
  const written: string[] = [];
  for (const { rel, copy, abs, bytes, hash } of plan) {
    if (hash !== sha256(readOrNull(abs))) {
      if (bytes === null) fs.rmSync(abs, { force: true });
      else {
        fs.mkdirSync(path.dirname(abs), { recursive: true });
        writeAtomic(abs, bytes);
      }
      written.push(rel);
    }
    record.current[rel] = { copy, sha256: hash };
  }
  record.restoredTo = iteration;
  saveRecord(runDir, record);
  return written;
}

/**
 * Where a restore writes (or removes) `rel`: through the one containment check, and never a link. A restore
 * puts back what the run wrote; a link there now is someone else's (a link stays a link), so it is refused.
 */
function restorable(root: string, rel: string): string {
  if (lstatOrUndefined(path.join(root, rel))?.isSymbolicLink())
    throw new PathError(`${rel} is a link now; micro-agent restores only the files the run wrote (remove the link, or leave the run as it is)`);
  return resolveInWorkspace(root, rel, { mayBeMissing: true, write: true }).abs;
}

/** Each file's kept copy as of `iteration`; throws when the run has no such checkpoint. */
function stateAt(record: RunRecord, iteration: number): Record<string, string | null> {
  const state: Record<string, string | null> = { ...record.originals };
  if (iteration === 0) return state;
  const checkpoint = record.checkpoints.find((candidate) => candidate.iteration === iteration);
  if (!checkpoint) {
    const known = record.checkpoints.map((candidate) => candidate.iteration).join(', ') || 'none';
    throw new RangeError(`run ${record.runId} wrote nothing at iteration ${iteration} (its checkpoints: ${known})`);
  }
  for (const earlier of record.checkpoints) {
    if (earlier.iteration < iteration && earlier.kept) Object.assign(state, earlier.files);
  }
  return Object.assign(state, checkpoint.files);
}

/** A file's bytes, or null when it does not exist. */
export function readOrNull(abs: string): Buffer | null {
  try {
    return fs.readFileSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function inWorkspace(root: string, runDir: string, rel: string): string {
  return toPosix(path.relative(root, path.join(runDir, rel)));
}
