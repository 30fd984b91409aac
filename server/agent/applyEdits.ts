/**
 * Applies a reply's search/replace edits (blocks and diff hunks alike) to the files they name, in reply order, each
 * to the file as the edits before it left it: a later block may edit what an earlier one wrote. Each SEARCH section
 * is placed by the matching ladder (matchLadder.ts); any edit that cannot be placed, or would write an elision over
 * code, refuses the whole reply, and the message says which edit and what to change. Pure: `read` gives the files.
 */
import { MATCH_STEPS, type MatchStep, type RejectReason } from '../protocol/events';
import { elidedReplaceLine } from './elision';
import { Haystack, locate, type Located } from './matchLadder';

/** An edit whose path the caller resolved to a workspace file. */
export interface PlacedEdit {
  path: string;
  search: string;
  replace: string;
  /** How messages name it: `block 2 (src/a.js)`, `hunk 1 (src/a.js)`. */
  what: string;
}

export interface FileEdit {
  path: string;
  /** Null when the edits created the file. */
  before: string | null;
  after: string;
  /** The loosest ladder step the file's edits needed (`exact` for a file they created). */
  match: MatchStep;
}

export type ApplyResult =
  { ok: true; files: FileEdit[] } | { ok: false; reason: Extract<RejectReason, 'edit_mismatch' | 'edit_conflict' | 'elided'>; message: string };

type Failure = Extract<ApplyResult, { ok: false }>;

/** Lines of the closest-match excerpt in a mismatch message. */
const EXCERPT_LINES = 20;
/** The closest-lines search's bounds: votes cast in all, and places one repeated SEARCH line votes from. */
const CLOSEST_WORK_LIMIT = 1_000_000;
const OFFSETS_PER_LINE = 8;

/** What each step tolerated, for an ambiguity message. */
const STEP_WORDS: Record<MatchStep, string> = {
  exact: 'exactly',
  whitespace: 'ignoring trailing whitespace',
  indent: 'ignoring an indentation offset',
  tabs: 'ignoring tabs against spaces',
  blank_lines: 'ignoring blank lines',
  elision: 'with its `...` lines',
};

interface FileState {
  before: string | null;
  /** The lines as the edits so far left them (no line breaks); null while the file does not exist. */
  lines: string[] | null;
  /** Whether the text ends with a line break (a file without one keeps it that way). */
  newline: boolean;
  /** The lines before each edit applied to this file, with the edit, to say which one broke a later SEARCH. */
  history: { what: string; lines: string[] }[];
  createdBy: string | null;
  match: MatchStep;
}

/**
 * Applies the edits; `read` gives a file's LF text, or null when it does not exist. An empty SEARCH creates a
 * missing (or empty) file. `files` lists each file the edits name, in order of first mention.
 */
export function applyEdits(edits: readonly PlacedEdit[], read: (path: string) => string | null): ApplyResult {
  const files = new Map<string, FileState>();
  for (const edit of edits) {
    let file = files.get(edit.path);
    if (!file) {
      const before = read(edit.path);
      file = {
        before,
        lines: before === null ? null : toLines(before),
        newline: before === null || before === '' || before.endsWith('\n'),
        history: [],
        createdBy: null,
        match: 'exact',
      };
      files.set(edit.path, file);
    }
    const failure = applyOne(file, edit);
    if (failure) return failure;
  }
  return {
    ok: true,
    files: Array.from(files, ([path, file]) => ({ path, before: file.before, after: fromLines(file.lines ?? [], file.newline), match: file.match })),
  };
}

function applyOne(file: FileState, edit: PlacedEdit): Failure | null {
  const search = toLines(edit.search);
  const replace = toLines(edit.replace);
  const elided = elidedReplaceLine(search, replace);
  if (elided !== null)
    return {
      ok: false,
      reason: 'elided',
      message:
        `${edit.what} would write ${JSON.stringify(elided.trim())} into ${edit.path} where its SEARCH section has code: that would delete the code. ` +
        'Write the REPLACE lines out in full (a `...` line is kept only when SEARCH has the same line at the same place).',
    };
  if (search.length === 0) {
    if (file.createdBy !== null)
      return { ok: false, reason: 'edit_conflict', message: `${edit.what} creates ${edit.path} again, after ${file.createdBy}; create a file with one block` };
    if (file.lines === null || file.lines.length === 0) {
      file.createdBy = edit.what;
      file.lines = replace;
      file.newline = true;
      return null;
    }
    return mismatch(`${edit.what} has an empty SEARCH section, but ${edit.path} exists and is not empty; quote the lines to replace`);
  }
  if (file.lines === null) return mismatch(`${edit.what}: no such file ${edit.path}`);
  const found = locate(new Haystack(file.lines), search, replace);
  if (found.kind === 'placed') {
    file.history.push({ what: edit.what, lines: file.lines });
    file.lines = splice(file.lines, found);
    if (MATCH_STEPS.indexOf(found.step) > MATCH_STEPS.indexOf(file.match)) file.match = found.step;
    return null;
  }
  if (found.kind === 'refused') return mismatch(`${edit.what} ${found.problem}`);
  if (found.kind === 'ambiguous') {
    const lines = found.places.map((start) => start + 1).join(', ');
    const what = found.piece === undefined ? 'the SEARCH section' : `piece ${found.piece} of the SEARCH section (between its \`...\` lines)`;
    const how = found.step === 'exact' ? '' : `, ${STEP_WORDS[found.step]}`;
    return mismatch(
      `${edit.what}: ${what} matches ${found.places.length}${found.more ? '+' : ''} times (lines ${lines}${found.more ? ', …' : ''}${how}); ` +
        'include more lines around the change so it matches once',
    );
  }
  return nowhere(file, edit, search);
}

function mismatch(message: string): Failure {
  return { ok: false, reason: 'edit_mismatch', message };
}

/** The lines with the placed stretches replaced (the stretches are in order and apart). */
function splice(lines: readonly string[], placed: Extract<Located, { kind: 'placed' }>): string[] {
  const out: string[] = [];
  let at = 0;
  for (const stretch of placed.splices) {
    for (let k = at; k < stretch.start; k++) out.push(lines[k]);
    for (const line of stretch.lines) out.push(line);
    at = stretch.end;
  }
  for (let k = at; k < lines.length; k++) out.push(lines[k]);
  return out;
}

/** Why a SEARCH section matched nowhere: an earlier edit changed those lines, or the closest lines it could mean. */
function nowhere(file: FileState, edit: PlacedEdit, search: readonly string[]): Failure {
  // The latest state it still matched in names the edit that broke it.
  for (let k = file.history.length - 1; k >= 0; k--) {
    if (locate(new Haystack(file.history[k].lines), search, []).kind === 'nowhere') continue;
    const breaker = file.history[k].what;
    return {
      ok: false,
      reason: 'edit_conflict',
      message:
        `${edit.what}: its SEARCH section matched ${edit.path} before ${breaker} changed those lines; ` +
        `quote them as ${breaker} left them, or merge the two`,
    };
  }
  const lines = file.lines ?? [];
  const head = `${edit.what}: the SEARCH section matches nowhere in ${edit.path}`;
  const close = closestWindow(lines, search);
  if (close === null) return mismatch(`${head}; none of its lines is in the file. Quote the file's current lines exactly.`);
  const shown = lines.slice(close.start, Math.min(close.start + search.length, close.start + EXCERPT_LINES));
  const width = String(close.start + shown.length).length;
  const excerpt = shown.map((line, k) => `${String(close.start + k + 1).padStart(width)}| ${line}`).join('\n');
  const cut = search.length > shown.length ? '\n…' : '';
  const after = file.history.length > 0 ? `, numbered as ${file.history.at(-1)!.what} left the file` : '';
  return mismatch(
    `${head}. The closest lines (${close.equal} of ${search.length} lines equal, ignoring indentation${after}):\n${excerpt}${cut}\n` +
      "Quote the file's lines exactly, with their indentation.",
  );
}

function toLines(text: string): string[] {
  return text === '' ? [] : text.slice(0, text.endsWith('\n') ? -1 : undefined).split('\n');
}

function fromLines(lines: readonly string[], newline: boolean): string {
  return lines.length === 0 ? '' : lines.join('\n') + (newline ? '\n' : '');
}

/**
 * The window of the file (as many lines as SEARCH) with the most lines equal to SEARCH's, aligned and trimmed; null
 * when no line of SEARCH (other than blank ones) is in the file. Only windows holding one of SEARCH's lines are scored.
 */
function closestWindow(lines: readonly string[], search: readonly string[]): { start: number; equal: number } | null {
  const offsets = new Map<string, number[]>();
  search.forEach((line, k) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const list = offsets.get(trimmed);
    if (list) list.push(k);
    else offsets.set(trimmed, [k]);
  });
  const votes = new Map<number, number>();
  // Bounded like the ladder: a line SEARCH repeats votes from its first few places only, and the votes stop at a limit.
  let work = 0;
  for (let p = 0; p < lines.length && work < CLOSEST_WORK_LIMIT; p++) {
    const ks = offsets.get(lines[p].trim());
    if (!ks) continue;
    for (const k of ks.slice(0, OFFSETS_PER_LINE)) {
      work++;
      const start = Math.min(Math.max(0, p - k), Math.max(0, lines.length - search.length));
      votes.set(start, (votes.get(start) ?? 0) + 1);
    }
  }
  let best: { start: number; votes: number } | null = null;
  for (const [start, count] of votes) if (!best || count > best.votes || (count === best.votes && start < best.start)) best = { start, votes: count };
  if (!best) return null;
  let equal = 0;
  for (let k = 0; k < search.length; k++) if (best.start + k < lines.length && lines[best.start + k].trim() === search[k].trim()) equal++;
  return { start: best.start, equal };
}
