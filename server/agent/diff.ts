/**
 * A unified line diff (Myers' O(ND) algorithm), for the dashboard's view of each attempt. Pure; capped so a
 * rewrite of a large file cannot bloat the event log.
 */

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Past this many differing lines the exact diff is not worth its O(D²) memory: show a whole replacement. */
const MAX_EDIT_DISTANCE = 1000;

/** The shortest edit script between two line arrays. */
function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 2);
  // trace[d] holds v[-d..d] as it was before step d: what backtracking needs, in O(D²) not O(D·(N+M)).
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_EDIT_DISTANCE); d++) {
    trace.push(v.slice(max - d, max + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[max + k - 1] < v[max + k + 1]) ? v[max + k + 1] : v[max + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[max + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, d);
    }
  }
  return [...a.map((line) => ({ kind: '-' as const, line })), ...b.map((line) => ({ kind: '+' as const, line }))];
}

function backtrack(trace: Int32Array[], a: string[], b: string[], dEnd: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const at = (k: number) => trace[d][k + d];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: ' ', line: a[--x] });
      y--;
    }
    if (x === prevX) ops.push({ kind: '+', line: b[--y] });
    else ops.push({ kind: '-', line: a[--x] });
  }
  while (x > 0 && y > 0) {
    ops.push({ kind: ' ', line: a[--x] });
    y--;
  }
  return ops.reverse();
}

/**
 * The edit script of the changed part only: the lines both texts share at the start and the end (all but
 * `context` of them) never enter Myers' algorithm, so a one-line change in a 1 MB file costs one pass over it.
 * `oldLine`/`newLine` are the 1-based line numbers of the first op.
 */
function changedScript(before: string, after: string, context: number): { ops: Op[]; oldLine: number; newLine: number } {
  // An empty text has no lines (not one empty line): a created file's diff adds lines and removes none.
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const from = Math.max(0, head - context);
  const keepTail = Math.max(0, tail - context);
  const ops = editScript(a.slice(from, a.length - keepTail), b.slice(from, b.length - keepTail));
  return { ops, oldLine: from + 1, newLine: from + 1 };
}

/** `@@` hunks with `context` lines around each change, cut at `maxChars` with a note. */
export function unifiedDiff(before: string, after: string, context = 3, maxChars = 8000): string {
  return hunksOf(changedScript(before, after, context), context, maxChars);
}

function hunksOf(script: { ops: Op[]; oldLine: number; newLine: number }, context: number, maxChars: number): string {
  const { ops } = script;
  const hunks: string[] = [];
  let i = 0;
  let oldLine = script.oldLine;
  let newLine = script.newLine;
  while (i < ops.length) {
    if (ops[i].kind === ' ') {
      oldLine++;
      newLine++;
      i++;
      continue;
    }
    // A hunk: back up `context` lines, then run until `2 * context` unchanged lines in a row.
    const start = Math.max(0, i - context);
    let end = i;
    let quiet = 0;
    while (end < ops.length && quiet <= 2 * context) {
      quiet = ops[end].kind === ' ' ? quiet + 1 : 0;
      end++;
    }
    end = Math.min(ops.length, end - Math.max(0, quiet - context));
    const lead = i - start;
    const body = ops.slice(start, end);
    const oldCount = body.filter((op) => op.kind !== '+').length;
    const newCount = body.filter((op) => op.kind !== '-').length;
    // As diff(1) writes it, a side with no lines names the line before the hunk (0 for the start of a file).
    const from = (line: number, count: number) => (count === 0 ? line - lead - 1 : line - lead);
    hunks.push(`@@ -${from(oldLine, oldCount)},${oldCount} +${from(newLine, newCount)},${newCount} @@\n${body.map((op) => op.kind + op.line).join('\n')}`);
    for (const op of ops.slice(i, end)) {
      if (op.kind !== '+') oldLine++;
      if (op.kind !== '-') newLine++;
    }
    i = end;
  }
  const text = hunks.join('\n');
  return text.length > maxChars ? `${text.slice(0, maxChars)}\n[… diff cut at ${maxChars} characters …]` : text;
}

/** Lines added and removed, from the same edit script. */
export function lineDelta(before: string, after: string): { linesAdded: number; linesRemoved: number } {
  return countOf(changedScript(before, after, 0).ops);
}

function countOf(ops: Op[]): { linesAdded: number; linesRemoved: number } {
  return { linesAdded: ops.filter((op) => op.kind === '+').length, linesRemoved: ops.filter((op) => op.kind === '-').length };
}

/** What `edit.applied` says of a change: the counts and the diff, from one edit script. */
export function describeChange(before: string, after: string): { linesAdded: number; linesRemoved: number; diff: string } {
  const script = changedScript(before, after, 3);
  return { ...countOf(script.ops), diff: hunksOf(script, 3, 8000) };
}
