import * as assert from 'node:assert/strict';
import { applyEditBlocks, describeEditFormat, parseEditBlocks, type ApplyResult, type EditBlock, type ParsedReply } from '../server/agent/editBlocks';

const F = '```';

function blocksOf(parsed: ParsedReply): EditBlock[] {
  assert.equal(parsed.kind, 'blocks', JSON.stringify(parsed));
  return parsed.kind === 'blocks' ? parsed.blocks : [];
}

function parseError(parsed: ParsedReply): { reason: string; message: string } {
  assert.equal(parsed.kind, 'error', JSON.stringify(parsed));
  return parsed.kind === 'error' ? parsed : { reason: '', message: '' };
}

function applyError(result: ApplyResult): { reason: string; message: string } {
  assert.equal(result.ok, false, JSON.stringify(result));
  return result.ok ? { reason: '', message: '' } : result;
}

/** A `read` over an in-memory workspace. */
function files(contents: Record<string, string>): (path: string) => string | null {
  return (path) => contents[path] ?? null;
}

function edit(search: string, replace: string): string {
  return `<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n`;
}

describe('edit blocks: parsing', () => {
  it('reads several blocks for several files, path before the fence or inside it, with a language tag', () => {
    const reply = [
      'I fixed both.',
      '',
      'src/math.js',
      `${F}js`,
      edit('  return a - b;\n', '  return a + b;\n') + F,
      '',
      `${F}javascript`,
      'lib/util.js',
      edit('const x = 1;\n', 'const x = 2;\n') + edit('const y = 1;\n', 'const y = 2;\n') + F,
    ].join('\n');
    assert.deepEqual(blocksOf(parseEditBlocks(reply, 'stop')), [
      { path: 'src/math.js', search: '  return a - b;\n', replace: '  return a + b;\n', index: 1 },
      { path: 'lib/util.js', search: 'const x = 1;\n', replace: 'const x = 2;\n', index: 2 },
      { path: 'lib/util.js', search: 'const y = 1;\n', replace: 'const y = 2;\n', index: 3 },
    ]);
  });

  it('reads bare blocks without a fence, decorated path lines, and CRLF replies', () => {
    const reply =
      '**./src/a.py**\r\n<<<<<<< SEARCH\r\nx = 1\r\n=======\r\nx = 2\r\n>>>>>>> REPLACE\r\n\r\n' + '`b.py`:\n<<<<<<< SEARCH\ny = 1\n=======\n>>>>>>> REPLACE';
    assert.deepEqual(blocksOf(parseEditBlocks(reply, 'stop')), [
      { path: 'src/a.py', search: 'x = 1\n', replace: 'x = 2\n', index: 1 },
      { path: 'b.py', search: 'y = 1\n', replace: '', index: 2 },
    ]);
  });

  it('is none for a reply without blocks or named files (the whole-file reply of today)', () => {
    assert.deepEqual(parseEditBlocks('Fixed.\n```js\nconst a = 1;\n```\n', 'stop'), { kind: 'none' });
    assert.deepEqual(parseEditBlocks('Here is the fix:\n```js\nconst a = 1;\n```\n', 'stop'), { kind: 'none' });
    assert.deepEqual(parseEditBlocks('just prose', 'length'), { kind: 'none' });
  });

  it('takes a fenced block named by the path line before it as a whole file, next to blocks for other files', () => {
    const reply = `src/new.js\n${F}js\nexport const z = 1;\n${F}\n\nsrc/a.js\n${F}\n${edit('a\n', 'b\n')}${F}\n\n${F}bash\nnpm test\n${F}\n`;
    assert.deepEqual(parseEditBlocks(reply, 'stop'), {
      kind: 'blocks',
      blocks: [{ path: 'src/a.js', search: 'a\n', replace: 'b\n', index: 1 }],
      wholeFiles: [{ path: 'src/new.js', code: 'export const z = 1;\n' }],
    });
  });

  it('rejects a block cut off by the token limit as truncated, an unterminated one otherwise as malformed', () => {
    const cut = `src/a.js\n${F}js\n${edit('a\n', 'b\n')}${F}\nsrc/b.js\n${F}js\n<<<<<<< SEARCH\nconst b = 1;\n=======\nconst b`;
    const truncated = parseError(parseEditBlocks(cut, 'length'));
    assert.equal(truncated.reason, 'truncated');
    assert.match(truncated.message, /block 2 \(src\/b\.js\) was cut off by the token limit/);
    const broken = parseError(parseEditBlocks(cut, 'stop'));
    assert.equal(broken.reason, 'malformed');
    assert.match(broken.message, /block 2 \(src\/b\.js\) ends before its >>>>>>> REPLACE line/);
    assert.equal(parseError(parseEditBlocks(`a.js\n<<<<<<< SEARCH\nx\n`, 'length')).reason, 'truncated');
    // Complete blocks, then the limit hit inside the fence of the next one: more was coming.
    assert.equal(parseError(parseEditBlocks(`a.js\n${F}\n${edit('a\n', 'b\n')}\nb.js\n`, 'length')).reason, 'truncated');
  });

  it('rejects broken markers and blocks with no path', () => {
    assert.match(parseError(parseEditBlocks(`<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE`, 'stop')).message, /block 1 has no file path/);
    assert.match(parseError(parseEditBlocks(`a.js\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE`, 'stop')).message, /has no ======= line/);
    assert.match(parseError(parseEditBlocks(`a.js\n<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n`, 'stop')).message, /has no >>>>>>> REPLACE/);
    assert.match(parseError(parseEditBlocks(`a.js\nx\n=======\nb\n>>>>>>> REPLACE`, 'stop')).message, /no <<<<<<< SEARCH before it/);
  });

  it('refuses absolute paths and paths with .. segments, and normalises the rest', () => {
    for (const path of ['../secrets.txt', 'src/../../x.js', '/etc/passwd', 'C:\\Windows\\x.ini', '~/.bashrc']) {
      const error = parseError(parseEditBlocks(`${path}\n${edit('a\n', 'b\n')}`, 'stop'));
      assert.equal(error.reason, 'malformed', path);
      assert.match(error.message, /block 1 names .*(relative to the workspace root|stay inside the workspace)/, path);
    }
    assert.equal(parseError(parseEditBlocks(`../x.js\n${F}js\nwhole\n${F}\n${F}\n`, 'stop')).reason, 'malformed');
    assert.equal(blocksOf(parseEditBlocks(`.\\src\\a.js\n${edit('a\n', 'b\n')}`, 'stop'))[0].path, 'src/a.js');
    assert.equal(blocksOf(parseEditBlocks(`src/..foo/a.js\n${edit('a\n', 'b\n')}`, 'stop'))[0].path, 'src/..foo/a.js');
  });

  it('rejects whole-file and block edits of one file in one reply as a conflict', () => {
    const reply = `src/a.js\n${F}js\nconst a = 2;\n${F}\n\nsrc/a.js\n${F}js\n${edit('const a = 1;\n', 'const a = 3;\n')}${F}\n`;
    const error = parseError(parseEditBlocks(reply, 'stop'));
    assert.equal(error.reason, 'edit_conflict');
    assert.match(error.message, /block 1 \(src\/a\.js\) edits a file the same reply also sends whole/);
    const twice = `a.js\n${F}\n1\n${F}\na.js\n${F}\n2\n${F}\n`;
    assert.equal(parseError(parseEditBlocks(twice, 'stop')).reason, 'edit_conflict');
  });

  it('keeps the previous path for a block after prose like "Then:", and takes Makefile as a path', () => {
    const reply = `a.js\n${F}\n${edit('1\n', '2\n')}${F}\nThen:\n${F}\n${edit('3\n', '4\n')}${F}\nMakefile\n${edit('x\n', 'y\n')}`;
    assert.deepEqual(
      blocksOf(parseEditBlocks(reply, 'stop')).map((b) => b.path),
      ['a.js', 'a.js', 'Makefile'],
    );
  });
});

describe('edit blocks: applying', () => {
  const parse = (reply: string) => blocksOf(parseEditBlocks(reply, 'stop'));

  it('applies blocks for several files in order, keeping every other byte', () => {
    const blocks = parse(
      `src/a.js\n${edit('function f() {\n  return 1;\n}\n', 'function f() {\n  return 2;\n}\n')}` +
        `lib/b.js\n${edit('b = 1\n', 'b = 2\n')}\nsrc/a.js\n${edit('const tail = 0;\n', '')}`,
    );
    const a = '// head  \n\nfunction f() {\n  return 1;\n}\nconst tail = 0;\nexport { f };';
    const result = applyEditBlocks(blocks, files({ 'src/a.js': a, 'lib/b.js': 'b = 1\n' }));
    assert.deepEqual(result, {
      ok: true,
      files: [
        { path: 'src/a.js', before: a, after: '// head  \n\nfunction f() {\n  return 2;\n}\nexport { f };' },
        { path: 'lib/b.js', before: 'b = 1\n', after: 'b = 2\n' },
      ],
    });
  });

  it('creates a missing file from an empty SEARCH section, and refuses an empty SEARCH on a non-empty file', () => {
    const blocks = parse(`src/new.ts\n${F}ts\n<<<<<<< SEARCH\n=======\nexport const n = 1;\n>>>>>>> REPLACE\n${F}\n`);
    assert.deepEqual(blocks, [{ path: 'src/new.ts', search: '', replace: 'export const n = 1;\n', index: 1 }]);
    assert.deepEqual(applyEditBlocks(blocks, files({})), { ok: true, files: [{ path: 'src/new.ts', before: null, after: 'export const n = 1;\n' }] });
    assert.deepEqual(applyEditBlocks(blocks, files({ 'src/new.ts': '' })), {
      ok: true,
      files: [{ path: 'src/new.ts', before: '', after: 'export const n = 1;\n' }],
    });
    const refused = applyError(applyEditBlocks(blocks, files({ 'src/new.ts': 'old\n' })));
    assert.equal(refused.reason, 'edit_mismatch');
    assert.match(refused.message, /block 1 \(src\/new\.ts\) has an empty SEARCH section, but src\/new\.ts exists/);
    const missing = applyError(applyEditBlocks(parse(`gone.js\n${edit('a\n', 'b\n')}`), files({})));
    assert.match(missing.message, /gone\.js does not exist; to create it, leave the SEARCH section empty/);
    const twice = applyError(applyEditBlocks(parse(`n.js\n${edit('', 'a\n')}${edit('', 'b\n')}`), files({})));
    assert.equal(twice.reason, 'edit_conflict');
  });

  it('tolerates trailing whitespace and CR line ends, never indentation', () => {
    const file = 'def f():\r\n    x = 1   \r\n    return x\r\n';
    const blocks = parse(`m.py\n${edit('def f():\n    x = 1\n', 'def f():\n    x = 2\n')}`);
    assert.deepEqual(applyEditBlocks(blocks, files({ 'm.py': file })), {
      ok: true,
      files: [{ path: 'm.py', before: file, after: 'def f():\n    x = 2\n    return x\r\n' }],
    });
    // The SEARCH side may carry the trailing spaces the file lacks.
    const spaced = parse(`m.py\n${edit('x = 1  \n', 'x = 2\n')}`);
    assert.equal((applyEditBlocks(spaced, files({ 'm.py': 'x = 1\n' })) as { files: { after: string }[] }).files[0].after, 'x = 2\n');
    const indented = applyError(applyEditBlocks(parse(`m.py\n${edit('x = 1\nreturn x\n', 'x = 2\nreturn x\n')}`), files({ 'm.py': file })));
    assert.equal(indented.reason, 'edit_mismatch');
    assert.match(indented.message, /only the indentation differs/);
  });

  it('prefers an exact match over ones equal only up to trailing whitespace', () => {
    const blocks = parse(`a.txt\n${edit('x\n', 'y\n')}`);
    assert.deepEqual(applyEditBlocks(blocks, files({ 'a.txt': 'x  \nx\n' })), {
      ok: true,
      files: [{ path: 'a.txt', before: 'x  \nx\n', after: 'x  \ny\n' }],
    });
  });

  it('rejects a SEARCH section that matches twice, naming the block and both lines', () => {
    const file = 'let a = 0;\nfunction one() {\n  a++;\n}\nfunction two() {\n  a++;\n}\n';
    const blocks = parse(`src/ok.js\n${edit('x\n', 'y\n')}src/x.js\n${edit('  a++;\n', '  a += 2;\n')}`);
    const error = applyError(applyEditBlocks(blocks, files({ 'src/ok.js': 'x\n', 'src/x.js': file })));
    assert.equal(error.reason, 'edit_mismatch');
    assert.match(error.message, /^block 2 \(src\/x\.js\): the SEARCH section matches 2 times \(lines 3, 6\)/);
  });

  it('rejects a SEARCH section that matches nowhere, showing the closest lines with their numbers', () => {
    const file = [
      'import x from "x";',
      '',
      'export function total(items) {',
      '  let sum = 0;',
      '  for (const item of items) sum += item.price;',
      '  return sum;',
      '}',
      '',
    ].join('\n');
    const search = 'export function total(items) {\n  let sum = 0;\n  for (const item of items) sum += item.cost;\n  return sum;\n';
    const error = applyError(applyEditBlocks(parse(`src/total.js\n${edit(search, 'x\n')}`), files({ 'src/total.js': file })));
    assert.equal(error.reason, 'edit_mismatch');
    assert.match(error.message, /^block 1 \(src\/total\.js\): the SEARCH section matches nowhere in src\/total\.js/);
    assert.match(error.message, /3 of 4 lines equal/);
    assert.match(
      error.message,
      /3\| export function total\(items\) \{\n4\| {3}let sum = 0;\n5\| {3}for \(const item of items\) sum \+= item\.price;\n6\| {3}return sum;\n/,
    );
    assert.doesNotMatch(error.message, /1\| import/);
    const unknown = applyError(applyEditBlocks(parse(`src/total.js\n${edit('nothing like it\n', 'x\n')}`), files({ 'src/total.js': file })));
    assert.match(unknown.message, /none of its lines is in the file/);
  });

  it('caps the closest-lines excerpt', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const search = `${lines.slice(10, 50).join('\n')}\nnot in the file\n`;
    const error = applyError(applyEditBlocks(parse(`a.txt\n${edit(search, 'x\n')}`), files({ 'a.txt': `${lines.join('\n')}\n` })));
    const excerpt = error.message.split('\n').filter((line) => /^\s*\d+\| /.test(line));
    assert.equal(excerpt.length, 20);
    assert.match(excerpt[0], /^11\| line 10$/);
  });

  it('rejects blocks whose SEARCH ranges overlap in one file, and applies adjacent ones', () => {
    const file = 'a\nb\nc\nd\ne\n';
    const overlapping = parse(`f.txt\n${edit('b\nc\n', 'B\nC\n')}${edit('c\nd\n', 'C\nD\n')}`);
    const error = applyError(applyEditBlocks(overlapping, files({ 'f.txt': file })));
    assert.equal(error.reason, 'edit_conflict');
    assert.match(error.message, /block 2 \(f\.txt\) overlaps block 1/);
    // The second SEARCH quotes what the first one wrote: an overlap too.
    const chained = parse(`f.txt\n${edit('b\n', 'B\n')}${edit('B\nc\n', 'x\n')}`);
    assert.match(applyError(applyEditBlocks(chained, files({ 'f.txt': file }))).message, /block 2 \(f\.txt\) overlaps block 1/);
    // Lines deleted by block 1 sit inside block 2's range.
    const around = parse(`f.txt\n${edit('c\n', '')}${edit('b\nd\n', 'x\n')}`);
    assert.match(applyError(applyEditBlocks(around, files({ 'f.txt': file }))).message, /overlaps block 1/);
    const adjacent = parse(`f.txt\n${edit('b\nc\n', 'B\nC\n')}${edit('d\n', 'D\n')}${edit('a\n', 'A\n')}`);
    assert.deepEqual(applyEditBlocks(adjacent, files({ 'f.txt': file })), { ok: true, files: [{ path: 'f.txt', before: file, after: 'A\nB\nC\nD\ne\n' }] });
  });

  it('applies blocks progressively: a repeated SEARCH takes the next occurrence once the first is replaced', () => {
    const blocks = parse(`f.txt\n${edit('x = 1\n', 'x = 2\n')}${edit('x = 1\n', 'x = 3\n')}`);
    // Two equal lines and nothing to tell them apart: block 1 is ambiguous, whatever block 2 says.
    assert.equal(applyError(applyEditBlocks(blocks, files({ 'f.txt': 'x = 1\nx = 1\n' }))).reason, 'edit_mismatch');
    const distinct = parse(`f.txt\n${edit('y\nx = 1\n', 'y\nx = 2\n')}${edit('x = 1\n', 'x = 3\n')}`);
    assert.deepEqual(applyEditBlocks(distinct, files({ 'f.txt': 'y\nx = 1\nx = 1\n' })), {
      ok: true,
      files: [{ path: 'f.txt', before: 'y\nx = 1\nx = 1\n', after: 'y\nx = 2\nx = 3\n' }],
    });
  });

  it('applies a one-line fix to a 1 MB file quickly', () => {
    const lines = Array.from({ length: 25_000 }, (_, i) => `  const value${i} = compute(${i}, "padding padding");`);
    const file = `${lines.join('\n')}\n`;
    assert.ok(file.length > 1_000_000, `${file.length} chars`);
    const reply = `src/big.js\n${F}js\n${edit(`${lines[20_000]}\n`, '  const value20000 = compute(20001, "padding padding");\n')}${F}\n`;
    const start = performance.now();
    const result = applyEditBlocks(blocksOf(parseEditBlocks(reply, 'stop')), files({ 'src/big.js': file }));
    const ms = performance.now() - start;
    console.log(`      1 MB file, one-line fix: ${ms.toFixed(1)} ms`);
    assert.ok(result.ok);
    assert.equal(result.files[0].after, file.replace('compute(20000,', 'compute(20001,'));
    assert.ok(ms < 500, `${ms} ms`);
    // A miss in the same file is also quick, closest lines included.
    const missStart = performance.now();
    const miss = applyEditBlocks(parse(`src/big.js\n${edit('  const value20000 = compute(7);\n', 'x\n')}`), files({ 'src/big.js': file }));
    const missMs = performance.now() - missStart;
    console.log(`      1 MB file, a miss with closest lines: ${missMs.toFixed(1)} ms`);
    assert.equal(applyError(miss).reason, 'edit_mismatch');
    assert.ok(missMs < 500, `${missMs} ms`);
  });
});

describe('edit blocks: the prompt', () => {
  it('describes the format with an example the parser reads, and the whole-file threshold', () => {
    const text = describeEditFormat(4000);
    assert.match(text, /4000 bytes/);
    assert.deepEqual(blocksOf(parseEditBlocks(text.slice(text.indexOf('Example:')), 'stop')), [
      { path: 'src/math.js', search: 'function add(a, b) {\n  return a - b;\n}\n', replace: 'function add(a, b) {\n  return a + b;\n}\n', index: 1 },
    ]);
  });
});
