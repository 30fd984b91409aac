/**
 * The Python and Go mutation-site finders, pure, on sources with every kind of string and comment: no mutant ever
 * lands in one, each kind is found, and every mutant still parses (Python's own `ast.parse`, Go's `gofmt`), so a
 * kept mutant is a wrong program rather than a broken file.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goMutationSites } from '../server/eval/mutantsGo';
import { pythonMutationSites } from '../server/eval/mutantsPython';
import { applyMutation, type Mutation } from '../server/eval/mutationSites';

const PYTHON = `"""Module docstring: a < b and 1 + 1 == 2.

>>> clamp(5, 0, 10)
5
"""
import os
from math import *

LABELS = [r"a < b", b'x + y', f"{os.sep} - 1", u'while x:', rb'\\d+ * 2', '''if a == b: pass''']


def clamp(x, lo, hi):
    # comment: if x > hi and y or z: 3 + 4
    if x > hi:
        return hi
    elif(x < lo):
        return lo
    return x


def total(items, *, start=0):
    """Docstring: while n >= 0: n - 1"""
    n = start
    i = 0
    while i < len(items) and items[i] is not None:
        n = n + items[i]
        i += 1
    if (n := n * 2) >= 10 or n == -1:
        n = n / 2
    return max(n, start)
`;

const GO = `// Package mathx: if a < b { return 1 + 1 }
package mathx

import "strings"

/* Block comment: x == y && z || 3 * 4 */
const label = "if a < b { c - 1 }"
const raw = \`a != b
if x > 0 { y / 2 }\`
const r = '<'
const comma = ","

// Clamp keeps x in [lo, hi].
func Clamp(x, lo, hi int) int {
	if x > hi {
		return hi
	} else if x < lo && lo <= hi {
		return lo
	}
	return x
}

func Total(items []int, sep string, start int) int {
	n := 0
	for i := 0; i < len(items); i++ {
		n = n + items[i]*2
	}
	if ok := func() bool { return n > 0 }(); ok {
		n--
	}
	if v := strings.Count(sep, comma); v >= 1 || n == -1 {
		n = n / 2
	}
	return max(n, start)
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}
`;

/** Every line that holds a string, comment or docstring, by a marker each such line has. */
function protectedLines(text: string, marker: RegExp): string[] {
  return text.split('\n').filter((line) => marker.test(line));
}

function checkUntouched(text: string, sites: Mutation[], marker: RegExp): void {
  const kept = protectedLines(text, marker);
  assert.ok(kept.length >= 5);
  for (const site of sites) {
    const mutated = applyMutation(text, site);
    for (const line of kept) assert.ok(mutated.includes(line), `${site.description} changed a string or comment: ${line}`);
  }
}

const kinds = (sites: Mutation[]) => [...new Set(sites.map((s) => s.kind))].sort();

describe('mutation sites for Python and Go', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mutation-sites-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('Python: every kind, never in a string, a comment or a docstring, and every mutant parses', () => {
    const sites = pythonMutationSites(PYTHON);
    assert.deepEqual(kinds(sites), ['arguments', 'comparison', 'constant', 'negation', 'operator']);
    checkUntouched(PYTHON, sites, /"""|'''|[rbuf]+['"]|#|>>>|^5$|^$/);
    const described = sites.map((s) => s.description);
    for (const expected of ['and → or', 'or → and', '>= → <', '+ → -', '/ → *', '0 → 1', 'max(n, start) → max(start, n)'])
      assert.ok(
        described.some((d) => d.endsWith(expected)),
        `${expected} in ${described.join('; ')}`,
      );
    const negated = sites
      .filter((s) => s.kind === 'negation')
      .map((s) => applyMutation(PYTHON, s).split('\n')[PYTHON.slice(0, s.start).split('\n').length - 1]);
    assert.deepEqual(negated, [
      '    if not (x > hi):',
      '    elif not ((x < lo)):',
      '    while not (i < len(items) and items[i] is not None):',
      '    if not ((n := n * 2) >= 10 or n == -1):',
    ]);
    assert.ok(!described.some((d) => /def|clamp\(x/.test(d)), 'a definition is not a call');
    assert.ok(!sites.some((s) => PYTHON.slice(s.start, s.end) === '*' && PYTHON[s.end] !== ' '), '`import *` and `*,` are not operators');
    // Python itself parses every mutant.
    sites.forEach((site, i) => fs.writeFileSync(path.join(dir, `m${i}.py`), applyMutation(PYTHON, site)));
    const parse = spawnSync(
      'python3',
      ['-c', 'import ast,sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)', ...fs.readdirSync(dir).map((f) => path.join(dir, f))],
      { encoding: 'utf8' },
    );
    assert.equal(parse.status, 0, parse.stderr);
  });

  it('Go: every kind, never in a comment, string, raw string or rune, init statements kept, and every mutant is valid Go', () => {
    const sites = goMutationSites(GO);
    assert.deepEqual(kinds(sites), ['arguments', 'comparison', 'constant', 'negation', 'operator']);
    checkUntouched(GO, sites, /\/\/|\/\*|"|`|'/);
    const described = sites.map((s) => s.description);
    for (const expected of ['&& → ||', '|| → &&', '<= → >', '+ → -', '/ → *', '0 → 1', 'max(n, start) → max(start, n)'])
      assert.ok(
        described.some((d) => d.endsWith(expected)),
        `${expected} in ${described.join('; ')}`,
      );
    assert.ok(!described.some((d) => /items\[i\]\*2|\* → \//.test(d)), 'unspaced `*` binds tighter: gofmt writes it so, and it is left alone');
    const negated = sites.filter((s) => s.kind === 'negation').map((s) => applyMutation(GO, s).split('\n')[GO.slice(0, s.start).split('\n').length - 1].trim());
    assert.deepEqual(negated, [
      'if !(x > hi) {',
      '} else if !(x < lo && lo <= hi) {',
      'if v := strings.Count(sep, comma); !(v >= 1 || n == -1) {',
      'if !(a > b) {',
    ]);
    assert.ok(!described.some((d) => /Clamp\(|max\(a, b\)/.test(d)), 'a declaration is not a call');
    sites.forEach((site, i) => fs.writeFileSync(path.join(dir, `m${i}.go`), applyMutation(GO, site)));
    const fmt = spawnSync('gofmt', ['-e', '-l', dir], { encoding: 'utf8' });
    assert.equal(fmt.status, 0, fmt.stderr);
    assert.equal(fmt.stderr, '');
  });
});
