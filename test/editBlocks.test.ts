import * as assert from 'node:assert/strict';
import { describeEditFormat, parseEditBlocks, type EditBlock, type ParsedReply } from '../server/agent/editBlocks';
import { readEdits, type Edits } from '../server/agent/replyEdits';

const F = '```';

function blocksOf(parsed: ParsedReply): EditBlock[] {
  assert.equal(parsed.kind, 'blocks', JSON.stringify(parsed));
  return parsed.kind === 'blocks' ? parsed.blocks : [];
}

function parseError(parsed: ParsedReply): { reason: string; message: string } {
  assert.equal(parsed.kind, 'error', JSON.stringify(parsed));
  return parsed.kind === 'error' ? parsed : { reason: '', message: '' };
}

function applyError(result: Edits): { reason: string; message: string } {
  assert.equal(result.ok, false, JSON.stringify(result));
  return result.ok ? { reason: '', message: '' } : result;
}

/** A reply read against an in-memory workspace whose files may all be edited (the first is the target). */
function apply(reply: string, contents: Record<string, string>, options: { only?: boolean; known?: string[] } = {}): Edits {
  const paths = Object.keys(contents);
  return readEdits(reply, 'stop', {
    target: paths[0] ?? 'main.js',
    known: [...paths, ...(options.known ?? [])],
    only: options.only ? paths[0] : null,
    exists: (path) => Object.hasOwn(contents, path),
    read: (path) => (Object.hasOwn(contents, path) ? contents[path] : null),
    forbidden: (path) => (/\.test\./.test(path) ? `${path} is a test file: fix the code under test, never the tests` : undefined),
  });
}

/** The new text of each file a reply changes, and the ladder step that placed it. */
function applied(
  reply: string,
  contents: Record<string, string>,
  options?: { only?: boolean; known?: string[] },
): Record<string, [string, string | undefined]> {
  const result = apply(reply, contents, options);
  assert.ok(result.ok, JSON.stringify(result));
  return Object.fromEntries(result.files.map((file) => [file.path, [file.after, file.match]]));
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
      { path: 'src/math.js', search: '  return a - b;\n', replace: '  return a + b;\n', index: 1, kind: 'block' },
      { path: 'lib/util.js', search: 'const x = 1;\n', replace: 'const x = 2;\n', index: 2, kind: 'block' },
      { path: 'lib/util.js', search: 'const y = 1;\n', replace: 'const y = 2;\n', index: 3, kind: 'block' },
    ]);
  });

  it('reads bare blocks without a fence, decorated path lines, and CRLF replies', () => {
    const reply =
      '**./src/a.py**\r\n<<<<<<< SEARCH\r\nx = 1\r\n=======\r\nx = 2\r\n>>>>>>> REPLACE\r\n\r\n' + '`b.py`:\n<<<<<<< SEARCH\ny = 1\n=======\n>>>>>>> REPLACE';
    assert.deepEqual(blocksOf(parseEditBlocks(reply, 'stop')), [
      { path: 'src/a.py', search: 'x = 1\n', replace: 'x = 2\n', index: 1, kind: 'block' },
      { path: 'b.py', search: 'y = 1\n', replace: '', index: 2, kind: 'block' },
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
      blocks: [{ path: 'src/a.js', search: 'a\n', replace: 'b\n', index: 1, kind: 'block' }],
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
    assert.equal(blocksOf(parseEditBlocks(`<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE`, 'stop'))[0].path, null);
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

describe('edit blocks: applying, the matching ladder', () => {
  it('applies blocks for several files in order, keeping every other byte (a missing final newline too)', () => {
    const a = '// head  \n\nfunction f() {\n  return 1;\n}\nconst tail = 0;\nexport { f };';
    const reply =
      `src/a.js\n${edit('function f() {\n  return 1;\n}\n', 'function f() {\n  return 2;\n}\n')}` +
      `lib/b.js\n${edit('b = 1\n', 'b = 2\n')}\nsrc/a.js\n${edit('const tail = 0;\n', '')}`;
    assert.deepEqual(applied(reply, { 'src/a.js': a, 'lib/b.js': 'b = 1\n' }), {
      'src/a.js': ['// head  \n\nfunction f() {\n  return 2;\n}\nexport { f };', 'exact'],
      'lib/b.js': ['b = 2\n', 'exact'],
    });
  });

  it('creates a missing file only from an empty SEARCH; a non-empty SEARCH on a missing path gets "did you mean"', () => {
    const create = `src/new.ts\n${F}ts\n<<<<<<< SEARCH\n=======\nexport const n = 1;\n>>>>>>> REPLACE\n${F}\n`;
    assert.deepEqual(applied(create, { 'main.ts': 'x\n' }), { 'src/new.ts': ['export const n = 1;\n', 'exact'] });
    assert.deepEqual(applied(create, { 'src/new.ts': '' }), { 'src/new.ts': ['export const n = 1;\n', 'exact'] });
    const refused = applyError(apply(create, { 'src/new.ts': 'old\n' }));
    assert.equal(refused.reason, 'edit_mismatch');
    assert.match(refused.message, /block 1 \(src\/new\.ts\) has an empty SEARCH section, but src\/new\.ts exists/);
    const missing = applyError(apply(`src/prices.js\n${edit('a\n', 'b\n')}`, { 'src/price.js': 'a\n', 'lib/other.js': 'x\n' }));
    assert.equal(missing.reason, 'edit_mismatch');
    assert.match(missing.message, /block 1 \(src\/prices\.js\): no such file; did you mean `src\/price\.js`\?/);
    assert.doesNotMatch(missing.message, /to create it/);
    assert.equal(applyError(apply(`n.js\n${edit('', 'a\n')}${edit('', 'b\n')}`, { 'main.js': 'x\n' })).reason, 'edit_conflict');
  });

  it('step 2: trailing whitespace and CR line ends, both ways; an exact match is preferred', () => {
    const file = 'def f():\r\n    x = 1   \r\n    return x\r\n';
    assert.deepEqual(applied(`m.py\n${edit('def f():\n    x = 1\n', 'def f():\n    x = 2\n')}`, { 'm.py': file }), {
      'm.py': ['def f():\n    x = 2\n    return x\r\n', 'whitespace'],
    });
    assert.deepEqual(applied(`m.py\n${edit('x = 1  \n', 'x = 2\n')}`, { 'm.py': 'x = 1\n' }), { 'm.py': ['x = 2\n', 'whitespace'] });
    assert.deepEqual(applied(`a.txt\n${edit('x\n', 'y\n')}`, { 'a.txt': 'x  \nx\n' }), { 'a.txt': ['x  \ny\n', 'exact'] });
  });

  it('step 3: a SEARCH indented a level less or more is placed, and REPLACE is re-indented by the same offset', () => {
    const file = 'class Cart {\n  total() {\n    let sum = 0;\n    for (const i of this.items) sum += i.price;\n    return sum;\n  }\n}\n';
    const less = edit('total() {\n  let sum = 0;\n', 'total() {\n  let sum = 0; // start\n  if (!this.items) return 0;\n');
    assert.deepEqual(applied(`cart.js\n${less}`, { 'cart.js': file }), {
      'cart.js': [file.replace('    let sum = 0;\n', '    let sum = 0; // start\n    if (!this.items) return 0;\n'), 'indent'],
    });
    const more = edit('      return sum;\n    }\n', '      return Math.round(sum);\n    }\n');
    assert.deepEqual(applied(`cart.js\n${more}`, { 'cart.js': file }), { 'cart.js': [file.replace('return sum;', 'return Math.round(sum);'), 'indent'] });
  });

  it("step 4: tabs against spaces, REPLACE written in the file's style", () => {
    const tabbed = 'function f(x) {\n\tif (x) {\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n';
    const spaced = edit('    if (x) {\n        return 1;\n    }\n', '    if (x) {\n        return 2;\n    }\n');
    assert.deepEqual(applied(`f.js\n${spaced}`, { 'f.js': tabbed }), { 'f.js': [tabbed.replace('return 1', 'return 2'), 'tabs'] });
    const spacedFile = 'def f(x):\n    if x:\n        return 1\n    return 0\n';
    assert.deepEqual(applied(`f.py\n${edit('\tif x:\n\t\treturn 1\n', '\tif x:\n\t\treturn 2\n')}`, { 'f.py': spacedFile }), {
      'f.py': [spacedFile.replace('return 1', 'return 2'), 'tabs'],
    });
  });

  it('step 5: a missing or an extra blank line in SEARCH', () => {
    const file = 'import a from "a";\n\nexport function f() {\n  return a;\n}\n\nexport const g = 1;\n';
    const missing = edit('import a from "a";\nexport function f() {\n  return a;\n', 'import a from "a";\nexport function f() {\n  return a + 1;\n');
    assert.deepEqual(applied(`m.js\n${missing}`, { 'm.js': file }), {
      'm.js': ['import a from "a";\nexport function f() {\n  return a + 1;\n}\n\nexport const g = 1;\n', 'blank_lines'],
    });
    const extra = edit('\n  return a;\n}\n\n\n', '\n  return a * 2;\n}\n\n\n');
    assert.deepEqual(applied(`m.js\n${extra}`, { 'm.js': file }), { 'm.js': [file.replace('return a;', 'return a * 2;'), 'blank_lines'] });
  });

  it('step 6: elisions paired in SEARCH and REPLACE keep the elided code; each piece must match once, in order', () => {
    const file =
      'function total(items) {\n  let sum = 0;\n  for (const item of items) {\n    sum += item.price;\n  }\n  return sum;\n}\n\nmodule.exports = { total };\n';
    const search = 'function total(items) {\n  // ... existing code ...\n  return sum;\n}\n';
    const reply = `total.js\n${edit(search, search.replace('return sum;', 'return Math.round(sum * 100) / 100;'))}`;
    assert.deepEqual(applied(reply, { 'total.js': file }), { 'total.js': [file.replace('return sum;', 'return Math.round(sum * 100) / 100;'), 'elision'] });
    const dots = `total.js\n${edit('function total(items) {\n...\n  return sum;\n', 'function total(items = []) {\n...\n  return sum;\n')}`;
    assert.deepEqual(applied(dots, { 'total.js': file }), { 'total.js': [file.replace('total(items)', 'total(items = [])'), 'elision'] });
    // A piece that matches twice is refused, naming the piece.
    const twice = `${file}function other() {\n  return sum;\n}\n`;
    const ambiguous = applyError(
      apply(`total.js\n${edit('  let sum = 0;\n  // ...\n  return sum;\n', '  let sum = 1;\n  // ...\n  return sum;\n')}`, {
        'total.js': twice.replace('let sum = 0;\n  for', 'let sum = 0;\n  for').replace('}\n\nmodule', '}\n\nmodule'),
      }),
    );
    assert.equal(ambiguous.reason, 'edit_mismatch', ambiguous.message);
  });

  it('refuses a REPLACE that adds an elision SEARCH lacked as elided, quoting the line; nothing written', () => {
    const file = 'function total(items) {\n  let sum = 0;\n  for (const item of items) sum += item.price;\n  return sum;\n}\n';
    const reply = `total.js\n${edit(file, 'function total(items) {\n  // ... existing code ...\n  return Math.round(sum);\n}\n')}`;
    const refused = applyError(apply(reply, { 'total.js': file }));
    assert.equal(refused.reason, 'elided');
    assert.match(refused.message, /block 1 \(total\.js\) would write "\/\/ \.\.\. existing code \.\.\." into total\.js/);
    // A whole file that elides code the file has.
    const whole = applyError(apply(`Here:\n${F}js\nfunction total(items) {\n  // ...\n  return 0;\n}\n${F}\n`, { 'total.js': file }));
    assert.equal(whole.reason, 'elided');
    // Python's own `...` stays writable when the file has it.
    assert.ok(apply(`${F}python\nclass A:\n    def f(self): ...\n    x = 2\n${F}\n`, { 'a.py': 'class A:\n    def f(self): ...\n    x = 1\n' }).ok);
  });

  it('refuses a SEARCH that matches twice at the step that finds it, naming the lines', () => {
    const file = 'let a = 0;\nfunction one() {\n  a++;\n}\nfunction two() {\n  a++;\n}\n';
    const error = applyError(apply(`src/ok.js\n${edit('x\n', 'y\n')}src/x.js\n${edit('  a++;\n', '  a += 2;\n')}`, { 'src/ok.js': 'x\n', 'src/x.js': file }));
    assert.equal(error.reason, 'edit_mismatch');
    assert.match(error.message, /^block 2 \(src\/x\.js\): the SEARCH section matches 2 times \(lines 3, 6\)/);
    const loose = applyError(apply(`src/x.js\n${edit('a++;\n', 'a += 2;\n')}`, { 'src/x.js': file }));
    assert.match(loose.message, /matches 2 times \(lines 3, 6, ignoring an indentation offset\)/);
  });

  it('applies blocks in order, each to the file as the one before left it; names the block that broke a later SEARCH', () => {
    const file = 'a\nb\nc\nd\ne\n';
    assert.deepEqual(applied(`f.txt\n${edit('b\n', 'B\n')}${edit('B\nc\n', 'x\n')}`, { 'f.txt': file }), { 'f.txt': ['a\nx\nd\ne\n', 'exact'] });
    const broken = applyError(apply(`f.txt\n${edit('b\nc\n', 'B\nC\n')}${edit('c\nd\n', 'C\nD\n')}`, { 'f.txt': file }));
    assert.equal(broken.reason, 'edit_conflict');
    assert.match(broken.message, /block 2 \(f\.txt\): its SEARCH section matched f\.txt before block 1 \(f\.txt\) changed those lines/);
    assert.deepEqual(applied(`f.txt\n${edit('y\nx = 1\n', 'y\nx = 2\n')}${edit('x = 1\n', 'x = 3\n')}`, { 'f.txt': 'y\nx = 1\nx = 1\n' }), {
      'f.txt': ['y\nx = 2\nx = 3\n', 'exact'],
    });
  });

  it('reads paths as models write them', () => {
    const files = { 'app/src/price.js': 'const rate = 1;\n', 'app/src/util.js': 'u\n' };
    const change = edit('const rate = 1;\n', 'const rate = 2;\n');
    const want = { 'app/src/price.js': ['const rate = 2;\n', 'exact'] };
    for (const reply of [
      `./app/src/price.js\n${change}`,
      `\`app/src/price.js\`\n${F}js\n${change}${F}`,
      `**File:** \`app/src/price.js\`\n${F}js\n${change}${F}`,
      `File: app/src/price.js\n${F}js\n${change}${F}`,
      `### app/src/price.js\n${change}`,
      `${F}js:app/src/price.js\n${change}${F}`,
      `${F}js app/src/price.js\n${change}${F}`,
      `${F}javascript title="app/src/price.js"\n${change}${F}`,
      `src/price.js\n${F}js\n${change}${F}`,
      `In \`price.js\`, change the rate:\n${F}js\n${change}${F}`,
    ])
      assert.deepEqual(applied(reply, files), want, reply);
    // No path: the one editable file; with several, refused.
    assert.deepEqual(applied(`${F}js\n${change}${F}`, { 'price.js': 'const rate = 1;\n' }, { only: true }), { 'price.js': ['const rate = 2;\n', 'exact'] });
    assert.equal(applyError(apply(`${F}js\n${change}${F}`, files)).reason, 'malformed');
    // A suffix of two files is refused, naming both.
    const two = applyError(apply(`price.js\n${change}`, { 'a/price.js': 'const rate = 1;\n', 'b/price.js': 'x\n' }));
    assert.match(two.message, /could be `a\/price\.js` or `b\/price\.js`/);
    // A test file reached by a suffix is still a test file.
    assert.equal(applyError(apply(`price.test.js\n${change}`, { 'app/price.js': 'x\n', 'test/price.test.js': 'const rate = 1;\n' })).reason, 'forbidden_path');
  });

  it('reads blocks inside a markdown list item or a quote, markers indented, and never writes the markers', () => {
    const file = 'export function price(n) {\n  return n * 1.2;\n}\n';
    const listed = [
      'Two changes:',
      '',
      '1. In `src/price.js`, fix the rate:',
      '',
      `   ${F}js`,
      '   <<<<<<< SEARCH',
      '     return n * 1.2;',
      '   =======',
      '     return n * 1.25;',
      '   >>>>>>> REPLACE',
      `   ${F}`,
    ].join('\n');
    assert.deepEqual(applied(listed, { 'src/price.js': file }), { 'src/price.js': [file.replace('1.2', '1.25'), 'exact'] });
    const quoted = `src/price.js\n> <<<<<<< SEARCH\n>   return n * 1.2;\n> =======\n>   return n * 1.25;\n> >>>>>>> REPLACE\n`;
    assert.deepEqual(applied(quoted, { 'src/price.js': file }), { 'src/price.js': [file.replace('1.2', '1.25'), 'exact'] });
  });

  it('applies unified diffs by their lines, not their line numbers; refuses one that does not fit, saying how to send blocks', () => {
    const file = 'function area(r) {\n  return 3.14 * r;\n}\n\nmodule.exports = { area };\n';
    const diff = `${F}diff\n--- a/geo.js\n+++ b/geo.js\n@@ -40,3 +40,3 @@\n function area(r) {\n-  return 3.14 * r;\n+  return Math.PI * r * r;\n }\n${F}\n`;
    assert.deepEqual(applied(diff, { 'geo.js': file }), { 'geo.js': [file.replace('3.14 * r', 'Math.PI * r * r'), 'exact'] });
    const bare = `Fix:\n--- geo.js\n+++ geo.js\n@@ ... @@\n   function area(r) {\n-    return 3.14 * r;\n+    return Math.PI * r * r;\n\nThat should do it.\n`;
    assert.deepEqual(applied(bare, { 'geo.js': file }), { 'geo.js': [file.replace('3.14 * r', 'Math.PI * r * r'), 'indent'] });
    const unnamed = `${F}diff\n@@ -1,3 +1,3 @@\n function area(r) {\n-  return 3.14 * r;\n+  return Math.PI * r * r;\n${F}\n`;
    assert.deepEqual(applied(unnamed, { 'geo.js': file }, { only: true }), { 'geo.js': [file.replace('3.14 * r', 'Math.PI * r * r'), 'exact'] });
    const wrong = applyError(apply(diff.replace(' function area(r) {', ' function circle(r) {'), { 'geo.js': file }));
    assert.equal(wrong.reason, 'edit_mismatch');
    assert.match(wrong.message, /^hunk 1 \(geo\.js\): the SEARCH section matches nowhere[\s\S]*send SEARCH\/REPLACE blocks instead/);
    // A diff named by the path line before its fence is never written as the file.
    const named = applied(`geo.js\n${F}\n@@ -1,3 +1,3 @@\n function area(r) {\n-  return 3.14 * r;\n+  return 2;\n${F}\n`, { 'geo.js': file });
    assert.equal(named['geo.js'][0], file.replace('3.14 * r', '2'));
  });

  it('never takes a fence named only in prose as a whole file (a shell command is not `test.sh`)', () => {
    const reply = `Then run \`test.sh\`:\n\n${F}bash\n./test.sh --all\n${F}\n`;
    assert.deepEqual(parseEditBlocks(reply, 'stop'), { kind: 'none' });
    const result = apply(reply, { 'main.py': 'print(1)\n', 'test.sh': 'echo test\n' });
    assert.ok(!result.ok || result.files.every((file) => file.path !== 'test.sh'), JSON.stringify(result));
  });

  it('never writes a whole file that still holds an edit marker', () => {
    const file = 'const a = 1;\n';
    const broken = applyError(apply(`${F}js\nconst a = 2;\n=======\nconst a = 3;\n${F}\n`, { 'a.js': file }));
    assert.equal(broken.reason, 'malformed');
    assert.match(broken.message, /holds an edit marker \("======="/);
    // A file that has such a line (a markdown heading) may keep it.
    assert.ok(apply(`${F}md\nTitle\n=======\n\nnew text\n${F}\n`, { 'README.md': 'Title\n=======\n\ntext\n' }).ok);
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
    const error = applyError(apply(`src/total.js\n${edit(search, 'x\n')}`, { 'src/total.js': file }));
    assert.equal(error.reason, 'edit_mismatch');
    assert.match(error.message, /^block 1 \(src\/total\.js\): the SEARCH section matches nowhere in src\/total\.js/);
    assert.match(error.message, /3 of 4 lines equal/);
    assert.match(
      error.message,
      /3\| export function total\(items\) \{\n4\| {3}let sum = 0;\n5\| {3}for \(const item of items\) sum \+= item\.price;\n6\| {3}return sum;\n/,
    );
    assert.doesNotMatch(error.message, /1\| import/);
    const unknown = applyError(apply(`src/total.js\n${edit('nothing like it\n', 'x\n')}`, { 'src/total.js': file }));
    assert.match(unknown.message, /none of its lines is in the file/);
  });

  it('caps the closest-lines excerpt', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const search = `${lines.slice(10, 50).join('\n')}\nnot in the file\n`;
    const error = applyError(apply(`a.txt\n${edit(search, 'x\n')}`, { 'a.txt': `${lines.join('\n')}\n` }));
    const excerpt = error.message.split('\n').filter((line) => /^\s*\d+\| /.test(line));
    assert.equal(excerpt.length, 20);
    assert.match(excerpt[0], /^11\| line 10$/);
  });

  it('stays bounded: 32,000 blank lines against a file ending in 64,000, and a repetitive SEARCH, are refused at once', () => {
    const file = `const a = 1;\n${'\n'.repeat(64_000)}`;
    let started = performance.now();
    const blank = applyError(apply(`a.js\n${edit('\n'.repeat(32_000), 'x\n')}`, { 'a.js': file }));
    console.log(`      32,000 blank lines: ${(performance.now() - started).toFixed(1)} ms`);
    assert.match(blank.message, /only blank lines/);
    const repeated = `${'x = 1\n'.repeat(64_000)}`;
    started = performance.now();
    const costly = applyError(
      apply(`a.py\n${edit(`${'x = 1\n'.repeat(32_000)}x = 1 \nx = 2\n`.replace('x = 2\n', 'x = 1  \n'), 'y\n')}`, { 'a.py': repeated }),
    );
    console.log(`      32,000 repeated lines: ${(performance.now() - started).toFixed(1)} ms`);
    assert.match(costly.message, /too repetitive|matches \d+\+? times/);
  });

  it('applies a one-line fix, and an elided block (step 6), to a 1 MB file quickly', () => {
    const lines = Array.from({ length: 25_000 }, (_, i) => `  const value${i} = compute(${i}, "padding padding");`);
    const file = `${lines.join('\n')}\n`;
    assert.ok(file.length > 1_000_000, `${file.length} chars`);
    let start = performance.now();
    const one = applied(`src/big.js\n${F}js\n${edit(`${lines[20_000]}\n`, '  const value20000 = compute(20001, "padding padding");\n')}${F}\n`, {
      'src/big.js': file,
    });
    console.log(`      1 MB file, one-line fix: ${(performance.now() - start).toFixed(1)} ms`);
    assert.deepEqual(one['src/big.js'], [file.replace('compute(20000,', 'compute(20001,'), 'exact']);
    start = performance.now();
    const search = `${lines[100].trim()}\n  // ...\n${lines[20_000].trim()}\n`;
    const elided = applied(`src/big.js\n${edit(search, search.replace('compute(20000,', 'compute(7,'))}`, { 'src/big.js': file });
    console.log(`      1 MB file, step 6: ${(performance.now() - start).toFixed(1)} ms`);
    assert.deepEqual(elided['src/big.js'], [file.replace('compute(20000,', 'compute(7,'), 'elision']);
  });
});

describe('edit blocks: the prompt', () => {
  it('describes the format with an example the parser reads, and the whole-file threshold', () => {
    const text = describeEditFormat(4000);
    assert.match(text, /4000 bytes/);
    assert.deepEqual(blocksOf(parseEditBlocks(text.slice(text.indexOf('Example:')), 'stop')), [
      {
        path: 'src/math.js',
        search: 'function add(a, b) {\n  return a - b;\n}\n',
        replace: 'function add(a, b) {\n  return a + b;\n}\n',
        index: 1,
        kind: 'block',
      },
    ]);
  });
});
