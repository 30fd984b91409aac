import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInside } from '../foundation/workspace';
import { toModelText } from './textFile';

/**
 * What the model is shown besides the file it fixes: the files that file imports locally (nearest first, within a
 * budget), files the user asked for (`-f` beyond the first, `--context`), and a short list of the workspace's files.
 * The core (localImports, resolveImport, gatherContext) is pure over injected I/O; nodeContextIO is the disk edge.
 */

/** How many of the workspace's file names the prompt lists. */
export const WORKSPACE_FILES_SHOWN = 200;
/** How many directory entries the disk walk looks at before it stops, so a huge monorepo does not stall a run. */
export const WORKSPACE_WALK_MAX_ENTRIES = 5000;

/** Folders whose files are never context, at any depth (compared case-insensitively, as workspace.ts does). */
const FORBIDDEN_FOLDERS = new Set(['.git', 'node_modules', '.micro-agent']);
/** Folders left out of the workspace listing: the forbidden ones and build output, caches, environments. */
export const IGNORED_FOLDERS: ReadonlySet<string> = new Set([...FORBIDDEN_FOLDERS, 'dist', 'build', 'coverage', '__pycache__', '.venv']);

const JS_EXTENSIONS = ['.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts', '.json'];
const TS_IMPORTERS = new Set(['.ts', '.tsx', '.mts', '.cts']);
const JS_IMPORTERS = new Set([...TS_IMPORTERS, '.js', '.jsx', '.mjs', '.cjs']);
const PY_IMPORTERS = new Set(['.py', '.pyi']);
/** TypeScript's rule: an import written with the emitted extension names the source file. */
const JS_TO_TS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.jsx': ['.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };

/** The disk, as gatherContext sees it. Paths are absolute. */
export interface ContextIO {
  /** A file's text (UTF-8, NUL bytes kept so binary shows), or null when it is missing or not a regular file. */
  read(abs: string): string | null;
  /** Whether a regular file is there (a folder is not). */
  exists(abs: string): boolean;
  /** Workspace-relative, '/'-separated file names, those nearest `nearDir` first; may stop early (a bounded walk). */
  listFiles(nearDir: string): string[];
  /** Where a path really is (symlinks followed), or null when it does not resolve. Without it only the written path is checked. */
  realpath?(abs: string): string | null;
  /** A file's size in bytes, when cheap to know: a file far over the budget is then left out without being read. */
  size?(abs: string): number | null;
}

export interface GatherOptions extends ContextIO {
  /** The workspace root, absolute. */
  root: string;
  /** The file being fixed, absolute: its imports are followed; it is never itself context. */
  target: string;
  /** The most characters of file contents to include. */
  budgetChars: number;
  /** Files the user asked for (the other `-f` files, `--context`), absolute: first, in the order given, and their imports followed too. */
  extra: readonly string[];
}

export interface ContextFile {
  /** Workspace-relative, '/'-separated. */
  path: string;
  /** As the model sees text: no BOM, LF line endings. */
  contents: string;
  reason: 'import' | 'requested';
  /** 0 for requested files, then how many imports away from the target (or a requested file) it is. */
  depth: number;
}

export interface OmittedFile {
  /** Workspace-relative and '/'-separated; starts with `../` when it lies outside the workspace. */
  path: string;
  reason: 'budget' | 'forbidden' | 'missing' | 'binary';
}

export interface GatheredContext {
  files: ContextFile[];
  omitted: OmittedFile[];
  /** Up to WORKSPACE_FILES_SHOWN file names, those nearest the target first. */
  workspaceFiles: string[];
  /** The listing held more files than workspaceFiles shows. */
  workspaceFilesTruncated: boolean;
}

interface Pending {
  abs: string;
  depth: number;
  reason: ContextFile['reason'];
}

/**
 * The context for a run: breadth first from the target (and the requested files) over local imports, so every
 * file one import away comes before any two away, each depth in import order. A file that does not fit in what
 * is left of the budget is omitted whole, never truncated, and its imports are not followed; a smaller file after
 * it may still fit. Paths outside the root or in `.git/`, `node_modules/`, `.micro-agent/` (as written or as
 * resolved) are never read. Test files are followed like any other: whether the model may edit a file is the
 * engine's business, not this one's.
 */
export function gatherContext(options: GatherOptions): GatheredContext {
  const { root, target } = options;
  const realRoot = options.realpath?.(root) ?? root;
  const files: ContextFile[] = [];
  const omitted: OmittedFile[] = [];
  const omittedPaths = new Set<string>();
  const omit = (abs: string, reason: OmittedFile['reason']) => {
    const rel = relPath(root, abs);
    if (omittedPaths.has(rel)) return;
    omittedPaths.add(rel);
    omitted.push({ path: rel, reason });
  };
  const seen = new Set<string>([target, options.realpath?.(target) ?? target]);
  const queue: Pending[] = [];
  let remaining = Math.max(0, options.budgetChars);

  const follow = (from: string, text: string, depth: number) => {
    for (const specifier of localImports(from, text)) {
      const written = writtenTarget(from, specifier);
      if (written !== null && isForbidden(root, written)) {
        omit(written, 'forbidden');
        continue;
      }
      const resolved = resolveImport(from, specifier, (abs) => options.exists(abs), root);
      if (resolved !== null) queue.push({ abs: resolved, depth: depth + 1, reason: 'import' });
      else if (written !== null) omit(written, 'missing');
      // An absolute Python import that names no workspace file is a library's: not ours to show.
    }
  };

  // The requested files, then the target's imports, then theirs, breadth first.
  for (const abs of options.extra) queue.push({ abs: path.resolve(root, abs), depth: 0, reason: 'requested' });
  const targetText = options.read(target);
  if (targetText !== null) follow(target, targetText, 0);
  queue.sort((a, b) => a.depth - b.depth); // stable: the requested files first, in the order given

  for (let i = 0; i < queue.length; i++) {
    const { abs, depth, reason } = queue[i];
    if (seen.has(abs)) continue;
    seen.add(abs);
    if (isForbidden(root, abs)) {
      omit(abs, 'forbidden');
      continue;
    }
    let real = abs;
    if (options.realpath) {
      const resolved = options.realpath(abs);
      if (resolved === null) {
        omit(abs, 'missing');
        continue;
      }
      if (seen.has(resolved) && resolved !== abs) continue;
      seen.add(resolved);
      if (isForbidden(realRoot, resolved)) {
        omit(abs, 'forbidden');
        continue;
      }
      real = resolved;
    }
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: a file over 3× what is left cannot fit, so it is not read.
    const size = options.size?.(real);
    if (size != null && size > 3 * remaining) {
      omit(abs, 'budget');
      continue;
    }
    const raw = options.read(real);
    if (raw === null) {
      omit(abs, 'missing');
      continue;
    }
    if (raw.includes('\0')) {
      omit(abs, 'binary');
      continue;
    }
    const contents = toModelText(raw);
    if (contents.length > remaining) {
      omit(abs, 'budget');
      continue;
    }
    remaining -= contents.length;
    files.push({ path: relPath(root, abs), contents, reason, depth });
    // Imports resolve from where the file is written, as Node and Python do for a linked file's own folder.
    // Breadth first: what this file imports is one deeper than anything already queued, so it goes at the end.
    follow(abs, contents, depth);
  }

  const listed = workspaceListing(options.listFiles(path.dirname(target)), relPath(root, path.dirname(target)));
  return { files, omitted, workspaceFiles: listed.slice(0, WORKSPACE_FILES_SHOWN), workspaceFilesTruncated: listed.length > WORKSPACE_FILES_SHOWN };
}

/** The listing without ignored folders, nearest the target's folder first (fewest steps up and down), then by name. */
function workspaceListing(names: readonly string[], targetDir: string): string[] {
  const here = targetDir === '.' || targetDir === '' ? [] : targetDir.split('/');
  const distance = (name: string) => {
    const dir = name.split('/').slice(0, -1);
    let common = 0;
    while (common < dir.length && common < here.length && dir[common] === here[common]) common++;
    return dir.length - common + (here.length - common);
  };
  const unique = [...new Set(names)].filter((name) => !name.split('/').some((segment) => IGNORED_FOLDERS.has(segment.toLowerCase())));
  const keyed = unique.map((name) => ({ name, distance: distance(name) }));
  keyed.sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map((entry) => entry.name);
}

/** Outside the root, or in a folder no run reads (`.git/`, `node_modules/`, `.micro-agent/`) at any depth. */
function isForbidden(root: string, abs: string): boolean {
  const rel = path.relative(root, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return true;
  return rel.split(/[\\/]/).some((segment) => FORBIDDEN_FOLDERS.has(segment.toLowerCase()));
}

function relPath(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/**
 * Where a relative specifier points as written, before extensions and `index` are tried: what is checked against
 * the forbidden folders before anything is looked up, and what is reported missing. Null for an absolute Python
 * import, which may be a library's.
 */
function writtenTarget(fromFile: string, specifier: string): string | null {
  const dir = path.dirname(fromFile);
  if (PY_IMPORTERS.has(path.extname(fromFile).toLowerCase())) {
    const dots = leadingDots(specifier);
    if (dots === 0) return null;
    return path.join(upFrom(dir, dots - 1), ...moduleParts(specifier));
  }
  return path.resolve(dir, specifier);
}

// ---------------------------------------------------------------------------------------------------------------
// Finding imports

/**
 * The local import specifiers in a source file, in the order they appear, each once. Pure.
 *
 * JS/TS (by `file`'s extension): `import … from`, `import '…'`, `export … from`, `require('…')` and `import('…')`
 * with a relative specifier (`./`, `../`, `.`, `..`). Python: relative imports as dotted names (`from . import x`
 * gives `.x`, `from ..pkg.mod import y` gives `..pkg.mod.y`), and absolute ones (`import pkg.mod` gives `pkg.mod`,
 * `from pkg import x` gives `pkg.x`), since only resolving them against the workspace tells a local module from a
 * library. A name after `from … import` may be a module or something defined in one: resolveImport tries both.
 * Comments and the insides of strings (docstrings, template literals) are skipped.
 */
export function localImports(file: string, text: string): string[] {
  const ext = path.extname(file).toLowerCase();
  const found = JS_IMPORTERS.has(ext) ? jsImports(text) : PY_IMPORTERS.has(ext) ? pythonImports(text) : [];
  found.sort((a, b) => a.at - b.at);
  return [...new Set(found.map((f) => f.specifier))];
}

interface Found {
  at: number;
  specifier: string;
}

const JS_PATTERNS = [
  // import '…'
  /(?<![\w$.])import\s*(['"])/g,
  // require('…'), import('…')
  /(?<![\w$.])(?:require|import)\s*\(\s*(['"`])/g,
];
const JS_KEYWORD = /(?<![\w$.])(?:import|export)(?![\w$])/g;
/** What may stand between `import`/`export` and `from`: names, `as`, `type`, `*`, braces, commas. */
const JS_CLAUSE = /[\w\s{},*$]*/y;

function jsImports(text: string): Found[] {
  const { code, literals } = maskJs(text);
  const found: Found[] = [];
  const add = (quote: number) => {
    const specifier = literals.get(quote);
    if (specifier !== undefined && isRelative(specifier)) found.push({ at: quote, specifier });
  };
  for (const pattern of JS_PATTERNS) {
    for (const match of code.matchAll(pattern)) add(match.index + match[0].length - 1);
  }
  // import x from '…', import { a, type B } from '…', export * from '…', export { a as b } from '…': the clause
  // after the keyword runs to a quote that `from` precedes. A keyword inside the clause of the one before it
  // ends at the same place, so each clause is scanned once however many keywords it holds.
  let clauseEnd = -1;
  for (const match of code.matchAll(JS_KEYWORD)) {
    if (match.index < clauseEnd) continue;
    JS_CLAUSE.lastIndex = match.index + match[0].length;
    JS_CLAUSE.exec(code);
    clauseEnd = JS_CLAUSE.lastIndex;
    const quote = code[clauseEnd];
    if ((quote === "'" || quote === '"') && /(?<![\w$])from\s*$/.test(code.slice(Math.max(match.index, clauseEnd - 200), clauseEnd))) add(clauseEnd);
  }
  return found;
}

function isRelative(specifier: string): boolean {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
}

/** `from X import (a, b)` across lines, `from X import a, b`, `import a.b as c, d`; a statement may follow `;`. */
const PY_FROM = /(?:^|;)[ \t]*from[ \t]+(\.+[\w.]*|[A-Za-z_][\w.]*)[ \t]+import[ \t]*(\([^)]*\)|(?:[^\n;\\]|\\\r?\n)*)/gm;
const PY_IMPORT = /(?:^|;)[ \t]*import[ \t]+((?:[^\n;\\]|\\\r?\n)*)/gm;

function pythonImports(text: string): Found[] {
  const code = maskPython(text);
  const found: Found[] = [];
  for (const match of code.matchAll(PY_FROM)) {
    const base = match[1];
    for (const name of importedNames(match[2])) {
      const specifier = name === '*' ? base : base.endsWith('.') ? base + name : `${base}.${name}`;
      found.push({ at: match.index, specifier });
    }
  }
  for (const match of code.matchAll(PY_IMPORT)) {
    for (const name of importedNames(match[1])) if (name !== '*') found.push({ at: match.index, specifier: name });
  }
  return found;
}

/** `(a as b,\n c)` → [a, c]; `a.b as c, d` → [a.b, d]. */
function importedNames(list: string): string[] {
  return list
    .replace(/[()\\]/g, ' ')
    .split(',')
    .map((part) => part.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name === '*' || /^[A-Za-z_][\w.]*$/.test(name));
}

/**
 * JS/TS source with comments and the insides of strings, template literals and regular expressions blanked
 * (same length, so offsets hold), and the string literals by the offset of their opening quote. A lexer's
 * approximation: a `/` after an operator or an opening bracket starts a regular expression, otherwise it divides.
 */
/** JS/TS source with its comments and the insides of its strings, template literals and regular expressions blanked, offsets kept. */
export function maskJs(text: string): { code: string; literals: Map<number, string> } {
  const out: string[] = [];
  const literals = new Map<number, string>();
  let last = ''; // the last significant character copied ('a' for a word), to tell a regular expression from a division
  let word = ''; // the last word copied
  let i = 0;
  const blank = (from: number, to: number) => out.push(blanked(text.slice(from, to)));
  while (i < text.length) {
    // Plain code up to the next quote or slash is copied as it is.
    JS_SPECIAL.lastIndex = i;
    const stop = JS_SPECIAL.exec(text)?.index ?? text.length;
    if (stop > i) {
      const chunk = text.slice(i, stop);
      out.push(chunk);
      const trimmed = chunk.trimEnd();
      if (trimmed) {
        const tail = /[\w$]+$/.exec(trimmed);
        last = tail ? 'a' : trimmed[trimmed.length - 1];
        if (tail) word = tail[0];
      }
      i = stop;
      continue;
    }
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && (c === '`' || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      j = Math.min(j, text.length);
      const value = text.slice(i + 1, j);
      if (c !== '`' || !value.includes('${')) literals.set(i, value);
      out.push(c);
      blank(i + 1, j);
      // Closed by its quote, or (a quote or a template gone wrong) left at the line's end or the text's.
      if (text[j] === c) {
        out.push(c);
        j++;
      }
      i = j;
      last = c;
    } else if (c === '/' && (last === '' || '(,=:[!&|?{};+-*%<>~^'.includes(last) || (last === 'a' && REGEX_AFTER.has(word)))) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== '\n' && (inClass || text[j] !== '/')) {
        if (text[j] === '[') inClass = true;
        else if (text[j] === ']') inClass = false;
        j += text[j] === '\\' ? 2 : 1;
      }
      j = Math.min(j, text.length);
      out.push('/');
      blank(i + 1, j);
      if (text[j] === '/') {
        out.push('/');
        j++;
      }
      i = j;
      last = '/';
    } else {
      out.push(c); // a division
      last = c;
      i++;
    }
  }
  return { code: out.join(''), literals };
}

/** Text of the same length with every character but line breaks a space. */
function blanked(text: string): string {
  return text.includes('\n') ? text.replace(/[^\n]/g, ' ') : ' '.repeat(text.length);
}

const JS_SPECIAL = /['"`/]/g;
const PY_SPECIAL = /['"#]/g;

/** Words after which a `/` starts a regular expression. */
const REGEX_AFTER = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'void', 'yield', 'await', 'throw', 'new', 'delete', 'instanceof']);

/** Python source with `#` comments and the insides of strings (docstrings too) blanked, same length. */
export function maskPython(text: string): string {
  const out: string[] = [];
  const blank = (from: number, to: number) => out.push(blanked(text.slice(from, to)));
  let i = 0;
  while (i < text.length) {
    PY_SPECIAL.lastIndex = i;
    const stop = PY_SPECIAL.exec(text)?.index ?? text.length;
    if (stop > i) {
      out.push(text.slice(i, stop));
      i = stop;
      continue;
    }
    const c = text[i];
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else {
      // A quote: a string, or a docstring when tripled.
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < text.length && !text.startsWith(quote, j) && (triple || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      j = Math.min(j, text.length);
      out.push(quote);
      blank(i + quote.length, j);
      // Closed by its quote, or left at the line's end (an unterminated one-line string) or the text's.
      if (text.startsWith(quote, j)) {
        out.push(quote);
        j += quote.length;
      }
      i = j;
    }
  }
  return out.join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Resolving imports

/**
 * The file an import names, absolute, or null when none does. `exists` says whether a regular file is there.
 *
 * JS/TS: the path as written, then with each of `.ts .tsx .js .jsx .mjs .cjs .mts .cts .json`, then
 * `<dir>/index.<ext>`; from a TypeScript file, `./x.js` names `x.ts` (or `x.tsx`) first, as tsc resolves it.
 * Python: a relative import from the importing file's package (one dot: its folder, each further dot one up), an
 * absolute one from the workspace root, then from the importing file's folder; `pkg/mod.py`, then
 * `pkg/mod/__init__.py`; when the last name is not a module (`from pkg import func`), its parent module.
 * The result may lie outside `root` or in a forbidden folder: the caller checks.
 */
export function resolveImport(fromFile: string, specifier: string, exists: (abs: string) => boolean, root: string): string | null {
  const ext = path.extname(fromFile).toLowerCase();
  const candidates = PY_IMPORTERS.has(ext) ? pythonCandidates(fromFile, specifier, root) : jsCandidates(fromFile, specifier);
  return candidates.find((candidate) => exists(candidate)) ?? null;
}

function jsCandidates(fromFile: string, specifier: string): string[] {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const ext = path.extname(base).toLowerCase();
  const mapped = (JS_TO_TS[ext] ?? []).map((ts) => base.slice(0, -ext.length) + ts);
  const written = TS_IMPORTERS.has(path.extname(fromFile).toLowerCase()) ? [...mapped, base] : [base, ...mapped];
  return [...written, ...JS_EXTENSIONS.map((e) => base + e), ...JS_EXTENSIONS.map((e) => path.join(base, `index${e}`))];
}

function pythonCandidates(fromFile: string, specifier: string, root: string): string[] {
  const dots = leadingDots(specifier);
  const parts = moduleParts(specifier);
  const dir = path.dirname(fromFile);
  const bases = dots > 0 ? [upFrom(dir, dots - 1)] : [...new Set([root, dir])];
  const candidates: string[] = [];
  // The whole dotted name first, from every base; then its parent (the name may be a function, not a module).
  const lengths = parts.length > (dots > 0 ? 0 : 1) ? [parts.length, parts.length - 1] : [parts.length];
  for (const length of lengths) {
    for (const base of bases) {
      const module = path.join(base, ...parts.slice(0, length));
      if (length > 0) candidates.push(`${module}.py`);
      candidates.push(path.join(module, '__init__.py'));
    }
  }
  return candidates;
}

function leadingDots(specifier: string): number {
  return /^\.*/.exec(specifier)![0].length;
}

function moduleParts(specifier: string): string[] {
  return specifier.replace(/^\.+/, '').split('.').filter(Boolean);
}

function upFrom(dir: string, levels: number): string {
  let result = dir;
  for (let i = 0; i < levels; i++) result = path.dirname(result);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The disk

/**
 * gatherContext's I/O on the real disk under `root`. The listing walks breadth first from the target's folder,
 * then each folder above it up to the root, skipping IGNORED_FOLDERS and never entering a symlinked folder, and
 * stops after `maxEntries` directory entries.
 */
export function nodeContextIO(root: string, limits: { maxEntries?: number } = {}): ContextIO {
  const maxEntries = limits.maxEntries ?? WORKSPACE_WALK_MAX_ENTRIES;
  const stat = (abs: string) => {
    try {
      // Without the exception for a missing file: most of resolution's probes miss, and throwing is slow.
      return fs.statSync(abs, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  return {
    read(abs) {
      // Not a FIFO or a device: reading one could block or never end.
      if (!stat(abs)?.isFile()) return null;
      try {
        return fs.readFileSync(abs).toString('utf8');
      } catch {
        return null;
      }
    },
    exists: (abs) => stat(abs)?.isFile() ?? false,
    realpath(abs) {
      try {
        return fs.realpathSync(abs);
      } catch {
        return null;
      }
    },
    size: (abs) => stat(abs)?.size ?? null,
    listFiles: (nearDir) => walk(root, nearDir, maxEntries),
  };
}

function walk(root: string, nearDir: string, maxEntries: number): string[] {
  const files: string[] = [];
  const walked = new Set<string>();
  let entries = 0;
  // The target's folder first, then each folder above it: the files nearest the target are found before the limit.
  const top = path.resolve(root);
  const starts: string[] = [];
  const near = path.resolve(nearDir);
  if (isInside(top, near)) {
    for (let up = near; up !== top; up = path.dirname(up)) starts.push(up);
  }
  starts.push(top);
  for (const start of starts) {
    const queue = [start];
    for (let i = 0; i < queue.length && entries < maxEntries; i++) {
      const dir = queue[i];
      if (walked.has(dir)) continue;
      walked.add(dir);
      let dirents: fs.Dirent[];
      try {
        dirents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const dirent of dirents) {
        if (++entries > maxEntries) break;
        const abs = path.join(dir, dirent.name);
        if (dirent.isDirectory()) {
          if (!IGNORED_FOLDERS.has(dirent.name.toLowerCase()) && !walked.has(abs)) queue.push(abs);
        } else if (dirent.isFile()) {
          files.push(relPath(root, abs));
        }
      }
    }
  }
  return files;
}
