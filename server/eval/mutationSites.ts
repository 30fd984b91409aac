/**
 * The mutation kinds and the site finders every language shares. Each language module (mutantsJs.ts,
 * mutantsPython.ts, mutantsGo.ts) masks its strings and comments (same length, so offsets stay true) and passes
 * the masked code here with its own patterns; matching only the masked code is what keeps a mutation out of a
 * string, a comment or a docstring. Pure.
 */
export type MutationKind = 'operator' | 'comparison' | 'constant' | 'negation' | 'arguments';

/** One candidate: replace `text.slice(start, end)` with `replacement`. */
export interface Mutation {
  kind: MutationKind;
  start: number;
  end: number;
  replacement: string;
  /** `a < b` → `a >= b`, for the task's origin. */
  description: string;
}

/** A language's mutation rules: which files get mutants and where in them. */
export interface MutationLanguage {
  /** The non-test files of this language that the tests exercise: workspace-relative, sorted. */
  targets(root: string, files: readonly string[], read: (rel: string) => string): string[];
  /** Every candidate mutation of one source text, in offset order. */
  sites(text: string): Mutation[];
}

export type Flips = Readonly<Record<string, { to: string; kind: MutationKind }>>;

/** The comparisons and arithmetic every language here writes the same way, and what each becomes. */
export const COMMON_FLIPS: Flips = {
  '==': { to: '!=', kind: 'comparison' },
  '!=': { to: '==', kind: 'comparison' },
  '<=': { to: '>', kind: 'comparison' },
  '>=': { to: '<', kind: 'comparison' },
  '<': { to: '>=', kind: 'comparison' },
  '>': { to: '<=', kind: 'comparison' },
  '+': { to: '-', kind: 'operator' },
  '-': { to: '+', kind: 'operator' },
  '*': { to: '/', kind: 'operator' },
  '/': { to: '*', kind: 'operator' },
};

/**
 * `code` with the language's strings and comments blanked; `original` the text itself. The finders read `code`
 * and copy what they keep from `original`.
 */
interface Source {
  original: string;
  code: string;
}

function lineOf(text: string, at: number): number {
  return text.slice(0, at).split('\n').length;
}

/** Spaced operators (unspaced `<` may be a generic, `-` a sign, `*` a pointer): each match of `pattern`'s group 1. */
function flipSites({ original, code }: Source, pattern: RegExp, flips: Flips): Mutation[] {
  return [...code.matchAll(pattern)].map((match) => {
    const flip = flips[match[1]];
    return {
      kind: flip.kind,
      start: match.index,
      end: match.index + match[1].length,
      replacement: flip.to,
      description: `line ${lineOf(original, match.index)}: ${match[1]} → ${flip.to}`,
    };
  });
}

/** A whole decimal number: not part of a name, a decimal fraction, an exponent, a hex or a leading-zero literal. */
const INTEGER = /(?<![\w$.])(0|[1-9]\d*)(?![\w$.])/g;

function constantSites({ original, code }: Source): Mutation[] {
  return [...code.matchAll(INTEGER)].flatMap((match) => {
    const value = Number(match[0]);
    if (!Number.isSafeInteger(value + 1)) return [];
    return [
      {
        kind: 'constant' as const,
        start: match.index,
        end: match.index + match[0].length,
        replacement: String(value + 1),
        description: `line ${lineOf(original, match.index)}: ${value} → ${value + 1}`,
      },
    ];
  });
}

/** A call of two plain arguments (names, numbers, member reads); not a method call's callee after a `.`. */
const CALL = /(?<![\w$.])([A-Za-z_$][\w$]*)\(\s*([\w$.]+)\s*,\s*([\w$.]+)\s*\)/g;

/** Calls with their two plain arguments swapped. `declares` is what, just before a name, makes it a definition. */
function swapSites({ original, code }: Source, keywords: ReadonlySet<string>, declares: RegExp): Mutation[] {
  return [...code.matchAll(CALL)].flatMap((match) => {
    const [whole, callee, first, second] = match;
    if (keywords.has(callee) || first === second || declares.test(code.slice(Math.max(0, match.index - 10), match.index))) return [];
    return [
      {
        kind: 'arguments' as const,
        start: match.index + callee.length,
        end: match.index + whole.length,
        replacement: `(${second}, ${first})`,
        description: `line ${lineOf(original, match.index)}: ${callee}(${first}, ${second}) → ${callee}(${second}, ${first})`,
      },
    ];
  });
}

/** A condition's span in the text, and the statement's keyword (`if`, `while`, …). */
export interface Condition {
  start: number;
  end: number;
  keyword: string;
}

/** What a language module tells the shared finders. */
export interface LanguageSyntax {
  /** The text with strings and comments blanked, same length. */
  mask(text: string): string;
  /** Operators to flip (group 1), and what each becomes. */
  operator: RegExp;
  flips: Flips;
  /** The conditions to negate, found in the masked code, and the negated form of one. */
  conditions(code: string): Condition[];
  negate(condition: string): string;
  /** Keywords that look like a call (`if (a, b)`), and what before a name makes it a definition. */
  notCalls: ReadonlySet<string>;
  declares: RegExp;
}

/** A language's site finder: every candidate mutation of a source text, in offset order. */
export function siteFinder(syntax: LanguageSyntax): (text: string) => Mutation[] {
  return (text) => {
    const source = { original: text, code: syntax.mask(text) };
    const negations = syntax.conditions(source.code).map(({ start, end, keyword }) => ({
      kind: 'negation' as const,
      start,
      end,
      replacement: syntax.negate(text.slice(start, end)),
      description: `line ${lineOf(text, start)}: ${keyword} condition negated`,
    }));
    return [
      ...flipSites(source, syntax.operator, syntax.flips),
      ...constantSites(source),
      ...negations,
      ...swapSites(source, syntax.notCalls, syntax.declares),
    ].sort((a, b) => a.start - b.start || a.kind.localeCompare(b.kind));
  };
}

/** Where `code[open]`'s bracket closes (any of `([{`, counted together), or -1. */
export function closingBracket(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if ('([{'.includes(code[i])) depth++;
    else if (')]}'.includes(code[i]) && --depth === 0) return i;
  }
  return -1;
}

export function applyMutation(text: string, mutation: Mutation): string {
  return text.slice(0, mutation.start) + mutation.replacement + text.slice(mutation.end);
}
