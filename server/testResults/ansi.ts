/**
 * Terminal escapes out of captured output, in linear time: CSI (`ESC [ … final`, and the 8-bit `0x9b`), OSC
 * (`ESC ] … BEL` or `… ESC \`, hyperlinks included), DCS/SOS/PM/APC strings, two- and three-byte escapes, and
 * the other C0 controls but tab and newline. A carriage return ends a line when a newline follows (`\r\n`);
 * alone, it rewinds the line as a terminal would, so only what was written after it is kept.
 *
 * Each alternative below is a run of disjoint character classes, so no match backtracks further than its own
 * sequence; an OSC or DCS string that never ends stops at its line's end, and nothing after it is lost.
 */
const ESCAPES =
  // eslint-disable-next-line no-control-regex -- control characters are what it matches
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?|\x1b[\]PX^_][^\x07\x1b\x9c\n]*(?:\x07|\x9c|\x1b\\)?|\x1b[ -/]*[0-~]?|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\x9b]/;

export function stripAnsi(text: string): string {
  if (!CONTROL.test(text)) return text;
  if (text.includes('\r')) {
    // `\r\n` and a trailing `\r` end the line; a `\r` inside one rewinds it: keep what follows the last.
    text = text.replace(/\r+(?=\n|$)/g, '').replace(/^[^\n]*\r/gm, '');
  }
  return text.replace(ESCAPES, '');
}
