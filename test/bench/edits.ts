/**
 * Edits that fit real code: what a one-line fix costs the model to send (whole file against one search/replace
 * block), the engine's own work per iteration on a 1 MB file (a block placed exactly, and one the matching ladder
 * places only at its last step), the ladder alone, and assembling a prompt with 50 context files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatherContext, nodeContextIO } from '../../server/agent/context';
import { buildPrompt } from '../../server/agent/prompt';
import { readEdits } from '../../server/agent/replyEdits';
import { emptyReport } from '../../server/testResults';
import { engineWithLog } from '../support/engine';
import { blockReply, fixReply, makeWorkspace } from '../support/fixtures';
import { startVendorServer } from '../support/vendorServer';
import { Result, summarize } from './stats';

/** `lines` lines of ordinary code, the line to fix in the middle. */
function module(lines: number, bug: string): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(i === Math.floor(lines / 2) ? bug : `exports.f${i} = (x) => Math.max(0, x * ${i} + ${i % 7}); // helper ${i}`);
  return out.join('\n') + '\n';
}

export async function edits(): Promise<Result[]> {
  const results: Result[] = [];
  // 1. The reply for a one-line fix in a 600-line file.
  const bug = 'exports.add = (a, b) => a - b;';
  const fixed = module(600, 'exports.add = (a, b) => a + b;');
  const whole = fixReply(fixed).length;
  const targeted = blockReply('math.js', `${bug}\n`, 'exports.add = (a, b) => a + b;\n').length;
  results.push({
    name: 'edits: reply for a one-line fix, blocks vs whole file',
    value: (targeted / whole) * 100,
    unit: '%',
    goal: '≤ 5%',
    note: `${targeted} vs ${whole.toLocaleString('en-US')} characters, 600-line file`,
  });

  // 2. The engine's own work per iteration on a 1 MB file, each reply one block: placed exactly, or at the matching
  // ladder's last step (`// ...` between a distinctive line near the top and the line to fix).
  const lines = Math.floor((1000 * 1024) / 66);
  const top = 'exports.f100 = (x) => Math.max(0, x * 100 + 2); // helper 100';
  const replies: Record<string, (n: number) => string> = {
    'one block': (n) => blockReply('big.js', `${bug} // ${n}\n`, `${bug} // ${n + 1}\n`),
    'a block placed at step 6 (elision)': (n) =>
      blockReply('big.js', `${top}\n// ... existing code ...\n${bug} // ${n}\n`, `${top}\n// ... existing code ...\n${bug} // ${n + 1}\n`),
  };
  for (const [kind, reply] of Object.entries(replies)) {
    const vendor = await startVendorServer();
    let n = 0;
    vendor.respond = () => ({ kind: 'text', text: reply(n++), usage: { input: 250_000, output: 40 } });
    const root = makeWorkspace({ 'big.js': module(lines, `${bug} // 0`) });
    const size = fs.statSync(path.join(root, 'big.js')).size;
    const { log, events, engine } = await engineWithLog(root, { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: vendor.openaiUrl });
    const overhead: number[] = [];
    const steps = new Set<string>();
    for (let run = 0; run < 4; run++) {
      events.length = 0;
      const iterations = 10;
      const started = performance.now();
      await (
        await engine.start({ file: 'big.js', testCommand: 'head -c 12 /dev/urandom | base64; exit 1', maxRuns: iterations, model: 'gpt-4.1-mini' })
      ).done;
      const total = performance.now() - started;
      const external = events.reduce((sum, e) => sum + (e.type === 'test.finished' ? e.durationMs : e.type === 'llm.response' ? e.latencyMs : 0), 0);
      for (const e of events) if (e.type === 'edit.applied') steps.add(e.match ?? 'whole file');
      if (run > 0) overhead.push((total - external) / iterations);
    }
    await vendor.close();
    log.close();
    fs.rmSync(root, { recursive: true, force: true });
    results.push({
      name: `edits: engine overhead per iteration, 1 MB file, ${kind}`,
      value: summarize(overhead).p50,
      unit: 'ms',
      goal: '< 20 ms',
      note: `${(size / 1024).toFixed(0)} KB, placed by ${[...steps].join(', ')}; wall time minus model calls and tests, median of 3 runs × 10`,
    });
  }

  // The ladder alone, on the same 1 MB text: reading the reply and placing its block at step 6.
  const text = module(lines, `${bug} // 0`);
  const ladder: number[] = [];
  for (let i = 0; i < 21; i++) {
    const started = performance.now();
    const read = readEdits(replies['a block placed at step 6 (elision)'](0), 'stop', {
      target: 'big.js',
      known: ['big.js'],
      only: 'big.js',
      exists: () => true,
      read: () => text,
      forbidden: () => undefined,
    });
    if (i > 0) ladder.push(performance.now() - started);
    if (!read.ok || read.files[0].match !== 'elision') throw new Error(`the bench block was not placed at step 6: ${JSON.stringify(read).slice(0, 300)}`);
  }
  results.push({
    name: 'edits: matching ladder, 1 MB file, a block at step 6',
    value: summarize(ladder).p50,
    unit: 'ms',
    goal: '< 20 ms',
    note: 'parse, place (steps 1–5 fail, 6 places two pieces) and apply, median of 20',
  });

  // 3. A prompt with 50 context files: gather the import chain, build the message.
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`lib/m${i}.js`] = `${i < 49 ? `require('./m${i + 1}');\n` : ''}${module(40, `exports.v = ${i};`)}`;
  files['main.js'] = `require('./lib/m0');\n${module(40, bug)}`;
  const chain = makeWorkspace(files);
  const times: number[] = [];
  let shown = 0;
  for (let i = 0; i < 11; i++) {
    const started = performance.now();
    const gathered = gatherContext({ ...nodeContextIO(chain), root: chain, target: path.join(chain, 'main.js'), budgetChars: 1_000_000, extra: [] });
    buildPrompt({
      file: 'main.js',
      contents: files['main.js'],
      testCommand: 'node --test',
      goal: null,
      testFiles: [],
      context: gathered.files.map((file) => ({ ...file, editable: true })),
      workspaceFiles: gathered.workspaceFiles,
      report: emptyReport(),
      testOutput: 'x',
      testExitCode: 1,
      attempts: [],
    });
    shown = gathered.files.length;
    if (i > 0) times.push(performance.now() - started);
  }
  fs.rmSync(chain, { recursive: true, force: true });
  results.push({
    name: 'edits: prompt assembly, 50 context files',
    value: summarize(times).p50,
    unit: 'ms',
    note: `${shown} files found by following imports, median of 10`,
  });
  return results;
}
