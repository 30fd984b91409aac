/**
 * node --test's TAP reporter (the default into a pipe on Node 20): `# Subtest:` / `ok N - name` / `not ok N - name`,
 * each followed by a YAML block (`location:`, `error:`, `expected:`, `actual:`, `stack:`). Subtests are indented
 * under their parent, whose own `ok` line comes after them: a parent is a suite, reported only when it failed
 * on its own (a hook), not because a child did. Plain TAP from other producers parses the same way.
 */
import {
  SEP,
  parseLocation,
  parseLocationIn,
  parseStackLineIn,
  isSpace,
  nodeSummaryTotals,
  NODE_FILE_ENTRY,
  type DraftCase,
  tidyErrorLine,
  type Draft,
  type DraftFailure,
  type LineReader,
  type RawFrame,
} from '../draft';

/** The YAML keys read; the others (`duration_ms`, `code`, `operator`, …) are skipped, not kept. */
interface Yaml {
  location?: string;
  failureType?: string;
  error?: string;
  name?: string;
  expected?: string;
  actual?: string;
  /** The frames of `stack:`. */
  stack?: RawFrame[];
}

interface Node {
  indent: number;
  name: string;
  ok: boolean;
  directive?: 'skip' | 'todo';
  yaml: Yaml;
  children: Node[];
}

const RESULT = /^(\s*)(not )?ok\b(?: \d+)?(?: -)?(?: (.*))?$/;
const DIRECTIVE = /\s#\s*(SKIP|TODO)\b.*$/i;
const SUMMARY = /^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/;

/**
 * Reads the output as spans of its text and cuts out only what it keeps: the result lines and the YAML values a
 * test case or a failure uses. A YAML block's lines are kept as spans until its end, then read at once.
 */
export function parseTap(lines: LineReader): Draft {
  const text = lines.text;
  // Finished results waiting for their parent (which comes later, less indented).
  const pending: Node[] = [];
  const summary = new Map<string, number>();
  let yamlOwner: Node | undefined;
  let yamlIndent = 0;
  // The open block's lines (start, end, start, end, …), one array for every block; the least indentation of its
  // non-blank lines.
  const yamlSpans: number[] = [];
  let yamlBase = Infinity;

  const closeYaml = () => {
    if (yamlOwner) parseYaml(text, yamlSpans, yamlBase, yamlOwner);
    yamlOwner = undefined;
    yamlSpans.length = 0;
    yamlBase = Infinity;
  };

  while (lines.nextSpan()) {
    const start = lines.spanStart;
    const end = lines.spanEnd;
    let i = start;
    while (i < end && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    const indent = i - start;
    if (yamlOwner) {
      if (indent <= yamlIndent && isTrimmed(text, start, end, '...')) closeYaml();
      else {
        yamlSpans.push(start, end);
        if (indent < yamlBase && !isBlankIn(text, i, end)) yamlBase = indent;
      }
      continue;
    }
    const c = i < end ? text.charCodeAt(i) : -1;
    // `ok` / `not ok` after spaces and tabs (or some other whitespace, left to the pattern): the only lines it meets.
    const maybeResult = c === 0x6f /* o */ ? text.startsWith('ok', i) : c === 0x6e /* n */ ? text.startsWith('not ok', i) : c >= 0 && (c <= 0x20 || c >= 0x80);
    const m = maybeResult ? RESULT.exec(text.slice(start, end)) : null;
    if (m) {
      const depth = m[1].length;
      let name = m[3] === undefined ? '' : m[3].trim();
      let directive: Node['directive'];
      const d = name.includes('#') ? DIRECTIVE.exec(name) : null;
      if (d) {
        directive = d[1].toLowerCase() === 'skip' ? 'skip' : 'todo';
        name = name.slice(0, d.index).trim();
      }
      const node: Node = { indent: depth, name: unescapeName(name), ok: !m[2], directive, yaml: {}, children: NO_CHILDREN };
      // Its children: the finished results just before it, more indented (their own children are already theirs).
      let first = pending.length;
      while (first > 0 && pending[first - 1].indent > depth) first--;
      if (first < pending.length) node.children = pending.splice(first);
      pending.push(node);
      continue;
    }
    if (pending.length && isTrimmed(text, start, end, '---')) {
      yamlOwner = pending[pending.length - 1];
      yamlIndent = indent;
      continue;
    }
    const s = c === 0x23 /* # */ && i === start && text.startsWith('# ', start) ? SUMMARY.exec(text.slice(start, end)) : null;
    if (s) summary.set(s[1], Number(s[2]));
  }
  closeYaml();

  const draft: Draft = { runner: 'node', totals: null, tests: [], failures: [], testFiles: [] };
  // Each test file once: `finish` keeps the first of each anyway.
  const seenFiles = new Set<string>();
  const files = new Map<string, string>();
  const addTestFile = (file: string) => {
    if (!seenFiles.has(file)) {
      seenFiles.add(file);
      draft.testFiles.push({ file });
    }
  };
  // `prefix`: the names above, joined; undefined at the top and right under a file.
  const walk = (node: Node, prefix: string | undefined, file: string | undefined) => {
    // Node 20 wraps each file in a subtest named by its path when several files run.
    const isFile = prefix === undefined && node.children.length > 0 && NODE_FILE_ENTRY.test(node.name);
    if (isFile) {
      file = node.name;
      addTestFile(file);
    }
    const name = isFile ? prefix : prefix === undefined ? node.name : [prefix, node.name].join(SEP);
    const location = node.yaml.location;
    const declared = location ? parseQuotedLocation(location) : undefined;
    if (declared) {
      // One string per file, however many tests name it: fewer strings kept, each hashed once.
      const same = files.get(declared.file);
      if (same !== undefined) declared.file = same;
      else {
        files.set(declared.file, declared.file);
        addTestFile(declared.file);
      }
    }
    if (node.children.length) {
      for (const child of node.children) walk(child, name, file);
      const failureType = unquote(node.yaml.failureType ?? '');
      if (isFile || node.ok || failureType === 'subtestsFailed') return;
    }
    const status = node.directive === 'todo' ? 'todo' : node.directive === 'skip' ? 'skipped' : node.ok ? 'passed' : 'failed';
    const fullName = name ?? '';
    const test: DraftCase = declared ? { name: fullName, status, file: declared.file } : file ? { name: fullName, status, file } : { name: fullName, status };
    if (prefix === undefined && NODE_FILE_ENTRY.test(fullName)) {
      test.entry = true;
      test.file ??= fullName;
    }
    draft.tests.push(test);
    if (status === 'failed') draft.failures.push(failureOf(node, fullName, declared?.file ?? file, declared));
  };
  for (const node of pending) walk(node, undefined, undefined);

  draft.totals = nodeSummaryTotals(summary, draft.tests);
  return draft;
}

/** Shared by every node without children (most of them), never written to. */
const NO_CHILDREN: Node[] = [];

function failureOf(node: Node, name: string, file: string | undefined, declared: RawFrame | undefined): DraftFailure {
  const y = node.yaml;
  const errorName = y.name ? unquote(y.name) : undefined;
  let message = y.error !== undefined ? unquote(y.error) : unquote(y.failureType ?? 'failed');
  if (errorName && !message.startsWith(errorName)) message = `${errorName}: ${message}`;
  const failure: DraftFailure = { name, message: tidyErrorLine(message).split('\n'), frames: y.stack ?? [] };
  if (file) failure.file = file;
  if (y.expected !== undefined) failure.expected = y.expected;
  if (y.actual !== undefined) failure.actual = y.actual;
  if (declared) failure.declared = declared;
  return failure;
}

/** `parseLocation(unquote(value))`, without cutting the quotes off first when it need not. */
function parseQuotedLocation(value: string): RawFrame | undefined {
  const n = value.length;
  if (n >= 2 && value[0] === "'" && value[n - 1] === "'" && !value.includes("''", 1)) return parseLocationIn(value, 1, n - 1);
  return parseLocation(unquote(value));
}

/** Whether `text[from, to)` is blank the way `trim()` sees it. */
function isBlankIn(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** Whether `text[from, to)` ends with `word` and is nothing else but whitespace before it. */
function isTrimmed(text: string, from: number, to: number, word: string): boolean {
  if (to - from < word.length || !text.startsWith(word, to - word.length)) return false;
  to -= word.length;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  return to === from;
}

/**
 * The little YAML node's reporter writes: `key: scalar`, `key: |-` with an indented block, and `key:` with an
 * indented mapping (kept as its text). Values are kept as printed (quotes included), block text dedented. `spans`:
 * the block's lines; `base`: the least indentation of the non-blank ones. Only the keys of `Yaml` are kept, and of
 * a result that passed only its location: nothing else of it is read.
 */
function parseYaml(text: string, spans: number[], base: number, node: Node): void {
  const into = node.yaml;
  let key: keyof Yaml | undefined;
  let from = 0;
  const close = (to: number) => {
    if (key === 'stack') into.stack = framesIn(text, spans, from, to);
    else if (key !== undefined) into[key] = blockText(text, spans, from, to);
    key = undefined;
  };
  for (let k = 0; k < spans.length; k += 2) {
    const start = spans[k];
    const end = spans[k + 1];
    let i = start;
    while (i < end && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    if (i - start !== base || isBlankIn(text, i, end)) continue;
    close(k);
    let colon = i;
    while (colon < end && text.charCodeAt(colon) !== 0x3a /* : */) colon++;
    if (colon === end) continue;
    const name = keyOf(text, i, colon, node.ok);
    if (name === undefined) continue;
    // The value, trimmed.
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && isSpace(text.charCodeAt(vs))) vs++;
    while (ve > vs && isSpace(text.charCodeAt(ve - 1))) ve--;
    const c = text.charCodeAt(vs);
    const blockStart =
      vs === ve || ((c === 0x7c /* | */ || c === 0x3e) /* > */ && (ve - vs === 1 || (ve - vs === 2 && text.charCodeAt(vs + 1) === 0x2d))); /* - */
    if (blockStart) {
      key = name;
      from = k + 2;
    } else if (name === 'stack') {
      const frame = parseStackLineIn(text, vs, ve);
      into.stack = frame ? [frame] : [];
    } else into[name] = text.slice(vs, ve);
  }
  close(spans.length);
}

const KEYS: (keyof Yaml)[] = ['location', 'failureType', 'error', 'name', 'expected', 'actual', 'stack'];

/** The key `text[from, colon)` when it is one of `Yaml`'s (of a result that passed: only `location`). */
function keyOf(text: string, from: number, colon: number, ok: boolean): keyof Yaml | undefined {
  const length = colon - from;
  for (const k of KEYS) {
    if (k.length === length && text.startsWith(k, from)) return k;
    if (ok) break;
  }
  return undefined;
}

/** The frames among the lines `spans[from, to)`. */
function framesIn(text: string, spans: number[], from: number, to: number): RawFrame[] {
  const frames: RawFrame[] = [];
  for (let k = from; k < to; k += 2) {
    const frame = parseStackLineIn(text, spans[k], spans[k + 1]);
    if (frame) frames.push(frame);
  }
  return frames;
}

/** The lines `spans[from, to)` dedented, their trailing spaces and trailing blank lines dropped, joined. */
function blockText(text: string, spans: number[], from: number, to: number): string {
  let min = Infinity;
  let last = from;
  for (let k = from; k < to; k += 2) {
    const start = spans[k];
    const end = spans[k + 1];
    let i = start;
    while (i < end && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    if (isBlankIn(text, i, end)) continue;
    if (i - start < min) min = i - start;
    last = k + 2;
  }
  const parts: string[] = [];
  for (let k = from; k < last; k += 2) {
    const start = spans[k];
    let end = spans[k + 1];
    let i = start;
    while (i < end && i - start < min && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    while (end > i && isSpace(text.charCodeAt(end - 1))) end--;
    parts.push(text.slice(i, end));
  }
  return parts.join('\n');
}

function unquote(value: string): string {
  if (value.length >= 2 && value[0] === "'" && value[value.length - 1] === "'") {
    const inner = value.slice(1, -1);
    return inner.includes("''") ? inner.replace(/''/g, "'") : inner;
  }
  if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}

function unescapeName(name: string): string {
  if (!name.includes('\\')) return name;
  return name.replace(/\\([#\\])/g, '$1');
}
