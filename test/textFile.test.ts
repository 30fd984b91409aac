import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shapeOf, toFileText, toModelText } from '../server/agent/textFile';

/** Real bytes through the file system, decoded as the engine reads a source file (UTF-8, BOM kept as U+FEFF). */
function roundTrip(bytes: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-text-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.js'), bytes);
    return fs.readFileSync(path.join(dir, 'a.js')).toString('utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('a file as the model sees it and as it is written', () => {
  it('finds the BOM and the dominant line ending in real bytes', () => {
    assert.deepEqual(shapeOf(roundTrip(Buffer.concat([BOM, Buffer.from('a\r\nb\r\n')]))), { bom: true, eol: '\r\n' });
    assert.deepEqual(shapeOf(roundTrip(Buffer.from('a\nb\n'))), { bom: false, eol: '\n' });
    assert.deepEqual(shapeOf(roundTrip(Buffer.from('a\r\nb\r\nc\n'))), { bom: false, eol: '\r\n' }, 'mostly CRLF');
    assert.deepEqual(shapeOf(roundTrip(Buffer.from('a\r\nb\nc\n'))), { bom: false, eol: '\n' }, 'mostly LF');
    assert.deepEqual(shapeOf(roundTrip(Buffer.from('a\r\nb\n'))), { bom: false, eol: '\n' }, 'a tie is LF');
    assert.deepEqual(shapeOf(roundTrip(Buffer.from('no line break'))), { bom: false, eol: '\n' });
    assert.deepEqual(shapeOf(''), { bom: false, eol: '\n' });
  });

  it('gives the model LF text without a BOM, leaving a bare CR inside a line alone', () => {
    const text = roundTrip(Buffer.concat([BOM, Buffer.from('a\r\nb = "x\ry"\r\n\r\n')]));
    assert.equal(toModelText(text), 'a\nb = "x\ry"\n\n');
    assert.equal(toModelText('plain\n'), 'plain\n');
  });

  it("writes the model's LF code back with the file's line ending and BOM, byte for byte", () => {
    const original = Buffer.concat([BOM, Buffer.from('const a = 1;\r\n\r\nmodule.exports = a;\r\n')]);
    const text = roundTrip(original);
    const shape = shapeOf(text);
    assert.deepEqual(Buffer.from(toFileText(toModelText(text), shape)), original, 'the round trip is the file');
    assert.deepEqual(
      Buffer.from(toFileText('const a = 2;\nmodule.exports = a;\n', shape)),
      Buffer.concat([BOM, Buffer.from('const a = 2;\r\nmodule.exports = a;\r\n')]),
    );
    // Code that already has CRLF or a BOM gets neither twice.
    assert.deepEqual(Buffer.from(toFileText('\uFEFFx\r\ny\n', shape)), Buffer.concat([BOM, Buffer.from('x\r\ny\r\n')]));
    assert.equal(toFileText('x\r\ny\n', { bom: false, eol: '\n' }), 'x\ny\n');
  });
});
