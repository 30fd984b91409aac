import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gatherContext, localImports, nodeContextIO, resolveImport, WORKSPACE_FILES_SHOWN } from '../server/agent/context';
import { DEFAULT_CONTEXT_BUDGET_CHARS } from '../server/foundation/config';
import { makeWorkspace } from './support/fixtures';

/** The context for `target` in `root`, on the real disk. */
function gather(root: string, target: string, options: { budgetChars?: number; extra?: string[]; maxEntries?: number } = {}) {
  return gatherContext({
    ...nodeContextIO(root, { maxEntries: options.maxEntries }),
    root,
    target: path.join(root, target),
    budgetChars: options.budgetChars ?? DEFAULT_CONTEXT_BUDGET_CHARS,
    extra: (options.extra ?? []).map((file) => path.join(root, file)),
  });
}

const paths = (files: { path: string }[]) => files.map((file) => file.path);

describe('context: the files the model sees besides the one it fixes', () => {
  describe('localImports', () => {
    it('finds relative imports, re-exports, requires and dynamic imports in order, each once, and nothing else', () => {
      const text = [
        "import a from './a';",
        "import { b, type B } from '../b.js';",
        "import './side-effect';",
        "export * from './all';",
        "export { c as d } from './c';",
        "const e = require('./e');",
        "const f = await import('./f');",
        "import pkg from 'react';",
        "const g = require('node:fs');",
        "import again from './a';",
        'import {',
        '  multi,',
        '  line,',
        "} from './multi';",
      ].join('\n');
      assert.deepEqual(localImports('src/x.ts', text), ['./a', '../b.js', './side-effect', './all', './c', './e', './f', './multi']);
    });

    it('skips imports in comments, strings and template literals', () => {
      const text = [
        "// import a from './commented';",
        "/* const b = require('./block'); */",
        'const s = "import x from \'./in-string\'";',
        "const t = `require('./in-template')`;",
        "const r = /import '.\\/in-regex'/;",
        "const real = require('./real'); // require('./after')",
      ].join('\n');
      assert.deepEqual(localImports('x.js', text), ['./real']);
    });

    it('reads Python relative and absolute imports as dotted names, skipping comments and docstrings', () => {
      const text = [
        '"""Docstring: import fake.module"""',
        'from . import sibling, other as o',
        'from .helpers import tool',
        'from ..pkg.mod import (',
        '    a,',
        '    b,',
        ')',
        'import os, pkg.util as u',
        '# import commented',
        "s = 'from .nope import x'",
        'def f():',
        '    from pkg import late',
      ].join('\n');
      assert.deepEqual(localImports('pkg/sub/x.py', text), ['.sibling', '.other', '.helpers.tool', '..pkg.mod.a', '..pkg.mod.b', 'os', 'pkg.util', 'pkg.late']);
    });

    it('reads a pathological file in one pass, not once per keyword', () => {
      const text = `${'import '.repeat(9000)}\nimport a from './a';\n${'export { x,\n'.repeat(5000)}} from './b';\n`;
      const started = performance.now();
      assert.deepEqual(localImports('x.js', text), ['./a', './b']);
      const ms = performance.now() - started;
      assert.ok(ms < 2000, `took ${ms} ms`);
    });

    it('finds nothing in files of other languages', () => {
      assert.deepEqual(localImports('README.md', "import a from './a'"), []);
    });
  });

  describe('resolveImport', () => {
    const root = '/ws';
    const existing = (files: string[]) => (abs: string) => files.includes(abs);

    it('tries the path as written, the extensions, then index files', () => {
      const exists = existing(['/ws/src/b.js', '/ws/src/lib/index.ts', '/ws/src/data.json']);
      assert.equal(resolveImport('/ws/src/a.js', './b', exists, root), '/ws/src/b.js');
      assert.equal(resolveImport('/ws/src/a.js', './lib', exists, root), '/ws/src/lib/index.ts');
      assert.equal(resolveImport('/ws/src/a.js', './data.json', exists, root), '/ws/src/data.json');
      assert.equal(resolveImport('/ws/src/a.js', './gone', exists, root), null);
    });

    it("maps a TypeScript import of './x.js' to x.ts, preferring the source over a compiled file beside it", () => {
      assert.equal(resolveImport('/ws/a.ts', './x.js', existing(['/ws/x.ts']), root), '/ws/x.ts');
      assert.equal(resolveImport('/ws/a.ts', './x.js', existing(['/ws/x.ts', '/ws/x.js']), root), '/ws/x.ts');
      assert.equal(resolveImport('/ws/a.mts', './x.mjs', existing(['/ws/x.mts']), root), '/ws/x.mts');
      assert.equal(resolveImport('/ws/a.js', './x.js', existing(['/ws/x.ts', '/ws/x.js']), root), '/ws/x.js');
    });

    it('resolves Python modules and packages, relative and from the root, and a name to its module', () => {
      const exists = existing(['/ws/pkg/__init__.py', '/ws/pkg/mod.py', '/ws/pkg/sub/helpers.py', '/ws/top.py']);
      assert.equal(resolveImport('/ws/pkg/sub/x.py', '.helpers.tool', exists, root), '/ws/pkg/sub/helpers.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', '..mod.a', exists, root), '/ws/pkg/mod.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', '..', exists, root), '/ws/pkg/__init__.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', 'pkg.mod', exists, root), '/ws/pkg/mod.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', 'pkg.func', exists, root), '/ws/pkg/__init__.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', 'top', exists, root), '/ws/top.py');
      assert.equal(resolveImport('/ws/pkg/sub/x.py', 'os', exists, root), null);
    });
  });

  describe('gatherContext', () => {
    it('follows a JS chain breadth first, nearest first, through index files', () => {
      const root = makeWorkspace({
        'a.js': "const b = require('./b');\nconst c = require('./c.js');\n",
        'b.js': "module.exports = require('./lib');\n",
        'c.js': 'module.exports = 3;\n',
        'lib/index.js': "module.exports = require('./deep');\n",
        'lib/deep.js': 'module.exports = 1;\n',
      });
      const context = gather(root, 'a.js');
      assert.deepEqual(
        context.files.map((f) => [f.path, f.depth, f.reason]),
        [
          ['b.js', 1, 'import'],
          ['c.js', 1, 'import'],
          ['lib/index.js', 2, 'import'],
          ['lib/deep.js', 3, 'import'],
        ],
      );
      assert.equal(context.files[0].contents, "module.exports = require('./lib');\n");
      assert.deepEqual(context.omitted, []);
    });

    it("resolves a TypeScript './x.js' import to x.ts and follows export * from", () => {
      const root = makeWorkspace({
        'src/index.ts': "export * from './types.js';\nimport { helper } from './util/index.js';\n",
        'src/types.ts': "export type Id = string;\nexport * from './more';\n",
        'src/more.ts': 'export const more = 1;\n',
        'src/util/index.ts': 'export const helper = 1;\n',
      });
      assert.deepEqual(paths(gather(root, 'src/index.ts').files), ['src/types.ts', 'src/util/index.ts', 'src/more.ts']);
    });

    it('follows Python relative and absolute package imports to modules and __init__.py', () => {
      const root = makeWorkspace({
        'app/main.py': 'from . import models\nfrom .services.billing import charge\nimport shared.config\nimport os\n',
        'app/__init__.py': '',
        'app/models.py': 'from shared import helpers\n',
        'app/services/__init__.py': '',
        'app/services/billing.py': 'def charge(): pass\n',
        'shared/__init__.py': 'VERSION = 1\n',
        'shared/config.py': 'DEBUG = False\n',
        'shared/helpers.py': 'def help(): pass\n',
      });
      const context = gather(root, 'app/main.py');
      assert.deepEqual(
        context.files.map((f) => [f.path, f.depth]),
        [
          ['app/models.py', 1],
          ['app/services/billing.py', 1],
          ['shared/config.py', 1],
          ['shared/helpers.py', 2],
        ],
      );
      assert.deepEqual(context.omitted, [], 'os is a library: neither context nor missing');
    });

    it('leaves out whole a file that does not fit the budget, and still takes a smaller one after it', () => {
      const big = `module.exports = '${'x'.repeat(5000)}';\n`;
      const root = makeWorkspace({
        'a.js': "require('./big');\nrequire('./small');\n",
        'big.js': `${big}require('./behind-big');\n`,
        'behind-big.js': 'module.exports = 0;\n',
        'small.js': 'module.exports = 1;\n',
      });
      const context = gather(root, 'a.js', { budgetChars: 1000 });
      assert.deepEqual(paths(context.files), ['small.js']);
      assert.deepEqual(context.omitted, [{ path: 'big.js', reason: 'budget' }]);
      assert.ok(
        context.files.every((f) => !f.contents.includes('xxxx')),
        'nothing is truncated into the context',
      );
    });

    it('never reads node_modules, .git, .micro-agent or files outside the workspace, as written or through a symlink', () => {
      const outside = makeWorkspace({ 'secret.js': 'module.exports = "outside";\n' });
      const root = makeWorkspace({
        'src/a.js': [
          "require('../node_modules/dep/index.js');",
          "require('../.git/config');",
          "require('../.micro-agent/api-tokens.json');",
          `require('../../${path.basename(outside)}/secret.js');`,
          "require('./linked');",
          "require('./tokens.json');",
          "require('./ok');",
        ].join('\n'),
        'src/ok.js': 'module.exports = 1;\n',
        'node_modules/dep/index.js': 'module.exports = "dep";\n',
        '.git/config': '[core]\n',
        '.micro-agent/api-tokens.json': '{"token":"secret"}\n',
      });
      fs.symlinkSync(path.join(outside, 'secret.js'), path.join(root, 'src/linked.js'));
      fs.symlinkSync(path.join(root, '.micro-agent/api-tokens.json'), path.join(root, 'src/tokens.json'));
      const context = gather(root, 'src/a.js', { extra: ['node_modules/dep/index.js', '.git/config'] });
      assert.deepEqual(paths(context.files), ['src/ok.js']);
      const forbidden = context.omitted.filter((o) => o.reason === 'forbidden').map((o) => o.path);
      const expected = [
        '.git/config',
        '.micro-agent/api-tokens.json',
        `../${path.basename(outside)}/secret.js`,
        'node_modules/dep/index.js',
        'src/linked.js',
        'src/tokens.json',
      ];
      assert.deepEqual(forbidden.sort(), expected.sort());
      for (const file of context.files) assert.doesNotMatch(file.contents, /outside|secret|dep|core/);
    });

    it('terminates on import cycles and never includes the target itself', () => {
      const root = makeWorkspace({
        'a.js': "require('./b');\n",
        'b.js': "require('./a');\nrequire('./c');\n",
        'c.js': "require('./b');\nrequire('./a.js');\n",
      });
      assert.deepEqual(paths(gather(root, 'a.js').files), ['b.js', 'c.js']);
    });

    it('puts requested files first, in the order given, and follows their imports after the target’s', () => {
      const root = makeWorkspace({
        'a.js': "require('./dep-a');\n",
        'dep-a.js': '',
        'notes.md': '# notes\n',
        'other.js': "require('./dep-other');\n",
        'dep-other.js': '',
      });
      const context = gather(root, 'a.js', { extra: ['other.js', 'notes.md', 'a.js', 'gone.js'] });
      assert.deepEqual(
        context.files.map((f) => [f.path, f.reason, f.depth]),
        [
          ['other.js', 'requested', 0],
          ['notes.md', 'requested', 0],
          ['dep-a.js', 'import', 1],
          ['dep-other.js', 'import', 1],
        ],
      );
      assert.deepEqual(context.omitted, [{ path: 'gone.js', reason: 'missing' }]);
    });

    it('reports missing relative imports and binary files without reading them into the context', () => {
      const root = makeWorkspace({ 'a.js': "require('./gone');\nrequire('./logo.png');\n" });
      fs.writeFileSync(path.join(root, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
      const context = gather(root, 'a.js');
      assert.deepEqual(context.files, []);
      assert.deepEqual(context.omitted, [
        { path: 'gone', reason: 'missing' },
        { path: 'logo.png', reason: 'binary' },
      ]);
    });

    it('shows files as the model reads text: no BOM, LF line endings', () => {
      const root = makeWorkspace({ 'a.js': "require('./b');\n", 'b.js': '\uFEFFconst b = 1;\r\nmodule.exports = b;\r\n' });
      assert.equal(gather(root, 'a.js').files[0].contents, 'const b = 1;\nmodule.exports = b;\n');
    });

    it('lists the workspace, nearest the target first, without ignored folders, capped', () => {
      const files: Record<string, string> = {
        'pkg/src/target.js': '',
        'pkg/src/sibling.js': '',
        'pkg/README.md': '',
        'top.js': '',
        'node_modules/dep/index.js': '',
        '.git/HEAD': '',
        'dist/out.js': '',
        'py/__pycache__/m.pyc': '',
      };
      for (let i = 0; i < WORKSPACE_FILES_SHOWN + 50; i++) files[`many/f${String(i).padStart(3, '0')}.js`] = '';
      const root = makeWorkspace(files);
      const context = gather(root, 'pkg/src/target.js');
      assert.equal(context.workspaceFiles.length, WORKSPACE_FILES_SHOWN);
      assert.equal(context.workspaceFilesTruncated, true);
      assert.deepEqual(context.workspaceFiles.slice(0, 4), ['pkg/src/sibling.js', 'pkg/src/target.js', 'pkg/README.md', 'top.js']);
      assert.ok(context.workspaceFiles.every((f) => !/node_modules|\.git\/|dist\/|__pycache__/.test(f)));

      const small = makeWorkspace({ 'a.js': '', 'lib/b.js': '', 'node_modules/x/index.js': '' });
      const listed = gather(small, 'a.js');
      assert.deepEqual(listed.workspaceFiles, ['a.js', 'lib/b.js']);
      assert.equal(listed.workspaceFilesTruncated, false);
    });

    it('stops the disk walk after its entry limit, the files nearest the target found first', () => {
      const files: Record<string, string> = { 'deep/down/target.js': '', 'deep/down/near.js': '' };
      for (let i = 0; i < 300; i++) files[`aaa/f${i}.js`] = '';
      const root = makeWorkspace(files);
      const listed = nodeContextIO(root, { maxEntries: 50 }).listFiles(path.join(root, 'deep/down'));
      assert.ok(listed.length <= 50, `${listed.length} files listed`);
      assert.deepEqual(listed.slice(0, 2), ['deep/down/near.js', 'deep/down/target.js']);
    });

    it('gathers 50 context files quickly', function () {
      const files: Record<string, string> = {};
      const body = `${'// filler line of a plausible module\n'.repeat(20)}module.exports = {};\n`;
      const imports = Array.from({ length: 50 }, (_, i) => `require('./lib/m${i}');`).join('\n');
      files['main.js'] = `${imports}\n`;
      for (let i = 0; i < 50; i++) files[`lib/m${i}.js`] = `${i + 1 < 50 ? `require('./m${i + 1}');\n` : ''}${body}`;
      const root = makeWorkspace(files);
      gather(root, 'main.js'); // warm the file system cache and the JIT
      const runs = 10;
      const started = performance.now();
      let context = gather(root, 'main.js');
      for (let i = 1; i < runs; i++) context = gather(root, 'main.js');
      const ms = (performance.now() - started) / runs;
      assert.equal(context.files.length, 50);
      const chars = context.files.reduce((sum, f) => sum + f.contents.length, 0);
      console.log(`      gatherContext: 50 files (${chars} chars) in ${ms.toFixed(2)} ms (mean of ${runs})`);
      assert.ok(ms < 2000, `took ${ms} ms`);
    });
  });
});
