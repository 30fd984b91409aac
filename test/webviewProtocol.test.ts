import * as assert from 'node:assert/strict';
import { parseFromWebview } from '../server/protocol/webview';

describe('webview → extension messages', () => {
  it("relays only the host's read-only methods, with an id and object params", () => {
    const ok = { type: 'request', id: 3, method: 'microAgent/rollups', params: { sinceTs: 0 } };
    assert.deepEqual(parseFromWebview(ok), ok);
    assert.deepEqual(parseFromWebview({ ...ok, method: 'microAgent/events', params: { runId: 'r1' } })?.type, 'request');
    assert.deepEqual(parseFromWebview({ ...ok, method: 'microAgent/runs', params: {} })?.type, 'request');
    for (const bad of [
      { ...ok, method: 'microAgent/startRun' },
      { ...ok, method: 'microAgent/cancelRun' },
      { ...ok, method: 'microAgent/review' },
      { ...ok, id: 1.5 },
      { ...ok, id: '3' },
      { ...ok, params: null },
      { ...ok, params: [1] },
      { ...ok, extra: true },
      { type: 'request', id: 3, method: 'microAgent/rollups' },
    ])
      assert.equal(parseFromWebview(bad), undefined, JSON.stringify(bad));
  });
});
