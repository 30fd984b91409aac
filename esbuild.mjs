// Bundles each entry point. `node esbuild.mjs` builds the product (host, CLI, extension) into dist/; `--tests` also builds the
// mocha suites into dist-test/, `--bench` the benchmarks, `--tools` the dev scripts (npm start) into dist-tools/. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/**
 * What a start does not need, bundled apart into dist/lazy/<name>.js and loaded on first use: the owning module
 * imports it only lazily (`await import()`, or a `require` where the caller is synchronous), and the host and CLI
 * bundles require the file at that moment. Node compiles a bundle whole when it loads it, so every KB left out
 * is start time saved (the 2 MB CLI took ~170 ms to compile on the 2-core bench machine; without these it is 192 KB).
 * Tests bundle them as usual. Keys are the chunk names; values what the owner imports (a package, or a module
 * of ours that holds no state the bundles share).
 */
const LAZY = {
  openai: 'openai', // server/providers/openai.ts, on the first call to OpenAI or Ollama
  anthropic: '@anthropic-ai/sdk', // server/providers/anthropic.ts, on the first call to Anthropic
  otlpExport: './server/telemetry/otlpExport.ts', // server/telemetry/telemetry.ts, when an OTLP endpoint is set (OpenTelemetry's SDK)
  mcpSdk: './server/mcp/mcpSdk.ts', // server/mcp/mcp.ts, by `micro-agent mcp` (the MCP SDK and zod)
  ws: 'ws', // server/api/ws.ts, on the live API's first WebSocket (it loads Node's TLS and HTTPS too)
};
const lazyByImport = new Map(Object.entries(LAZY).map(([name, target]) => [target.startsWith('.') ? resolve(target) : target, `./lazy/${name}.js`]));
/** Resolves an import of a LAZY entry to its chunk, left for Node to require at run time beside the bundle. */
const lazyChunks = {
  name: 'lazy-chunks',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const local = args.path.startsWith('.') ? resolve(args.resolveDir, args.path) : args.path;
      const chunk = lazyByImport.get(local) ?? lazyByImport.get(`${local}.ts`);
      return chunk ? { path: chunk, external: true } : undefined;
    });
  },
};

const builds = [
  {
    ...node,
    entryPoints: { server: 'server/lsp/host.ts', cli: 'server/cli/cli.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [lazyChunks],
    // `import()` becomes `require()`, so a lazy chunk (CommonJS, like the bundle) is loaded as it would be bundled in.
    supported: { 'dynamic-import': false },
  },
  { ...node, entryPoints: LAZY, outdir: 'dist/lazy' },
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
