/**
 * node --test's TAP reporter (the default into a pipe on Node 20): `# Subtest:` / `ok N - name` / `not ok N - name`,
 * each followed by a YAML block (`location:`, `error:`, `expected:`, `actual:`, `stack:`). Subtests are indented
 * under their parent, whose own `ok` line comes after them: a parent is a suite, reported only when it failed
 * on its own (a hook), not because a child did. Plain TAP from other producers parses the same way.
 */
import { SEP, countTotals, indentOf, parseLocation, parseStackLine, tidyErrorLine, zeroTotals, type Draft, type LineReader, type DraftFailure } from '../draft';

interface Node {
  indent: number;
  name: string;
  ok: boolean;
  directive?: 'skip' | 'todo';
  yaml: Map<string, string>;
  children: Node[];
}

const RESULT = /^(\s*)(not )?ok\b(?: \d+)?(?: -)?(?: (.*))?$/;
const DIRECTIVE = /\s#\s*(SKIP|TODO)\b.*$/i;
const SUMMARY = /^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/;

export function parseTap(lines: LineReader): Draft {
  // Finished results waiting for their parent (which comes later, less indented).
  const pending: Node[] = [];
  const summary = new Map<string, number>();
  let yamlOwner: Node | undefined;
  let yamlIndent = 0;
  let yamlLines: string[] = [];

  const closeYaml = () => {
    if (yamlOwner) parseYaml(yamlLines, yamlOwner.yaml);
    yamlOwner = undefined;
    yamlLines = [];
  };

  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    if (yamlOwner) {
      if (line.endsWith('...') && line.trim() === '...' && indentOf(line) <= yamlIndent) closeYaml();
      else yamlLines.push(line);
      continue;
    }
    const m = RESULT.exec(line);
    if (m) {
      const indent = m[1].length;
      let name = (m[3] ?? '').trim();
      let directive: Node['directive'];
      const d = DIRECTIVE.exec(name);
      if (d) {
        directive = d[1].toLowerCase() === 'skip' ? 'skip' : 'todo';
        name = name.slice(0, d.index).trim();
      }
      const node: Node = { indent, name: unescapeName(name), ok: !m[2], directive, yaml: new Map(), children: [] };
      // Its children: the finished results just before it, more indented (their own children are already theirs).
      let first = pending.length;
      while (first > 0 && pending[first - 1].indent > indent) first--;
      node.children = pending.splice(first);
      pending.push(node);
      continue;
    }
    if (line.endsWith('---') && line.trim() === '---' && pending.length) {
      yamlOwner = pending[pending.length - 1];
      yamlIndent = indentOf(line);
      continue;
    }
    const s = line.startsWith('# ') ? SUMMARY.exec(line) : null;
    if (s) summary.set(s[1], Number(s[2]));
  }
  closeYaml();

  const draft: Draft = { runner: 'node', totals: null, tests: [], failures: [], testFiles: [] };
  const walk = (node: Node, path: string[], file: string | undefined) => {
    // Node 20 wraps each file in a subtest named by its path when several files run.
    const isFile = path.length === 0 && node.children.length > 0 && /^(?:\/|[A-Za-z]:[\\/]).*\.[cm]?[jt]sx?$/.test(node.name);
    if (isFile) {
      file = node.name;
      draft.testFiles.push({ file });
    }
    const names = isFile ? path : [...path, node.name];
    const location = node.yaml.get('location');
    const declared = location ? parseLocation(unquote(location)) : undefined;
    if (declared) draft.testFiles.push({ file: declared.file });
    if (node.children.length) {
      for (const child of node.children) walk(child, names, file);
      const failureType = unquote(node.yaml.get('failureType') ?? '');
      if (isFile || node.ok || failureType === 'subtestsFailed') return;
    }
    const name = names.join(SEP);
    const status = node.directive === 'todo' ? 'todo' : node.directive === 'skip' ? 'skipped' : node.ok ? 'passed' : 'failed';
    draft.tests.push(declared ? { name, status, file: declared.file } : file ? { name, status, file } : { name, status });
    if (status === 'failed') draft.failures.push(failureOf(node, name, declared?.file ?? file));
  };
  for (const node of pending) walk(node, [], undefined);

  if (summary.has('tests')) {
    const totals = zeroTotals();
    totals.passed = summary.get('pass') ?? 0;
    totals.failed = (summary.get('fail') ?? 0) + (summary.get('cancelled') ?? 0);
    totals.skipped = summary.get('skipped') ?? 0;
    totals.todo = summary.get('todo') ?? 0;
    draft.totals = totals;
  } else if (draft.tests.length) {
    draft.totals = countTotals(draft.tests);
  }
  return draft;
}

function failureOf(node: Node, name: string, file: string | undefined): DraftFailure {
  const y = node.yaml;
  const error = y.get('error');
  const errorName = y.get('name') ? unquote(y.get('name')!) : undefined;
  let message = error !== undefined ? unquote(error) : unquote(y.get('failureType') ?? 'failed');
  if (errorName && !message.startsWith(errorName)) message = `${errorName}: ${message}`;
  const failure: DraftFailure = { name, message: tidyErrorLine(message).split('\n'), frames: [] };
  if (file) failure.file = file;
  if (y.has('expected')) failure.expected = y.get('expected');
  if (y.has('actual')) failure.actual = y.get('actual');
  const location = y.get('location');
  const declared = location ? parseLocation(unquote(location)) : undefined;
  if (declared) failure.declared = declared;
  for (const line of (y.get('stack') ?? '').split('\n')) {
    const frame = parseStackLine(line);
    if (frame) failure.frames.push(frame);
  }
  return failure;
}

/**
 * The little YAML node's reporter writes: `key: scalar`, `key: |-` with an indented block, and `key:` with an
 * indented mapping (kept as its text). Values are kept as printed (quotes included), block text dedented.
 */
function parseYaml(lines: string[], into: Map<string, string>): void {
  let base = Infinity;
  for (const line of lines) if (line.trim()) base = Math.min(base, indentOf(line));
  let key: string | undefined;
  let block: string[] = [];
  const close = () => {
    if (key !== undefined) {
      let min = Infinity;
      for (const l of block) if (l.trim()) min = Math.min(min, indentOf(l));
      const text = block.map((l) => l.slice(Math.min(min, indentOf(l))).trimEnd());
      while (text.length && text[text.length - 1] === '') text.pop();
      into.set(key, text.join('\n'));
    }
    key = undefined;
    block = [];
  };
  for (const line of lines) {
    const indent = indentOf(line);
    if (line.trim() && indent === base) {
      close();
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const k = line.slice(indent, colon);
      const v = line.slice(colon + 1).trim();
      if (v === '' || v === '|-' || v === '|' || v === '>-' || v === '>') key = k;
      else into.set(k, v);
    } else if (key !== undefined) {
      block.push(line);
    }
  }
  close();
}

function unquote(value: string): string {
  if (value.length >= 2 && value[0] === "'" && value[value.length - 1] === "'") return value.slice(1, -1).replace(/''/g, "'");
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
  return name.replace(/\\([#\\])/g, '$1');
}
