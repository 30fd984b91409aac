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
  prettier,
  {
    // Prettier wraps what it can at 160 columns; this catches what it cannot (long strings, comments, template literals).
    rules: { 'max-len': ['error', { code: 160, tabWidth: 2, ignoreUrls: true }] },
  },
);
