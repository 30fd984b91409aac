// Bundles each entry point. `node esbuild.mjs` builds the product (host, CLI, extension) into dist/; `--tests` also builds the
// mocha suites into dist-test/, `--bench` the benchmarks, `--tools` the dev scripts (npm start) into dist-tools/. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = new Set(process.argv.slice(2));
const production = !args.has('--dev');

/** @type {esbuild.BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  minify: production,
  keepNames: true,
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { server: 'server/lsp/host.ts', cli: 'server/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  // The extension runs in VS Code's extension host, which provides `vscode`.
  { ...node, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', external: ['vscode'] },
  // The dashboard runs in a webview: a browser bundle, Preact JSX.
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: { main: 'webview/main.tsx' },
    outdir: 'dist/webview',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: production,
    sourcemap: production ? false : 'inline',
    logLevel: 'warning',
  },
];

// Static files the webview loads by URI: sql.js's wasm, the stylesheet, the codicon font.
mkdirSync('dist/webview/codicons', { recursive: true });
cpSync('node_modules/sql.js/dist/sql-wasm-browser.wasm', 'dist/webview/sql-wasm.wasm');
cpSync('webview/styles.css', 'dist/webview/styles.css');
cpSync('webview/browser-theme.css', 'dist/webview/browser-theme.css');
for (const file of ['codicon.css', 'codicon.ttf']) cpSync(`node_modules/@vscode/codicons/dist/${file}`, `dist/webview/codicons/${file}`);

const listTs = (dir) =>
  readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
if (args.has('--tools')) {
  builds.push({ ...node, minify: false, packages: 'external', entryPoints: listTs('scripts'), outdir: 'dist-tools' });
}
if (args.has('--tests')) {
  // Tests keep their dependencies external: mocha and the SDKs load from node_modules.
  builds.push({
    ...node,
    minify: false,
    keepNames: false,
    packages: 'external',
    entryPoints: listTs('test').filter((f) => !f.startsWith(join('test', 'bench'))),
    outdir: 'dist-test',
    outbase: 'test',
  });
}
if (args.has('--bench')) {
  const browserBench = join('test', 'bench', 'browser');
  builds.push({
    ...node,
    minify: false,
    keepNames: false,
    packages: 'external',
    entryPoints: listTs('test').filter((f) => !f.startsWith(browserBench)),
    outdir: 'dist-test',
    outbase: 'test',
  });
  // Benchmarks that run inside Chromium, on the webview's own code.
  builds.push({
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    entryPoints: listTs(browserBench),
    outdir: join('dist-test', 'bench', 'browser'),
    logLevel: 'warning',
  });
}

if (args.has('--watch')) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
