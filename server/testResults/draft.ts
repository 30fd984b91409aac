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
  /** A file-level entry, not a test (see `TestCase.entry`). */
  entry?: true;
}

export interface Draft {
  runner: TestRunner;
  totals: TestTotals | null;
  tests: DraftCase[];
  failures: DraftFailure[];
  /** Test files as printed. */
  testFiles: { file: string; base?: string }[];
  /** Whether every test that ran is named; when unset, `finish` decides it by comparing the names with the totals. */
  namesAll?: boolean;
  /** Per-file counts as printed (vitest's file lines; go's `[no tests to run]`). */
  fileCounts?: { file: string; base?: string; tests: number; skipped: number }[];
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
  /** Where the line `nextSpan` last found starts and ends in `text` (cut as `next` cuts it). */
  spanStart = 0;
  spanEnd = 0;

  constructor(
    readonly text: string,
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

  /**
   * The next line as a span of `text` (`spanStart`, `spanEnd`) rather than a string, for a parser that cuts out
   * only what it keeps; false at the end. Not for use after `peek`.
   */
  nextSpan(): boolean {
    if (this.ahead.length) throw new Error('LineReader: nextSpan after peek');
    return this.scan();
  }

  private read(): string | undefined {
    return this.scan() ? this.text.slice(this.spanStart, this.spanEnd) : undefined;
  }

  private scan(): boolean {
    const text = this.text;
    if (this.pos > text.length) return false;
    let end = text.indexOf('\n', this.pos);
    if (end < 0) end = text.length;
    const start = this.pos;
    this.pos = end + 1;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    this.spanStart = start;
    this.spanEnd = Math.min(end, start + MAX_LINE);
    return true;
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
 * Totals from a summary line of counts, `2 failed, 1 skipped, 3 passed` (jest, vitest): `pattern` (global) matches
 * `(N) (word)`; a word other than `failed`, `passed` and `todo` counts as skipped.
 */
export function totalsOfCounts(text: string, pattern: RegExp): TestTotals {
  const totals = zeroTotals();
  for (const m of text.matchAll(pattern)) {
    const n = Number(m[1]);
    if (m[2] === 'failed') totals.failed += n;
    else if (m[2] === 'passed') totals.passed += n;
    else if (m[2] === 'todo') totals.todo += n;
    else totals.skipped += n;
  }
  return totals;
}

/**
 * The totals of node --test's summary (`ℹ tests 9` / `# tests 9`, then `pass`, `fail`, `cancelled`, `skipped`,
 * `todo`) when it printed one; else counted from the tests, when there are any; else null.
 */
export function nodeSummaryTotals(summary: Map<string, number>, tests: DraftCase[]): TestTotals | null {
  if (summary.has('tests')) {
    const totals = zeroTotals();
    totals.passed = summary.get('pass') ?? 0;
    totals.failed = (summary.get('fail') ?? 0) + (summary.get('cancelled') ?? 0);
    totals.skipped = summary.get('skipped') ?? 0;
    totals.todo = summary.get('todo') ?? 0;
    // node counts a file that named no test as one test; it is an entry, not a test.
    for (const t of tests) if (t.entry && totals[t.status] > 0) totals[t.status]--;
    return totals;
  }
  const real = tests.filter((t) => !t.entry);
  return real.length ? countTotals(real) : null;
}

/**
 * A top-level result named by a test file's absolute path: node's runner reports a file as one test when it
 * named none (it failed to load, or exited before its tests ran).
 */
export const NODE_FILE_ENTRY = /^(?:\/|[A-Za-z]:[\\/]).*\.[cm]?[jt]sx?$/;

/**
 * The failures of a runner that prints each as a block: a header opens one (`open`), the lines under it go to its
 * body (`add`), and `close` (on the next header, a summary, the end) reads the body into the failure with `read`
 * and adds it to `failures`.
 */
export class FailureBlocks {
  private current: { failure: DraftFailure; body: string[] } | undefined;

  constructor(
    private readonly failures: DraftFailure[],
    private readonly read: (body: string[], failure: DraftFailure) => void,
  ) {}

  /** Closes the open block, if any, and opens one for `failure`. */
  open(failure: DraftFailure): void {
    this.close();
    this.current = { failure, body: [] };
  }

  /** Adds `line` to the open block's body; false, and nothing done, when none is open. */
  add(line: string): boolean {
    if (!this.current) return false;
    this.current.body.push(line);
    return true;
  }

  close(): void {
    if (this.current) {
      this.read(this.current.body, this.current.failure);
      this.failures.push(this.current.failure);
    }
    this.current = undefined;
  }
}

/**
 * `path:line` or `path:line:col`, split from the right so no pattern backtracks. Accepts `file://` URLs and
 * Windows drive paths; refuses what is not a file path (`node:internal/…`, `<anonymous>`, plain words).
 */
export function parseLocation(text: string): RawFrame | undefined {
  return parseLocationIn(text, 0, text.length);
}

/**
 * `parseLocation` of `s[from, to)`, trimmed, on indices: it runs on every frame of every stack, so nothing is cut
 * out of `s` but the path of a location it accepts.
 */
export function parseLocationIn(s: string, from: number, to: number): RawFrame | undefined {
  while (from < to && isSpace(s.charCodeAt(from))) from++;
  while (to > from && isSpace(s.charCodeAt(to - 1))) to--;
  const c0 = s.charCodeAt(from);
  // Never a path, whatever follows (and what is left of them once `:line:col` is cut is never one either).
  if (from === to || c0 === 0x3c /* < */) return undefined;
  if (c0 === 0x6e /* n */ && to - from >= 5 && s.startsWith('node:', from)) return undefined;
  if (c0 === 0x69 /* i */ && to - from >= 9 && s.startsWith('internal/', from)) return undefined;
  const last = s.lastIndexOf(':', to - 1);
  if (last <= from) return undefined;
  let line = digitsAt(s, last + 1, to);
  if (line < 0) return undefined;
  let column: number | undefined;
  let end = last;
  const prev = s.lastIndexOf(':', last - 1);
  if (prev > from) {
    const n = digitsAt(s, prev + 1, last);
    if (n >= 0) {
      column = line;
      line = n;
      end = prev;
    }
  }
  let file: string;
  if (end - from >= 7 && s.startsWith('file://', from)) {
    file = s.slice(from + 'file://'.length, end);
    try {
      file = decodeURIComponent(file);
    } catch {
      // keep it as printed
    }
    if (/^\/[A-Za-z]:\//.test(file)) file = file.slice(1); // file:///C:/x
    if (!file || file.startsWith('node:') || file.startsWith('internal/') || file.startsWith('<') || file.includes('(')) return undefined;
  } else {
    const paren = s.indexOf('(', from);
    if (paren >= 0 && paren < end) return undefined;
    file = s.slice(from, end);
  }
  // A path: a separator or a file extension in its last segment.
  const slash = file.includes('/');
  const sep = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  if (!slash && sep < 0 && !file.includes('.')) return undefined;
  if (!slash && hasSpace(file, sep + 1)) return undefined;
  return column === undefined ? { file, line } : { file, line, column };
}

/** The number `s[from, to)` spells in 1 to 9 ASCII digits, else -1. */
function digitsAt(s: string, from: number, to: number): number {
  if (to <= from || to - from > 9) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** What `trim()` and `/\s/` take for whitespace. */
export function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

function hasSpace(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (isSpace(s.charCodeAt(i))) return true;
  return false;
}

/**
 * One stack frame as the JS runners print them: V8's `at fn (loc)` / `at loc`, node's TAP `fn (loc)`, vitest's
 * `❯ fn loc` and ava's `› loc`. On indices, like `parseLocationIn`.
 */
export function parseStackLine(raw: string): RawFrame | undefined {
  return parseStackLineIn(raw, 0, raw.length);
}

/** `parseStackLine` of `raw[from, to)`. */
export function parseStackLineIn(raw: string, from: number, to: number): RawFrame | undefined {
  while (from < to && isSpace(raw.charCodeAt(from))) from++;
  while (to > from && isSpace(raw.charCodeAt(to - 1))) to--;
  let bare = false;
  if (to - from >= 3 && raw.startsWith('at ', from)) from += 3;
  else if (to - from >= 2 && (raw.startsWith('❯ ', from) || raw.startsWith('› ', from))) {
    from += 2;
    bare = true;
  }
  if (to - from >= 6 && raw.startsWith('async ', from)) from += 6;
  if (to > from && raw.charCodeAt(to - 1) === 0x29 /* ) */) {
    const open = raw.lastIndexOf(' (', to - 2);
    if (open < from) {
      if (raw.charCodeAt(from) !== 0x28 /* ( */) return undefined;
      return parseLocationIn(raw, from + 1, to - 1);
    }
    const loc = parseLocationIn(raw, open + 2, to - 1);
    if (loc) loc.fn = raw.slice(from, open);
    return loc;
  }
  // `fn loc` (vitest) or just `loc`.
  let space = bare ? raw.lastIndexOf(' ', to - 1) : -1;
  if (space < from) space = -1;
  const loc = parseLocationIn(raw, space >= 0 ? space + 1 : from, to);
  if (loc && space >= 0) loc.fn = raw.slice(from, space);
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

/**
 * The diff that starts at `lines[from]` after any blank lines, split by `splitDiff(…, minus, width)`: at most 500
 * lines, up to the first for which `stop` is true, each with up to `indent` characters of indentation cut. `end`:
 * the index of the first line not taken.
 */
export function readDiff(
  lines: string[],
  from: number,
  diff: { indent: number; stop: (line: string) => boolean; minus: 'expected' | 'actual'; width: 1 | 2 },
): { values: { expected: string; actual: string } | undefined; end: number } {
  const body: string[] = [];
  let j = from;
  while (j < lines.length && lines[j].trim() === '') j++;
  for (const end = Math.min(lines.length, j + 500); j < end && !diff.stop(lines[j]); j++) body.push(lines[j].slice(Math.min(diff.indent, indentOf(lines[j]))));
  return { values: splitDiff(body, diff.minus, diff.width), end: j };
}

/** Drops leading and trailing blank lines. */
export function trimBlank(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && isBlank(lines[start])) start++;
  while (end > start && isBlank(lines[end - 1])) end--;
  return lines.slice(start, end);
}

/** Whether `line` is empty or whitespace (`line.trim() === ''`, without making the trimmed string). */
export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isSpace(line.charCodeAt(i))) return false;
  return true;
}

/** Removes the indentation common to all non-blank lines, and trailing spaces. */
export function dedent(lines: string[]): string[] {
  let min = Infinity;
  for (const line of lines) if (!isBlank(line)) min = Math.min(min, indentOf(line));
  if (min === Infinity) min = 0;
  return lines.map((line) => cutLine(line, Math.min(min, indentOf(line))));
}

/** `line.slice(from).trimEnd()`, made once. */
function cutLine(line: string, from: number): string {
  let end = line.length;
  while (end > from && isSpace(line.charCodeAt(end - 1))) end--;
  return from === 0 && end === line.length ? line : line.slice(from, end);
}

/** `AssertionError [ERR_ASSERTION]: x` → `AssertionError: x`; `RangeError [Error]: x` → `RangeError: x`. */
export function tidyErrorLine(line: string): string {
  return line.replace(/^(\s*[\w$.]*(?:Error|Exception)) \[[\w$]+\]:/, '$1:');
}
