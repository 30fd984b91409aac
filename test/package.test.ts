import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installExtension } from './support/codeServer';
import { REPO } from './support/fixtures';
import { packagedVsix } from './support/vsix';

/** Every file under `dir`, relative and `/`-separated, sorted. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((file) => fs.statSync(path.join(dir, file)).isFile())
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

describe('the packaged extension (npm run package)', function () {
  // Packaging bundles dist/ first; installing starts code-server's CLI.
  this.timeout(180_000);
  let vsix: string;
  let installed: string;
  let base: string;

  before(async () => {
    vsix = await packagedVsix();
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-ai-vsix-'));
    installed = await installExtension(path.join(base, 'extensions'), path.join(base, 'user-data'));
  });
  after(() => base && fs.rmSync(base, { recursive: true, force: true }));

  it('is dev-ai-<version>.vsix at the project root, under 3 MB', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    assert.equal(vsix, path.join(REPO, `dev-ai-${version}.vsix`));
    const size = fs.statSync(vsix).size;
    assert.ok(size < 3 * 1024 * 1024, `the .vsix is ${size} bytes`);
  });

  it('installs with code-server --install-extension and holds the bundles, the webview assets and the media, nothing else', () => {
    const files = filesUnder(installed);
    for (const needed of [
      'package.json',
      // vsce's names for README.md, CHANGELOG.md and LICENSE.
      'readme.md',
      'changelog.md',
      'LICENSE.txt',
      'dist/extension.js',
      'dist/server.js',
      'dist/cli.js',
      // What the host and the CLI load on first use only (LAZY in esbuild.mjs).
      'dist/lazy/openai.js',
      'dist/lazy/anthropic.js',
      'dist/lazy/otlpExport.js',
      'dist/lazy/mcpSdk.js',
      'dist/lazy/ws.js',
      'dist/webview/main.js',
      'dist/webview/styles.css',
      'dist/webview/browser-theme.css',
      'dist/webview/sql-wasm.wasm',
      'dist/webview/codicons/codicon.css',
      'dist/webview/codicons/codicon.ttf',
      'media/icon.png',
      'media/activity.svg',
    ]) {
      assert.ok(files.includes(needed), `${needed} is in the package: ${files.join(', ')}`);
    }
    const leaked = files.filter((file) => /\.(map|ts|tsx|mjs)$/.test(file) || /^(node_modules|test|server|extension|webview|scripts|examples)\//.test(file));
    assert.deepEqual(leaked, [], 'no sources, tests, source maps or dependencies');
  });

  it('carries the marketplace fields, and every file the manifest names', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.publisher, 'dev-ai');
    assert.match(pkg.repository.url, /^https:\/\//);
    assert.ok(pkg.categories.length > 0);
    const named = [pkg.main, pkg.icon, ...pkg.contributes.viewsContainers.activitybar.map((c: { icon: string }) => c.icon)];
    for (const step of pkg.contributes.walkthroughs.flatMap((w: any) => w.steps)) named.push(step.media.markdown);
    for (const file of named) assert.ok(fs.existsSync(path.join(installed, file)), `${file} is installed`);
  });

  it('runs the bundled micro-agent CLI from where it is installed', () => {
    const out = execFileSync(process.execPath, [path.join(installed, 'dist', 'cli.js'), '--help'], { encoding: 'utf8' });
    assert.match(out, /micro-agent mcp/);
  });
});
