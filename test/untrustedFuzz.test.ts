/**
 * A seeded fuzz of what a cloned repository or code under test can put in `.micro-agent/`: run manifests and
 * log lines with random paths, types and sizes, against undo, restore, diff, resume, stats and the daily cap of
 * one engine. Nothing is written or read outside the workspace, nothing crashes (every failure is the engine's
 * refusal, with its reason), and no number the log gives the stats or the cap is negative or not finite.
 * Deterministic for its seed: a failure names the seed and the case, to replay it.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../server/engine/engine';
import { engineWithLog } from './support/engine';
import { BROKEN_MATH, fakeKey, makeWorkspace } from './support/fixtures';
import { random } from './support/seeded';

const SEED = Number(process.env.FUZZ_SEED ?? 25);
const CASES = 160;

/** Every file under `dir` (links not followed) with a hash of its bytes, except under `skip`. */
function snapshot(dir: string, skip: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const abs = path.join(at, entry.name);
      if (abs === skip) continue;
      if (entry.isDirectory()) walk(abs);
      else if (entry.isFile()) files.set(abs, createHash('sha256').update(fs.readFileSync(abs)).digest('hex'));
      else files.set(abs, `link:${fs.readlinkSync(abs)}`);
    }
  };
  walk(dir);
  return files;
}

describe('untrusted state: a seeded fuzz of run records and log lines', function () {
  this.timeout(60_000);

  it(`refuses what it cannot trust, with a reason, and never reaches outside the workspace (seed ${SEED})`, async () => {
    const next = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    const base = makeWorkspace({ 'math.js': BROKEN_MATH, 'lib/util.js': 'exports.x = 1;\n' });
    const root = path.join(base, 'ws');
    fs.mkdirSync(root);
    for (const name of ['math.js', 'lib']) fs.renameSync(path.join(base, name), path.join(root, name));
    const secret = `outside-${fakeKey()}`;
    fs.writeFileSync(path.join(base, 'secret.txt'), `${secret}\n`);
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(root, '.git', 'config'), '[core]\n');
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'link-out.js'));
    fs.symlinkSync(base, path.join(root, 'dir-out'));
    fs.symlinkSync('.git', path.join(root, 'git-link'));
    const before = snapshot(base, root);

    const { engine, log } = await engineWithLog(root, {
      OPENAI_API_KEY: fakeKey(),
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      MICRO_AGENT_DAILY_BUDGET_USD: '1000',
    });

    const keys = [
      'math.js',
      'lib/util.js',
      'new/file.js',
      '../outside.js',
      '../../etc/x',
      '/etc/passwd',
      '.git/config',
      'git-link/HEAD',
      '.micro-agent/api.json',
    ];
    const moreKeys = ['node_modules/a.js', 'a/../math.js', './math.js', 'lib/', '', 'x\u0000y', 'link-out.js', 'dir-out/secret.txt', 'a'.repeat(5000)];
    const copies = [
      'original.js',
      'attempt-1.js',
      'originals/lib/util.js',
      '../../../secret.txt',
      '../../../../secret.txt',
      '/etc/hostname',
      'linked.js',
      'missing.js',
      '',
      '.',
    ];
    const value = (depth = 0): unknown =>
      pick([
        () => null,
        () => pick([0, -1, 1, 2, 1e308, -1e8, NaN, 0.5, 2 ** 53]),
        () => pick([...keys, ...copies, 'x'.repeat(10_000)]),
        () => next() < 0.5,
        () => (depth > 2 ? [] : Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1))),
        () => (depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick(keys), value(depth + 1)]))),
      ])();
    const fileMap = (pool: readonly unknown[]) =>
      Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 3) }, () => [pick([...keys, ...moreKeys]), pick(pool)]));
    const manifest = (runId: string): unknown => {
      // A third are records micro-agent could have written, so that undo, restore and resume also go through.
      if (next() < 0.3)
        return {
          version: 1,
          runId,
          target: 'math.js',
          originals: { 'math.js': 'original.js', 'lib/util.js': 'originals/lib/util.js', 'new/file.js': null },
          checkpoints: [{ iteration: 1, files: { 'math.js': 'attempt-1.js', 'new/file.js': 'attempt-1.js' }, kept: true }],
          current: { 'math.js': { copy: 'attempt-1.js', sha256: next() < 0.5 ? null : createHash('sha256').update(BROKEN_MATH).digest('hex') } },
          restoredTo: null,
        };
      const record: Record<string, unknown> = {
        version: next() < 0.9 ? 1 : value(),
        runId: next() < 0.9 ? runId : value(),
        target: next() < 0.8 ? 'math.js' : pick(keys),
        originals: next() < 0.85 ? { 'math.js': 'original.js', ...fileMap([...copies, null]) } : value(),
        checkpoints:
          next() < 0.8
            ? Array.from({ length: Math.floor(next() * 3) }, (_, i) => ({
                iteration: next() < 0.8 ? i + 1 : value(),
                files: fileMap(copies),
                kept: next() < 0.9 ? true : value(),
              }))
            : value(),
        current:
          next() < 0.8
            ? Object.fromEntries(Object.keys(fileMap(copies)).map((key) => [key, { copy: pick([...copies, null]), sha256: next() < 0.5 ? null : 'ab' }]))
            : value(),
        restoredTo: next() < 0.8 ? null : value(),
      };
      if (next() < 0.1) delete record[pick(Object.keys(record))];
      return next() < 0.05 ? value() : record;
    };
    const logLine = (runId: string, seq: number): string => {
      const event: Record<string, unknown> = pick([
        {
          type: 'run.started',
          runId,
          file: 'math.js',
          testCommand: 'true',
          provider: 'openai',
          model: 'gpt-4.1-mini',
          maxRuns: 2,
          budgetUsd: null,
          budgetMs: null,
          prompt: null,
          pid: 1,
        },
        {
          type: 'run.finished',
          runId,
          outcome: pick(['failed', 'cancelled', 'error', 'passed', 'bogus']),
          reason: 'max_runs',
          iterations: 1,
          costUsd: 0.01,
          durationMs: 5,
          unpricedCalls: 0,
          restored: true,
          files: ['math.js'],
        },
        {
          type: 'llm.response',
          runId,
          callId: 'c',
          provider: 'openai',
          model: 'gpt-4.1-mini',
          iteration: 1,
          latencyMs: 5,
          ttftMs: 1,
          inputTokens: 5,
          outputTokens: 5,
          costUsd: 0.01,
          retries: 0,
          ok: true,
        },
        {
          type: 'test.finished',
          runId,
          iteration: 1,
          exitCode: 1,
          passed: false,
          cancelled: false,
          timedOut: false,
          outputTail: 'x',
          report: { runner: 'node', totals: null, failures: [{ name: 'add' }] },
        },
        { type: 'alert', kind: 'budget', message: 'm', daily: { spentUsd: 1, capUsd: 2, threshold: 0.8 } },
      ]);
      // One field of a random event takes a random value: a string cost, a negative count, a list for a path.
      const field = pick(Object.keys(event).filter((key) => key !== 'type'));
      if (next() < 0.7) event[field] = value();
      return JSON.stringify({ seq, ts: next() < 0.95 ? Date.now() : value(), ...event }) + (next() < 0.05 ? '' : '\n');
    };

    const refusals = new Map<string, number>();
    const answers: unknown[] = [];
    const attempt = async (what: string, work: () => unknown) => {
      try {
        const result = await work();
        answers.push(result);
        return result;
      } catch (err) {
        if (!(err instanceof EngineError)) throw new Error(`seed ${SEED}, ${what}: not a refusal: ${(err as Error).stack}`);
        assert.ok(err.message.length > 10, `${what}: a refusal says why`);
        answers.push(err.message);
        refusals.set(err.code, (refusals.get(err.code) ?? 0) + 1);
        return undefined;
      }
    };

    let seq = log.lastSeq;
    for (let n = 0; n < CASES; n++) {
      const runId = `fz${n}-${SEED}`;
      const runDir = path.join(root, '.micro-agent', 'runs', runId);
      fs.mkdirSync(path.join(runDir, 'originals', 'lib'), { recursive: true });
      fs.writeFileSync(path.join(runDir, 'original.js'), BROKEN_MATH);
      fs.writeFileSync(path.join(runDir, 'attempt-1.js'), 'exports.add = () => 0;\n');
      fs.writeFileSync(path.join(runDir, 'originals', 'lib', 'util.js'), 'exports.x = 0;\n');
      fs.symlinkSync(path.join(base, 'secret.txt'), path.join(runDir, 'linked.js'));
      const text = next() < 0.05 ? pick(['{', 'null', '[]', '"x"', 'x'.repeat(100_000)]) : JSON.stringify(manifest(runId));
      fs.writeFileSync(path.join(runDir, 'manifest.json'), text);
      const lines = Array.from({ length: 1 + Math.floor(next() * 4) }, () => logLine(runId, ++seq)).join('');
      fs.appendFileSync(log.file, lines + (lines.endsWith('\n') ? '' : '\n'));

      const force = next() < 0.5;
      await attempt(`case ${n} runChanges`, () => engine.runChanges(runId));
      await attempt(`case ${n} undo`, () => engine.undo(runId, force));
      await attempt(`case ${n} restore`, () => engine.restore(runId, pick([0, 1, 2, -1, 1.5]), force));
      const resumed = (await attempt(`case ${n} resume`, () => engine.resume({ runId, force }))) as { runId: string; done: Promise<unknown> } | undefined;
      if (resumed) {
        engine.cancel(resumed.runId);
        await resumed.done;
      }
      await attempt(`case ${n} stats`, () => engine.stats());
      await attempt(`case ${n} spend`, () => engine.spendSince(0));
      await attempt(`case ${n} daily cap`, () => engine.checkDailyBudget());
      // Files the fuzz wrote back into the workspace are put right for the next case; the outside is never touched.
      fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);
      fs.rmSync(path.join(root, 'new'), { recursive: true, force: true });
    }

    const stats = engine.stats();
    for (const model of stats.providers) {
      for (const key of ['calls', 'inputTokens', 'outputTokens', 'cachedInputTokens', 'cacheWriteInputTokens'] as const)
        assert.ok(Number.isFinite(model[key]) && model[key] >= 0, `${model.model} ${key} = ${model[key]}`);
      assert.ok(model.costUsd === null || (Number.isFinite(model.costUsd) && model.costUsd >= 0), `${model.model} costUsd = ${model.costUsd}`);
    }
    const spend = engine.spendSince(0);
    assert.ok(Number.isFinite(spend.costUsd) && spend.costUsd >= 0);
    assert.ok(spend.daily && Number.isFinite(spend.daily.spentUsd) && spend.daily.spentUsd >= 0, JSON.stringify(spend.daily));
    await engine.dispose();
    log.close();

    assert.deepEqual(snapshot(base, root), before, 'nothing outside the workspace was written, removed or linked');
    assert.ok(!JSON.stringify(answers).includes(secret), 'nothing outside the workspace was read into an answer');
    assert.ok((refusals.get('invalid_record') ?? 0) > CASES, `forged records are refused as such: ${JSON.stringify([...refusals])}`);
    assert.ok(
      answers.some((answer) => typeof answer === 'object' && answer !== null && 'files' in answer && 'iteration' in answer),
      'some undo went through',
    );
  });
});
