/**
 * The edit corpus (test/support/editCorpus.ts) through the engine's real loop: each case is a small project written
 * to a temp folder, its failing `node --test` suite run before the reply and after it, the reply served by the local
 * vendor over a real socket. An apply-case must be applied at the first reply and the tests must pass; a refusal
 * must be refused with its reason and message, and nothing written. A wrong write is an edit written for a refusal,
 * or applied edits after which the tests fail.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS } from './support/editCorpus';
import { engineWithLog } from './support/engine';
import { fakeKey, makeWorkspace } from './support/fixtures';
import { useVendorServer } from './support/vendorServer';

/** Every file of a project, byte for byte, except the engine's own folder. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === '.micro-agent') continue;
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(abs);
      else out[path.relative(root, abs)] = fs.readFileSync(abs, 'latin1');
    }
  };
  walk(root);
  return out;
}

describe('the edit corpus: replies shaped like real models send, against live node --test suites', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();
  const tally = { applyCases: 0, appliedAtFirst: 0, refusals: 0, refused: 0, wrongWrites: 0 };

  after(() => {
    const rate = tally.applyCases === 0 ? 0 : (tally.appliedAtFirst / tally.applyCases) * 100;
    console.log(
      `      corpus: ${tally.appliedAtFirst}/${tally.applyCases} apply-cases at the first reply (${rate.toFixed(0)}%), ` +
        `${tally.refused}/${tally.refusals} refusals refused, ${tally.wrongWrites} wrong writes`,
    );
  });

  it('holds at least 30 replies, both kinds', () => {
    assert.ok(CORPUS.length >= 30, `${CORPUS.length} cases`);
    assert.ok(CORPUS.filter((c) => 'refused' in c.expect).length >= 6);
  });

  for (const c of CORPUS) {
    it(c.name, async () => {
      const root = makeWorkspace(c.files);
      const before = snapshot(root);
      vendor.script({ kind: 'text', text: c.reply, ...(c.finishReason ? { finishReason: c.finishReason } : {}) });
      const { engine, log, events } = await engineWithLog(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl });
      try {
        const outcome = await (await engine.start({ file: c.target, testCommand: 'node --test', maxRuns: 1, provider: 'openai', model: 'gpt-4.1-mini' })).done;
        const applied = events.filter((e) => e.type === 'edit.applied');
        const rejected = events.filter((e) => e.type === 'edit.rejected');
        if ('applied' in c.expect) {
          tally.applyCases++;
          if (applied.length > 0 && outcome !== 'passed') tally.wrongWrites++;
          assert.deepEqual(rejected, [], 'refused');
          assert.equal(outcome, 'passed', JSON.stringify(events.filter((e) => e.type === 'test.finished').at(-1)));
          assert.ok(applied.length > 0 && applied.every((e) => e.type === 'edit.applied' && e.iteration === 1));
          const matches = applied.map((e) => (e.type === 'edit.applied' ? (e.match ?? 'exact') : null));
          assert.ok(matches.includes(c.expect.applied), `ladder steps ${matches.join(', ')}`);
          tally.appliedAtFirst++;
        } else {
          tally.refusals++;
          if (applied.length > 0) tally.wrongWrites++;
          assert.deepEqual(applied, [], 'written');
          assert.equal(rejected.length, 1);
          const [rejection] = rejected;
          assert.ok(rejection.type === 'edit.rejected');
          assert.equal(rejection.reason, c.expect.refused, rejection.message);
          assert.match(rejection.message, c.expect.message);
          assert.deepEqual(snapshot(root), before);
          tally.refused++;
        }
      } finally {
        await engine.dispose();
        log.close();
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
