import type { AgentEvent, ProviderName, ProviderStats, RunSummary, Stats } from '../protocol';

interface ModelAccumulator {
  provider: ProviderName;
  model: string;
  calls: number;
  errors: number;
  latencies: number[];
  ttfts: number[];
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  costUsd: number;
  pricedCalls: number;
}

/**
 * Folds events into the stats and the run list. Fed the whole log once at start-up, then each live event,
 * so `microAgent/stats` and `micro-agent stats` answer from the same code.
 */
export class StatsAggregator {
  private readonly models = new Map<string, ModelAccumulator>();
  private readonly runs = new Map<string, RunSummary>();
  /** [ts, costUsd] of every priced call, in log order, for spend over a time window. */
  private readonly spending: Array<[number, number]> = [];

  add(event: AgentEvent): void {
    switch (event.type) {
      case 'llm.response': {
        const acc = this.model(event.provider, event.model);
        acc.calls++;
        if (!event.ok) acc.errors++;
        acc.latencies.push(event.latencyMs);
        if (event.ttftMs !== null) acc.ttfts.push(event.ttftMs);
        acc.inputTokens += event.inputTokens ?? 0;
        acc.cachedInputTokens += event.cachedInputTokens ?? 0;
        acc.cacheWriteInputTokens += event.cacheWriteInputTokens ?? 0;
        acc.outputTokens += event.outputTokens ?? 0;
        if (event.costUsd !== null) {
          acc.costUsd += event.costUsd;
          acc.pricedCalls++;
          this.spending.push([event.ts, event.costUsd]);
        }
        const run = event.runId ? this.runs.get(event.runId) : undefined;
        if (run) run.costUsd += event.costUsd ?? 0;
        break;
      }
      case 'run.started':
        this.runs.set(event.runId, {
          runId: event.runId,
          file: event.file,
          provider: event.provider,
          model: event.model,
          startedAt: event.ts,
          status: 'running',
          reason: null,
          iterations: 0,
          costUsd: 0,
          finishedAt: null,
          pid: event.pid,
          ...(event.resumedFrom ? { resumedFrom: event.resumedFrom } : {}),
        });
        break;
      case 'run.iteration': {
        const run = this.runs.get(event.runId);
        if (run) run.iterations = event.iteration;
        break;
      }
      case 'run.finished': {
        const run = this.runs.get(event.runId);
        if (run)
          Object.assign(run, { status: event.outcome, reason: event.reason, iterations: event.iterations, costUsd: event.costUsd, finishedAt: event.ts });
        break;
      }
    }
  }

  /** Cost of the priced calls at or after `sinceTs`. Calls are in ts order, so scan from the newest back. */
  spendSince(sinceTs: number): { costUsd: number; calls: number } {
    let costUsd = 0;
    let calls = 0;
    for (let i = this.spending.length - 1; i >= 0 && this.spending[i][0] >= sinceTs; i--) {
      costUsd += this.spending[i][1];
      calls++;
    }
    return { costUsd, calls };
  }

  runList(): RunSummary[] {
    return [...this.runs.values()].reverse().map((run) => ({ ...run }));
  }

  /** Runs started but never finished: the process that ran them died. */
  unfinished(): RunSummary[] {
    return [...this.runs.values()].filter((run) => run.status === 'running');
  }

  stats(): Stats {
    const providers: ProviderStats[] = [...this.models.values()].map((acc) => {
      const latencies = [...acc.latencies].sort((a, b) => a - b);
      const ttfts = [...acc.ttfts].sort((a, b) => a - b);
      return {
        provider: acc.provider,
        model: acc.model,
        calls: acc.calls,
        errors: acc.errors,
        p50LatencyMs: percentile(latencies, 50),
        p95LatencyMs: percentile(latencies, 95),
        p50TtftMs: percentile(ttfts, 50),
        inputTokens: acc.inputTokens,
        cachedInputTokens: acc.cachedInputTokens,
        cacheWriteInputTokens: acc.cacheWriteInputTokens,
        outputTokens: acc.outputTokens,
        costUsd: acc.pricedCalls > 0 ? acc.costUsd : null,
        unpricedCalls: acc.calls - acc.pricedCalls,
      };
    });
    const all = [...this.runs.values()];
    const count = (status: RunSummary['status']) => all.filter((run) => run.status === status).length;
    const passed = all.filter((run) => run.status === 'passed');
    const finished = all.length - count('running');
    return {
      providers: providers.sort((a, b) => b.calls - a.calls || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model)),
      runs: {
        total: all.length,
        running: count('running'),
        passed: passed.length,
        failed: count('failed'),
        cancelled: count('cancelled'),
        error: count('error'),
        passRate: finished > 0 ? passed.length / finished : null,
        meanIterationsToPass: passed.length > 0 ? passed.reduce((sum, run) => sum + run.iterations, 0) / passed.length : null,
        costUsd: all.reduce((sum, run) => sum + run.costUsd, 0),
      },
    };
  }

  private model(provider: ProviderName, model: string): ModelAccumulator {
    const key = `${provider}\u0000${model}`;
    let acc = this.models.get(key);
    if (!acc) {
      acc = {
        provider,
        model,
        calls: 0,
        errors: 0,
        latencies: [],
        ttfts: [],
        inputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        pricedCalls: 0,
      };
      this.models.set(key, acc);
    }
    return acc;
  }
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
