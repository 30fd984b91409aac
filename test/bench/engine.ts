/** Engine benchmarks: loop overhead per iteration, LSP round trip, event log throughput. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventLog } from '../../server/events/log';
import { EventInput, RunsRequest, StatsRequest } from '../../server/protocol';
import { engineWithLog } from '../support/engine';
import { fixReply, makeWorkspace } from '../support/fixtures';
import { startHost } from '../support/lspClient';
import { startVendorServer } from '../support/vendorServer';
import { Result, summarize } from './stats';

/**
 * Runs the real engine against an instant local vendor and a trivial failing test, then subtracts
 * what the model calls and test processes took (from the events' own measures): what is left is the
 * engine's own work per iteration (prompt building, extraction, atomic write, copies, event log).
 */
/** Fails with output that differs each time, so the loop never sees 'the same failures again' and stops as stuck. */
const FAILING_TEST = 'head -c 12 /dev/urandom | base64; exit 1';

export async function loopOverhead(): Promise<Result[]> {
  const vendor = await startVendorServer();
  let n = 0;
  vendor.respond = () => ({ kind: 'text', text: fixReply(`exports.add = (a, b) => a + b + ${n++};\n`), usage: { input: 500, output: 30 } });
  const root = makeWorkspace({ 'math.js': 'exports.add = (a, b) => a - b;\n' });
  const { log, events, engine } = await engineWithLog(root, { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: vendor.openaiUrl });
  const iterations = 20;
  const perIteration: number[] = [];
  const overhead: number[] = [];
  for (let run = 0; run < 6; run++) {
    events.length = 0;
    const started = performance.now();
    await (
      await engine.start({ file: 'math.js', testCommand: FAILING_TEST, maxRuns: iterations, model: 'gpt-4.1-mini' })
    ).done;
    const total = performance.now() - started;
    const external = events.reduce((sum, e) => sum + (e.type === 'test.finished' ? e.durationMs : e.type === 'llm.response' ? e.latencyMs : 0), 0);
    if (run === 0) continue; // warm-up
    perIteration.push(total / iterations);
    overhead.push((total - external) / iterations);
  }
  await vendor.close();
  log.close();
  fs.rmSync(root, { recursive: true, force: true });
  return [
    {
      name: 'loop: engine overhead per iteration',
      value: summarize(overhead).p50,
      unit: 'ms',
      goal: '< 5 ms',
      note: 'wall time minus model calls and test processes, median of 5 runs × 20 iterations',
    },
    {
      name: 'loop: wall time per iteration',
      value: summarize(perIteration).p50,
      unit: 'ms',
      note: 'instant local vendor, a failing test command that prints random text',
    },
  ];
}

export async function lspRoundTrip(): Promise<Result[]> {
  const root = makeWorkspace({});
  const host = await startHost(root, {});
  for (let i = 0; i < 200; i++) await host.connection.sendRequest(RunsRequest.type);
  const samples = async (send: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await send();
      times.push(performance.now() - t);
    }
    return summarize(times);
  };
  const runs = await samples(() => host.connection.sendRequest(RunsRequest.type));
  const stats = await samples(() => host.connection.sendRequest(StatsRequest.type));
  await host.stop();
  fs.rmSync(root, { recursive: true, force: true });
  return [
    {
      name: 'LSP round trip microAgent/runs p50',
      value: runs.p50,
      unit: 'ms',
      goal: 'p50 < 1 ms',
      note: `p95 ${runs.p95.toFixed(3)} ms, 2000 sequential requests over stdio`,
    },
    { name: 'LSP round trip microAgent/stats p50', value: stats.p50, unit: 'ms', note: `p95 ${stats.p95.toFixed(3)} ms` },
  ];
}

/** A typical event: a model call's response (about 600 bytes of JSON, its rate-limit headroom included). */
export const LLM_RESPONSE: EventInput = {
  type: 'llm.response',
  runId: 'bench',
  callId: '00000000-0000-0000-0000-000000000000',
  provider: 'openai',
  model: 'gpt-4.1-mini',
  iteration: 1,
  latencyMs: 812,
  ttftMs: 240,
  inputTokens: 1200,
  outputTokens: 300,
  cachedInputTokens: null,
  cacheWriteInputTokens: null,
  costUsd: 0.00096,
  retries: 0,
  outputTokensPerSec: null,
  loadMs: null,
  rateLimit: {
    requestsLimit: 5000,
    requestsRemaining: 4999,
    tokensLimit: 2_000_000,
    tokensRemaining: 1_998_500,
    resetAt: 1_795_565_310_582,
    key: { source: 'OPENAI_API_KEY', fingerprint: '3f9a2c1e' },
  },
  ok: true,
  finishReason: 'stop',
  responsePreview: 'Fixed the off-by-one in mean(); the divisor is the number of values.',
};

export function eventLog(): Result[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-bench-'));
  const log = EventLog.open(path.join(dir, 'events.jsonl'));
  log.setSecrets(['sk-bench-secret-value']);
  const count = 100_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) log.append(LLM_RESPONSE);
  const seconds = (performance.now() - started) / 1000;
  const reads: number[] = [];
  for (let i = 0; i < 200; i++) {
    const after = Math.floor(Math.random() * (count - 100));
    const t = performance.now();
    log.read(after, 100);
    reads.push(performance.now() - t);
  }
  log.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return [
    { name: 'event log: append throughput', value: count / seconds, unit: 'events/s', note: 'synchronous append with redaction, 100k llm.response events' },
    { name: 'event log: read 100 after a seq', value: summarize(reads).p50, unit: 'ms', note: 'p50, random seq in a 100k-event log (binary search)' },
  ];
}
