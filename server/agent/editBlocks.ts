/**
 * Reading a reply's edits. The format models are asked for is Aider's search/replace block: a path line, then
 *
 *     <<<<<<< SEARCH
 *     lines from the current file
 *     =======
 *     the lines that replace them
 *     >>>>>>> REPLACE
 *
 * usually inside a fence. Being forgiving on input is not a reason to ask for more formats, so the prompt asks for
 * that one, and the reader also takes what models send instead: markers indented by a markdown list or quote, the
 * path in the fence's info string or after a `File:` label (replyPaths.ts), unified diffs (unifiedDiff.ts), and
 * whole files named by a path. Pure: no I/O; every text is LF text. Which file a path means, and placing each edit,
 * are the caller's (replyEdits.ts, applyEdits.ts); this module only refuses paths that are absolute or climb out.
 */
import type { RejectReason } from '../protocol/events';
import { looksLikeFileName, pathInInfo, pathInProse, stripPath, unsafePath } from './replyPaths';
import { looksLikeDiff, parseUnifiedDiff } from './unifiedDiff';

export interface EditBlock {
  /** As the reply names it: relative, `/`-separated, without `./`, no `..` segment; null when it names none. */
  path: string | null;
  /** Whole lines, each ending in \n; empty to create the file. */
  search: string;
  /** Whole lines, each ending in \n; empty to delete the searched lines. */
  replace: string;
  /** 1-based position among the reply's edits, for messages. */
  index: number;
  /** A search/replace block, or a unified diff's hunk. */
  kind: 'block' | 'hunk';
}

export interface WholeFile {
  path: string;
  /** The file's new contents, ending in \n (empty when the block was). */
  code: string;
}

export type FinishReason = 'stop' | 'length' | 'other' | null;

/**
 * `blocks`: the reply uses an edit format: SEARCH/REPLACE blocks, diff hunks, or fenced blocks named by a path (whole
 * files). `none`: neither; the reply may still be a whole file in one unnamed block (extractCode in prompt.ts).
 */
export type ParsedReply =
  | { kind: 'blocks'; blocks: EditBlock[]; wholeFiles: WholeFile[] }
  | { kind: 'none' }
  | { kind: 'error'; reason: Extract<RejectReason, 'truncated' | 'malformed' | 'edit_conflict'>; message: string };

/** A marker line's text: without a markdown list's indentation or a quote's `>`, and trailing space. */
const SEARCH = /^([ \t]*(?:>[ \t]?)*[ \t]*)<{5,9} SEARCH>?\s*$/;
const DIVIDER = /^[ \t>]*={5,9}\s*$/;
const REPLACE = /^[ \t>]*>{5,9} REPLACE\s*$/;
/** A fence opening, possibly inside a list item or a quote: its prefix, marker and info string. */
const OPENING = /^([ \t]*(?:>[ \t]?)*)(`{3,}|~{3,})([^\n`]*)$/;
/** Info strings that say a fence holds a diff. */
const DIFF_LANGUAGES = new Set(['diff', 'patch', 'udiff']);

interface Fence {
  prefix: string;
  closing: RegExp;
  start: number;
  /** The path the fence is named by: its info string, else a path line before it (what a whole file needs). */
  name: string | null;
  /** The same, or a file named in a prose line before it (`In \`src/a.js\`:`): enough for blocks, whose SEARCH must match. */
  looseName: string | null;
  diff: boolean;
  hadBlocks: boolean;
}

/**
 * Reads a reply's edits. A block's path is the last non-blank line before `<<<<<<< SEARCH`, or the fence's info
 * string, or the line before the fence; a block with no path of its own (several in one fence) keeps the one
 * before; none at all is null, for the caller to resolve. A block never terminated is `truncated` when the token
 * limit cut the reply, `malformed` otherwise: nothing of the reply is applied either way.
 */
export function parseEditBlocks(reply: string, finishReason: FinishReason): ParsedReply {
  const lines = reply.split(/\r?\n/);
  const blocks: EditBlock[] = [];
  const wholeFiles: WholeFile[] = [];
  let lastPath: string | null = null;
  let fence: Fence | null = null;
  let fences = 0;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const search = SEARCH.exec(line);
    if (search) {
      const index = blocks.length + 1;
      const path: string | null = pathBefore(lines, i, fence) ?? lastPath;
      const unsafe = path === null ? null : unsafePath(path);
      if (unsafe) return malformed(`block ${index} names ${JSON.stringify(path)}: ${unsafe}`);
      const body = readBody(lines, i + 1, search[1]);
      const what = `block ${index}${path === null ? '' : ` (${path})`}`;
      if (!body.ok) {
        if (body.end && finishReason === 'length')
          return { kind: 'error', reason: 'truncated', message: `${what} was cut off by the token limit before >>>>>>> REPLACE; send fewer or smaller blocks` };
        return malformed(`${what} ${body.problem}; every block is <<<<<<< SEARCH, the lines, =======, the new lines, >>>>>>> REPLACE`);
      }
      blocks.push({ path, search: joinLines(body.search), replace: joinLines(body.replace), index, kind: 'block' });
      lastPath = path;
      if (fence) fence.hadBlocks = true;
      i = body.next - 1;
      continue;
    }
    if (REPLACE.test(line)) return malformed(`a >>>>>>> REPLACE line (line ${i + 1} of the reply) has no <<<<<<< SEARCH before it`);
    if (fence) {
      if (fence.closing.test(line)) {
        const done = closeFence(fence, lines.slice(fence.start + 1, i), blocks, wholeFiles);
        if (done) return done;
        fence = null;
      }
      continue;
    }
    const opening = OPENING.exec(line);
    if (opening) {
      fences++;
      fence = openFence(lines, i, opening);
    }
  }

  if (fence && !fence.hadBlocks && (fence.name !== null || fence.diff)) {
    const what = fence.diff ? 'the diff' : `the block for ${fence.name}`;
    if (finishReason === 'length') return { kind: 'error', reason: 'truncated', message: `${what} was cut off by the token limit; send it again` };
    return malformed(`${what} was never closed; close it with ${'`'.repeat(3)}`);
  }
  if (fence && finishReason === 'length' && blocks.length + wholeFiles.length > 0)
    return { kind: 'error', reason: 'truncated', message: 'the reply was cut off by the token limit inside a fence; more blocks may have been coming' };
  // A diff with no fence at all: `---`/`+++` and `@@` lines in the reply itself.
  if (blocks.length === 0 && wholeFiles.length === 0 && fences === 0 && looksLikeDiff(lines)) {
    const done = addDiff(lines, false, null, blocks);
    if (done) return done;
  }
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
  const both = blocks.find((block) => block.path !== null && whole.has(block.path));
  if (both)
    return conflict(
      `${both.kind} ${both.index} (${both.path}) edits a file the same reply also sends whole; ` +
        'send either the whole file or SEARCH/REPLACE blocks for it, not both',
    );
  return { kind: 'blocks', blocks, wholeFiles };
}

function openFence(lines: readonly string[], at: number, opening: RegExpExecArray): Fence {
  const [, prefix, marker, info] = opening;
  const quote = prefix.includes('>') ? '(?:[ \\t]*>)*' : '';
  const closing = new RegExp(`^${quote}[ \\t]*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
  const language = info
    .trim()
    .split(/[\s:{]/)[0]
    .toLowerCase();
  let j = at - 1;
  while (j >= 0 && lines[j].trim() === '') j--;
  const name = pathInInfo(info) ?? (j >= 0 ? pathLine(lines[j]) : null);
  const looseName = name ?? (j >= 0 ? pathInProse(lines[j]) : null);
  return { prefix, closing, start: at, name, looseName, diff: DIFF_LANGUAGES.has(language), hadBlocks: false };
}

/** A closed fence without blocks: a diff's hunks, or a whole file when a path names it. */
function closeFence(fence: Fence, raw: readonly string[], blocks: EditBlock[], wholeFiles: WholeFile[]): ParsedReply | null {
  if (fence.hadBlocks) return null;
  const body = raw.map((line) => stripPrefix(line, fence.prefix));
  if (fence.diff || looksLikeDiff(body)) return addDiff(body, true, fence.looseName, blocks);
  if (fence.name !== null) wholeFiles.push({ path: fence.name, code: joinLines(body) });
  return null;
}

/** A diff's hunks as edits, each named by its file's header, else `fallback`. */
function addDiff(lines: readonly string[], fenced: boolean, fallback: string | null, blocks: EditBlock[]): ParsedReply | null {
  for (const file of parseUnifiedDiff(lines, fenced)) {
    const path = file.path ?? fallback;
    const unsafe = path === null ? null : unsafePath(path);
    if (unsafe) return malformed(`the diff names ${JSON.stringify(path)}: ${unsafe}`);
    if (file.deletes) return malformed(`the diff deletes ${path ?? 'a file'}; micro-agent does not delete files: change their code instead`);
    if (file.creates) {
      const code = file.hunks.flatMap((hunk) => hunk.replace);
      blocks.push({ path, search: '', replace: joinLines(code), index: blocks.length + 1, kind: 'hunk' });
      continue;
    }
    for (const hunk of file.hunks)
      blocks.push({ path, search: joinLines(hunk.search), replace: joinLines(hunk.replace), index: blocks.length + 1, kind: 'hunk' });
  }
  return null;
}

function malformed(message: string): ParsedReply {
  return { kind: 'error', reason: 'malformed', message };
}

function conflict(message: string): ParsedReply {
  return { kind: 'error', reason: 'edit_conflict', message };
}

type Body =
  { ok: true; search: string[]; replace: string[]; next: number } | { ok: false; problem: string; /** The reply ended inside the block. */ end: boolean };

/** A block's two sections, from the line after `<<<<<<< SEARCH`, without the marker line's `prefix` (a list's indentation, a quote's `>`). */
function readBody(lines: readonly string[], from: number, prefix: string): Body {
  let divider = -1;
  for (let j = from; j < lines.length; j++) {
    const line = lines[j];
    if (divider === -1) {
      if (DIVIDER.test(line)) divider = j;
      else if (SEARCH.test(line) || REPLACE.test(line)) return { ok: false, problem: 'has no ======= line between SEARCH and REPLACE', end: false };
    } else if (REPLACE.test(line)) {
      const strip = (section: readonly string[]) => section.map((text) => stripPrefix(text, prefix));
      return { ok: true, search: strip(lines.slice(from, divider)), replace: strip(lines.slice(divider + 1, j)), next: j + 1 };
    } else if (SEARCH.test(line) || DIVIDER.test(line)) {
      return { ok: false, problem: 'has no >>>>>>> REPLACE line', end: false };
    }
  }
  return { ok: false, problem: divider === -1 ? 'ends before its ======= line' : 'ends before its >>>>>>> REPLACE line', end: true };
}

/**
 * A line without the container prefix its block was written in: a quote's `>` markers, then up to the prefix's
 * indentation (a list item's), never more, so code indented within the block keeps its own indentation.
 */
function stripPrefix(line: string, prefix: string): string {
  if (prefix === '') return line;
  if (line.startsWith(prefix)) return line.slice(prefix.length);
  let rest = line;
  for (let quotes = prefix.split('>').length - 1; quotes > 0; quotes--) rest = rest.replace(/^[ \t]*>/, '');
  const indent = prefix.slice(prefix.lastIndexOf('>') + 1).length;
  const ws = /^[ \t]*/.exec(rest)![0].length;
  return rest.slice(Math.min(ws, indent));
}

function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * The path a block names: the last non-blank line before it, or, when that is its fence's opening, the fence's
 * name (its info string, or the line before it); null when that is no path.
 */
function pathBefore(lines: readonly string[], at: number, fence: Fence | null): string | null {
  let j = at - 1;
  while (j >= 0 && lines[j].trim() === '') j--;
  if (j < 0) return null;
  if (fence && j === fence.start) return fence.looseName;
  if (OPENING.test(lines[j])) {
    const info = pathInInfo(OPENING.exec(lines[j])![3]);
    if (info !== null) return info;
    j--;
    while (j >= 0 && lines[j].trim() === '') j--;
  }
  return j < 0 ? null : namedBy(lines[j]);
}

/** The path a line before a block names: a path line, or a file named in a short prose line. */
function namedBy(line: string): string | null {
  return pathLine(line) ?? pathInProse(line);
}

/** The path a path line names, or null: prose like `Then:` names none, `Makefile` alone does. */
function pathLine(line: string): string | null {
  const path = stripPath(line);
  return path !== null && (looksLikeFileName(path) || /^[A-Za-z0-9_-]*file$/i.test(path)) ? path : null;
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
