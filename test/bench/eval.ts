/**
 * `micro-agent eval`: what a cell costs beyond its loop (the isolated copy made and removed, the cell's planning),
 * and how an eval's wall time scales with `--concurrency` on this machine. Real git, real `node --test` suites, an
 * instant local vendor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentEvent, EvalCellEvent, RunFinishedEvent } from '../../server/protocol';
import { CALC, makeEvalRepo, STRINGS } from '../support/evalRepo';
import { engineWithLog } from '../support/engine';
import { fixReply, FIXED_MATH, makeWorkspace, TEST_COMMAND } from '../support/fixtures';
import { promptText, startVendorServer } from '../support/vendorServer';
import { Result, summarize } from './stats';

const MODELS = ['gpt-4.1-mini', 'gpt-4.1', 'gpt-4o-mini', 'gpt-4.1-nano'].map((model) => `openai:${model}`);

/** Wall time of each cell minus its loop's own duration (`run.finished.durationMs`). */
function overheads(events: AgentEvent[], evalId: string): number[] {
  const runs = new Map(events.filter((e): e is RunFinishedEvent => e.type === 'run.finished').map((e) => [e.runId, e.durationMs]));
  return events
    .filter((e): e is EvalCellEvent => e.type === 'eval.cell' && e.evalId === evalId && e.runId !== null)
    .map((cell) => cell.wallMs - (runs.get(cell.runId!) ?? 0));
}

export async function evalBench(): Promise<Result[]> {
  const vendor = await startVendorServer();
  vendor.respond = (request) => {
    const prompt = promptText(request);
    const fixed = prompt.includes('exports.capitalize') ? STRINGS.fixed : prompt.includes('exports.mul') ? CALC.fixed : FIXED_MATH;
    return { kind: 'text', text: fixReply(fixed), usage: { input: 500, output: 30 } };
  };
  const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: vendor.openaiUrl };
  const results: Result[] = [];

  // A clone per cell (--from-git), and a working-tree copy per cell (--tasks).
  const repo = makeEvalRepo();
  const gitEngine = await engineWithLog(repo.root, env);
  const walls: Record<number, number> = {};
  const cloneOverhead: number[] = [];
  const round = async (concurrency: number) => {
    const started = gitEngine.engine.evals.start({ fromGit: `${repo.base}..HEAD`, models: MODELS, testCommand: 'node --test test/', concurrency });
    await started.spec;
    const t = performance.now();
    await started.done;
    return { wallMs: performance.now() - t, evalId: started.evalId };
  };
  // A warm-up round (the file cache, node's start-up), then each concurrency three times, the median kept.
  await round(4);
  for (const concurrency of [1, 2, 4]) {
    const rounds = [];
    for (let i = 0; i < 3; i++) rounds.push(await round(concurrency));
    walls[concurrency] = summarize(rounds.map((r) => r.wallMs)).p50;
    if (concurrency === 1) for (const r of rounds) cloneOverhead.push(...overheads(gitEngine.events, r.evalId));
  }
  await gitEngine.engine.dispose();
  gitEngine.log.close();

  const root = makeWorkspace();
  fs.writeFileSync(path.join(root, 'tasks.jsonl'), Array.from({ length: 4 }, () => JSON.stringify({ file: 'math.js', testCommand: TEST_COMMAND })).join('\n'));
  const treeEngine = await engineWithLog(root, env);
  const tree = treeEngine.engine.evals.start({ tasks: 'tasks.jsonl', models: MODELS.slice(0, 2) });
  await tree.done;
  const copyOverhead = overheads(treeEngine.events, tree.evalId);
  await treeEngine.engine.dispose();
  treeEngine.log.close();
  await vendor.close();
  for (const dir of [repo.root, root]) fs.rmSync(dir, { recursive: true, force: true });

  results.push(
    {
      name: 'eval: overhead per cell, git task (clone)',
      value: summarize(cloneOverhead).p50,
      unit: 'ms',
      note: `cell wall time minus its loop: clone --shared, checkout, plan, remove; median of ${cloneOverhead.length} cells`,
    },
    {
      name: 'eval: overhead per cell, working-tree copy',
      value: summarize(copyOverhead).p50,
      unit: 'ms',
      note: `a --tasks cell: copy the files, plan, remove; median of ${copyOverhead.length} cells`,
    },
  );
  for (const concurrency of [1, 2, 4]) {
    results.push({
      name: `eval: 8 cells at concurrency ${concurrency}`,
      value: walls[concurrency],
      unit: 'ms',
      note: `2 git tasks × 4 models, each cell a real node --test run or two; median of 3; speed-up ${(walls[1] / walls[concurrency]).toFixed(2)}×`,
    });
  }
  return results;
}
