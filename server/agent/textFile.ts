/**
 * A source file's byte-level conventions that the model never sees: a UTF-8 byte order mark and its line
 * endings. The model reads and writes LF text without a BOM; every write of the file puts them back, so a fix
 * changes the code, not the encoding. Pure.
 */

const BOM = '\uFEFF';

export interface TextShape {
  /** The file starts with a UTF-8 byte order mark (U+FEFF once decoded). */
  bom: boolean;
  /** The dominant line ending: CRLF when more lines end in \r\n than in a bare \n; LF otherwise (also with no line breaks). */
  eol: '\n' | '\r\n';
}

/** The BOM and dominant line ending of a file's text, as read (decoded, BOM still in place). */
export function shapeOf(text: string): TextShape {
  const crlf = text.match(/\r\n/g)?.length ?? 0;
  const lf = (text.match(/\n/g)?.length ?? 0) - crlf;
  return { bom: text.startsWith(BOM), eol: crlf > lf ? '\r\n' : '\n' };
}

/** What the model sees of a file: no BOM, every \r\n as \n. A bare \r (not a line ending here) is left alone. */
export function toModelText(text: string): string {
  return (text.startsWith(BOM) ? text.slice(BOM.length) : text).replace(/\r\n/g, '\n');
}

/** The model's code as the file is written: the file's line ending on every line, and its BOM if it had one. */
export function toFileText(code: string, shape: TextShape): string {
  const lf = toModelText(code);
  const body = shape.eol === '\n' ? lf : lf.replace(/\n/g, shape.eol);
  return shape.bom ? BOM + body : body;
}
