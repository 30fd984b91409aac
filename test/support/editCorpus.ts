/**
 * A corpus of model replies shaped like what real models send, each with a small project and its `node --test`
 * suite: the failure modes Aider's, Cline's and Roo Code's issue trackers document (indentation drift, tabs,
 * blank lines, `// ... existing code ...` elisions, markdown lists, paths in fence info strings and after labels,
 * unified diffs with `@@ ... @@` hunks, CRLF, prose around blocks) and the replies that must be refused (ambiguous,
 * paraphrased or truncated blocks, test-file edits, elided REPLACE sections, a missing divider). Each case says what
 * the engine must do with it: apply it at the first reply, after which the tests pass, or refuse it, saying why.
 */
import type { MatchStep, RejectReason } from '../../server/protocol';

export interface CorpusCase {
  name: string;
  /** The project: sources and their node:test suites (which fail before the reply). */
  files: Record<string, string>;
  /** The file the run fixes. */
  target: string;
  reply: string;
  /** The vendor's finish reason for the reply. */
  finishReason?: 'stop' | 'length';
  expect: { applied: MatchStep } | { refused: RejectReason; message: RegExp };
}

const F = '```';
const block = (search: string, replace: string) => `<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n`;
/** Lines joined, each ending in a line break. */
const text = (...lines: string[]) => lines.map((line) => (line.endsWith('\n') ? line : `${line}\n`)).join('');
/** A fence holding `body`, named by a path line before it (or not). */
const fenced = (path: string | null, language: string, body: string) => `${path === null ? '' : `${path}\n`}${F}${language}\n${body}${F}\n`;
const testFile = (require: string, body: string) => `const test = require('node:test');\nconst assert = require('node:assert');\n${require}\n${body}`;

// --- The projects -------------------------------------------------------------------------------------------------

const PRICE = `const TAX_RATE = 0.2;

function withTax(amount) {
  return amount * TAX_RATE;
}

function discount(amount, percent) {
  if (percent < 0 || percent > 100) {
    throw new RangeError('percent out of range');
  }
  return amount - amount * percent;
}

module.exports = { withTax, discount };
`;
const PRICE_TEST = testFile(
  "const { withTax, discount } = require('../src/price.js');",
  "test('withTax', () => assert.strictEqual(withTax(100), 120));\ntest('discount', () => assert.strictEqual(discount(200, 10), 180));\n",
);
const price = { 'src/price.js': PRICE, 'test/price.test.js': PRICE_TEST };
const TAX_SEARCH = 'function withTax(amount) {\n  return amount * TAX_RATE;\n}\n';
const TAX_REPLACE = 'function withTax(amount) {\n  return amount * (1 + TAX_RATE);\n}\n';
const WITH_TAX_TEST = "test('withTax', () => assert.strictEqual(withTax(100), 120));\n";
const PERCENT_OF = 'function percentOf(amount, percent) {\n  return amount * percent;\n}\n';
const DISCOUNT_SEARCH = '  return amount - amount * percent;\n';
const DISCOUNT_REPLACE = '  return amount - (amount * percent) / 100;\n';
const PRICE_FIX = block(TAX_SEARCH, TAX_REPLACE) + block(DISCOUNT_SEARCH, DISCOUNT_REPLACE);

const CART = `class Cart {
  constructor() {
    this.items = [];
  }

  add(name, price, qty = 1) {
    this.items.push({ name, price, qty });
    return this;
  }

  total() {
    let sum = 0;
    for (const item of this.items) {
      sum += item.price;
    }
    return sum;
  }
}

module.exports = { Cart };
`;
const CART_TEST = testFile(
  "const { Cart } = require('./cart.js');",
  "test('total counts quantities', () => assert.strictEqual(new Cart().add('a', 2, 3).add('b', 5).total(), 11));\n",
);
const cart = { 'cart.js': CART, 'cart.test.js': CART_TEST };

const STACK = [
  'function createStack() {',
  '\tconst items = [];',
  '\treturn {',
  '\t\tpush(x) {',
  '\t\t\titems.push(x);',
  '\t\t},',
  '\t\tpop() {',
  '\t\t\treturn items.shift();',
  '\t\t},',
  '\t\tsize() {',
  '\t\t\treturn items.length;',
  '\t\t},',
  '\t};',
  '}',
  '',
  'module.exports = { createStack };',
  '',
].join('\n');
const STACK_TEST = testFile(
  "const { createStack } = require('./stack.js');",
  "test('pop is last in, first out', () => {\n  const s = createStack();\n  s.push(1);\n  s.push(2);\n  assert.strictEqual(s.pop(), 2);\n});\n",
);
const stack = { 'stack.js': STACK, 'stack.test.js': STACK_TEST };

const SLUGIFY = `function slugify(text) {
  return text
    .toLowerCase()
    .replace(/\\s+/g, '-');
}

module.exports = { slugify };
`;
const SLUGIFY_FIXED = `function slugify(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9\\s-]/g, '')
    .replace(/\\s+/g, '-');
}

module.exports = { slugify };
`;
const SLUGIFY_TEST = testFile(
  "const { slugify } = require('./slugify.js');",
  "test('slugify', () => assert.strictEqual(slugify('  Hello World!  '), 'hello-world'));\n",
);
const slugify = { 'slugify.js': SLUGIFY, 'slugify.test.js': SLUGIFY_TEST };
const SLUG_SEARCH = '  return text\n    .toLowerCase()\n';
const SLUG_REPLACE = "  return text\n    .trim()\n    .toLowerCase()\n    .replace(/[^a-z0-9\\s-]/g, '')\n";

const STATS = `function summarize(values) {
  if (values.length === 0) {
    return { count: 0, mean: 0, max: null };
  }
  let total = 0;
  let max = -Infinity;
  for (const value of values) {
    total += value;
    if (value > max) {
      max = value;
    }
  }
  const mean = total / values.length;
  return { count: values.length, mean: Math.floor(mean), max };
}

module.exports = { summarize };
`;
const STATS_TEST = testFile(
  "const { summarize } = require('./stats.js');",
  "test('mean is exact', () => assert.deepStrictEqual(summarize([1, 2]), { count: 2, mean: 1.5, max: 2 }));\n",
);
const stats = { 'stats.js': STATS, 'stats.test.js': STATS_TEST };
const STATS_RETURN = '  return { count: values.length, mean: Math.floor(mean), max };';
const STATS_FIXED_RETURN = '  return { count: values.length, mean, max };';

const TOTAL = `const { sum } = require('./lib/sum');\n\nexports.total = (xs) => sum(xs);\n`;
const SUM = `exports.sum = (xs) => xs.reduce((a, b) => a - b, 0);\n`;
const TOTAL_TEST = testFile(
  "const { total } = require('./total.js');",
  "test('total', () => assert.strictEqual(total([1, 2, 3]), 6));\ntest('empty', () => assert.strictEqual(total(), 0));\n",
);
const total = { 'total.js': TOTAL, 'lib/sum.js': SUM, 'total.test.js': TOTAL_TEST };

const NESTED = { 'app/src/price.js': PRICE, 'app/test/price.test.js': PRICE_TEST.replace("'../src/price.js'", "'../src/price.js'") };

const MATH = `function add(a, b) {
  return a - b;
}

function subtract(a, b) {
  return a - b;
}

module.exports = { add, subtract };
`;
const MATH_TEST = testFile(
  "const { add, subtract } = require('./math.js');",
  "test('add', () => assert.strictEqual(add(2, 3), 5));\ntest('subtract', () => assert.strictEqual(subtract(3, 2), 1));\n",
);
const math = { 'math.js': MATH, 'math.test.js': MATH_TEST };

const CONFIG = `const defaults = { retries: 3, verbose: false };

function load(overrides) {
  const config = { ...defaults, ...overrides };
  config.retries = 0;
  return config;
}

module.exports = { load };
`;
const CONFIG_TEST = testFile("const { load } = require('./config.js');", "test('keeps retries', () => assert.strictEqual(load({}).retries, 3));\n");
const config = { 'config.js': CONFIG, 'config.test.js': CONFIG_TEST };

const GREET = `const { format } = require('./format');\n\nexports.greet = (name) => format(name);\n`;
const FORMAT = `exports.format = (name) => name;\n`;
const GREET_TEST = testFile("const { greet } = require('./greet.js');", "test('greet', () => assert.strictEqual(greet('ada'), 'Hello, Ada!'));\n");
const greet = { 'greet.js': GREET, 'format.js': FORMAT, 'greet.test.js': GREET_TEST };

const crlf = (text: string) => text.replace(/\n/g, '\r\n');

// --- The replies that must apply ----------------------------------------------------------------------------------

const applies: CorpusCase[] = [
  {
    name: 'canonical: a path line and a fence holding two blocks',
    files: price,
    target: 'src/price.js',
    reply: `The tax was applied as the total, and the percentage was not divided by 100.\n\nsrc/price.js\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'bare blocks without a fence, prose between them',
    files: price,
    target: 'src/price.js',
    reply: `src/price.js\n${block(TAX_SEARCH, TAX_REPLACE)}\nAnd the discount:\n\nsrc/price.js\n${block(DISCOUNT_SEARCH, DISCOUNT_REPLACE)}`,
    expect: { applied: 'exact' },
  },
  {
    name: 'prose around the blocks and a bash fence with the test command',
    files: price,
    target: 'src/price.js',
    reply: text(
      'I looked at the failing tests.',
      '',
      '1. `withTax` returned only the tax.',
      '2. `discount` treated 10 as 1000%.',
      '',
      fenced('src/price.js', 'javascript', PRICE_FIX),
      '',
      'Run the tests again with:',
      '',
      fenced(null, 'bash', 'node --test\n'),
      '',
      'This should pass now.',
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'several files in one reply',
    files: total,
    target: 'total.js',
    reply: text(
      'Two fixes.',
      '',
      fenced('lib/sum.js', 'js', block(SUM, SUM.replace('a - b', 'a + b'))),
      '',
      fenced('total.js', 'js', block('exports.total = (xs) => sum(xs);\n', 'exports.total = (xs = []) => sum(xs);\n')),
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'a CRLF reply against an LF file',
    files: price,
    target: 'src/price.js',
    reply: crlf(`Fixed.\n\nsrc/price.js\n${F}js\n${PRICE_FIX}${F}\n`),
    expect: { applied: 'exact' },
  },
  {
    name: 'an LF reply against a CRLF file (kept CRLF)',
    files: { 'src/price.js': crlf(PRICE), 'test/price.test.js': PRICE_TEST },
    target: 'src/price.js',
    reply: `src/price.js\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'a block inside a markdown list item, every line indented three spaces',
    files: price,
    target: 'src/price.js',
    reply: [
      'Two changes are needed:',
      '',
      '1. `withTax` must add the tax to the amount. In `src/price.js`:',
      '',
      `   ${F}js`,
      ...block(TAX_SEARCH, TAX_REPLACE)
        .trimEnd()
        .split('\n')
        .map((line) => `   ${line}`),
      `   ${F}`,
      '',
      '2. `discount` takes a percentage. In `src/price.js`:',
      '',
      `   ${F}js`,
      ...block(DISCOUNT_SEARCH, DISCOUNT_REPLACE)
        .trimEnd()
        .split('\n')
        .map((line) => `   ${line}`),
      `   ${F}`,
      '',
    ].join('\n'),
    expect: { applied: 'exact' },
  },
  {
    name: 'a block quoted with `>`',
    files: slugify,
    target: 'slugify.js',
    reply: `> slugify.js\n> ${F}js\n${block(SLUG_SEARCH, SLUG_REPLACE)
      .trimEnd()
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n')}\n> ${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'SEARCH indented one level less than the file (the method lifted out of its class)',
    files: cart,
    target: 'cart.js',
    reply: fenced(
      'cart.js',
      'js',
      block(
        text('total() {', '  let sum = 0;', '  for (const item of this.items) {', '    sum += item.price;', '  }'),
        text('total() {', '  let sum = 0;', '  for (const item of this.items) {', '    sum += item.price * item.qty;', '  }'),
      ),
    ),
    expect: { applied: 'indent' },
  },
  {
    name: 'SEARCH indented one level more than the file',
    files: cart,
    target: 'cart.js',
    reply: fenced(
      'cart.js',
      'js',
      block(
        text('        for (const item of this.items) {', '          sum += item.price;', '        }'),
        text('        for (const item of this.items) {', '          sum += item.price * item.qty;', '        }'),
      ),
    ),
    expect: { applied: 'indent' },
  },
  {
    name: 'spaces in SEARCH and REPLACE against a file indented with tabs',
    files: stack,
    target: 'stack.js',
    reply: fenced(
      'stack.js',
      'js',
      block(
        text('        pop() {', '            return items.shift();', '        },'),
        text('        pop() {', '            return items.pop();', '        },'),
      ),
    ),
    expect: { applied: 'tabs' },
  },
  {
    name: 'a blank line missing from SEARCH',
    files: price,
    target: 'src/price.js',
    reply: fenced(
      'src/price.js',
      'js',
      block(`const TAX_RATE = 0.2;\n${TAX_SEARCH}`, `const TAX_RATE = 0.2;\n\n${TAX_REPLACE}`) + block(DISCOUNT_SEARCH, DISCOUNT_REPLACE),
    ),
    expect: { applied: 'blank_lines' },
  },
  {
    name: 'an extra blank line in SEARCH',
    files: price,
    target: 'src/price.js',
    reply: fenced('src/price.js', 'js', block(TAX_SEARCH.replace('{\n', '{\n\n'), TAX_REPLACE) + block(DISCOUNT_SEARCH, DISCOUNT_REPLACE)),
    expect: { applied: 'blank_lines' },
  },
  {
    name: '`// ... existing code ...` paired in SEARCH and REPLACE',
    files: stats,
    target: 'stats.js',
    reply: fenced(
      'stats.js',
      'js',
      block(
        text('function summarize(values) {', '  // ... existing code ...', '  const mean = total / values.length;', STATS_RETURN, '}'),
        text('function summarize(values) {', '  // ... existing code ...', '  const mean = total / values.length;', STATS_FIXED_RETURN, '}'),
      ),
    ),
    expect: { applied: 'elision' },
  },
  {
    name: 'a bare `...` line paired in SEARCH and REPLACE',
    files: stats,
    target: 'stats.js',
    reply: fenced('stats.js', 'js', block(text('  let total = 0;', '...', STATS_RETURN), text('  let total = 0;', '...', STATS_FIXED_RETURN))),
    expect: { applied: 'elision' },
  },
  {
    name: 'a second block edits what the first one wrote',
    files: price,
    target: 'src/price.js',
    reply: fenced(
      'src/price.js',
      'js',
      block(TAX_SEARCH, `${TAX_SEARCH}\n${PERCENT_OF}`) +
        block(PERCENT_OF, PERCENT_OF.replace('amount * percent', '(amount * percent) / 100')) +
        block(TAX_SEARCH, TAX_SEARCH.replace('amount * TAX_RATE', 'amount + amount * TAX_RATE')) +
        block(DISCOUNT_SEARCH, '  return amount - percentOf(amount, percent);\n'),
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'the path in the fence info string (```js:path)',
    files: price,
    target: 'src/price.js',
    reply: `Here is the fix:\n\n${F}js:src/price.js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'the path after the language in the info string (```javascript path)',
    files: price,
    target: 'src/price.js',
    reply: `${F}javascript src/price.js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'the path after a bold `**File:**` label',
    files: price,
    target: 'src/price.js',
    reply: `**File:** \`src/price.js\`\n\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'the path after `File:`',
    files: price,
    target: 'src/price.js',
    reply: `File: src/price.js\n${F}\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: '`./path` in backticks',
    files: price,
    target: 'src/price.js',
    reply: `\`./src/price.js\`\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'a path relative to a parent folder (src/price.js for app/src/price.js)',
    files: NESTED,
    target: 'app/src/price.js',
    reply: `src/price.js\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'no path at all, the one editable file',
    files: slugify,
    target: 'slugify.js',
    reply: `The slug keeps punctuation and the spaces around it.\n\n${F}js\n${block(SLUG_SEARCH, SLUG_REPLACE)}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'a unified diff with a/ b/ headers in a diff fence',
    files: price,
    target: 'src/price.js',
    reply: fenced(
      null,
      'diff',
      text(
        '--- a/src/price.js',
        '+++ b/src/price.js',
        '@@ -3,7 +3,7 @@',
        ' function withTax(amount) {',
        '-  return amount * TAX_RATE;',
        '+  return amount * (1 + TAX_RATE);',
        ' }',
        ' ',
        ' function discount(amount, percent) {',
        '@@ -10,5 +10,5 @@',
        "     throw new RangeError('percent out of range');",
        '   }',
        '-  return amount - amount * percent;',
        '+  return amount - (amount * percent) / 100;',
        ' }',
      ),
    ),
    expect: { applied: 'exact' },
  },
  {
    name: "Aider's `@@ ... @@` hunks with wrong line numbers and lost leading spaces",
    files: price,
    target: 'src/price.js',
    reply: fenced(
      null,
      'diff',
      text(
        '--- src/price.js',
        '+++ src/price.js',
        '@@ ... @@',
        'function withTax(amount) {',
        '-  return amount * TAX_RATE;',
        '+  return amount * (1 + TAX_RATE);',
        '@@ -99,2 +99,2 @@',
        '-  return amount - amount * percent;',
        '+  return amount - (amount * percent) / 100;',
      ),
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'a bare diff, no fence, prose after it',
    files: slugify,
    target: 'slugify.js',
    reply: text(
      '--- slugify.js',
      '+++ slugify.js',
      '@@ -1,4 +1,6 @@',
      ' function slugify(text) {',
      '   return text',
      '+    .trim()',
      '     .toLowerCase()',
      "+    .replace(/[^a-z0-9\\s-]/g, '')",
      "     .replace(/\\s+/g, '-');",
      '',
      'The input is trimmed and punctuation dropped.',
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'deletion by an empty REPLACE',
    files: config,
    target: 'config.js',
    reply: `The retries override wipes the default.\n\nconfig.js\n${F}js\n${block('  config.retries = 0;\n', '')}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'a new file from an empty SEARCH, and the edit that uses it',
    files: greet,
    target: 'greet.js',
    reply: text(
      fenced(
        'format.js',
        'js',
        block(FORMAT, "const { capitalize } = require('./capitalize');\n\nexports.format = (name) => `Hello, ${capitalize(name)}!`;\n"),
      ),
      '',
      fenced('capitalize.js', 'js', block('', 'exports.capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);\n')),
    ),
    expect: { applied: 'exact' },
  },
  {
    name: 'the whole file in one unnamed fence',
    files: slugify,
    target: 'slugify.js',
    reply: `Here is the corrected file:\n\n${F}javascript\n${SLUGIFY_FIXED}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'the whole file named by a path line',
    files: slugify,
    target: 'slugify.js',
    reply: `slugify.js\n${F}js\n${SLUGIFY_FIXED}${F}\n`,
    expect: { applied: 'exact' },
  },
  {
    name: 'trailing whitespace in SEARCH',
    files: price,
    target: 'src/price.js',
    reply: fenced('src/price.js', 'js', block(TAX_SEARCH.replace('{\n', '{   \n'), TAX_REPLACE) + block(`${DISCOUNT_SEARCH.trimEnd()}  \n`, DISCOUNT_REPLACE)),
    expect: { applied: 'whitespace' },
  },
];

// --- The replies that must be refused, the files untouched ---------------------------------------------------------

const refusals: CorpusCase[] = [
  {
    name: 'a SEARCH that matches twice',
    files: math,
    target: 'math.js',
    reply: `math.js\n${F}js\n${block('  return a - b;\n', '  return a + b;\n')}${F}\n`,
    expect: { refused: 'edit_mismatch', message: /matches 2 times \(lines 2, 6\); include more lines/ },
  },
  {
    name: 'an edit of the test file',
    files: price,
    target: 'src/price.js',
    reply: text('The test expects the wrong value.', '', fenced('test/price.test.js', 'js', block(WITH_TAX_TEST, WITH_TAX_TEST.replace('120', '20')))),
    expect: { refused: 'forbidden_path', message: /test\/price\.test\.js is a test file/ },
  },
  {
    name: 'a reply cut off by the token limit after its first complete block',
    files: price,
    target: 'src/price.js',
    finishReason: 'length',
    reply: `src/price.js\n${F}js\n${block(TAX_SEARCH, TAX_REPLACE)}<<<<<<< SEARCH\n  return amount - amount * percent;\n=======\n  return amount - (amount`,
    expect: { refused: 'truncated', message: /block 2 \(src\/price\.js\) was cut off by the token limit/ },
  },
  {
    name: 'a block without its ======= divider',
    files: price,
    target: 'src/price.js',
    reply: `src/price.js\n${F}js\n<<<<<<< SEARCH\n${DISCOUNT_SEARCH}${DISCOUNT_REPLACE}>>>>>>> REPLACE\n${F}\n`,
    expect: { refused: 'malformed', message: /block 1 \(src\/price\.js\) has no ======= line/ },
  },
  {
    name: 'a paraphrased SEARCH (code that is not in the file)',
    files: price,
    target: 'src/price.js',
    reply: `src/price.js\n${F}js\n${block('function withTax(price) {\n  return price * TAX;\n}\n', TAX_REPLACE)}${F}\n`,
    expect: { refused: 'edit_mismatch', message: /matches nowhere in src\/price\.js\. The closest lines[\s\S]*3\| function withTax\(amount\)/ },
  },
  {
    name: 'a REPLACE that swaps the body for `// ... existing code ...`',
    files: stats,
    target: 'stats.js',
    reply: fenced(
      'stats.js',
      'js',
      block(text('  const mean = total / values.length;', STATS_RETURN, '}'), text('  // ... existing code ...', STATS_FIXED_RETURN, '}')),
    ),
    expect: { refused: 'elided', message: /would write "\/\/ \.\.\. existing code \.\.\." into stats\.js/ },
  },
  {
    name: 'a whole file that elides code the file has',
    files: stats,
    target: 'stats.js',
    reply: fenced(
      null,
      'js',
      text('function summarize(values) {', '  // ... rest of the function unchanged', STATS_FIXED_RETURN, '}', '', 'module.exports = { summarize };'),
    ),
    expect: { refused: 'elided', message: /the whole stats\.js sent has "\/\/ \.\.\. rest of the function unchanged"/ },
  },
  {
    name: 'a REPLACE with no SEARCH marker before it',
    files: slugify,
    target: 'slugify.js',
    reply: `${F}js\n${SLUG_SEARCH}=======\n${SLUG_REPLACE}>>>>>>> REPLACE\n${F}\n`,
    expect: { refused: 'malformed', message: /has no <<<<<<< SEARCH before it/ },
  },
  {
    name: 'a diff whose context is not in the file',
    files: price,
    target: 'src/price.js',
    reply: fenced(
      null,
      'diff',
      text(
        '--- a/src/price.js',
        '+++ b/src/price.js',
        '@@ -1,3 +1,3 @@',
        ' function addTax(total) {',
        '-  return total * RATE;',
        '+  return total * (1 + RATE);',
        ' }',
      ),
    ),
    expect: { refused: 'edit_mismatch', message: /hunk 1 \(src\/price\.js\)[\s\S]*send SEARCH\/REPLACE blocks instead/ },
  },
  {
    name: 'a non-empty SEARCH on a path that does not exist',
    files: price,
    target: 'src/price.js',
    reply: `src/prices.js\n${F}js\n${PRICE_FIX}${F}\n`,
    expect: { refused: 'edit_mismatch', message: /no such file; did you mean `src\/price\.js`\?/ },
  },
];

export const CORPUS: readonly CorpusCase[] = [...applies, ...refusals];
