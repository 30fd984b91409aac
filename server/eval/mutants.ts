/**
 * `--mutants <n> --seed <s>`: seeded mutations of the code the tests exercise, kept only when the tests catch them.
 * The kinds: flipped operators and comparisons, off-by-one constants, negated conditions, swapped arguments. They go
 * only into non-test JS/TS source files that a test file imports (directly). The same seed picks the same mutants
 * (the candidates are ordered by file and offset, then shuffled by a seeded generator); each candidate is tried in
 * a copy of the working tree, and the first `n` the tests catch are the tasks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { localImports, maskJs, resolveImport } from '../agent/context';
import { lineDelta } from '../agent/diff';
import { runTests } from '../agent/testRunner';
import { looksLikeTestFile } from '../agent/workingSet';
import { toPosix } from '../foundation/workspace';
import type { EvalTaskSpec } from '../protocol/eval';
import { copyWorkingTree, removeCopy } from './isolation';
import type { MiningSetup } from './gitTasks';

export type MutationKind = 'operator' | 'comparison' | 'constant' | 'negation' | 'arguments';

/** One candidate: replace `text.slice(start, end)` with `replacement`. */
export interface Mutation {
  kind: MutationKind;
  start: number;
  end: number;
  replacement: string;
  /** `a < b` → `a >= b`, for the task's origin. */
  description: string;
}

const JS_SOURCE = /\.(m|c)?(j|t)sx?$/i;
/** Each operator and what it becomes, spaced on both sides (unspaced `<` may be a generic, `-` a sign). */
const FLIPS: Record<string, { to: string; kind: MutationKind }> = {
  '===': { to: '!==', kind: 'comparison' },
  '!==': { to: '===', kind: 'comparison' },
  '==': { to: '!=', kind: 'comparison' },
  '!=': { to: '==', kind: 'comparison' },
  '<=': { to: '>', kind: 'comparison' },
  '>=': { to: '<', kind: 'comparison' },
  '<': { to: '>=', kind: 'comparison' },
  '>': { to: '<=', kind: 'comparison' },
  '&&': { to: '||', kind: 'operator' },
  '||': { to: '&&', kind: 'operator' },
  '+': { to: '-', kind: 'operator' },
  '-': { to: '+', kind: 'operator' },
  '*': { to: '/', kind: 'operator' },
  '/': { to: '*', kind: 'operator' },
};
const OPERATOR = /(?<=\s)(===|!==|==|!=|<=|>=|&&|\|\||[<>+\-*/])(?=\s)/g;
/** A whole-number literal: not part of a name, a decimal, an exponent or a hex literal. */
const INTEGER = /(?<![\w$.])\d+(?![\w$.])/g;
const CONDITION = /(?<![\w$.])(if|while)\s*\(/g;
/** A call of two plain arguments (names, numbers, member reads). */
const CALL = /(?<![\w$.])([A-Za-z_$][\w$]*)\(\s*([\w$.]+)\s*,\s*([\w$.]+)\s*\)/g;
const NOT_CALLS: ReadonlySet<string> = new Set(['if', 'while', 'for', 'switch', 'catch', 'function', 'return', 'typeof', 'new']);

/** Every candidate mutation of a JS/TS source text, in offset order. Pure. */
export function mutationSites(text: string): Mutation[] {
  const { code } = maskJs(text);
  const sites: Mutation[] = [];
  const lineOf = (at: number) => text.slice(0, at).split('\n').length;
  for (const match of code.matchAll(OPERATOR)) {
    const flip = FLIPS[match[1]];
    sites.push({
      kind: flip.kind,
      start: match.index,
      end: match.index + match[1].length,
      replacement: flip.to,
      description: `line ${lineOf(match.index)}: ${match[1]} → ${flip.to}`,
    });
  }
  for (const match of code.matchAll(INTEGER)) {
    const value = Number(match[0]);
    if (!Number.isSafeInteger(value)) continue;
    sites.push({
      kind: 'constant',
      start: match.index,
      end: match.index + match[0].length,
      replacement: String(value + 1),
      description: `line ${lineOf(match.index)}: ${value} → ${value + 1}`,
    });
  }
  for (const match of code.matchAll(CONDITION)) {
    const open = match.index + match[0].length - 1;
    const close = closingParen(code, open);
    if (close === -1) continue;
    const condition = text.slice(open + 1, close);
    sites.push({
      kind: 'negation',
      start: open + 1,
      end: close,
      replacement: `!(${condition})`,
      description: `line ${lineOf(open)}: ${match[1]} condition negated`,
    });
  }
  for (const match of code.matchAll(CALL)) {
    const [whole, callee, first, second] = match;
    if (NOT_CALLS.has(callee) || first === second || /function\s+$/.test(code.slice(Math.max(0, match.index - 10), match.index))) continue;
    const open = match.index + callee.length;
    sites.push({
      kind: 'arguments',
      start: open,
      end: match.index + whole.length,
      replacement: `(${second}, ${first})`,
      description: `line ${lineOf(match.index)}: ${callee}(${first}, ${second}) → ${callee}(${second}, ${first})`,
    });
  }
  return sites.sort((a, b) => a.start - b.start || a.kind.localeCompare(b.kind));
}

export function applyMutation(text: string, mutation: Mutation): string {
  return text.slice(0, mutation.start) + mutation.replacement + text.slice(mutation.end);
}

function closingParen(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '(') depth++;
    else if (code[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** A small seeded generator (mulberry32): the same seed, the same order on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `items` in a seeded order (Fisher–Yates). Pure. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The workspace's non-test JS/TS files that a test file imports, workspace-relative, sorted. */
export function importedByTests(root: string, files: readonly string[]): string[] {
  const known = new Set(files);
  const targets = new Set<string>();
  for (const testFile of files.filter((file) => looksLikeTestFile(file) && JS_SOURCE.test(file))) {
    const abs = path.join(root, testFile);
    for (const specifier of localImports(abs, fs.readFileSync(abs, 'utf8'))) {
      const resolved = resolveImport(abs, specifier, (candidate) => known.has(toPosix(path.relative(root, candidate))), root);
      const rel = resolved && toPosix(path.relative(root, resolved));
      if (rel && !looksLikeTestFile(rel) && JS_SOURCE.test(rel)) targets.add(rel);
    }
  }
  return [...targets].sort();
}

/** Every file of a working-tree copy, relative, `/`-separated (the copy already leaves out what is not source). */
function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name === 'node_modules') return [];
    return entry.isDirectory() ? listFiles(dir, rel) : entry.isFile() ? [rel] : [];
  });
}

/** How many candidates are tried per mutant asked for, at most: each try runs the tests once. */
const TRIES_PER_MUTANT = 8;

export async function mutantTasks(count: number, seed: number, setup: MiningSetup): Promise<EvalTaskSpec[]> {
  const copy = copyWorkingTree(setup.root);
  try {
    const test = () => runTests({ command: setup.testCommand, cwd: copy, timeoutMs: setup.testTimeoutMs, signal: setup.signal, env: setup.testEnv });
    if (!(await test()).passed) {
      setup.note('the tests fail on the working tree as it is, so no mutant can be told from what is already broken: no mutants');
      return [];
    }
    const targets = importedByTests(copy, listFiles(copy));
    const candidates = targets.flatMap((file) => mutationSites(fs.readFileSync(path.join(copy, file), 'utf8')).map((mutation) => ({ file, mutation })));
    const tasks: EvalTaskSpec[] = [];
    for (const { file, mutation } of seededShuffle(candidates, seed).slice(0, count * TRIES_PER_MUTANT)) {
      if (tasks.length >= count) break;
      setup.signal?.throwIfAborted();
      const abs = path.join(copy, file);
      const original = fs.readFileSync(abs, 'utf8');
      const mutated = applyMutation(original, mutation);
      fs.writeFileSync(abs, mutated);
      try {
        if ((await test()).passed) continue;
      } finally {
        fs.writeFileSync(abs, original);
      }
      const delta = lineDelta(mutated, original);
      tasks.push({
        id: `mutant-${seed}-${tasks.length + 1}`,
        source: 'mutant',
        baseRev: null,
        files: { [file]: mutated },
        target: file,
        testCommand: setup.testCommand,
        prompt: null,
        setup: null,
        origin: `${file} ${mutation.description}`,
        referenceDiffLines: delta.linesAdded + delta.linesRemoved,
      });
    }
    if (tasks.length < count) {
      const where = `of ${candidates.length} candidates in ${targets.length} file(s) the tests import`;
      setup.note(`--mutants ${count}: found only ${tasks.length} mutant(s) the tests catch (${where})`);
    }
    return tasks;
  } finally {
    removeCopy(copy);
  }
}
