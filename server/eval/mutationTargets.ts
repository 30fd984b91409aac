/**
 * Which files get mutants: non-test source files the tests exercise. JS/TS and Python: the ones a test file imports
 * (directly), found with the agent's own import resolver. Go: every non-test file of a package that has a
 * `_test.go` file, since a Go test compiles and exercises its whole package. Pure over a `read` of the files.
 */
import * as path from 'node:path';
import { localImports, resolveImport } from '../agent/context';
import { looksLikeTestFile } from '../agent/workingSet';
import { toPosix } from '../foundation/workspace';

/** `files` are workspace-relative and `/`-separated; the result too, sorted. */
export type TargetRule = (root: string, files: readonly string[], read: (rel: string) => string) => string[];

export function importedByTests(isSource: (rel: string) => boolean): TargetRule {
  return (root, files, read) => {
    const known = new Set(files);
    const targets = new Set<string>();
    for (const testFile of files.filter((file) => looksLikeTestFile(file) && isSource(file))) {
      const abs = path.join(root, testFile);
      for (const specifier of localImports(abs, read(testFile))) {
        const resolved = resolveImport(abs, specifier, (candidate) => known.has(toPosix(path.relative(root, candidate))), root);
        const rel = resolved && toPosix(path.relative(root, resolved));
        if (rel && !rel.startsWith('../') && !looksLikeTestFile(rel) && isSource(rel)) targets.add(rel);
      }
    }
    return [...targets].sort();
  };
}

/** Folders the go tool never builds as part of `./...`. */
const GO_IGNORED = /(^|\/)(testdata|vendor)\/|(^|\/)[._][^/]*\//;

export const goPackagesUnderTest: TargetRule = (_root, files) => {
  const go = files.filter((file) => file.endsWith('.go') && !GO_IGNORED.test(file));
  const tested = new Set(go.filter((file) => file.endsWith('_test.go')).map((file) => path.posix.dirname(file)));
  return go.filter((file) => !looksLikeTestFile(file) && tested.has(path.posix.dirname(file))).sort();
};
