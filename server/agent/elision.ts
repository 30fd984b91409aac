/**
 * Elisions: the lines a model writes in place of code it did not repeat (`...`, `// ... existing code ...`,
 * `# rest of the file unchanged`). In a SEARCH section paired with the same in REPLACE they mean "keep what is
 * there" (the ladder's last step); anywhere else they would be written into the file as code, so they are refused.
 * Pure.
 */

/** A line that is only an ellipsis: `...` or `…`. */
const BARE = /^\s*(?:\.{3}|…)\s*$/;
/** A comment that starts with an ellipsis: `// ...`, `# ... existing code ...`, `<!-- ... -->`, a block comment. */
const COMMENT_DOTS = /^\s*(?:\/\/+|#+|--|;+|\/\*+|\*|<!--|\{\s*\/\*)\s*(?:\.{3}|…)/;
/** A comment that says code was left out, with or without dots: `// rest of the code unchanged`, `# existing code`. */
const LEFT_OUT = [
  '(?:the )?rest of (?:the )?(?:code|file|function|class|method|module|body|implementation)',
  'existing (?:code|implementation|methods|functions|imports)',
  '(?:other|remaining) (?:code|methods|functions|imports|cases|tests)(?: unchanged| here| \\.\\.\\.)',
  '(?:code|everything else|the rest) (?:unchanged|stays the same|remains the same)',
  'unchanged (?:code|lines|methods|functions)',
  'same as before',
];
const COMMENT_WORDS = new RegExp(`^\\s*(?:\\/\\/+|#+|--|\\/\\*+|<!--|\\{\\s*\\/\\*)\\s*(?:\\.{3}|…)?\\s*\\(?(?:${LEFT_OUT.join('|')})\\b`, 'i');

/** Whether a line stands for elided code. */
export function isElision(line: string): boolean {
  return BARE.test(line) || COMMENT_DOTS.test(line) || COMMENT_WORDS.test(line);
}

/** The first elision line of `lines` that `allowed` (trimmed lines) does not hold, or null. */
function firstNewElision(lines: readonly string[], allowed: ReadonlySet<string>): string | null {
  for (const line of lines) if (isElision(line) && !allowed.has(line.trim())) return line;
  return null;
}

/** How many elision lines `lines` holds. */
export function countElisions(lines: readonly string[]): number {
  let count = 0;
  for (const line of lines) if (isElision(line)) count++;
  return count;
}

/**
 * The REPLACE line that elides code, when REPLACE holds more elision lines than SEARCH: the first of them SEARCH
 * does not hold (or the last one when SEARCH holds the same lines fewer times). Null when REPLACE elides nothing new.
 */
export function elidedReplaceLine(search: readonly string[], replace: readonly string[]): string | null {
  if (countElisions(replace) <= countElisions(search)) return null;
  const searched = new Set(search.filter(isElision).map((line) => line.trim()));
  return firstNewElision(replace, searched) ?? replace.filter(isElision).at(-1) ?? null;
}

/** The elision line of a whole new file that the current file does not have (code left out), or null. */
export function elidedWholeFileLine(current: string, next: string): string | null {
  const present = new Set(current.split('\n').map((line) => line.trim()));
  return firstNewElision(next.split('\n'), present);
}

/** Lines split at elision lines: n elisions give n + 1 pieces (empty where an elision starts or ends the lines). */
export function splitAtElisions(lines: readonly string[]): string[][] {
  const pieces: string[][] = [[]];
  for (const line of lines) {
    if (isElision(line)) pieces.push([]);
    else pieces[pieces.length - 1].push(line);
  }
  return pieces;
}
