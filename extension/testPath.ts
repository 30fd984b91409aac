/**
 * Where a new test file for a source file should go, following the conventions the workspace already shows.
 * Pure (no VS Code, no file system) so it is unit-tested; the command gathers the facts it needs.
 */
import * as path from 'node:path';

export interface WorkspaceLayout {
  /** Top-level folders of the workspace (names only). */
  folders: string[];
  /** Some existing test files, workspace-relative with `/` separators (a sample is enough). */
  testFiles: string[];
}

const TEST_DIRS = ['test', 'tests', '__tests__'];
const JS_LIKE = new Set(['.js', '.jsx', '.mjs', '.cjs', '.ts', '.tsx', '.mts', '.cts']);

/**
 * The proposed test file, workspace-relative with `/` separators:
 * - Go: `foo_test.go` beside the file (the toolchain requires the same package folder).
 * - Python: `test_foo.py`, in `tests/` or `test/` when the workspace has one, else beside the file.
 * - JavaScript/TypeScript and others: `foo.test.ts` (or `foo.spec.ts` when the existing tests say `.spec.`),
 *   beside the file; in the top-level `test/` (`tests/`, `__tests__/`) folder when there is one and the
 *   existing tests live in such folders rather than beside their sources.
 */
export function proposeTestPath(file: string, layout: WorkspaceLayout): string {
  const posix = file.split(path.sep).join('/');
  const dir = path.posix.dirname(posix);
  const ext = path.posix.extname(posix);
  const base = path.posix.basename(posix, ext);
  const join = (folder: string, name: string) => (folder === '.' ? name : `${folder}/${name}`);
  const testDir = TEST_DIRS.find((d) => layout.folders.includes(d));

  if (ext === '.go') return join(dir, `${base}_test.go`);
  if (ext === '.py') {
    const pyDir = ['tests', 'test'].find((d) => layout.folders.includes(d));
    return join(pyDir ?? dir, `test_${base}.py`);
  }

  const sameKind = layout.testFiles.filter((t) => JS_LIKE.has(ext) === JS_LIKE.has(path.posix.extname(t)));
  const specs = sameKind.filter((t) => /\.spec\.[^./]+$/.test(t)).length;
  const suffix = specs > sameKind.length - specs ? 'spec' : 'test';
  const inTestDirs = sameKind.filter((t) => t.split('/').some((part) => TEST_DIRS.includes(part))).length;
  // No tests yet: a test folder, when the workspace has one, says where tests go; otherwise follow the majority.
  const useTestDir = testDir !== undefined && (sameKind.length === 0 || inTestDirs > sameKind.length - inTestDirs);
  return join(useTestDir ? testDir : dir, `${base}.${suffix}${ext}`);
}
