import * as assert from 'node:assert/strict';
import { checkEvent } from '../server/events/validate';
import type { EvalCell } from '../server/protocol/eval';
import { compareRows, leaderboard, modelRow, valueFrontier, wilsonInterval } from '../server/protocol/leaderboard';

const cell = (model: string, outcome: EvalCell['outcome'], fields: Partial<EvalCell> = {}): EvalCell => ({
  task: `t${Math.random()}`,
  model,
  outcome,
  iterations: outcome === 'passed' ? 1 : 3,
  costUsd: 0.01,
  wallMs: 1000,
  runId: 'r1',
  reason: outcome === 'passed' ? 'tests_passed' : 'max_runs',
  editReplies: 1,
  wellFormed: 1,
  inputTokens: 10,
  outputTokens: 5,
  diffLines: 0,
  referenceDiffLines: 2,
  ...fields,
});

describe('the eval leaderboard (protocol/leaderboard.ts)', () => {
  it('computes the Wilson score interval without continuity correction', () => {
    // Published values: 7 of 10 → [0.3968, 0.8922]; 0 of 10 → [0, 0.2775]; 10 of 10 → [0.7225, 1].
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 5e-5, `${actual} ≈ ${expected}`);
    const seven = wilsonInterval(7, 10);
    near(seven.low, 0.3968);
    near(seven.high, 0.8922);
    const none = wilsonInterval(0, 10);
    near(none.low, 0);
    near(none.high, 0.2775);
    const all = wilsonInterval(10, 10);
    near(all.low, 0.7225);
    near(all.high, 1);
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  });

  it('folds a model row: rates, mean iterations of the passing cells, unpriced cells as null cost', () => {
    const row = modelRow('openai:x', [
      cell('openai:x', 'passed', { iterations: 1 }),
      cell('openai:x', 'passed', { iterations: 3, editReplies: 3, wellFormed: 2 }),
      cell('openai:x', 'failed', { costUsd: null, editReplies: 3, wellFormed: 0 }),
      cell('openai:x', 'refused', { iterations: 0, costUsd: null, editReplies: 0, wellFormed: 0 }),
    ]);
    assert.equal(row.tasks, 4);
    assert.equal(row.passed, 2);
    assert.equal(row.passAt1, 0.25);
    assert.equal(row.passRate, 0.5);
    assert.equal(row.meanIterations, 2);
    assert.equal(row.wellFormedRate, 3 / 7);
    assert.equal(row.costUsd, 0.02);
    assert.equal(row.costPerPassUsd, 0.01);
    const unpriced = modelRow('ollama:y', [cell('ollama:y', 'passed', { costUsd: null })]);
    assert.equal(unpriced.costUsd, null);
    assert.equal(unpriced.costPerPassUsd, null);
    assert.equal(modelRow('z:z', [cell('z:z', 'failed')]).costPerPassUsd, null);
  });

  it('orders by pass rate, then cost per pass (nulls last), then mean wall time; leaves cancelled cells out', () => {
    const rows = leaderboard([
      cell('a:slow', 'passed', { wallMs: 3000 }),
      cell('a:unpriced', 'passed', { costUsd: null }),
      cell('a:dear', 'passed', { costUsd: 0.5 }),
      cell('a:fast', 'passed', { wallMs: 10 }),
      cell('a:bad', 'failed'),
      cell('a:bad', 'cancelled'),
    ]);
    assert.deepEqual(
      rows.map((row) => row.model),
      ['a:fast', 'a:slow', 'a:dear', 'a:unpriced', 'a:bad'],
    );
    assert.equal(rows.at(-1)!.tasks, 1);
    assert.deepEqual([...rows].sort(compareRows), rows);
    assert.deepEqual(
      valueFrontier(rows).map((row) => row.model),
      ['a:fast', 'a:slow'],
    );
  });
});

describe('eval events read back from the log (events/validate.ts)', () => {
  const cellEvent = (fields: Record<string, unknown> = {}) => ({
    seq: 1,
    ts: 1,
    type: 'eval.cell',
    evalId: 'ev-1',
    task: 'git-abc',
    model: 'openai:gpt-4.1-mini',
    outcome: 'passed',
    iterations: 1,
    costUsd: 0.01,
    wallMs: 900,
    runId: 'r-1',
    reason: 'tests_passed',
    editReplies: 1,
    wellFormed: 1,
    inputTokens: 10,
    outputTokens: 5,
    diffLines: 2,
    referenceDiffLines: 2,
    ...fields,
  });

  it('keeps a good cell, a refused one without a run, and neutralizes numbers that cannot be, counting them', () => {
    assert.deepEqual(checkEvent(cellEvent()), cellEvent());
    assert.equal(checkEvent(cellEvent({ runId: null, outcome: 'refused' }))?.runId, null);
    const tally = { ignored: 0 };
    const forged = checkEvent(cellEvent({ costUsd: '-5', iterations: -1, wallMs: 'NaN' }), tally) as any;
    assert.deepEqual([forged.costUsd, forged.iterations, forged.wallMs, tally.ignored], [null, 0, 0, 3]);
  });

  it('drops eval events whose identity is broken', () => {
    assert.equal(checkEvent(cellEvent({ outcome: 'won' })), undefined);
    assert.equal(checkEvent(cellEvent({ evalId: '../etc' })), undefined);
    assert.equal(checkEvent(cellEvent({ runId: 5 })), undefined);
    assert.equal(checkEvent({ seq: 2, ts: 2, type: 'eval.started', evalId: 'ev-1', tasks: 'x', models: [], cells: 0 }), undefined);
    assert.equal(checkEvent({ seq: 3, ts: 3, type: 'eval.finished', evalId: 'ev-1', outcome: 'exploded' }), undefined);
    assert.equal(checkEvent({ seq: 4, ts: 4, type: 'run.iteration', runId: 'r-1', iteration: 1, evalId: 'a b' }), undefined);
  });
});
