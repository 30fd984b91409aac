/** JS/TS mutation rules: strings, templates, regexes and comments masked by maskJs, then the shared finders. */
import { maskJs } from '../agent/context';
import { closingBracket, COMMON_FLIPS, siteFinder, type MutationLanguage } from './mutationSites';
import { importedByTests } from './mutationTargets';

const CONDITION = /(?<![\w$.])(if|while)\s*\(/g;

export const jsMutationSites = siteFinder({
  mask: (text) => maskJs(text).code,
  operator: /(?<=\s)(===|!==|==|!=|<=|>=|&&|\|\||[<>+\-*/])(?=\s)/g,
  flips: {
    ...COMMON_FLIPS,
    '===': { to: '!==', kind: 'comparison' },
    '!==': { to: '===', kind: 'comparison' },
    '&&': { to: '||', kind: 'operator' },
    '||': { to: '&&', kind: 'operator' },
  },
  conditions: (code) =>
    [...code.matchAll(CONDITION)].flatMap((match) => {
      const open = match.index + match[0].length - 1;
      const close = closingBracket(code, open);
      return close === -1 ? [] : [{ start: open + 1, end: close, keyword: match[1] }];
    }),
  negate: (condition) => `!(${condition})`,
  notCalls: new Set(['if', 'while', 'for', 'switch', 'catch', 'function', 'return', 'typeof', 'new']),
  declares: /function\s+$/,
});

export const JS_MUTATIONS: MutationLanguage = { targets: importedByTests((rel) => /\.(m|c)?(j|t)sx?$/i.test(rel)), sites: jsMutationSites };
