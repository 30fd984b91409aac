/**
 * Paths as runners print them → workspace-relative, '/'-separated paths. Absolute paths inside the root become
 * relative; relative ones are read against the cwd (or the folder the runner names); `go test` prints paths
 * relative to the package's folder, found from the module path in go.mod. The only file-system access of the
 * module is here, behind `TestFileSystem`, so the parsers stay pure and tests can hand in a fake.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RawFrame } from './draft';

/** What resolution may ask of the disk: read a small file (go.mod), check that a candidate file exists. */
export interface TestFileSystem {
  readFile(file: string): string | undefined;
  exists(file: string): boolean;
}

export const nodeFileSystem: TestFileSystem = {
  readFile(file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  exists(file) {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  },
};

export interface Resolver {
  /** Workspace-relative path, or undefined when it is outside the workspace (or a dependency's). */
  resolve(frame: Pick<RawFrame, 'file' | 'goPackage' | 'base'>): string | undefined;
}

const toSlash = (p: string) => p.split(path.sep).join('/');

export function createResolver(root: string, cwd: string, files: TestFileSystem): Resolver {
  const rootAbs = path.resolve(root);
  const cwdAbs = path.resolve(rootAbs, cwd);
  const cache = new Map<string, string | undefined>();
  const plainCache = new Map<string, string | undefined>();
  const goDirs = new Map<string, string | undefined>();
  let goModules: { module: string; dir: string }[] | undefined;

  const inside = (abs: string): string | undefined => {
    const rel = path.relative(rootAbs, abs);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    const slashed = toSlash(rel);
    return slashed.split('/').includes('node_modules') ? undefined : slashed;
  };

  /** go.mod files at the cwd, its parents up to the root, and the root: module path → folder. */
  const modules = () => {
    if (goModules) return goModules;
    goModules = [];
    const seen = new Set<string>();
    for (let dir = cwdAbs; ; dir = path.dirname(dir)) {
      if (!seen.has(dir)) {
        seen.add(dir);
        const text = files.readFile(path.join(dir, 'go.mod'));
        const m = text ? /^module\s+"?([^\s"]+)"?\s*$/m.exec(text) : null;
        if (m) goModules.push({ module: m[1], dir });
      }
      if (dir === rootAbs || !inside(dir) || dir === path.dirname(dir)) break;
    }
    if (!seen.has(rootAbs)) {
      const text = files.readFile(path.join(rootAbs, 'go.mod'));
      const m = text ? /^module\s+"?([^\s"]+)"?\s*$/m.exec(text) : null;
      if (m) goModules.push({ module: m[1], dir: rootAbs });
    }
    return goModules;
  };

  /** The folder of a Go package: under the module whose path prefixes it, else the cwd-relative folder its path ends with. */
  const goDir = (pkg: string, file: string): string | undefined => {
    const key = `${pkg}\0${file}`;
    if (goDirs.has(key)) return goDirs.get(key);
    let found: string | undefined;
    for (const { module, dir } of modules()) {
      if (pkg === module) found = dir;
      else if (pkg.startsWith(module + '/')) found = path.join(dir, ...pkg.slice(module.length + 1).split('/'));
      if (found) break;
    }
    if (!found) {
      // No go.mod to read (GOPATH, go.work): the longest tail of the import path that holds the file.
      const parts = pkg.split('/');
      for (let i = 0; i < parts.length && !found; i++) {
        const dir = path.join(cwdAbs, ...parts.slice(i));
        if (files.exists(path.join(dir, file))) found = dir;
      }
    }
    goDirs.set(key, found);
    return found;
  };

  return {
    resolve(frame) {
      // Most frames name neither a package nor a folder: those are cached by their path alone.
      const plainFile = !frame.goPackage && !frame.base;
      const key = plainFile ? frame.file : `${frame.goPackage ?? ''}\0${frame.base ?? ''}\0${frame.file}`;
      const map = plainFile ? plainCache : cache;
      const hit = map.get(key);
      if (hit !== undefined || map.has(key)) return hit;
      let result: string | undefined;
      const file = frame.file;
      if (path.isAbsolute(file) || path.win32.isAbsolute(file)) {
        result = inside(path.resolve(file));
      } else if (frame.goPackage) {
        const dir = goDir(frame.goPackage, file);
        result = dir ? inside(path.join(dir, file)) : undefined;
      } else {
        // Against the folder the runner names, else the cwd; when neither holds the file, try the root.
        const bases = [frame.base ? path.resolve(cwdAbs, frame.base) : undefined, cwdAbs, rootAbs].filter((b): b is string => !!b);
        const candidates = bases.map((b) => path.resolve(b, file));
        const existing = candidates.find((c) => inside(c) && files.exists(c));
        result = inside(existing ?? candidates[0]);
      }
      map.set(key, result);
      return result;
    },
  };
}
