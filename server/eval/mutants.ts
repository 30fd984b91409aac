/**
 * `--mutants <n> --seed <s>`: seeded mutations of the code the tests exercise, kept only when the tests catch them.
 * The kinds: flipped operators and comparisons, off-by-one constants, negated conditions, swapped arguments, found
 * by one small module per language (mutantsJs.ts, mutantsPython.ts, mutantsGo.ts over mutationSites.ts). They go
 * only into non-test source files the tests exercise (mutationTargets.ts): JS/TS and Python files a test file
 * imports (directly), Go files of a package with a `_test.go` file. The same seed picks the same mutants
 * (the candidates are ordered by file and offset, then shuffled by a seeded generator); each candidate is tried in
 * a copy of the working tree, and the first `n` the tests catch are the tasks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lineDelta } from '../agent/diff';
import { runTests } from '../agent/testRunner';
import type { EvalTaskSpec } from '../protocol/eval';
import { copyWorkingTree, removeCopy } from './isolation';
import type { MiningSetup } from './gitTasks';
import { GO_MUTATIONS } from './mutantsGo';
import { JS_MUTATIONS } from './mutantsJs';
import { PYTHON_MUTATIONS } from './mutantsPython';
import { applyMutation, type Mutation, type MutationLanguage } from './mutationSites';

/** Every language with mutation rules; a workspace may mix them. */
const LANGUAGES: readonly MutationLanguage[] = [JS_MUTATIONS, PYTHON_MUTATIONS, GO_MUTATIONS];

/** Each target with its language's candidate mutations, targets in path order: what the seed then shuffles. */
export function mutationCandidates(root: string, files: readonly string[]): { targets: string[]; candidates: { file: string; mutation: Mutation }[] } {
  const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');
  const byFile = new Map(LANGUAGES.flatMap((language) => language.targets(root, files, read).map((file) => [file, language] as const)));
  const targets = [...byFile.keys()].sort();
  return {
    targets,
    candidates: targets.flatMap((file) =>
      byFile
        .get(file)!
        .sites(read(file))
        .map((mutation) => ({ file, mutation })),
    ),
  };
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
    const { targets, candidates } = mutationCandidates(copy, listFiles(copy));
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
      const where = `of ${candidates.length} candidates in ${targets.length} file(s) the tests exercise`;
      setup.note(`--mutants ${count}: found only ${tasks.length} mutant(s) the tests catch (${where})`);
    }
    return tasks;
  } finally {
    removeCopy(copy);
  }
}
