/**
 * What each runner's parser produces before paths are resolved: names, statuses and failures with their frames as
 * printed. `finish.ts` turns a draft into a `TestReport`. Also the line helpers the parsers share. Pure.
 */
import type { TestRunner, TestStatus, TestTotals } from '../protocol/testReport';

/** A `file:line[:col]` as printed. `goPackage`: the path is relative to that Go package's folder. */
export interface RawFrame {
  file: string;
  line: number;
  column?: number;
  fn?: string;
  goPackage?: string;
  /** The folder a relative `file` is relative to, when the runner says (pytest's rootdir); else the cwd. */
  base?: string;
}

export interface DraftFailure {
  name: string;
  /** The test file as printed, when the runner names it. */
  file?: string;
  message: string[];
  expected?: string;
  actual?: string;
  /** Innermost first. */
  frames: RawFrame[];
  /** Where the runner says the test is (its declaration, or the failing line): used when no frame is in a test file. */
  declared?: RawFrame;
}

export interface DraftCase {
  name: string;
  status: TestStatus;
  file?: RawFrame['file'];
  base?: string;
}

export interface Draft {
  runner: TestRunner;
  totals: TestTotals | null;
  tests: DraftCase[];
  failures: DraftFailure[];
  /** Test files as printed. */
  testFiles: { file: string; base?: string }[];
}

/** Lines longer than this are cut before any pattern sees them, which keeps every match linear in the input. */
export const MAX_LINE = 2000;

/**
 * The output's lines, one at a time, with a little lookahead: never the whole output split into an array, whose
 * hundreds of thousands of strings would outlive the young generation and cost more to collect than to parse.
 * A trailing `\r` is dropped; a line longer than `MAX_LINE` is cut to it.
 */
export class LineReader {
  private pos: number;
  private readonly ahead: string[] = [];

  constructor(
    private readonly text: string,
    start = 0,
  ) {
    this.pos = start;
  }

  /** Where the next line not yet read (nor peeked at) starts. */
  get offset(): number {
    return this.pos;
  }

  next(): string | undefined {
    return this.ahead.length ? this.ahead.shift() : this.read();
  }

  /** The line `offset` lines after the next one, without consuming anything. */
  peek(offset = 0): string | undefined {
    while (this.ahead.length <= offset) {
      const line = this.read();
      if (line === undefined) return undefined;
      this.ahead.push(line);
    }
    return this.ahead[offset];
  }

  private read(): string | undefined {
    const text = this.text;
    if (this.pos > text.length) return undefined;
    let end = text.indexOf('\n', this.pos);
    if (end < 0) end = text.length;
    const start = this.pos;
    this.pos = end + 1;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    return text.slice(start, Math.min(end, start + MAX_LINE));
  }
}

export function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

export const SEP = ' › ';

export function zeroTotals(): { passed: number; failed: number; skipped: number; todo: number } {
  return { passed: 0, failed: 0, skipped: 0, todo: 0 };
}

/** Counts the statuses of a list of tests. */
export function countTotals(tests: { status: TestStatus }[]): TestTotals {
  const totals = zeroTotals();
  for (const t of tests) totals[t.status]++;
  return totals;
}

/**
 * `path:line` or `path:line:col`, split from the right so no pattern backtracks. Accepts `file://` URLs and
 * Windows drive paths; refuses what is not a file path (`node:internal/…`, `<anonymous>`, plain words).
 */
export function parseLocation(text: string): RawFrame | undefined {
  let s = text.trim();
  const last = s.lastIndexOf(':');
  if (last <= 0) return undefined;
  const tail = s.slice(last + 1);
  if (!isDigits(tail)) return undefined;
  let line = Number(tail);
  let column: number | undefined;
  s = s.slice(0, last);
  const prev = s.lastIndexOf(':');
  if (prev > 0 && isDigits(s.slice(prev + 1))) {
    column = line;
    line = Number(s.slice(prev + 1));
    s = s.slice(0, prev);
  }
  if (s.startsWith('file://')) {
    s = s.slice('file://'.length);
    try {
      s = decodeURIComponent(s);
    } catch {
      // keep it as printed
    }
    if (/^\/[A-Za-z]:\//.test(s)) s = s.slice(1); // file:///C:/x
  }
  if (!s || s.startsWith('node:') || s.startsWith('internal/') || s.startsWith('<') || s.includes('(')) return undefined;
  // A path: a separator or a file extension in its last segment.
  const name = s.slice(Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1);
  if (!name.includes('.') && !s.includes('/') && !s.includes('\\')) return undefined;
  if (/\s/.test(name) && !s.includes('/')) return undefined;
  return column === undefined ? { file: s, line } : { file: s, line, column };
}

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 9) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * One stack frame as the JS runners print them: V8's `at fn (loc)` / `at loc`, node's TAP `fn (loc)`, vitest's
 * `❯ fn loc` and ava's `› loc`.
 */
export function parseStackLine(raw: string): RawFrame | undefined {
  let s = raw.trim();
  let bare = false;
  if (s.startsWith('at ')) s = s.slice(3);
  else if (s.startsWith('❯ ') || s.startsWith('› ')) {
    s = s.slice(2);
    bare = true;
  }
  if (s.startsWith('async ')) s = s.slice(6);
  if (s.endsWith(')')) {
    const open = s.lastIndexOf(' (');
    if (open < 0) {
      if (!s.startsWith('(')) return undefined;
      return parseLocation(s.slice(1, -1));
    }
    const loc = parseLocation(s.slice(open + 2, -1));
    if (loc) loc.fn = s.slice(0, open);
    return loc;
  }
  // `fn loc` (vitest) or just `loc`.
  const space = bare ? s.lastIndexOf(' ') : -1;
  const loc = parseLocation(space >= 0 ? s.slice(space + 1) : s);
  if (loc && space >= 0) loc.fn = s.slice(0, space);
  return loc;
}

/** True for a line that is a JS stack frame (`at …`, `❯ …`, `› …`). */
export function isStackLine(line: string): boolean {
  const s = line.trimStart();
  return (s.startsWith('at ') || s.startsWith('❯ ') || s.startsWith('› ')) && parseStackLine(s) !== undefined;
}

/** A code excerpt line: jest's `> 12 |`, vitest's `  12|`, ava's ` 12:`, and the caret lines under them. */
export function isCodeFrameLine(line: string): boolean {
  return /^\s*>?\s*\d+\s?\|/.test(line) || /^\s+\|\s*[\s^]*$/.test(line) || /^\s*\d+: /.test(line);
}

/**
 * A unified diff of two values, as printed under a `- Expected / + Received` header: `-` lines are one side,
 * `+` lines the other, lines starting with a space belong to both. `width`: the marker's width (`- x` is 2,
 * mocha's `-x` is 1). Stops at the first line that is none of these.
 */
export function splitDiff(lines: string[], minus: 'expected' | 'actual', width: 1 | 2): { expected: string; actual: string } | undefined {
  const a: string[] = [];
  const b: string[] = [];
  let any = false;
  for (const line of lines) {
    const mark = line[0];
    if (mark === '-' || mark === '+') {
      if (width === 2 && line.length > 1 && line[1] !== ' ') break;
      (mark === '-' ? a : b).push(line.slice(width));
      any = true;
    } else if (mark === ' ' || line === '') {
      a.push(line.slice(width));
      b.push(line.slice(width));
    } else break;
  }
  if (!any) return undefined;
  const minusText = trimBlank(a).join('\n');
  const plusText = trimBlank(b).join('\n');
  return minus === 'expected' ? { expected: minusText, actual: plusText } : { expected: plusText, actual: minusText };
}

/** Drops leading and trailing blank lines. */
export function trimBlank(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === '') start++;
  while (end > start && lines[end - 1].trim() === '') end--;
  return lines.slice(start, end);
}

/** Removes the indentation common to all non-blank lines, and trailing spaces. */
export function dedent(lines: string[]): string[] {
  let min = Infinity;
  for (const line of lines) if (line.trim()) min = Math.min(min, indentOf(line));
  if (min === Infinity) min = 0;
  return lines.map((line) => line.slice(Math.min(min, indentOf(line))).trimEnd());
}

/** `AssertionError [ERR_ASSERTION]: x` → `AssertionError: x`; `RangeError [Error]: x` → `RangeError: x`. */
export function tidyErrorLine(line: string): string {
  return line.replace(/^(\s*[\w$.]*(?:Error|Exception)) \[[\w$]+\]:/, '$1:');
}
