import * as assert from 'node:assert/strict';
import { proposeTestPath } from '../extension/testPath';

const none = { folders: [], testFiles: [] };

describe('proposeTestPath (Write Tests and Implement)', () => {
  it('puts a JavaScript/TypeScript test beside its file when the workspace has no test folder', () => {
    assert.equal(proposeTestPath('foo.ts', none), 'foo.test.ts');
    assert.equal(proposeTestPath('src/lib/slug.js', { folders: ['src'], testFiles: [] }), 'src/lib/slug.test.js');
  });

  it('uses the top-level test folder when there is one and no tests say otherwise', () => {
    assert.equal(proposeTestPath('src/foo.ts', { folders: ['src', 'test'], testFiles: [] }), 'test/foo.test.ts');
    assert.equal(proposeTestPath('src/foo.ts', { folders: ['src', '__tests__'], testFiles: [] }), '__tests__/foo.test.ts');
    assert.equal(proposeTestPath('src/foo.ts', { folders: ['src', 'test'], testFiles: ['test/bar.test.ts', 'test/baz.test.ts'] }), 'test/foo.test.ts');
  });

  it('follows where the existing tests live: beside their sources wins over an unused test folder', () => {
    assert.equal(proposeTestPath('src/foo.ts', { folders: ['src', 'test'], testFiles: ['src/bar.test.ts', 'src/baz.test.ts'] }), 'src/foo.test.ts');
  });

  it('follows the .spec. naming when most existing tests use it', () => {
    assert.equal(proposeTestPath('app/foo.tsx', { folders: ['app'], testFiles: ['app/a.spec.tsx', 'app/b.spec.ts', 'app/c.test.ts'] }), 'app/foo.spec.tsx');
    // Python tests say nothing about JavaScript naming.
    assert.equal(proposeTestPath('foo.js', { folders: [], testFiles: ['a.spec.py', 'b.spec.py'] }), 'foo.test.js');
  });

  it('names Python tests test_<name>.py, in tests/ or test/ when present', () => {
    assert.equal(proposeTestPath('pkg/foo.py', none), 'pkg/test_foo.py');
    assert.equal(proposeTestPath('pkg/foo.py', { folders: ['pkg', 'tests'], testFiles: [] }), 'tests/test_foo.py');
    assert.equal(proposeTestPath('foo.py', { folders: ['test'], testFiles: [] }), 'test/test_foo.py');
  });

  it('names Go tests <name>_test.go beside the file, whatever folders exist', () => {
    assert.equal(proposeTestPath('internal/slug/slug.go', { folders: ['internal', 'test'], testFiles: [] }), 'internal/slug/slug_test.go');
    assert.equal(proposeTestPath('main.go', none), 'main_test.go');
  });

  it('keeps other languages beside the file with a .test. suffix', () => {
    assert.equal(proposeTestPath('lib/util.rb', none), 'lib/util.test.rb');
  });
});
