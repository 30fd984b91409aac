/**
 * Edits that fit real code: what a one-line fix costs the model to send (whole file against one search/replace
 * block), the engine's own work per iteration on a 1 MB file, and assembling a prompt with 50 context files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatherContext, nodeContextIO } from '../../server/agent/context';
import { buildPrompt } from '../../server/agent/prompt';
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

  // 2. The engine's own work per iteration on a 1 MB file, each reply one block.
  const vendor = await startVendorServer();
  let n = 0;
  vendor.respond = () => ({ kind: 'text', text: blockReply('big.js', `${bug} // ${n}\n`, `${bug} // ${++n}\n`), usage: { input: 250_000, output: 40 } });
  const lines = Math.floor((1000 * 1024) / 66);
  const root = makeWorkspace({ 'big.js': module(lines, `${bug} // 0`) });
  const size = fs.statSync(path.join(root, 'big.js')).size;
  const { log, events, engine } = await engineWithLog(root, { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: vendor.openaiUrl });
  const overhead: number[] = [];
  for (let run = 0; run < 4; run++) {
    events.length = 0;
    const iterations = 10;
    const started = performance.now();
    await engine.start({ file: 'big.js', testCommand: 'head -c 12 /dev/urandom | base64; exit 1', maxRuns: iterations, model: 'gpt-4.1-mini' }).done;
    const total = performance.now() - started;
    const external = events.reduce((sum, e) => sum + (e.type === 'test.finished' ? e.durationMs : e.type === 'llm.response' ? e.latencyMs : 0), 0);
    if (run > 0) overhead.push((total - external) / iterations);
  }
  await vendor.close();
  log.close();
  results.push({
    name: 'edits: engine overhead per iteration, 1 MB file',
    value: summarize(overhead).p50,
    unit: 'ms',
    goal: '< 20 ms',
    note: `${(size / 1024).toFixed(0)} KB, one block a reply; wall time minus model calls and tests, median of 3 runs × 10`,
  });
  fs.rmSync(root, { recursive: true, force: true });

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
