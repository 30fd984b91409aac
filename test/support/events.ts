/** Hand-built event sets with known numbers, for the store, queries and dashboard tests. */
import type { AgentEvent } from '../../server/protocol';

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
      ok: o.ok ?? true,
      finishReason: o.ok === false ? null : ('stop' as const),
      responsePreview: 'Here is the fix.\n```js\nexports.add = (a, b) => a + b;\n```',
      ...(o.ok === false ? { error: { kind: 'server' as const, message: 'openai answered 500: overloaded', status: 500 } } : {}),
    });
  }

  edit(runId: string, iteration: number): AgentEvent {
    return this.base({
      type: 'edit.applied' as const,
      runId,
      iteration,
      file: 'math.js',
      bytes: 60,
      linesAdded: 1,
      linesRemoved: 1,
      diff: '@@ -1,2 +1,2 @@\n-exports.add = (a, b) => a - b;\n+exports.add = (a, b) => a + b;\n exports.mul = (a, b) => a * b;',
      attemptPath: `.micro-agent/runs/${runId}/attempt-${iteration}.js`,
    });
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
