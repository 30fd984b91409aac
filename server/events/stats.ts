import type { AgentEvent, ProviderStats, RunSummary, Stats } from '../protocol/events';
import type { ProviderName } from '../protocol/providers';
import { applyRunEvent, startedRun } from '../protocol/runSummary';
import { LatencySketch } from './sketch';

interface ModelAccumulator {
  provider: ProviderName;
  model: string;
  calls: number;
  errors: number;
  latencies: LatencySketch;
  ttfts: LatencySketch;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  costUsd: number;
  pricedCalls: number;
}

type Status = RunSummary['status'];
const STATUSES: readonly Status[] = ['running', 'passed', 'failed', 'cancelled', 'error'];

/** One page of the run list, newest first; `nextBefore` is the cursor of the next (older) page, if any. */
export interface RunPage {
  runs: RunSummary[];
  nextBefore: string | null;
}

/**
 * Folds events into the stats and the run list, so `microAgent/stats` and `micro-agent stats` answer from the
 * same code. Every answer costs what the answer holds, not what the log holds: latencies go into sketches,
 * run counts are kept as they change, and the run list is paged. `toSnapshot`/`fromSnapshot` are the index file
 * (`events/logIndex.ts`), so a start folds only what the log gained since.
 */
export class StatsAggregator {
  private readonly models = new Map<string, ModelAccumulator>();
  /** Runs in log order (the order they started), and each run's place in it. */
  private readonly runs: RunSummary[] = [];
  private readonly runIndex = new Map<string, number>();
  private readonly counts: Record<Status, number> = { running: 0, passed: 0, failed: 0, cancelled: 0, error: 0 };
  private passedIterations = 0;
  /** `ts, costUsd` of every priced call, flat and in log order, for spend over any time window, exact. */
  private spending: number[] = [];

  add(event: AgentEvent): void {
    switch (event.type) {
      case 'llm.response': {
        const acc = this.model(event.provider, event.model);
        acc.calls++;
        if (!event.ok) acc.errors++;
        acc.latencies.add(event.latencyMs);
        if (event.ttftMs !== null) acc.ttfts.add(event.ttftMs);
        acc.inputTokens += event.inputTokens ?? 0;
        acc.cachedInputTokens += event.cachedInputTokens ?? 0;
        acc.cacheWriteInputTokens += event.cacheWriteInputTokens ?? 0;
        acc.outputTokens += event.outputTokens ?? 0;
        if (event.costUsd !== null) {
          acc.costUsd += event.costUsd;
          acc.pricedCalls++;
          this.spending.push(event.ts, event.costUsd);
        }
        this.applyToRun(event);
        break;
      }
      case 'run.started': {
        const summary = startedRun(event);
        const at = this.runIndex.get(event.runId);
        if (at === undefined) {
          this.runIndex.set(event.runId, this.runs.length);
          this.runs.push(summary);
          this.count(summary, +1);
        } else {
          // The same id started again (never by this engine): it keeps its place, as a Map entry would.
          this.count(this.runs[at], -1);
          this.runs[at] = summary;
          this.count(summary, +1);
        }
        break;
      }
      case 'run.iteration':
      case 'run.finished':
        this.applyToRun(event);
        break;
    }
  }

  /** Cost of the priced calls at or after `sinceTs`. Calls are in ts order, so scan from the newest back. */
  spendSince(sinceTs: number): { costUsd: number; calls: number } {
    let costUsd = 0;
    let calls = 0;
    for (let i = this.spending.length - 2; i >= 0 && this.spending[i] >= sinceTs; i -= 2) {
      costUsd += this.spending[i + 1];
      calls++;
    }
    return { costUsd, calls };
  }

  /** Every run, newest first (for a full scan; answers use `runPage`). */
  runList(): RunSummary[] {
    return this.runs.map((run) => ({ ...run })).reverse();
  }

  /**
   * At most `limit` runs, newest first, older than `before`: a run id (the cursor a page returns), or a time
   * in ms (runs started before it). Undefined when `before` names no run.
   */
  runPage(limit: number, before?: string | number): RunPage | undefined {
    let end = this.runs.length;
    if (typeof before === 'string') {
      const at = this.runIndex.get(before);
      if (at === undefined) return undefined;
      end = at;
    } else if (typeof before === 'number') {
      // Runs are in log order, which is start order; find the first started at or after `before`.
      let lo = 0;
      let hi = this.runs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.runs[mid].startedAt < before) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    const start = Math.max(0, end - limit);
    const runs = this.runs
      .slice(start, end)
      .map((run) => ({ ...run }))
      .reverse();
    return { runs, nextBefore: start > 0 ? this.runs[start].runId : null };
  }

  runById(runId: string): RunSummary | undefined {
    const run = this.run(runId);
    return run && { ...run };
  }

  /** Runs started but never finished: the process that ran them died. */
  unfinished(): RunSummary[] {
    if (this.counts.running === 0) return [];
    return this.runs.filter((run) => run.status === 'running').map((run) => ({ ...run }));
  }

  stats(): Stats {
    const providers: ProviderStats[] = [...this.models.values()].map((acc) => ({
      provider: acc.provider,
      model: acc.model,
      calls: acc.calls,
      errors: acc.errors,
      p50LatencyMs: acc.latencies.quantile(50),
      p95LatencyMs: acc.latencies.quantile(95),
      p50TtftMs: acc.ttfts.quantile(50),
      inputTokens: acc.inputTokens,
      cachedInputTokens: acc.cachedInputTokens,
      cacheWriteInputTokens: acc.cacheWriteInputTokens,
      outputTokens: acc.outputTokens,
      costUsd: acc.pricedCalls > 0 ? acc.costUsd : null,
      unpricedCalls: acc.calls - acc.pricedCalls,
    }));
    const { running, passed, failed, cancelled, error } = this.counts;
    const finished = this.runs.length - running;
    // Summed in log order on each call (a float total kept by deltas would drift from a fresh fold).
    let costUsd = 0;
    for (const run of this.runs) costUsd += run.costUsd;
    return {
      providers: providers.sort((a, b) => b.calls - a.calls || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model)),
      runs: {
        total: this.runs.length,
        running,
        passed,
        failed,
        cancelled,
        error,
        passRate: finished > 0 ? passed / finished : null,
        meanIterationsToPass: passed > 0 ? this.passedIterations / passed : null,
        costUsd,
      },
    };
  }

  /** Everything folded so far as plain JSON (the index file's body); `fromSnapshot` reads it back. */
  toSnapshot(): StatsSnapshot {
    const names = new Map<string, number>();
    const name = (value: string | null) => {
      if (value === null) return -1;
      let id = names.get(value);
      if (id === undefined) names.set(value, (id = names.size));
      return id;
    };
    const runs = this.runs.map((r) => [
      r.runId,
      name(r.file),
      name(r.provider),
      name(r.model),
      r.startedAt,
      name(r.status),
      name(r.reason),
      r.iterations,
      r.costUsd,
      r.finishedAt,
      r.pid,
    ]);
    const models = [...this.models.values()].map((acc) => ({ ...acc, latencies: acc.latencies.toJSON(), ttfts: acc.ttfts.toJSON() }));
    return { models, names: [...names.keys()], runs, spending: this.spending };
  }

  /** Throws on anything that is not a snapshot, so a damaged index is rebuilt rather than believed. */
  static fromSnapshot(snapshot: unknown): StatsAggregator {
    const fail = (what: string): never => {
      throw new Error(`index: ${what}`);
    };
    const s = snapshot as Partial<StatsSnapshot> | null;
    if (!s || !Array.isArray(s.models) || !Array.isArray(s.names) || !Array.isArray(s.runs) || !Array.isArray(s.spending)) return fail('not a snapshot');
    const agg = new StatsAggregator();
    const names = s.names;
    const str = (id: unknown): string => (typeof id === 'number' && typeof names[id] === 'string' ? names[id] : fail('bad name'));
    const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : fail('bad number'));
    for (const m of s.models as Array<Record<string, unknown>>) {
      const acc = agg.model(String(m.provider) as ProviderName, String(m.model));
      for (const key of ['calls', 'errors', 'inputTokens', 'cachedInputTokens', 'cacheWriteInputTokens', 'outputTokens', 'costUsd', 'pricedCalls'] as const)
        acc[key] = num(m[key]);
      acc.latencies = LatencySketch.fromJSON(m.latencies);
      acc.ttfts = LatencySketch.fromJSON(m.ttfts);
    }
    for (const row of s.runs) {
      if (!Array.isArray(row) || row.length !== 11 || typeof row[0] !== 'string') return fail('bad run');
      const status = str(row[5]) as Status;
      if (!STATUSES.includes(status)) return fail('bad run status');
      const run: RunSummary = {
        runId: row[0],
        file: str(row[1]),
        provider: str(row[2]) as ProviderName,
        model: str(row[3]),
        startedAt: num(row[4]),
        status,
        reason: row[6] === -1 ? null : (str(row[6]) as RunSummary['reason']),
        iterations: num(row[7]),
        costUsd: num(row[8]),
        finishedAt: row[9] === null ? null : num(row[9]),
        pid: num(row[10]),
      };
      agg.runIndex.set(run.runId, agg.runs.length);
      agg.runs.push(run);
      agg.count(run, +1);
    }
    if (s.spending.length % 2 !== 0 || !s.spending.every((v) => typeof v === 'number')) return fail('bad spending');
    agg.spending = s.spending;
    return agg;
  }

  private run(runId: string): RunSummary | undefined {
    const at = this.runIndex.get(runId);
    return at === undefined ? undefined : this.runs[at];
  }

  /** Applies an event to its run, keeping the counts by status (and the iterations of passed runs) in step. */
  private applyToRun(event: AgentEvent): void {
    const run = event.runId ? this.run(event.runId) : undefined;
    if (!run) return;
    this.count(run, -1);
    applyRunEvent(run, event);
    this.count(run, +1);
  }

  private count(run: RunSummary, sign: 1 | -1): void {
    this.counts[run.status] += sign;
    if (run.status === 'passed') this.passedIterations += sign * run.iterations;
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
        latencies: new LatencySketch(),
        ttfts: new LatencySketch(),
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

/** The aggregator as JSON: runs as rows with their strings interned in `names`, sketches as flat bucket lists. */
export interface StatsSnapshot {
  models: Array<Omit<ModelAccumulator, 'latencies' | 'ttfts'> & { latencies: number[]; ttfts: number[] }>;
  names: string[];
  /** `[runId, file, provider, model, startedAt, status, reason, iterations, costUsd, finishedAt, pid]`, names as ids (-1 for null). */
  runs: unknown[][];
  spending: number[];
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
