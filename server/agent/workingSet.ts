/**
 * The files one run may change, and everything needed to take the changes back. Each file's original bytes
 * are copied under the run's folder before its first write (the target's before anything else), files the
 * model creates are remembered so that a restore removes them, and every write is atomic and keeps the file's
 * BOM, dominant line ending and mode. The model only ever sees and sends LF text without a BOM. The run's
 * record (`runRecord.ts`) is rewritten with every change, for diff, undo, restore and resume.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRelativePath, lstatOrUndefined, MAX_FILE_BYTES, PathError, resolveInWorkspace, toPosix, writeAtomic } from '../foundation/workspace';
import { readOrNull, RunRecord, saveRecord, sha256 } from './runRecord';
import { shapeOf, TextShape, toFileText, toModelText } from './textFile';

/** Test files by the common conventions; the runner's own report adds the ones it names. */
const TEST_FILE = /(^|\/)(__tests__|tests?|spec)\/|\.(test|spec)\.[^/]+$|_test\.(go|py)$|(^|\/)test_[^/]+\.py$|(^|\/)conftest\.py$/;

export function looksLikeTestFile(rel: string): boolean {
  return TEST_FILE.test(rel);
}

interface Tracked {
  abs: string;
  shape: TextShape;
  /** The bytes before the run; null for a file the run created. */
  original: Buffer | null;
  /** What the model sees now (LF, no BOM); null while the file does not exist. */
  current: string | null;
}

export interface WrittenFile {
  file: string;
  before: string;
  after: string;
  bytes: number;
  attemptPath: string;
}

/** A resumed run starts from the files as an earlier run left them, with that run's originals. */
export interface ResumeFrom {
  /** Each file the earlier run wrote, as it was before that run (null: it did not exist). */
  originals: Map<string, Buffer | null>;
  /** The earlier run's iteration count: the files as they are now become this run's checkpoint at it. */
  iteration: number;
}

export type WriteResult = { ok: true; files: WrittenFile[] } | { ok: false; reason: 'too_large' | 'forbidden_path'; message: string };

export class WorkingSet {
  private readonly files = new Map<string, Tracked>();
  /** What each file held before the latest write, to take back a faked pass. */
  private lastWrite = new Map<string, { text: string | null; state: RunRecord['current'][string] }>();
  /** Folders the run's new files needed and that did not exist before: removed again, when empty, by `restoreAll`. */
  private readonly createdFolders = new Set<string>();
  private readonly record: RunRecord;
  readonly target: string;
  readonly originalPath: string;

  constructor(
    private readonly root: string,
    private readonly runDir: string,
    target: { abs: string; rel: string },
    /** Files the model was shown and may change besides the target (never test files). */
    private readonly editable: ReadonlySet<string>,
    /** Test files the model may never change: `-f`, the runner's report, and the naming conventions. */
    private readonly testFiles: () => ReadonlySet<string>,
    runId: string,
    resume?: ResumeFrom,
  ) {
    this.target = target.rel;
    fs.mkdirSync(runDir, { recursive: true });
    this.originalPath = path.join(runDir, `original${path.extname(target.abs)}`);
    this.record = { version: 1, runId, target: target.rel, originals: {}, checkpoints: [], current: {}, restoredTo: null };
    const originals = resume?.originals ?? new Map([[target.rel, readOrNull(target.abs)]]);
    for (const [rel, original] of originals) {
      const abs = path.resolve(root, rel);
      const tracked = this.track(rel, abs, original, readOrNull(abs));
      this.keepOriginal(rel, tracked);
    }
    if (!this.files.has(target.rel)) this.keepOriginal(target.rel, this.track(target.rel, target.abs, readOrNull(target.abs)));
    const resumed = [...this.files.entries()].filter(([, tracked]) => tracked.current !== toModelTextOf(tracked.original));
    if (resume && resumed.length)
      this.checkpoint(
        resume.iteration,
        resumed.map(([rel, tracked]) => ({ rel, tracked, contents: readOrNull(tracked.abs)! })),
      );
    saveRecord(runDir, this.record);
  }

  /** The files the run may change, the target first. */
  editableFiles(): string[] {
    return [this.target, ...[...this.editable].filter((file) => file !== this.target)];
  }

  /** The model's view of a file (LF, no BOM), or null when it does not exist (or may not be read). */
  read(rel: string): string | null {
    const tracked = this.files.get(rel);
    if (tracked) return tracked.current;
    const landing = this.landing(rel);
    if (!landing.ok || !fs.existsSync(landing.abs)) return null;
    return this.track(rel, landing.abs, fs.readFileSync(landing.abs)).current;
  }

  /** Why the model may not write `rel`, or undefined when it may. */
  forbidden(rel: string): string | undefined {
    const landing = this.landing(rel);
    return landing.ok ? undefined : landing.why;
  }

  /**
   * Where a write of `rel` lands, or why it may not: the one containment check decides from where the bytes
   * would really go (links followed, a new file's real parent folder resolved), not from the path as written.
   */
  private landing(rel: string): { ok: true; abs: string } | { ok: false; why: string } {
    const tracked = this.files.get(rel);
    if (rel === this.target && tracked) return { ok: true, abs: tracked.abs };
    if (!isRelativePath(rel))
      return { ok: false, why: `${JSON.stringify(rel.slice(0, 200))} is not a plain workspace-relative path (no "..", ".", empty or absolute parts)` };
    let landing: { abs: string; rel: string };
    try {
      landing = resolveInWorkspace(this.root, rel, { mayBeMissing: true, write: true });
    } catch (err) {
      if (err instanceof PathError) return { ok: false, why: err.message };
      throw err;
    }
    if (this.testFiles().has(rel) || looksLikeTestFile(rel) || looksLikeTestFile(landing.rel))
      return { ok: false, why: `${rel} is a test file: fix the code under test, never the tests` };
    if (fs.existsSync(landing.abs)) {
      if (landing.rel !== rel) return { ok: false, why: `${rel} is a link to another file` };
      if (!this.editable.has(rel) && !this.files.has(rel))
        return { ok: false, why: `${rel} was not shown to you, so it may not be changed: change the files shown` };
    }
    return { ok: true, abs: tracked?.abs ?? landing.abs };
  }

  /**
   * Writes the model's new texts, all or none: every file is checked (size, path) before the first write.
   * Originals are copied before a file's first write; each attempt is kept under `attempt-<n>/`.
   */
  write(edits: ReadonlyArray<{ path: string; after: string }>, iteration: number): WriteResult {
    const planned: { rel: string; abs: string; before: string; after: string; contents: string; shape: TextShape }[] = [];
    for (const edit of edits) {
      const landing = this.landing(edit.path);
      if (!landing.ok) return { ok: false, reason: 'forbidden_path', message: landing.why };
      const { abs } = landing;
      const before = this.read(edit.path);
      const shape = this.files.get(edit.path)?.shape ?? shapeOf('');
      const contents = toFileText(edit.after, shape);
      const bytes = Buffer.byteLength(contents);
      if (bytes > MAX_FILE_BYTES) {
        const message = `the new ${edit.path} would be ${Math.ceil(bytes / 1024)} KB; micro-agent writes files up to ${MAX_FILE_BYTES / 1024} KB`;
        return { ok: false, reason: 'too_large', message };
      }
      planned.push({ rel: edit.path, abs, before: before ?? '', after: edit.after, contents, shape });
    }
    this.lastWrite = new Map();
    const written: WrittenFile[] = [];
    const kept: { rel: string; tracked: Tracked; contents: Buffer }[] = [];
    for (const file of planned) {
      const tracked = this.files.get(file.rel) ?? this.track(file.rel, file.abs, null);
      this.lastWrite.set(file.rel, { text: tracked.current, state: this.record.current[file.rel] ?? { copy: null, sha256: null } });
      this.keepOriginal(file.rel, tracked);
      kept.push({ rel: file.rel, tracked, contents: Buffer.from(file.contents) });
    }
    const attempts = this.checkpoint(iteration, kept);
    for (const file of planned) {
      this.makeFolders(path.dirname(file.abs));
      writeAtomic(file.abs, file.contents);
      this.files.get(file.rel)!.current = file.after;
      written.push({
        file: file.rel,
        before: file.before,
        after: file.after,
        bytes: Buffer.byteLength(file.contents),
        attemptPath: toPosix(path.relative(this.root, path.join(this.runDir, attempts.get(file.rel)!))),
      });
    }
    return { ok: true, files: written };
  }

  /** Takes the latest write back (a faked pass): each file as it was just before it. */
  revertLastWrite(): void {
    for (const [rel, before] of this.lastWrite) {
      this.put(rel, before.text === null ? null : Buffer.from(toFileText(before.text, this.files.get(rel)!.shape)));
      this.record.current[rel] = before.state;
    }
    const last = this.record.checkpoints.at(-1);
    if (last) last.kept = false;
    saveRecord(this.runDir, this.record);
    this.lastWrite = new Map();
  }

  /** The files the run has written, the target first when it is one of them. */
  touched(): string[] {
    return [...this.files.entries()].filter(([, tracked]) => tracked.current !== toModelTextOf(tracked.original)).map(([rel]) => rel);
  }

  /** Puts every original back byte for byte and removes created files; the error says what could not be. */
  restoreAll(): string | undefined {
    const failed: string[] = [];
    for (const [rel, tracked] of this.files) {
      if (tracked.current === toModelTextOf(tracked.original)) continue;
      try {
        this.put(rel, tracked.original);
        this.record.current[rel] = { copy: this.record.originals[rel] ?? null, sha256: sha256(tracked.original) };
      } catch (err) {
        failed.push(`${rel} (${(err as Error).message})`);
      }
    }
    this.removeCreatedFolders();
    if (failed.length === 0) this.record.restoredTo = 0;
    saveRecord(this.runDir, this.record);
    if (failed.length === 0) return undefined;
    return `could not put back ${failed.join(', ')}; the originals are kept under ${toPosix(path.relative(this.root, this.runDir))}`;
  }

  private put(rel: string, bytes: Buffer | null): void {
    const tracked = this.files.get(rel)!;
    // Removing a file the run created: never a link someone put there since (a link stays a link).
    if (bytes === null) {
      if (!lstatOrUndefined(tracked.abs)?.isSymbolicLink()) fs.rmSync(tracked.abs, { force: true });
    } else writeAtomic(tracked.abs, bytes);
    tracked.current = bytes === null ? null : toModelText(bytes.toString('utf8'));
  }

  /** Creates the folders a new file needs, remembering which did not exist, so that putting things back removes them. */
  private makeFolders(dir: string): void {
    const missing: string[] = [];
    for (let up = dir; !lstatOrUndefined(up); up = path.dirname(up)) missing.push(up);
    fs.mkdirSync(dir, { recursive: true });
    for (const folder of missing) this.createdFolders.add(folder);
  }

  /** The folders this run created and left empty, deepest first; one that holds anything (the user's, since) stays. */
  private removeCreatedFolders(): void {
    const deepestFirst = [...this.createdFolders].sort((a, b) => b.length - a.length);
    for (const folder of deepestFirst) {
      try {
        fs.rmdirSync(folder);
        this.createdFolders.delete(folder);
      } catch {
        // not empty, or gone already: left as it is
      }
    }
  }

  /** Starts following a file: its bytes before the run and, when a resumed run found it changed, its bytes now. */
  private track(rel: string, abs: string, original: Buffer | null, now: Buffer | null = original): Tracked {
    const text = now?.toString('utf8');
    const tracked: Tracked = {
      abs,
      shape: shapeOf(text ?? original?.toString('utf8') ?? ''),
      original,
      current: text === undefined ? null : toModelText(text),
    };
    this.files.set(rel, tracked);
    return tracked;
  }

  /** Keeps a file's original before its first write (the target's at the start); a file the run creates has none. */
  private keepOriginal(rel: string, tracked: Tracked): void {
    if (Object.hasOwn(this.record.originals, rel)) return;
    let copy: string | null = null;
    if (tracked.original !== null) {
      copy = rel === this.target ? path.basename(this.originalPath) : toPosix(path.join('originals', rel));
      const abs = path.join(this.runDir, copy);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, tracked.original);
    }
    this.record.originals[rel] = copy;
    this.record.current[rel] ??= { copy, sha256: sha256(tracked.original) };
  }

  /** Keeps an attempt's files under the run's folder as checkpoint `iteration`; returns where each went. */
  private checkpoint(iteration: number, files: { rel: string; tracked: Tracked; contents: Buffer }[]): Map<string, string> {
    const where = new Map<string, string>();
    for (const { rel, tracked, contents } of files) {
      const copy = rel === this.target ? `attempt-${iteration}${path.extname(tracked.abs)}` : toPosix(path.join(`attempt-${iteration}`, rel));
      const abs = path.join(this.runDir, copy);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, contents);
      where.set(rel, copy);
      this.record.current[rel] = { copy, sha256: sha256(contents) };
    }
    this.record.checkpoints.push({ iteration, files: Object.fromEntries(where), kept: true });
    this.record.restoredTo = null;
    saveRecord(this.runDir, this.record);
    return where;
  }
}

function toModelTextOf(bytes: Buffer | null): string | null {
  return bytes === null ? null : toModelText(bytes.toString('utf8'));
}
