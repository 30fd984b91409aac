/**
 * Test results: how long reading a runner's output takes at 5 MB, and what the prompt spends on test output
 * per iteration, before (a blind 8,000-character tail) and after (failures first, then a trimmed tail). The
 * output is real: node's test runner on a generated suite, run here.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPrompt } from '../../server/agent/prompt';
import { messageText } from '../../server/providers/types';
import { emptyReport, parseTestOutput } from '../../server/testResults';
import { makeWorkspace } from '../support/fixtures';
import { Result, summarize } from './stats';

/** A node:test suite of `tests` tests in suites of 10, every `failEvery`-th failing with an assertion diff. */
function suite(tests: number, failEvery: number): string {
  const lines = ["const { describe, it } = require('node:test');", "const assert = require('node:assert');"];
  for (let s = 0; s < tests / 10; s++) {
    lines.push(`describe('suite ${s}', () => {`);
    for (let t = 0; t < 10; t++) {
      const n = s * 10 + t;
      lines.push(
        n % failEvery === 0
          ? `  it('case ${n}', () => assert.deepStrictEqual({ n: ${n}, ok: true }, { n: ${n}, ok: false }));`
          : `  it('case ${n}', () => {});`,
      );
    }
    lines.push('});');
  }
  return lines.join('\n') + '\n';
}

function runNodeTests(root: string): string {
  const run = spawnSync(process.execPath, ['--test', 'big.test.js'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return run.stdout + run.stderr;
}

export function testResults(): Result[] {
  const root = makeWorkspace({ 'big.test.js': suite(12_000, 3) });
  const output = runNodeTests(root);
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < 6; i++) {
    const started = performance.now();
    const report = parseTestOutput(output, { root, cwd: root, exitCode: 1 });
    const elapsed = performance.now() - started;
    failures = report.failures.length;
    if (i > 0) times.push(elapsed);
  }

  // The prompt's test section on a realistic failing suite: 200 tests, 12 failing.
  fs.writeFileSync(path.join(root, 'big.test.js'), suite(200, 17));
  const small = runNodeTests(root);
  const report = parseTestOutput(small, { root, cwd: root, exitCode: 1 });
  const base = {
    file: 'math.js',
    contents: '',
    testCommand: 'node --test',
    goal: null,
    testFiles: [],
    context: [],
    workspaceFiles: [],
    testExitCode: 1,
    attempts: [],
    testOutput: small,
  };
  const before = messageText(buildPrompt({ ...base, report: emptyReport() })[0]).length;
  const after = messageText(buildPrompt({ ...base, report })[0]).length;
  const named = report.failures.filter((f) => messageText(buildPrompt({ ...base, report })[0]).includes(f.name)).length;
  const namedBefore = report.failures.filter((f) =>
    messageText(buildPrompt({ ...base, report: emptyReport() })[0]).includes(`${f.name.split(' › ').at(-1)}\n`),
  ).length;
  fs.rmSync(root, { recursive: true, force: true });
  return [
    {
      name: 'test results: parse 5 MB of runner output',
      value: summarize(times).p50,
      unit: 'ms',
      goal: '< 50 ms',
      note: `${(output.length / 1e6).toFixed(1)} MB of live node --test TAP output, ${failures.toLocaleString('en-US')} failures, median of 5`,
    },
    { name: 'prompt: test section before (blind tail)', value: before, unit: 'chars', note: `${namedBefore} of ${report.failures.length} failing tests named` },
    {
      name: 'prompt: test section after (failures first)',
      value: after,
      unit: 'chars',
      note: `${named} of ${report.failures.length} failing tests named, each with location and message`,
    },
  ];
}
