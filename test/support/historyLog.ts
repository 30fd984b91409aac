/**
 * A realistic event log of any length, for the scale tests and the benchmarks: runs of 16 events (a failing
 * first test, two iterations of request, response, edit and test, the finish) spread over days, on several
 * providers and models (one unpriced, Ollama free), with failed, cancelled and erroring runs, failed calls,
 * rejected edits, edits placed at every step of the matching ladder (and whole files), reviews and alerts.
 * Seeded, so the same length always gives the same log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MODELS = [
  { provider: 'openai', model: 'gpt-4.1-mini', inUsd: 0.4e-6, outUsd: 1.6e-6, latency: 900 },
  { provider: 'openai', model: 'gpt-4.1', inUsd: 2e-6, outUsd: 8e-6, latency: 2400 },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', inUsd: 3e-6, outUsd: 15e-6, latency: 3100 },
  { provider: 'anthropic', model: 'claude-haiku-4-5', inUsd: 1e-6, outUsd: 5e-6, latency: 700 },
  { provider: 'ollama', model: 'qwen2.5-coder:7b', inUsd: 0, outUsd: 0, latency: 5200 },
  { provider: 'openai', model: 'ft:gpt-4.1-mini:acme', inUsd: null, outUsd: null, latency: 1100 },
] as const;

const OUTPUT_TAIL = [
  'TAP version 13\n',
  '# Subtest: add\n',
  'not ok 1 - add\n',
  '  ---\n',
  '  duration_ms: 1.2\n',
  '  failureType: testCodeFailure\n',
  '  error: |-\n',
  '    Expected values to be strictly equal:\n',
  '\n',
  '    -1 !== 5\n',
  '\n',
  '  code: ERR_ASSERTION\n',
  '  name: AssertionError\n',
  '  expected: 5\n',
  '  actual: -1\n',
  '  operator: strictEqual\n',
  '  stack: |-\n',
  '    TestContext.<anonymous> (/work/app/math.test.js:5:10)\n',
  '    Test.runInAsyncScope (node:async_hooks:211:14)\n',
  '    Test.run (node:internal/test_runner/test:931:25)\n',
  '    Test.processPendingSubtests (node:internal/test_runner/test:629:18)\n',
  '    Test.postRun (node:internal/test_runner/test:1042:19)\n',
  '    Test.run (node:internal/test_runner/test:970:12)\n',
  '    async startSubtestAfterBootstrap (node:internal/test_runner/harness:296:3)\n',
  '  ...\n',
  '# Subtest: mean\n',
  'not ok 2 - mean\n',
  '  ---\n',
  '  duration_ms: 0.8\n',
  '  failureType: testCodeFailure\n',
  '  error: |-\n',
  '    Expected values to be strictly equal:\n',
  '\n',
  '    2.5 !== 2\n',
  '\n',
  '  code: ERR_ASSERTION\n',
  '  stack: |-\n',
  '    TestContext.<anonymous> (/work/app/math.test.js:9:10)\n',
  '    Test.runInAsyncScope (node:async_hooks:211:14)\n',
  '    Test.run (node:internal/test_runner/test:931:25)\n',
  '  ...\n',
  '# tests 2\n',
  '# pass 1\n',
  '# fail 1\n',
].join('');
const DIFF = [
  '@@ -1,12 +1,12 @@\n',
  ' const assert = require("node:assert");\n',
  '-exports.add = (a, b) => a - b;\n',
  '+exports.add = (a, b) => a + b;\n',
  ' exports.mul = (a, b) => a * b;\n',
  ' exports.mean = (xs) => {\n',
  '   if (xs.length === 0) return null;\n',
  '-  return xs.reduce((s, x) => s + x, 0) / (xs.length - 1);\n',
  '+  return xs.reduce((s, x) => s + x, 0) / xs.length;\n',
  ' };\n',
].join('');
const PROMPT_PREVIEW = [
  '## What the code should do\n',
  'add returns the sum of its arguments; mean is the arithmetic mean.\n',
  '## The file to fix: src/math.js\n',
  '## Tests (read-only): test/math.test.js, failing: add, mean\n',
  '## Earlier attempts: 1 — the SEARCH text of block 1 matched nowhere; 2 — tests still failing (mean)\n',
  '## Context: src/util.js (imported by src/math.js), src/constants.js, package.json, tsconfig.json\n',
  '```js\n',
  'const assert = require("node:assert");\n',
  'exports.add = (a, b) => a - b;\n',
  '…',
].join('');
const RESPONSE_PREVIEW = 'Fixed add and mean: the divisor is the number of values.\n```js\nexports.add = (a, b) => a + b;\n…';

/**
 * The ladder step an applied edit needed, chosen by its call's latency (no draw of the PRNG, so the rest of a
 * log is what it was before edits had steps): mostly exact, every loose step, and a whole file (null).
 */
const LADDER = ['exact', 'exact', 'exact', 'exact', 'whitespace', 'indent', 'tabs', 'blank_lines', 'elision', null] as const;

/** A deterministic PRNG (mulberry32), so a log of a given length is always the same. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes `events` events to `file` (replacing it), ending `endTs` (default now) and starting `days` earlier;
 * every run is finished, so opening the log changes nothing. Returns the number of runs.
 */
export function writeHistoryLog(file: string, events: number, options: { days?: number; endTs?: number; pid?: number } = {}): { runs: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'w', 0o600);
  const random = prng(events);
  const endTs = options.endTs ?? Date.now();
  // 16 events a run, and a review (2 events) every 40 runs: so the last run ends near `endTs`.
  const runsPlanned = Math.max(1, Math.floor(events / (16 + 2 / 40)));
  const stepMs = ((options.days ?? 60) * 86_400_000) / runsPlanned;
  let ts = endTs - (options.days ?? 60) * 86_400_000;
  let seq = 0;
  let runs = 0;
  let buffered: string[] = [];
  const emit = (body: Record<string, unknown>) => {
    seq++;
    ts += 1 + Math.floor(random() * 400);
    buffered.push(JSON.stringify({ seq, ts, ...body }));
    if (buffered.length >= 4096) flush();
  };
  const flush = () => {
    if (buffered.length) fs.writeSync(fd, buffered.join('\n') + '\n');
    buffered = [];
  };
  try {
    while (seq < events) {
      const left = events - seq;
      if (left < 16) {
        while (seq < events) emit({ type: 'log', level: 'info', message: 'micro-agent host started' });
        break;
      }
      if (runs % 40 === 39 && left >= 18) {
        const m = MODELS[runs % 4];
        const reviewId = `review-${seq}`;
        emit({ type: 'review.started', reviewId, file: `src/file${runs % 97}.ts`, provider: m.provider, model: m.model });
        emit({ type: 'review.finished', reviewId, file: `src/file${runs % 97}.ts`, findings: [], dropped: [], cached: random() < 0.3, outcome: 'ok' });
      }
      ts = Math.max(ts, endTs - (options.days ?? 60) * 86_400_000 + runs * stepMs);
      runRecords(emit, random, `r${runs.toString(36)}-${(events % 1000).toString(16)}`, runs, options.pid ?? 1);
      runs++;
    }
    flush();
  } finally {
    fs.closeSync(fd);
  }
  return { runs };
}

/** One run's 16 events. */
function runRecords(emit: (body: Record<string, unknown>) => void, random: () => number, runId: string, n: number, pid: number): void {
  const m = MODELS[Math.floor(random() * MODELS.length)];
  const file = `src/module${n % 211}.${n % 3 === 0 ? 'py' : 'ts'}`;
  const fate = random();
  const outcome = fate < 0.68 ? 'passed' : fate < 0.88 ? 'failed' : fate < 0.94 ? 'error' : 'cancelled';
  emit({
    type: 'run.started',
    runId,
    file,
    files: [file],
    testCommand: 'npm test',
    provider: m.provider,
    model: m.model,
    maxRuns: 2,
    budgetUsd: null,
    budgetMs: null,
    prompt: 'add returns the sum of its arguments; mean is the arithmetic mean of a list',
    originalPath: `.micro-agent/runs/${runId}/original.ts`,
    pid,
  });
  let cost = 0;
  let unpriced = 0;
  for (let iteration = 0; iteration <= 2; iteration++) {
    if (iteration > 0) {
      emit({ type: 'run.iteration', runId, iteration, maxRuns: 2 });
      const callId = `${runId}-${iteration}`;
      emit({
        type: 'llm.request',
        runId,
        callId,
        provider: m.provider,
        model: m.model,
        iteration,
        promptChars: 3000 + Math.floor(random() * 9000),
        promptPreview: PROMPT_PREVIEW,
      });
      const ok = !(outcome === 'error' && iteration === 2) && random() > 0.01;
      const latencyMs = Math.round(m.latency * Math.exp((random() + random() + random() - 1.5) * 0.9));
      const inputTokens = 800 + Math.floor(random() * 6000);
      const outputTokens = ok ? 60 + Math.floor(random() * 900) : 0;
      const cachedInputTokens = m.provider === 'ollama' ? null : iteration === 2 ? Math.floor(inputTokens * 0.7) : 0;
      const costUsd = m.inUsd === null ? null : inputTokens * m.inUsd + outputTokens * m.outUsd;
      if (costUsd === null) unpriced++;
      else cost += costUsd;
      emit({
        type: 'llm.response',
        runId,
        callId,
        provider: m.provider,
        model: m.model,
        iteration,
        latencyMs,
        ttftMs: ok ? Math.round(latencyMs * (0.15 + random() * 0.3)) : null,
        inputTokens,
        outputTokens,
        cachedInputTokens,
        cacheWriteInputTokens: m.provider === 'anthropic' && iteration === 1 ? Math.floor(inputTokens * 0.7) : null,
        costUsd,
        retries: random() < 0.05 ? 1 : 0,
        // Ollama's own timings (no random draws: the rest of the history stays as it was): a cold first call.
        outputTokensPerSec: m.provider === 'ollama' && ok ? 20 + (outputTokens % 40) : null,
        loadMs: m.provider === 'ollama' ? (iteration === 1 ? 2000 + (inputTokens % 2000) : 12) : null,
        ok,
        finishReason: ok ? 'stop' : null,
        responsePreview: ok ? RESPONSE_PREVIEW : '',
        ...(ok ? {} : { error: { kind: 'server', message: `${m.provider} answered 529: overloaded`, status: 529 } }),
      });
      if (random() < 0.12)
        emit({ type: 'edit.rejected', runId, iteration, reason: 'edit_mismatch', message: 'block 1: the SEARCH text matches nowhere in src/math.js' });
      else
        emit({
          type: 'edit.applied',
          runId,
          iteration,
          file,
          bytes: 420,
          linesAdded: 2,
          linesRemoved: 2,
          diff: DIFF,
          attemptPath: `.micro-agent/runs/${runId}/attempt-${iteration}.ts`,
          ...(LADDER[latencyMs % LADDER.length] && { match: LADDER[latencyMs % LADDER.length] }),
        });
    }
    const passed = iteration === 2 && outcome === 'passed';
    emit({ type: 'test.started', runId, iteration, command: 'npm test' });
    const durationMs = 200 + Math.floor(random() * 3000);
    emit({
      type: 'test.finished',
      runId,
      iteration,
      exitCode: passed ? 0 : 1,
      signal: null,
      durationMs,
      passed,
      timedOut: false,
      cancelled: false,
      outputTail: OUTPUT_TAIL,
    });
  }
  const reason = { passed: 'tests_passed', failed: 'max_runs', error: 'provider_error', cancelled: 'cancelled' }[outcome];
  emit({
    type: 'run.finished',
    runId,
    outcome,
    reason,
    iterations: 2,
    costUsd: cost,
    unpricedCalls: unpriced,
    durationMs: 9000,
    restored: outcome !== 'passed',
    files: [file],
  });
}
