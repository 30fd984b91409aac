/**
 * File paths as models write them, and which workspace file each one means. A reply names a file on the line
 * before a block or its fence (`src/a.js`, `./src/a.js`, `` `src/a.js` ``, `**File:** src/a.js`, `File: src/a.js`,
 * `1. **src/a.js**`), in the fence's info string (```` ```js:src/a.js ````, ```` ```js src/a.js ````,
 * ```` ```js title="src/a.js" ````) or in a diff's `---`/`+++` lines; a path relative to a parent folder means the one
 * workspace file it is a suffix of. Pure: the caller says which files exist and which the model was shown.
 */

/**
 * A path line without its decoration (list markers, `#`, `**`, backticks, a `File:` label, a trailing colon),
 * backslashes as `/`, without a leading `./`; null when the line cannot be a path (empty, prose, a fence, a marker).
 */
export function stripPath(line: string): string | null {
  let s = line
    .trim()
    .replace(/^(?:>\s*)+/, '')
    .replace(/^(?:[-*+]|\d+[.)])\s+/, '')
    .replace(/^#+\s*/, '');
  s = s.replace(/^[*_`]*(?:file(?:name)?|path)\s*[*_]*\s*:\s*[*_]*\s*/i, '');
  for (let k = 0; k < 2; k++) s = s.replace(/:$/, '').replace(/^[*`'"]+|[*`'"]+$/g, '');
  s = s.replace(/\\_/g, '_');
  if (s === '' || /\s/.test(s) || /^(`{3,}|~{3,})/.test(s) || /^(<{5,}|={5,}|>{5,})/.test(s)) return null;
  return normalizePath(s);
}

/** Backslashes as `/` (not in a drive-letter path, which is refused later), without a leading `./`. */
export function normalizePath(path: string): string | null {
  let s = /^[A-Za-z]:[\\/]/.test(path) ? path : path.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s === '' ? null : s;
}

/**
 * The path in a prose line that names one file in backticks (`In \`src/a.js\`:`, `Update \`lib/x.py\` as follows:`),
 * or null. Only a short line ending in a colon, with exactly one backticked token that looks like a file name.
 */
export function pathInProse(line: string): string | null {
  const trimmed = line.trim();
  if (trimmed.length > 120 || !trimmed.endsWith(':')) return null;
  const ticked = Array.from(trimmed.matchAll(/`([^`\s]+)`/g), (m) => m[1]);
  if (ticked.length !== 1 || !looksLikeFileName(ticked[0])) return null;
  return normalizePath(ticked[0]);
}

/** Whether a token names a file (a folder or an extension), so prose like `Example:` does not. */
export function looksLikeFileName(path: string): boolean {
  return path.includes('/') || /\.[A-Za-z0-9]+$/.test(path);
}

/**
 * The path in a fence's info string: ```` ```js:src/a.js ````, ```` ```js src/a.js ````, ```` ```src/a.js ````,
 * ```` ```js title="src/a.js" ```` or `file=`/`path=`; null when it names none.
 */
export function pathInInfo(info: string): string | null {
  const s = info.trim();
  const attribute = /\b(?:title|file(?:name)?|path)\s*=\s*["']?([^"'\s]+)["']?/i.exec(s);
  if (attribute) return normalizePath(attribute[1]);
  const colon = /^[\w+#.-]*:(\S+)$/.exec(s);
  if (colon && looksLikeFileName(colon[1])) return normalizePath(colon[1]);
  // `js src/a.js` (a language, then a file name), or `src/a.js` alone (a folder: a lone `x.y` may be a language).
  const words = s.split(/\s+/);
  if (words.length === 2 && looksLikeFileName(words[1])) return normalizePath(words[1]);
  if (words.length === 1 && words[0].includes('/')) return normalizePath(words[0]);
  return null;
}

/** Why a parsed path cannot be a workspace file, or null. */
export function unsafePath(path: string): string | null {
  if (/^([/\\~]|[A-Za-z]:)/.test(path)) return 'a path must be relative to the workspace root, not absolute';
  if (path.split('/').includes('..')) return 'a path must stay inside the workspace: no ".." segments';
  if (path.endsWith('/') || path === '.') return 'that is a folder, not a file';
  if (path.includes('\0')) return 'a path cannot hold a NUL character';
  return null;
}

/** What resolving a path needs to know of the workspace. */
export interface PathContext {
  /** Whether a workspace file exists at this relative path. */
  exists(path: string): boolean;
  /** Files the model was shown or listed (the target, context files, the workspace list), for suffixes and suggestions. */
  known: readonly string[];
  /** The one file the run may edit, for an edit that names none; null when it may edit several. */
  only: string | null;
}

export type Resolved = { ok: true; path: string } | { ok: false; missing: true; suggestions: string[] } | { ok: false; missing: false; message: string };

/**
 * The workspace file a named path means: itself when it exists; else the one known file it is a suffix of (the
 * model wrote `src/a.js` for `app/src/a.js`), or the one known file that is a suffix of it (`app/src/a.js` for
 * `src/a.js`); else missing, with the closest known paths. No name: the only editable file.
 */
export function resolvePath(named: string | null, context: PathContext): Resolved {
  if (named === null) {
    if (context.only !== null) return { ok: true, path: context.only };
    return { ok: false, missing: false, message: 'names no file, and several files may be edited: write the path on the line before <<<<<<< SEARCH' };
  }
  if (context.exists(named)) return { ok: true, path: named };
  const known = [...new Set(context.known)];
  const longer = known.filter((file) => file.endsWith(`/${named}`));
  if (longer.length === 1) return { ok: true, path: longer[0] };
  if (longer.length > 1)
    return { ok: false, missing: false, message: `names ${named}, which could be ${listed(longer)}: write the path from the workspace root` };
  const shorter = known.filter((file) => named.endsWith(`/${file}`));
  if (shorter.length === 1) return { ok: true, path: shorter[0] };
  return { ok: false, missing: true, suggestions: closestPaths(named, known) };
}

function listed(paths: readonly string[]): string {
  const shown = paths.slice(0, 5).map((p) => `\`${p}\``);
  return `${shown.join(' or ')}${paths.length > shown.length ? ' or others' : ''}`;
}

/** The known paths closest to `named` (by edit distance of the whole path and of the file name), up to three. */
export function closestPaths(named: string, known: readonly string[]): string[] {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const scored = known.map((file) => ({ file, score: Math.min(distance(named, file), distance(base(named), base(file)) + 1) }));
  const limit = Math.max(3, Math.floor(base(named).length / 2));
  return scored
    .filter((s) => s.score <= limit)
    .sort((a, b) => a.score - b.score || a.file.localeCompare(b.file))
    .slice(0, 3)
    .map((s) => s.file);
}

/** Levenshtein distance, on strings short enough to be paths (capped at 200 characters each). */
function distance(a: string, b: string): number {
  const x = a.slice(0, 200);
  const y = b.slice(0, 200);
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[y.length];
}
