/**
 * Python mutation rules. Strings (one-line and triple-quoted, with any r/b/f/u prefix, the prefix being a name's
 * letters left in place) and `#` comments are masked by maskPython first, so a docstring and its doctests are never
 * mutated. A negation wraps the whole condition of an `if`, `elif` or `while` statement: `if not (cond):`.
 */
import { maskPython } from '../agent/context';
import { COMMON_FLIPS, siteFinder, type Condition, type MutationLanguage } from './mutationSites';
import { importedByTests } from './mutationTargets';

/** Spaced by blanks on both sides, never a line's end: `from m import *` and `def f(a, *, b)` stay as they are. */
const OPERATOR = /(?<=[ \t])(==|!=|<=|>=|and|or|[<>+\-*/])(?=[ \t])/g;
/** A statement that starts a line. Comprehension and conditional-expression `if`s never do. */
const CONDITION = /^[ \t]*(if|elif|while)(?=[\s(])/gm;
const NOT_CALLS: ReadonlySet<string> = new Set([
  ...['if', 'elif', 'while', 'for', 'return', 'def', 'class', 'lambda', 'not', 'and', 'or', 'in', 'is', 'assert'],
  ...['yield', 'del', 'with', 'except', 'await', 'raise', 'import', 'from', 'global', 'nonlocal', 'print'],
]);

/** Where the statement's condition ends: the `:` outside brackets (not a walrus `:=`); -1 past an open line end. */
function conditionEnd(code: string, from: number): number {
  let depth = 0;
  for (let i = from; i < code.length; i++) {
    const c = code[i];
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && c === ':' && code[i + 1] !== '=') return i;
    else if (depth === 0 && c === '\n' && code[i - 1] !== '\\') return -1;
  }
  return -1;
}

function conditions(code: string): Condition[] {
  return [...code.matchAll(CONDITION)].flatMap((match) => {
    // From right after the keyword, so `if(x):` gets its space too.
    const start = match.index + match[0].length;
    const end = conditionEnd(code, start);
    return end === -1 || !code.slice(start, end).trim() ? [] : [{ start, end, keyword: match[1] }];
  });
}

export const pythonMutationSites = siteFinder({
  mask: maskPython,
  operator: OPERATOR,
  flips: { ...COMMON_FLIPS, and: { to: 'or', kind: 'operator' }, or: { to: 'and', kind: 'operator' } },
  conditions,
  negate: (condition) => ` not (${condition.trim()})`,
  notCalls: NOT_CALLS,
  declares: /(def|class)\s+$/,
});

export const PYTHON_MUTATIONS: MutationLanguage = { targets: importedByTests((rel) => rel.endsWith('.py')), sites: pythonMutationSites };
