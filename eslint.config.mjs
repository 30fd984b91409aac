// @ts-check
// ESLint for the whole repository: typescript-eslint's type-aware rules on the TypeScript (they see the types, so they
// catch promises nobody awaits or catches), ESLint's own recommended rules on the plain JavaScript, and Prettier for
// layout (eslint-config-prettier turns off every rule that would argue with it). `npm run lint` runs this and
// `prettier --check`; `npm run format` fixes what both can.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The import boundaries: AI-DEVELOP.md's "may import" column as lint rules (`no-restricted-imports`). `server/`'s
 * folders by layer:
 * - the contract, `protocol/`, which imports nothing but itself, and which `extension/` and `webview/` import alone;
 * - the foundations, which import the contract and each other, and no capability;
 * - the capabilities, which import the contract, the foundations and each other;
 * - the engine and its handler table, which import the capabilities;
 * - the edges, each of which imports the engine and the capabilities, never another edge: a host that starts
 *   another edge (the CLI's `serve` and `mcp`, the editor's `devAi.api.enabled`) reaches it through its entry module.
 * A file belongs to one block below (ESLint applies the last block that names a file, it does not merge them).
 */
const LAYERS = {
  foundations: ['foundation'],
  capabilities: ['agent', 'review', 'testResults', 'providers', 'events', 'telemetry', 'alerts', 'usage'],
  /** The engine and the eval engine over it (`server/eval/`: tasks, isolated copies, cells): one layer, no edge. */
  engine: ['engine', 'eval'],
  edges: { lsp: ['lsp'], api: ['api'], cli: ['cli'], mcp: ['mcp'] },
  /** The module through which a host starts an edge. */
  entries: ['api/start', 'mcp/mcp'],
};
const WHY = 'AI-DEVELOP.md § Architecture, the "may import" column';
/** `server/`'s folders `names` as a relative import from another of its folders reaches them (`../x/y`, `../../x`). */
const reaching = (names, except = []) => `^(\\.\\./)+${except.map((path) => `(?!${path}$)`).join('')}(${names.join('|')})(\\.ts)?(/|$)`;
/** The files of `server/`'s folders `names`. */
const filesOf = (names) => names.map((name) => `server/${name}/**/*.ts`);
const forbid = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });
const boundary = (names, rule, except) => ({ regex: reaching(names, except), message: `import boundary: ${rule} (${WHY}).` });
const allEdges = Object.values(LAYERS.edges).flat();
const boundaries = [
  forbid(
    ['extension/**/*.ts', 'webview/**/*.{ts,tsx}'],
    [
      {
        regex: '^(\\.\\./)+server(/(?!protocol(/|$)).*)?$',
        message: `import boundary: extension/ and webview/ import only the contract, server/protocol/ (${WHY}).`,
      },
    ],
  ),
  forbid(filesOf(['protocol']), [
    { regex: '^\\.\\.(/|$)', message: `import boundary: server/protocol/ (the contract) imports nothing but itself (${WHY}).` },
    { regex: '^node:', message: `import boundary: server/protocol/ (the contract) is pure: the webview bundles it (${WHY}).` },
  ]),
  forbid(filesOf(LAYERS.foundations), [
    boundary([...LAYERS.capabilities, ...LAYERS.engine, ...allEdges], 'a foundation imports no capability, engine or edge'),
  ]),
  forbid(filesOf(LAYERS.capabilities), [boundary([...LAYERS.engine, ...allEdges], 'a capability imports no engine or edge')]),
  forbid(filesOf(LAYERS.engine), [boundary(allEdges, 'the engine and the handler table import no edge')]),
  ...Object.entries(LAYERS.edges).map(([edge, names]) =>
    forbid(filesOf(names), [
      boundary(
        allEdges.filter((name) => !names.includes(name)),
        `no edge imports another edge, only the entry that starts it (${LAYERS.entries.join(', ')}); this is the ${edge} edge`,
        LAYERS.entries,
      ),
    ]),
  ),
];

export default defineConfig(
  globalIgnores(['dist/', 'dist-test/', 'dist-tools/', 'test-artifacts/', 'media/', '**/.micro-agent/', '*.vsix']),
  // Sample projects the tests run other test runners on (jest, mocha, vitest, …), in those runners' dialects, and
  // with line numbers the tests assert on.
  globalIgnores(['test/fixtures/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The crash class we harden against: a rejected promise nobody handles takes the host down.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // LSP message types are namespaces on purpose (`StartRunRequest.type`, as vscode-languageserver-protocol does).
      '@typescript-eslint/no-namespace': 'off',
      // An AbortSignal's reason is `any` and is what a cancelled call rejects with; a string or a number is still caught.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // tsc already fails on unused locals and parameters (noUnusedLocals, noUnusedParameters): one report is enough.
      '@typescript-eslint/no-unused-vars': 'off',
      // `async` without `await` is deliberate here: it turns a synchronous throw into a rejection the caller handles.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read JSON off the wire (the event log, the vendor's recorded requests) as `any` on purpose, and assert on
    // its shape: typing every such read would only restate the assertions.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['examples/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
  ...boundaries,
  prettier,
  {
    // Prettier wraps what it can at 160 columns; this catches what it cannot (long strings, comments, template literals).
    rules: { 'max-len': ['error', { code: 160, tabWidth: 2, ignoreUrls: true }] },
  },
);
