/**
 * Go mutation rules. `//` and `/* *\/` comments, "interpreted" and `raw` strings and 'r' runes are masked first.
 * A negation wraps an `if`'s condition, after its init statement when it has one: `if v := f(); !(v > 0) {`.
 * Targets: every non-test file of a package with a `_test.go` file (mutationTargets.ts).
 */
import { COMMON_FLIPS, siteFinder, type Condition, type MutationLanguage } from './mutationSites';
import { goPackagesUnderTest } from './mutationTargets';

/** Spaced as gofmt spaces a binary operator; `<-`, `*p`, `-x` and `&^` never match. */
const OPERATOR = /(?<=[ \t])(==|!=|<=|>=|&&|\|\||[<>+\-*/])(?=[ \t])/g;
const CONDITION = /(?<![\w.])if(?=\s)/g;
const NOT_CALLS: ReadonlySet<string> = new Set(['if', 'for', 'switch', 'func', 'return', 'go', 'defer', 'select', 'case', 'range', 'type']);

/** Go source with comments and the insides of strings and runes blanked (newlines kept), same length. */
export function maskGo(text: string): string {
  const out: string[] = [];
  let i = 0;
  const keep = (to: number) => {
    out.push(text.slice(i, to));
    i = to;
  };
  const blank = (to: number) => {
    out.push(text.slice(i, to).replace(/[^\n]/g, ' '));
    i = to;
  };
  while (i < text.length) {
    const next = text.slice(i).search(/\/\/|\/\*|["'`]/);
    if (next === -1) {
      keep(text.length);
      break;
    }
    keep(i + next);
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      blank(end === -1 ? text.length : end);
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      blank(end === -1 ? text.length : end + 2);
    } else {
      const quote = text[i];
      keep(i + 1);
      let j = i;
      // A raw string runs to its backquote across lines; the others end at their quote or, unterminated, the line.
      while (j < text.length && text[j] !== quote && (quote === '`' || text[j] !== '\n')) j += quote !== '`' && text[j] === '\\' ? 2 : 1;
      blank(Math.min(j, text.length));
      if (text[i] === quote) keep(i + 1);
    }
  }
  return out.join('');
}

/** The condition of the `if` whose keyword ends at `from`: after any init statement, up to the block's `{`. */
function condition(code: string, from: number): Omit<Condition, 'keyword'> | null {
  let depth = 0;
  let start = from;
  for (let i = from; i < code.length; i++) {
    const c = code[i];
    if (depth === 0 && c === '{') {
      const text = code.slice(start, i);
      const lead = text.length - text.trimStart().length;
      // A `{` of a function literal in the init statement is no block: such an `if` is left alone.
      return text.trim() && !/:=|\bfunc\b/.test(text) ? { start: start + lead, end: start + text.trimEnd().length } : null;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth < 0) return null;
    else if (depth === 0 && c === ';') start = i + 1;
  }
  return null;
}

export const goMutationSites = siteFinder({
  mask: maskGo,
  operator: OPERATOR,
  flips: { ...COMMON_FLIPS, '&&': { to: '||', kind: 'operator' }, '||': { to: '&&', kind: 'operator' } },
  conditions: (code) =>
    [...code.matchAll(CONDITION)].flatMap((match) => {
      const found = condition(code, match.index + match[0].length);
      return found ? [{ ...found, keyword: 'if' }] : [];
    }),
  negate: (cond) => `!(${cond})`,
  notCalls: NOT_CALLS,
  declares: /func\s+$/,
});

export const GO_MUTATIONS: MutationLanguage = { targets: goPackagesUnderTest, sites: goMutationSites };
