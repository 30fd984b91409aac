/**
 * Which runner a test command runs, read from the command itself before anything runs: the runner's name in it
 * (`npx vitest run`, `python3 -m pytest -q`, `go test ./...`, `node --test`), or the package.json script an
 * npm/yarn/pnpm command runs, followed a few scripts deep. `unknown` when the command names none: its output may
 * still read as a runner's once it runs (a Makefile that calls pytest), but micro-agent cannot promise it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestRunner } from '../protocol/testReport';

const SCRIPT_DEPTH = 3;

export function runnerOfCommand(command: string, cwd: string, depth = 0): TestRunner | 'unknown' {
  const words = command.split(/[\s;&|()]+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const word = path.basename(words[i]);
    const next = words[i + 1];
    if (word === 'node' && words.slice(i + 1).some((w) => w === '--test' || w.startsWith('--test='))) return 'node';
    if (word === 'jest' || word === 'vitest' || word === 'mocha' || word === 'ava') return word;
    if (word === 'pytest' || word === 'py.test' || (word === '-m' && next === 'pytest')) return 'pytest';
    if (word === 'go' && next === 'test') return 'go';
    const script = scriptOf(word, words.slice(i + 1));
    if (script !== undefined && depth < SCRIPT_DEPTH) {
      const body = packageScript(cwd, script);
      if (body !== undefined) return runnerOfCommand(body, cwd, depth + 1);
    }
  }
  return 'unknown';
}

/** The package.json script `npm test`, `npm run x`, `yarn x`, `pnpm run x` runs; undefined for another command. */
function scriptOf(word: string, rest: string[]): string | undefined {
  if (word !== 'npm' && word !== 'yarn' && word !== 'pnpm' && word !== 'bun') return undefined;
  const args = rest.filter((w) => !w.startsWith('-'));
  if (args[0] === 'test' || args[0] === 't' || args[0] === 'tst') return 'test';
  if (args[0] === 'run' || args[0] === 'run-script') return args[1];
  return word === 'npm' ? undefined : args[0];
}

function packageScript(cwd: string, name: string): string | undefined {
  try {
    const manifest: unknown = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8'));
    const scripts = manifest && typeof manifest === 'object' ? (manifest as { scripts?: unknown }).scripts : undefined;
    const body = scripts && typeof scripts === 'object' ? (scripts as Record<string, unknown>)[name] : undefined;
    return typeof body === 'string' ? body : undefined;
  } catch {
    return undefined;
  }
}
