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
import { toPosix, writeAtomic } from '../workspace';
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

export function readRecord(runDir: string): RunRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, MANIFEST), 'utf8');
  } catch {
    return undefined;
  }
  const record = JSON.parse(text) as RunRecord;
  return record.version === 1 ? record : undefined;
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
  const written: string[] = [];
  for (const [rel, copy] of Object.entries(wanted)) {
    const abs = path.join(root, rel);
    const bytes = copy === null ? null : fs.readFileSync(path.join(runDir, copy));
    const hash = sha256(bytes);
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
