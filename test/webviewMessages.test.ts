import * as assert from 'node:assert/strict';
import { parseFromWebview } from '../server/protocol/webview';

describe('parseFromWebview: the run actions the dashboard may ask for', () => {
  it('accepts Show Changes, Undo, Resume and Restore this attempt with a run id (and an attempt)', () => {
    for (const type of ['showChanges', 'undoRun', 'resumeRun'] as const) assert.deepEqual(parseFromWebview({ type, runId: 'r-1' }), { type, runId: 'r-1' });
    assert.deepEqual(parseFromWebview({ type: 'restoreAttempt', runId: 'r-1', iteration: 2 }), { type: 'restoreAttempt', runId: 'r-1', iteration: 2 });
    assert.deepEqual(parseFromWebview({ type: 'restoreAttempt', runId: 'r-1', iteration: 0 }), { type: 'restoreAttempt', runId: 'r-1', iteration: 0 });
  });

  it('drops anything else: extra or missing fields, odd run ids, attempts that are not whole non-negative numbers', () => {
    const bad = [
      { type: 'undoRun' },
      { type: 'undoRun', runId: 'r-1', force: true },
      { type: 'showChanges', runId: '../../etc' },
      { type: 'resumeRun', runId: 'x'.repeat(65) },
      { type: 'restoreAttempt', runId: 'r-1' },
      { type: 'restoreAttempt', runId: 'r-1', iteration: -1 },
      { type: 'restoreAttempt', runId: 'r-1', iteration: 1.5 },
      { type: 'restoreAttempt', runId: 'r-1', iteration: '1' },
      { type: 'restoreAttempt', runId: 'r-1', iteration: 1, force: true },
    ];
    for (const message of bad) assert.equal(parseFromWebview(message), undefined, JSON.stringify(message));
  });

  it("relays the Models view's reads, microAgent/evals and microAgent/eval, but never starting or cancelling an eval", () => {
    assert.deepEqual(parseFromWebview({ type: 'request', id: 1, method: 'microAgent/evals', params: {} }), {
      type: 'request',
      id: 1,
      method: 'microAgent/evals',
      params: {},
    });
    assert.deepEqual(parseFromWebview({ type: 'request', id: 2, method: 'microAgent/eval', params: { evalId: 'ev-1' } }), {
      type: 'request',
      id: 2,
      method: 'microAgent/eval',
      params: { evalId: 'ev-1' },
    });
    for (const method of ['microAgent/startEval', 'microAgent/cancelEval'])
      assert.equal(parseFromWebview({ type: 'request', id: 3, method, params: { evalId: 'ev-1' } }), undefined, method);
  });
});
