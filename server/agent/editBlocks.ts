/**
 * Search/replace edit blocks, in the format models already know (Aider's): a path line, then
 *
 *     <<<<<<< SEARCH
 *     exact lines from the current file
 *     =======
 *     the lines that replace them
 *     >>>>>>> REPLACE
 *
 * usually inside a fence. `parseEditBlocks` reads a reply into blocks (and whole files named by a path line),
 * `applyEditBlocks` applies them to file texts the caller passes in. Pure: no I/O; every text is LF text (the caller
 * turns CRLF files into LF and back, see textFile.ts). The workspace check of a path (symlinks, ignored folders) is
 * the caller's; this module only refuses paths that are absolute or climb out with `..`.
 */
import type { RejectReason } from '../protocol/events';

export interface EditBlock {
  /** Relative to the workspace root, `/`-separated, without a leading `./`; never absolute, never with a `..` segment. */
  path: string;
  /** Whole lines, each ending in \n; empty to create the file. */
  search: string;
  /** Whole lines, each ending in \n; empty to delete the searched lines. */
  replace: string;
  /** 1-based position among the reply's blocks, for messages. */
  index: number;
}

export interface WholeFile {
  path: string;
  /** The file's new contents, ending in \n (empty when the block was). */
  code: string;
}

export type FinishReason = 'stop' | 'length' | 'other' | null;

/**
 * `blocks`: the reply uses the edit format: at least one SEARCH/REPLACE block, or a fenced block named by a path
 * line just before it (a whole new file). `none`: neither; the reply may still be a whole file in one unnamed block
 * (extractCode in prompt.ts).
 */
export type ParsedReply =
  | { kind: 'blocks'; blocks: EditBlock[]; wholeFiles: WholeFile[] }
  | { kind: 'none' }
  | { kind: 'error'; reason: Extract<RejectReason, 'truncated' | 'malformed' | 'edit_conflict'>; message: string };

export interface FileEdit {
  path: string;
  /** Null when the blocks created the file. */
  before: string | null;
  after: string;
}

export type ApplyResult = { ok: true; files: FileEdit[] } | { ok: false; reason: Extract<RejectReason, 'edit_mismatch' | 'edit_conflict'>; message: string };

const SEARCH = /^<{5,9} SEARCH>?\s*$/;
const DIVIDER = /^={5,9}\s*$/;
const REPLACE = /^>{5,9} REPLACE\s*$/;
const OPENING = /^[ \t]{0,3}(`{3,}|~{3,})([^\n`]*)$/;
/** Lines of the closest-match excerpt in a mismatch message. */
const EXCERPT_LINES = 20;
/** Match positions listed in a "matches N times" message. */
const POSITIONS_LISTED = 10;

/**
 * Reads a reply's edit blocks. The path line is the last non-blank line before `<<<<<<< SEARCH`, or before the
 * fence the block opens; a block with no path line of its own (several pairs in one fence) keeps the one before.
 * A block never terminated is `truncated` when the token limit cut the reply, `malformed` otherwise.
 */
export function parseEditBlocks(reply: string, finishReason: FinishReason): ParsedReply {
  const lines = reply.split(/\r?\n/);
  const blocks: EditBlock[] = [];
  const wholeFiles: WholeFile[] = [];
  let lastPath: string | null = null;
  let fence: { closing: RegExp; start: number; name: string | null; hadBlocks: boolean } | null = null;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (SEARCH.test(line)) {
      const index = blocks.length + 1;
      const named = pathBefore(lines, i);
      const path: string | null = named ?? lastPath;
      if (path === null) return malformed(`block ${index} has no file path: write the file's path on the line before <<<<<<< SEARCH (or before its fence)`);
      const unsafe = unsafePath(path);
      if (unsafe) return malformed(`block ${index} names ${JSON.stringify(path)}: ${unsafe}`);
      const body = readBody(lines, i + 1);
      if (!body.ok) {
        const what = `block ${index} (${path})`;
        if (body.end && finishReason === 'length')
          return { kind: 'error', reason: 'truncated', message: `${what} was cut off by the token limit before >>>>>>> REPLACE; send fewer or smaller blocks` };
        return malformed(`${what} ${body.problem}; every block is <<<<<<< SEARCH, the lines, =======, the new lines, >>>>>>> REPLACE`);
      }
      blocks.push({ path, search: joinLines(body.search), replace: joinLines(body.replace), index });
      lastPath = path;
      if (fence) fence.hadBlocks = true;
      i = body.next - 1;
      continue;
    }
    if (REPLACE.test(line)) return malformed(`a >>>>>>> REPLACE line (line ${i + 1} of the reply) has no <<<<<<< SEARCH before it`);
    if (fence) {
      if (fence.closing.test(line)) {
        if (!fence.hadBlocks && fence.name !== null) wholeFiles.push({ path: fence.name, code: joinLines(lines.slice(fence.start + 1, i)) });
        fence = null;
      }
      continue;
    }
    const opening = OPENING.exec(line);
    if (opening) {
      const marker = opening[1];
      const closing = new RegExp(`^[ \\t]{0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
      const name = i > 0 ? stripPath(lines[i - 1]) : null;
      fence = { closing, start: i, name: name !== null && looksLikeFileName(name) ? name : null, hadBlocks: false };
    }
  }

  if (fence && !fence.hadBlocks && fence.name !== null) {
    if (finishReason === 'length')
      return { kind: 'error', reason: 'truncated', message: `the block for ${fence.name} was cut off by the token limit; send the file again` };
    return malformed(`the block for ${fence.name} was never closed; close it with ${'`'.repeat(3)}`);
  }
  if (fence && finishReason === 'length' && blocks.length + wholeFiles.length > 0)
    return { kind: 'error', reason: 'truncated', message: 'the reply was cut off by the token limit inside a fence; more blocks may have been coming' };
  if (blocks.length === 0 && wholeFiles.length === 0) return { kind: 'none' };

  for (const file of wholeFiles) {
    const unsafe = unsafePath(file.path);
    if (unsafe) return malformed(`a whole-file block names ${JSON.stringify(file.path)}: ${unsafe}`);
  }
  const whole = new Set<string>();
  for (const file of wholeFiles) {
    if (whole.has(file.path)) return conflict(`${file.path} was sent whole twice; send it once`);
    whole.add(file.path);
  }
  const both = blocks.find((block) => whole.has(block.path));
  if (both)
    return conflict(
      `block ${both.index} (${both.path}) edits a file the same reply also sends whole; send either the whole file or SEARCH/REPLACE blocks for it, not both`,
    );
  return { kind: 'blocks', blocks, wholeFiles };
}

function malformed(message: string): ParsedReply {
  return { kind: 'error', reason: 'malformed', message };
}

function conflict(message: string): ParsedReply {
  return { kind: 'error', reason: 'edit_conflict', message };
}

type Body =
  { ok: true; search: string[]; replace: string[]; next: number } | { ok: false; problem: string; /** The reply ended inside the block. */ end: boolean };

/** A block's two sections, from the line after `<<<<<<< SEARCH`; its lines are taken verbatim (fences included). */
function readBody(lines: readonly string[], from: number): Body {
  let divider = -1;
  for (let j = from; j < lines.length; j++) {
    const line = lines[j];
    if (divider === -1) {
      if (DIVIDER.test(line)) divider = j;
      else if (SEARCH.test(line) || REPLACE.test(line)) return { ok: false, problem: 'has no ======= line between SEARCH and REPLACE', end: false };
    } else if (REPLACE.test(line)) {
      return { ok: true, search: lines.slice(from, divider), replace: lines.slice(divider + 1, j), next: j + 1 };
    } else if (SEARCH.test(line) || DIVIDER.test(line)) {
      return { ok: false, problem: 'has no >>>>>>> REPLACE line', end: false };
    }
  }
  return { ok: false, problem: divider === -1 ? 'ends before its ======= line' : 'ends before its >>>>>>> REPLACE line', end: true };
}

function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The path a block names: the last non-blank line before it, looking past one fence opening; null when that is no path. */
function pathBefore(lines: readonly string[], at: number): string | null {
  let j = at - 1;
  while (j >= 0 && lines[j].trim() === '') j--;
  if (j >= 0 && OPENING.test(lines[j])) {
    j--;
    while (j >= 0 && lines[j].trim() === '') j--;
  }
  if (j < 0) return null;
  const path = stripPath(lines[j]);
  // `Then:` is prose; `Makefile` alone on its line is a path.
  if (path !== null && lines[j].trim().endsWith(':') && !looksLikeFileName(path)) return null;
  return path;
}

/**
 * A path line without its decoration (`# `, `**`, backticks, a trailing colon), backslashes as `/`, without a
 * leading `./`; null when the line cannot be a path (empty, has spaces, is a fence or a marker).
 */
function stripPath(line: string): string | null {
  let s = line.trim().replace(/^#+\s*/, '');
  for (let k = 0; k < 2; k++) s = s.replace(/:$/, '').replace(/^[*`'"]+|[*`'"]+$/g, '');
  s = s.replace(/\\_/g, '_');
  if (s === '' || /\s/.test(s) || /^(`{3,}|~{3,})/.test(s) || SEARCH.test(s) || DIVIDER.test(s) || REPLACE.test(s)) return null;
  if (!/^[A-Za-z]:[\\/]/.test(s)) s = s.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s === '' ? null : s;
}

/** Whether a line before a plain fence names a file (a folder or an extension), so prose like `Example:` does not. */
function looksLikeFileName(path: string): boolean {
  return path.includes('/') || /\.[A-Za-z0-9]+$/.test(path);
}

/** Why a parsed path cannot be a workspace file, or null. */
function unsafePath(path: string): string | null {
  if (/^([/\\~]|[A-Za-z]:)/.test(path)) return 'a path must be relative to the workspace root, not absolute';
  if (path.split('/').includes('..')) return 'a path must stay inside the workspace: no ".." segments';
  if (path.endsWith('/') || path === '.') return 'that is a folder, not a file';
  return null;
}

/**
 * Applies the blocks, each file's in reply order against its progressively edited text. `read` gives a file's LF
 * text, or null when it does not exist. A SEARCH section must match exactly once: exactly first, then ignoring
 * trailing whitespace per line; the lines it matched are replaced whole and every other byte is kept. An empty
 * SEARCH creates a missing file (or fills an empty one). Any block that fails fails the whole reply; `files`
 * lists each file the blocks name, in order of first mention (`after` may equal `before`).
 */
export function applyEditBlocks(blocks: readonly EditBlock[], read: (path: string) => string | null): ApplyResult {
  const files = new Map<string, { before: string | null; text: FileText | null; filledBy: number | null }>();
  for (const block of blocks) {
    let file = files.get(block.path);
    if (!file) {
      const before = read(block.path);
      file = { before, text: before === null ? null : FileText.of(before), filledBy: null };
      files.set(block.path, file);
    }
    const what = `block ${block.index} (${block.path})`;
    if (block.search === '') {
      if (file.filledBy !== null)
        return {
          ok: false,
          reason: 'edit_conflict',
          message: `${what} creates ${block.path} again, after block ${file.filledBy}; create a file with one block`,
        };
      if (file.text === null || file.text.isEmpty()) {
        file.filledBy = block.index;
        file.text = FileText.of(block.replace);
        continue;
      }
      return {
        ok: false,
        reason: 'edit_mismatch',
        message: `${what} has an empty SEARCH section, but ${block.path} exists and is not empty; quote the lines to replace`,
      };
    }
    if (file.text === null)
      return {
        ok: false,
        reason: 'edit_mismatch',
        message: `${what}: ${block.path} does not exist; to create it, leave the SEARCH section empty`,
      };
    const failure = file.text.apply(block, what);
    if (failure) return { ok: false, ...failure };
  }
  return {
    ok: true,
    files: Array.from(files, ([path, file]) => ({ path, before: file.before, after: file.text?.toString() ?? '' })),
  };
}

type Failure = { reason: 'edit_mismatch' | 'edit_conflict'; message: string };

/** A stretch of the current text a block wrote, [start, end), and the stretch of the original text it replaced. */
interface Written {
  start: number;
  end: number;
  origStart: number;
  origEnd: number;
  index: number;
}

/**
 * A file being edited, as one string (ending in \n while edited: a file without a final newline gets one, taken off
 * again at the end). It remembers what each block wrote, so overlapping blocks are caught and messages give the line
 * numbers the model saw. A successful edit costs a few native string scans and slices, never a split of the file.
 */
class FileText {
  /** Sorted by start; never overlapping (a block's deletion is an empty stretch). */
  private readonly written: Written[] = [];

  private constructor(
    private text: string,
    private readonly original: string,
    private readonly addedNewline: boolean,
  ) {}

  static of(text: string): FileText {
    const addedNewline = text !== '' && !text.endsWith('\n');
    const working = addedNewline ? `${text}\n` : text;
    return new FileText(working, working, addedNewline);
  }

  isEmpty(): boolean {
    return this.text === '';
  }

  toString(): string {
    return this.addedNewline && this.text.endsWith('\n') ? this.text.slice(0, -1) : this.text;
  }

  apply(block: EditBlock, what: string): Failure | null {
    const found = findMatches(this.text, block.search);
    if (found.length === 0) return this.nowhere(block, what);
    if (found.length > 1) {
      const listed = found.slice(0, POSITIONS_LISTED).map((match) => this.label(match.start));
      const more = found.length > listed.length ? ', …' : '';
      return {
        reason: 'edit_mismatch',
        message:
          `${what}: the SEARCH section matches ${found.length} times (lines ${listed.join(', ')}${more}); ` +
          'include more lines around the change so it matches once',
      };
    }
    const { start, end } = found[0];
    const clash = this.written.find((w) => start < w.end && w.start < end);
    if (clash) return overlap(what, clash.index);
    const delta = block.replace.length - (end - start);
    const origStart = this.toOriginal(start, 'start');
    const origEnd = this.toOriginal(end, 'end');
    for (const w of this.written) {
      if (w.start >= end) {
        w.start += delta;
        w.end += delta;
      }
    }
    this.written.push({ start, end: start + block.replace.length, origStart, origEnd, index: block.index });
    this.written.sort((a, b) => a.start - b.start || a.end - b.end);
    this.text = this.text.slice(0, start) + block.replace + this.text.slice(end);
    return null;
  }

  /**
   * Where an offset of the current text (outside what blocks wrote) was in the original. A deletion right at `at`
   * lies before it when `at` starts a stretch, after it when `at` ends one.
   */
  private toOriginal(at: number, side: 'start' | 'end'): number {
    let mapped = at;
    for (const w of this.written) if (w.end < at || (w.end === at && (side === 'start' || w.start < w.end))) mapped = at - w.end + w.origEnd;
    return mapped;
  }

  /** The 1-based line number the model saw for a line start of the current text, or where a block wrote it. */
  private label(at: number): string {
    const inside = this.written.find((w) => w.start <= at && at < w.end);
    if (inside) return `${lineNumber(this.text, at)} (written by block ${inside.index})`;
    return String(lineNumber(this.original, this.toOriginal(at, 'start')));
  }

  /** Why a SEARCH section matched nowhere: an earlier block already changed those lines, or the closest lines it could mean. */
  private nowhere(block: EditBlock, what: string): Failure {
    for (const match of this.written.length > 0 ? findMatches(this.original, block.search) : []) {
      const clash = this.written.find((w) => match.start < w.origEnd && w.origStart < match.end);
      if (clash) return overlap(what, clash.index);
    }
    const head = `${what}: the SEARCH section matches nowhere in ${block.path}`;
    const search = splitLines(block.search);
    const lines = splitLines(this.text);
    const close = closestWindow(lines, search);
    if (close === null) return { reason: 'edit_mismatch', message: `${head}; none of its lines is in the file. Quote the file's current lines exactly.` };
    const shown = lines.slice(close.start, Math.min(close.start + search.length, close.start + EXCERPT_LINES));
    let at = lineStart(this.text, close.start);
    const labels = shown.map((line) => {
      const label = this.label(at);
      at += line.length + 1;
      return label;
    });
    const width = Math.max(...labels.map((label) => label.length));
    const excerpt = shown.map((line, k) => `${labels[k].padStart(width)}| ${line}`).join('\n');
    const cut = search.length > shown.length ? '\n…' : '';
    const how = close.whitespaceOnly ? 'only the indentation differs' : `${close.equal} of ${search.length} lines equal, ignoring indentation`;
    return {
      reason: 'edit_mismatch',
      message: `${head}. The closest lines (${how}):\n${excerpt}${cut}\nQuote the file's lines exactly, with their indentation.`,
    };
  }
}

function overlap(what: string, other: number): Failure {
  return {
    reason: 'edit_conflict',
    message: `${what} overlaps block ${other}: its SEARCH section covers lines block ${other} already replaced; merge the two into one block`,
  };
}

function splitLines(text: string): string[] {
  return text === '' ? [] : text.slice(0, text.endsWith('\n') ? -1 : undefined).split('\n');
}

/** The 1-based line of an offset. */
function lineNumber(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The offset where 0-based line `line` starts. */
function lineStart(text: string, line: number): number {
  let at = 0;
  for (let k = 0; k < line && at !== -1; k++) at = text.indexOf('\n', at) + 1;
  return at;
}

/** Whether `line` is `trimmed` plus trailing whitespace (a \r included). */
function equalsTrimmedEnd(line: string, trimmed: string): boolean {
  if (line.length < trimmed.length || !line.startsWith(trimmed)) return false;
  for (let k = trimmed.length; k < line.length; k++) if (!/\s/.test(line[k])) return false;
  return true;
}

interface Match {
  start: number;
  end: number;
}

/**
 * Where `search` (whole lines, ending in \n) matches `text` (ending in \n), as offsets: the exact matches at line
 * starts if there are any, otherwise the matches ignoring trailing whitespace per line. Exact matches come from
 * indexOf; tolerant ones from the occurrences of one anchor line (the first non-blank SEARCH line), each checked
 * line by line, so the cost is a few native scans of the file plus a short check per candidate.
 */
function findMatches(text: string, search: string): Match[] {
  const exact: Match[] = [];
  for (let at = text.indexOf(search); at !== -1; at = text.indexOf(search, at + 1)) {
    if (at === 0 || text[at - 1] === '\n') exact.push({ start: at, end: at + search.length });
  }
  if (exact.length > 0) return exact;

  const wanted = splitLines(search).map((line) => line.trimEnd());
  const offset = Math.max(
    0,
    wanted.findIndex((line) => line !== ''),
  );
  const anchor = wanted[offset];
  const loose: Match[] = [];
  for (let at = text.indexOf(anchor); at !== -1; at = text.indexOf(anchor, at + 1)) {
    if (at !== 0 && text[at - 1] !== '\n') continue;
    // Back up `offset` lines to where the block would start.
    let start = at;
    for (let k = 0; k < offset && start !== -1; k++) start = start === 0 ? -1 : text.lastIndexOf('\n', start - 2) + 1;
    if (start === -1) continue;
    let cursor = start;
    let k = 0;
    for (; k < wanted.length; k++) {
      const lineEnd = text.indexOf('\n', cursor);
      if (lineEnd === -1 || !equalsTrimmedEnd(text.slice(cursor, lineEnd), wanted[k])) break;
      cursor = lineEnd + 1;
    }
    if (k === wanted.length) loose.push({ start, end: cursor });
    if (anchor === '') at = text.indexOf('\n', at);
    if (at === -1) break;
  }
  return loose;
}

/**
 * The window of the file (as many lines as SEARCH) with the most lines equal to SEARCH's, aligned and trimmed; null
 * when no line of SEARCH (other than blank ones) is in the file. Only windows holding one of SEARCH's lines are scored.
 */
function closestWindow(lines: readonly string[], search: readonly string[]): { start: number; equal: number; whitespaceOnly: boolean } | null {
  const offsets = new Map<string, number[]>();
  search.forEach((line, k) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const list = offsets.get(trimmed);
    if (list) list.push(k);
    else offsets.set(trimmed, [k]);
  });
  const votes = new Map<number, number>();
  for (let p = 0; p < lines.length; p++) {
    const ks = offsets.get(lines[p].trim());
    if (!ks) continue;
    for (const k of ks) {
      const start = Math.min(Math.max(0, p - k), Math.max(0, lines.length - search.length));
      votes.set(start, (votes.get(start) ?? 0) + 1);
    }
  }
  let best: { start: number; votes: number } | null = null;
  for (const [start, count] of votes) if (!best || count > best.votes || (count === best.votes && start < best.start)) best = { start, votes: count };
  if (!best) return null;
  let equal = 0;
  for (let k = 0; k < search.length; k++) if (best.start + k < lines.length && lines[best.start + k].trim() === search[k].trim()) equal++;
  const whitespaceOnly = equal === search.length && best.start + search.length <= lines.length;
  return { start: best.start, equal, whitespaceOnly };
}

/**
 * The system-prompt instructions for the edit format, with one example. A whole-file block is allowed for a new
 * file or a file under `wholeFileMaxBytes` bytes (the engine's threshold).
 */
export function describeEditFormat(wholeFileMaxBytes: number): string {
  const fence = '```';
  return [
    'Change files with SEARCH/REPLACE blocks. Each block is: the file path (relative to the workspace root) alone on a line,',
    `then a ${fence} fence, then <<<<<<< SEARCH, the exact current lines to change, =======, the lines that replace them,`,
    `>>>>>>> REPLACE, and the closing ${fence}.`,
    '- The SEARCH lines must match the file exactly (every character, indentation and comments included) and match in one place only:',
    '  include enough surrounding lines to make them unique, but keep blocks short.',
    '- Use several blocks for several changes, in file order; blocks must not overlap. Several blocks may follow one path in one fence.',
    '- To create a file, give its new path and leave the SEARCH section empty.',
    `- You may instead send a whole file: its path alone on a line, then the complete contents in one ${fence} block.`,
    `  Do that only for a file under ${wholeFileMaxBytes} bytes, and never together with SEARCH/REPLACE blocks for the same file.`,
    'Example:',
    '',
    'src/math.js',
    `${fence}js`,
    '<<<<<<< SEARCH',
    'function add(a, b) {',
    '  return a - b;',
    '}',
    '=======',
    'function add(a, b) {',
    '  return a + b;',
    '}',
    '>>>>>>> REPLACE',
    fence,
  ].join('\n');
}
