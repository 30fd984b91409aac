/**
 * The matching ladder: where a SEARCH section goes in a file, and what its REPLACE section becomes there. Models
 * quote code loosely, so the steps loosen one at a time and the first that finds exactly ONE place wins:
 *
 *   1. exact: the lines as they are;
 *   2. whitespace: trailing whitespace (and a stray \r) ignored;
 *   3. indent: every line off by the same leading whitespace; REPLACE is re-indented by that offset;
 *   4. tabs: tabs against spaces, by indentation width; REPLACE is written in the file's style;
 *   5. blank_lines: SEARCH's blank lines ignored (leading, trailing, and between lines);
 *   6. elision: `...` / `// ... existing code ...` lines in SEARCH, paired with the same in REPLACE: each piece
 *      between them is placed in order by steps 1–5 and replaced by its REPLACE piece; the elided code is kept.
 *
 * Two places or more at a step is a refusal naming them: a guess would be a wrong write. Pure, and bounded: every
 * line comparison is counted against MATCH_WORK_LIMIT, so no SEARCH section can stall the process (a repetitive
 * one is refused instead), and candidates come from the SEARCH line that is rarest in the file.
 */
import type { MatchStep } from '../protocol/events';
import { splitAtElisions } from './elision';

/** The most line comparisons placing one SEARCH section may cost: a few milliseconds, whatever the input. */
export const MATCH_WORK_LIMIT = 4_000_000;
/** Places named in an ambiguity refusal; the search stops one after. */
export const PLACES_LISTED = 10;

/** One stretch of the file, lines [start, end), and the lines that replace it. */
export interface Splice {
  start: number;
  end: number;
  lines: string[];
}

export type Located =
  | { kind: 'placed'; step: MatchStep; splices: Splice[] }
  | { kind: 'nowhere' }
  /** `places`: 0-based first lines of the first matches; `more`: there were more than those. `piece`: 1-based, for an elision's pieces. */
  | { kind: 'ambiguous'; step: MatchStep; places: number[]; more: boolean; piece?: number }
  | { kind: 'refused'; problem: string };

/** A file's lines, with their trimmed forms and indentation widths computed once, on first need (the exact step never needs them). */
export class Haystack {
  private trimmedLines: string[] | undefined;
  private indents: Int32Array | undefined;
  constructor(readonly lines: readonly string[]) {}
  get trimmed(): readonly string[] {
    this.trimmedLines ??= this.lines.map((line) => line.trim());
    return this.trimmedLines;
  }
  /** How many leading space and tab characters each line has. */
  get indentWidths(): Int32Array {
    this.indents ??= Int32Array.from(this.lines, (line) => leading(line).length);
    return this.indents;
  }
}

class Budget {
  private spent = 0;
  /** False once the work limit is passed. */
  spend(n: number): boolean {
    this.spent += n;
    return this.spent <= MATCH_WORK_LIMIT;
  }
  get exhausted(): boolean {
    return this.spent > MATCH_WORK_LIMIT;
  }
}

const TOO_COSTLY = 'is too repetitive to place within the matching limit (its lines recur all over the file); quote fewer lines, including a distinctive one';

/** Where `search` goes in the file and what `replace` becomes there. */
export function locate(hay: Haystack, search: readonly string[], replace: readonly string[]): Located {
  if (search.every(isBlank))
    return { kind: 'refused', problem: 'has only blank lines in its SEARCH section; quote a line or two of the code around the change' };
  const budget = new Budget();
  const found = placeBySteps(hay, search, replace, 0, budget);
  if (found.kind !== 'nowhere') return found;
  if (budget.exhausted) return { kind: 'refused', problem: TOO_COSTLY };
  const pieces = splitAtElisions(search);
  if (pieces.length === 1) return found;
  const elided = placeElided(hay, pieces, splitAtElisions(replace), budget);
  if (elided.kind === 'nowhere' && budget.exhausted) return { kind: 'refused', problem: TOO_COSTLY };
  return elided;
}

/** Steps 1–5 over the lines from `from` on. */
function placeBySteps(hay: Haystack, search: readonly string[], replace: readonly string[], from: number, budget: Budget): Located {
  const exact = windows(hay, search, 'exact', exactAnchor(hay, search, from), from, budget);
  if (exact.length > 0) return decide(exact, 'exact', search, replace);
  // A SEARCH line found nowhere in the file, even trimmed, rules out every step before the elisions.
  const anchor = rarestAnchor(hay, search, from);
  if (anchor === null) return { kind: 'nowhere' };
  for (const step of ['whitespace', 'indent', 'tabs', 'blank_lines'] as const) {
    if (budget.exhausted) break;
    const found = windows(hay, search, step, anchor, from, budget);
    if (found.length > 0) return decide(found, step, search, replace);
  }
  return { kind: 'nowhere' };
}

/** How SEARCH's indentation relates to the file's at a place: the same, off by a string, or off by columns. */
type Relation =
  | { kind: 'same' }
  /** The file's lines are `indent` + SEARCH's (deeper) or SEARCH's are `indent` + the file's. */
  | { kind: 'offset'; indent: string; deeper: boolean }
  /** Tabs counted as `width` columns, the file's lines `delta` columns right of SEARCH's; `tabs`: the file indents with tabs. */
  | { kind: 'columns'; delta: number; width: number; tabs: boolean };

interface Window {
  start: number;
  end: number;
  relation: Relation;
}

/** A SEARCH line and where its text (trimmed for the loose steps) is in the file. */
interface Anchor {
  index: number;
  positions: number[];
}

/** Exactly one window: placed, with REPLACE rendered for it; more: ambiguous. */
function decide(found: Window[], step: MatchStep, search: readonly string[], replace: readonly string[]): Located {
  if (found.length > 1) return { kind: 'ambiguous', step, places: found.slice(0, PLACES_LISTED).map((w) => w.start), more: found.length > PLACES_LISTED };
  const rendered = render(found[0].relation, step === 'blank_lines' ? trimBlankEnds(search, replace) : replace);
  if (typeof rendered === 'string') return { kind: 'refused', problem: rendered };
  return { kind: 'placed', step, splices: [{ start: found[0].start, end: found[0].end, lines: rendered }] };
}

/** The windows where SEARCH matches at a step, from the anchor's positions; stops one past PLACES_LISTED. */
function windows(hay: Haystack, search: readonly string[], step: MatchStep, anchor: Anchor, from: number, budget: Budget): Window[] {
  const found: Window[] = [];
  const nonBlank = search.flatMap((line, k) => (isBlank(line) ? [] : [k]));
  const quoted = { lines: search, trimmed: search.map((line) => line.trim()), indents: search.map((line) => leading(line)) };
  for (const p of anchor.positions) {
    let pairs: [number, number][] | null;
    if (step === 'blank_lines') pairs = pairsSkippingBlanks(hay, quoted.trimmed, nonBlank, nonBlank.indexOf(anchor.index), p, from, budget);
    else {
      const start = p - anchor.index;
      pairs = alignedMatches(hay, quoted, step, start, from, budget) ? nonBlank.map((k) => [start + k, k]) : null;
    }
    if (budget.exhausted) break;
    if (pairs === null) continue;
    const relation = relationOf(hay, search, pairs);
    if (relation === null || !allows(step, relation)) continue;
    const start = step === 'blank_lines' ? pairs[0][0] : p - anchor.index;
    const end = step === 'blank_lines' ? pairs[pairs.length - 1][0] + 1 : start + search.length;
    found.push({ start, end, relation });
    if (found.length > PLACES_LISTED) break;
  }
  return found;
}

function allows(step: MatchStep, relation: Relation): boolean {
  if (step === 'exact' || step === 'whitespace') return relation.kind === 'same';
  if (step === 'indent') return relation.kind !== 'columns';
  return true;
}

/** SEARCH's lines with their trimmed text and indentation, computed once per step. */
interface Quoted {
  lines: readonly string[];
  trimmed: readonly string[];
  indents: readonly string[];
}

/** Whether SEARCH laid on the file from `start` matches at the step (indentation aside for the steps past whitespace). Allocates nothing. */
function alignedMatches(hay: Haystack, quoted: Quoted, step: MatchStep, start: number, from: number, budget: Budget): boolean {
  const n = quoted.lines.length;
  if (start < from || start + n > hay.lines.length) return false;
  if (!budget.spend(n)) return false;
  const lines = hay.lines;
  if (step === 'exact') {
    for (let k = 0; k < n; k++) if (lines[start + k] !== quoted.lines[k]) return false;
    return true;
  }
  const trimmed = hay.trimmed;
  const widths = hay.indentWidths;
  for (let k = 0; k < n; k++) {
    const f = start + k;
    if (trimmed[f] !== quoted.trimmed[k]) return false;
    // Step 2 also wants the same indentation (a blank line's whitespace aside).
    if (step === 'whitespace' && quoted.trimmed[k] !== '' && (widths[f] !== quoted.indents[k].length || !lines[f].startsWith(quoted.indents[k]))) return false;
  }
  return true;
}

/** [file line, SEARCH line] for SEARCH's non-blank lines laid on the file's non-blank lines around the anchor at file line `p`; null where a line differs. */
function pairsSkippingBlanks(
  hay: Haystack,
  trimmedSearch: readonly string[],
  nonBlank: readonly number[],
  anchorAt: number,
  p: number,
  from: number,
  budget: Budget,
): [number, number][] | null {
  const trimmed = hay.trimmed;
  const at = new Array<number>(nonBlank.length);
  at[anchorAt] = p;
  let q = p - 1;
  for (let j = anchorAt - 1; j >= 0; j--, q--) {
    const was = q;
    while (q >= from && trimmed[q] === '') q--;
    if (!budget.spend(was - q + 1) || q < from || trimmed[q] !== trimmedSearch[nonBlank[j]]) return null;
    at[j] = q;
  }
  q = p + 1;
  for (let j = anchorAt + 1; j < nonBlank.length; j++, q++) {
    const was = q;
    while (q < trimmed.length && trimmed[q] === '') q++;
    if (!budget.spend(q - was + 1) || q >= trimmed.length || trimmed[q] !== trimmedSearch[nonBlank[j]]) return null;
    at[j] = q;
  }
  return nonBlank.map((k, j) => [at[j], k]);
}

/** The exact step's anchor: SEARCH's first non-blank line and the file lines equal to it. */
function exactAnchor(hay: Haystack, search: readonly string[], from: number): Anchor {
  const index = search.findIndex((line) => !isBlank(line));
  const positions: number[] = [];
  const line = search[index];
  for (let p = from + index; p < hay.lines.length; p++) if (hay.lines[p] === line) positions.push(p);
  return { index, positions };
}

/**
 * The loose steps' anchor: SEARCH's non-blank line whose trimmed text is rarest in the file (from `from`), so
 * repetitive lines (`}`, `return x;`) never drive the search; null when one of SEARCH's lines is nowhere.
 */
function rarestAnchor(hay: Haystack, search: readonly string[], from: number): Anchor | null {
  const counts = new Map<string, number>();
  for (const line of search) if (!isBlank(line)) counts.set(line.trim(), 0);
  const trimmed = hay.trimmed;
  for (let p = from; p < trimmed.length; p++) {
    const count = counts.get(trimmed[p]);
    if (count !== undefined) counts.set(trimmed[p], count + 1);
  }
  let rarest: string | null = null;
  for (const [line, count] of counts) {
    if (count === 0) return null;
    if (rarest === null || count < counts.get(rarest)!) rarest = line;
  }
  const index = search.findIndex((line) => line.trim() === rarest);
  const positions: number[] = [];
  for (let p = from; p < trimmed.length; p++) if (trimmed[p] === rarest) positions.push(p);
  return { index, positions };
}

function leading(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** The one relation between the paired lines' indentation, the least change first; null when there is none. */
function relationOf(hay: Haystack, search: readonly string[], pairs: readonly [number, number][]): Relation | null {
  const sides = pairs.map(([f, k]) => [leading(hay.lines[f]), leading(search[k])] as const);
  if (sides.every(([lf, ls]) => lf === ls)) return { kind: 'same' };
  const [lf0, ls0] = sides[0];
  const deeper = lf0.endsWith(ls0);
  if (deeper || ls0.endsWith(lf0)) {
    const indent = deeper ? lf0.slice(0, lf0.length - ls0.length) : ls0.slice(0, ls0.length - lf0.length);
    if (sides.every(([lf, ls]) => (deeper ? lf === indent + ls : ls === indent + lf))) return { kind: 'offset', indent, deeper };
  }
  const spaceRuns = sides.flatMap(([lf, ls]) => [lf, ls]).filter((ws) => ws !== '' && !ws.includes('\t'));
  const width = spaceRuns.reduce((g, ws) => gcd(g, ws.length), 0) || 4;
  const delta = columns(lf0, width) - columns(ls0, width);
  if (!sides.every(([lf, ls]) => columns(lf, width) - columns(ls, width) === delta)) return null;
  return { kind: 'columns', delta, width, tabs: sides.some(([lf]) => lf.includes('\t')) };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function columns(ws: string, width: number): number {
  let n = 0;
  for (const c of ws) n += c === '\t' ? width : 1;
  return n;
}

/** REPLACE's lines as they go in at the place: re-indented by the relation; a string says why they cannot be. */
function render(relation: Relation, replace: readonly string[]): string[] | string {
  if (relation.kind === 'same') return [...replace];
  const out: string[] = [];
  for (const line of replace) {
    if (isBlank(line)) {
      out.push(line);
      continue;
    }
    const ws = leading(line);
    if (relation.kind === 'offset') {
      if (relation.deeper) out.push(relation.indent + line);
      else if (ws.startsWith(relation.indent)) out.push(line.slice(relation.indent.length));
      else return `has a REPLACE line indented less than its SEARCH lines (${JSON.stringify(line.trim())}); indent REPLACE like SEARCH`;
      continue;
    }
    const column = columns(ws, relation.width) + relation.delta;
    if (column < 0) return `has a REPLACE line indented less than its SEARCH lines (${JSON.stringify(line.trim())}); indent REPLACE like SEARCH`;
    const indent = relation.tabs ? '\t'.repeat(Math.floor(column / relation.width)) + ' '.repeat(column % relation.width) : ' '.repeat(column);
    out.push(indent + line.slice(ws.length));
  }
  return out;
}

/** REPLACE without the leading and trailing blank lines SEARCH had (step 5 places SEARCH without them). */
function trimBlankEnds(search: readonly string[], replace: readonly string[]): string[] {
  const lead = (lines: readonly string[]) => {
    let n = 0;
    while (n < lines.length && isBlank(lines[n])) n++;
    return n;
  };
  const trail = (lines: readonly string[]) => {
    let n = 0;
    while (n < lines.length && isBlank(lines[lines.length - 1 - n])) n++;
    return n;
  };
  const start = Math.min(lead(search), lead(replace));
  const end = replace.length - Math.min(trail(search), trail(replace));
  return replace.slice(start, Math.max(start, end));
}

/**
 * Step 6: SEARCH's pieces between elision lines, each placed by steps 1–5 after the one before (the first in the
 * whole file), each replaced by REPLACE's piece at the same position; what lies between them stays.
 */
function placeElided(hay: Haystack, searchPieces: string[][], replacePieces: string[][], budget: Budget): Located {
  if (replacePieces.length !== searchPieces.length)
    return {
      kind: 'refused',
      problem:
        'leaves code out of its SEARCH section with `...` lines but not of its REPLACE section; ' +
        'put the same `...` lines in REPLACE where that code stays, or quote the code',
    };
  const splices: Splice[] = [];
  let from = 0;
  for (let i = 0; i < searchPieces.length; i++) {
    const search = searchPieces[i];
    const replace = replacePieces[i];
    if (search.every(isBlank)) {
      if (!replace.every(isBlank))
        return {
          kind: 'refused',
          problem: 'adds lines next to a `...` line where its SEARCH section has none to place them by; quote the lines they go next to',
        };
      continue;
    }
    const found = placeBySteps(hay, search, replace, from, budget);
    if (found.kind === 'ambiguous') return { ...found, step: 'elision', piece: i + 1 };
    if (found.kind !== 'placed') return found;
    splices.push(...found.splices);
    from = found.splices[0].end;
  }
  return { kind: 'placed', step: 'elision', splices };
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}
