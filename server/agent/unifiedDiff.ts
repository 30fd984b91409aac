/**
 * Unified diffs as a reply format: `--- a/x` / `+++ b/x` headers and `@@` hunks, in a `diff`/`patch` fence or bare.
 * Each hunk becomes a search/replace edit (its context and `-` lines are the SEARCH, its context and `+` lines the
 * REPLACE), placed by the matching ladder like any block: by its lines, never by the hunk header's line numbers,
 * which models get wrong (Aider sends `@@ ... @@`). Pure.
 */

/** A hunk header: `@@ -1,3 +1,4 @@ name`, or `@@ ... @@`, or a bare `@@`. */
const HUNK = /^@@(?:\s.*)?$/;
/** Git's extended header lines, which carry nothing an edit needs. */
const GIT_HEADER = /^(?:diff --git |index [0-9a-f]|(?:new|deleted) file mode |old mode |new mode |similarity index |rename (?:from|to) )/;

export interface DiffHunk {
  search: string[];
  replace: string[];
}

export interface DiffFile {
  /** From the `+++` line (the `---` line for a deletion), without `a/`/`b/`; null when the diff has no headers. */
  path: string | null;
  /** `--- /dev/null`: the file is new. */
  creates: boolean;
  /** `+++ /dev/null`: the diff deletes the file. */
  deletes: boolean;
  hunks: DiffHunk[];
}

/** Whether lines read as a unified diff: a hunk header with changed lines after it, or `---`/`+++` headers before one. */
export function looksLikeDiff(lines: readonly string[]): boolean {
  for (let i = 0; i < lines.length; i++) {
    if (!HUNK.test(lines[i])) continue;
    const headed = i >= 2 && lines[i - 2].startsWith('--- ') && lines[i - 1].startsWith('+++ ');
    const changed = lines.slice(i + 1, i + 200).some((line) => /^[-+]/.test(line) && !/^(?:---|\+\+\+) /.test(line));
    if (headed || changed) return true;
  }
  return false;
}

/**
 * The files and hunks of a diff. `fenced`: the lines are a diff fence's body, so a line without a prefix is a context
 * line that lost its leading space (models drop it); outside a fence it ends the hunk (prose after the diff).
 */
export function parseUnifiedDiff(lines: readonly string[], fenced: boolean): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | null = null;
  let hunk: (DiffHunk & { changed: boolean; trailingEmpty: number }) | null = null;
  const close = () => {
    if (hunk && hunk.changed && file) {
      // Empty lines after a hunk's last change are the reply's spacing, not context.
      const keep = (side: string[]) => side.slice(0, side.length - hunk!.trailingEmpty);
      file.hunks.push({ search: keep(hunk.search), replace: keep(hunk.replace) });
    }
    hunk = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (GIT_HEADER.test(line)) {
      close();
      continue;
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      close();
      const from = headerPath(line.slice(4));
      const to = headerPath(lines[i + 1].slice(4));
      file = { path: to ?? from, creates: from === null, deletes: to === null, hunks: [] };
      files.push(file);
      i++;
      continue;
    }
    if (HUNK.test(line)) {
      close();
      if (!file) {
        file = { path: null, creates: false, deletes: false, hunks: [] };
        files.push(file);
      }
      hunk = { search: [], replace: [], changed: false, trailingEmpty: 0 };
      continue;
    }
    if (!hunk) continue;
    const op = line[0];
    if (line === '') {
      hunk.search.push('');
      hunk.replace.push('');
      hunk.trailingEmpty++;
      continue;
    }
    if (op === '\\') continue;
    if (op === ' ' || op === '-' || op === '+') {
      if (op !== '+') hunk.search.push(line.slice(1));
      if (op !== '-') hunk.replace.push(line.slice(1));
      if (op !== ' ') hunk.changed = true;
      hunk.trailingEmpty = 0;
      continue;
    }
    if (!fenced) {
      close();
      continue;
    }
    hunk.search.push(line);
    hunk.replace.push(line);
    hunk.trailingEmpty = 0;
  }
  close();
  return files.filter((f) => f.hunks.length > 0 || f.creates || f.deletes);
}

/** A `---`/`+++` line's path: without a timestamp, the `a/`/`b/` prefix or quotes; null for /dev/null. */
function headerPath(text: string): string | null {
  const path = text
    .split('\t')[0]
    .trim()
    .replace(/^"(.*)"$/, '$1');
  if (path === '/dev/null' || path === '') return null;
  return path.replace(/^[ab]\//, '');
}
