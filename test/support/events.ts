/** Hand-built event sets with known numbers, for the store, queries and dashboard tests. */
import type { AgentEvent, MatchStep, ProviderStats, RateLimit, RejectReason } from '../../server/protocol';

/**
 * How a reply's edits were judged: refused before anything was written, or the files written (each with the
 * ladder step that placed its edits; undefined for a file sent whole), then maybe undone as `tests_missing`.
 */
export type JudgedReply = { refused: Exclude<RejectReason, 'tests_missing'> } | { placed: Array<MatchStep | undefined>; testsMissing?: true };

export class EventFactory {
  private seq = 0;
  constructor(private ts = Date.now() - 30 * 60_000) {}

  at(ts: number): this {
    this.ts = ts;
    return this;
  }

  private base<T extends object>(body: T, advanceMs = 1000) {
    this.ts += advanceMs;
    return { seq: ++this.seq, ts: this.ts, ...body };
  }

  runStarted(runId: string, provider: 'openai' | 'anthropic' | 'ollama', model: string, file = 'math.js'): AgentEvent {
    return this.base({
      type: 'run.started' as const,
      runId,
      file,
      testCommand: 'node --test',
      provider,
      model,
      maxRuns: 5,
      budgetUsd: null,
      budgetMs: null,
      prompt: null,
      originalPath: `.micro-agent/runs/${runId}/original.js`,
      pid: 1,
    });
  }

  iteration(runId: string, iteration: number): AgentEvent {
    return this.base({ type: 'run.iteration' as const, runId, iteration, maxRuns: 5 });
  }

  call(
    runId: string | undefined,
    provider: 'openai' | 'anthropic' | 'ollama',
    model: string,
    o: {
      latencyMs: number;
      ttftMs?: number | null;
      costUsd?: number | null;
      ok?: boolean;
      input?: number;
      output?: number;
      cached?: number | null;
      cacheWrite?: number | null;
      iteration?: number;
      rateLimit?: RateLimit | null;
    },
  ): AgentEvent {
    return this.base({
      type: 'llm.response' as const,
      runId,
      callId: `c${this.seq}`,
      provider,
      model,
      iteration: o.iteration ?? 1,
      latencyMs: o.latencyMs,
      ttftMs: o.ttftMs === undefined ? Math.round(o.latencyMs / 4) : o.ttftMs,
      inputTokens: o.input ?? 1000,
      outputTokens: o.output ?? 100,
      cachedInputTokens: o.cached ?? null,
      cacheWriteInputTokens: o.cacheWrite ?? null,
      costUsd: o.costUsd === undefined ? 0.001 : o.costUsd,
      retries: 0,
      outputTokensPerSec: null,
      loadMs: null,
      rateLimit: o.rateLimit ?? null,
      ok: o.ok ?? true,
      finishReason: o.ok === false ? null : ('stop' as const),
      responsePreview: 'Here is the fix.\n```js\nexports.add = (a, b) => a + b;\n```',
      ...(o.ok === false ? { error: { kind: 'server' as const, message: 'openai answered 500: overloaded', status: 500 } } : {}),
    });
  }

  /** A file the reply's edits wrote; `match`: the ladder step that placed them (none: sent whole). */
  edit(runId: string, iteration: number, match?: MatchStep, file = 'math.js'): AgentEvent {
    return this.base({
      type: 'edit.applied' as const,
      runId,
      iteration,
      file,
      bytes: 60,
      linesAdded: 1,
      linesRemoved: 1,
      diff: '@@ -1,2 +1,2 @@\n-exports.add = (a, b) => a - b;\n+exports.add = (a, b) => a + b;\n exports.mul = (a, b) => a * b;',
      attemptPath: `.micro-agent/runs/${runId}/attempt-${iteration}.js`,
      ...(match && { match }),
    });
  }

  rejected(runId: string, iteration: number, reason: RejectReason = 'edit_mismatch'): AgentEvent {
    return this.base({ type: 'edit.rejected' as const, runId, iteration, reason, message: 'block 1: the SEARCH text matches nowhere in math.js' });
  }

  test(runId: string, iteration: number, passed: boolean): AgentEvent {
    return this.base({
      type: 'test.finished' as const,
      runId,
      iteration,
      exitCode: passed ? 0 : 1,
      signal: null,
      durationMs: 300,
      passed,
      timedOut: false,
      cancelled: false,
      outputTail: passed ? '# pass 2\n# fail 0' : 'not ok 1 - add\n  AssertionError: -1 !== 5\n# fail 1',
    });
  }

  finished(runId: string, outcome: 'passed' | 'failed' | 'cancelled' | 'error', iterations: number, costUsd: number): AgentEvent {
    return this.base({
      type: 'run.finished' as const,
      runId,
      outcome,
      reason: outcome === 'passed' ? ('tests_passed' as const) : ('max_runs' as const),
      iterations,
      costUsd,
      unpricedCalls: 0,
      durationMs: 5000,
      restored: outcome !== 'passed',
    });
  }

  /** A run of one model call per reply, judged as `replies` says; it passes when its last reply applied and stood. */
  judgedRun(runId: string, provider: 'openai' | 'anthropic' | 'ollama', model: string, replies: readonly JudgedReply[], callCost = 0.01): AgentEvent[] {
    const out = [this.runStarted(runId, provider, model), this.test(runId, 0, false)];
    let passed = false;
    replies.forEach((reply, k) => {
      const i = k + 1;
      out.push(this.iteration(runId, i), this.call(runId, provider, model, { latencyMs: 500 + 100 * k, costUsd: callCost, iteration: i }));
      if ('refused' in reply) return void out.push(this.rejected(runId, i, reply.refused));
      reply.placed.forEach((match, n) => out.push(this.edit(runId, i, match, `src/part${n}.js`)));
      passed = k === replies.length - 1 && !reply.testsMissing;
      out.push(this.test(runId, i, passed || reply.testsMissing === true));
      if (reply.testsMissing) out.push(this.rejected(runId, i, 'tests_missing'));
    });
    out.push(this.finished(runId, passed ? 'passed' : 'failed', replies.length, callCost * replies.length));
    return out;
  }

  /** A whole run: `iterations` model calls of the given cost, failing tests until the last one if it passes. */
  run(
    runId: string,
    provider: 'openai' | 'anthropic' | 'ollama',
    model: string,
    iterations: number,
    passed: boolean,
    callCost: number,
    latencyMs = 1000,
  ): AgentEvent[] {
    const out = [this.runStarted(runId, provider, model), this.test(runId, 0, false)];
    for (let i = 1; i <= iterations; i++) {
      out.push(
        this.iteration(runId, i),
        this.call(runId, provider, model, { latencyMs, costUsd: callCost, iteration: i }),
        this.edit(runId, i),
        this.test(runId, i, passed && i === iterations),
      );
    }
    out.push(this.finished(runId, passed ? 'passed' : 'failed', iterations, callCost * iterations));
    return out;
  }
}

/** What the model table shows of a model's edit replies. */
export type EditCounts = Pick<ProviderStats, 'editReplies' | 'wellFormedRate' | 'matchSteps'>;

/**
 * The edit replies per "provider model" of the runs started at or after `sinceTs`, counted from the events
 * themselves, not by the fold the host and the page share: the (run, iteration) pairs judged (applied, or refused
 * before tests ran), those applied, and the files each ladder step placed.
 */
export function countEdits(events: readonly AgentEvent[], sinceTs = 0): Map<string, EditCounts> {
  const runs = new Map<string, { key: string; startedAt: number }>();
  const judged = new Map<string, { replies: Set<string>; applied: Set<string>; steps: Record<MatchStep, number> }>();
  for (const e of events) {
    if (e.type === 'run.started') runs.set(e.runId, { key: `${e.provider} ${e.model}`, startedAt: e.ts });
    if (e.type !== 'edit.applied' && (e.type !== 'edit.rejected' || e.reason === 'tests_missing')) continue;
    const run = runs.get(e.runId);
    if (!run || run.startedAt < sinceTs) continue;
    if (!judged.has(run.key))
      judged.set(run.key, { replies: new Set(), applied: new Set(), steps: { exact: 0, whitespace: 0, indent: 0, tabs: 0, blank_lines: 0, elision: 0 } });
    const j = judged.get(run.key)!;
    j.replies.add(`${e.runId} ${e.iteration}`);
    if (e.type === 'edit.applied') {
      j.applied.add(`${e.runId} ${e.iteration}`);
      if (e.match) j.steps[e.match]++;
    }
  }
  return new Map([...judged].map(([key, j]) => [key, { editReplies: j.replies.size, wellFormedRate: j.applied.size / j.replies.size, matchSteps: j.steps }]));
}
