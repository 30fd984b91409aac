import {
  addEditQuality,
  EDIT_TALLIES,
  EditQualityFold,
  editQualityOf,
  editTally,
  emptyEditQuality,
  wellFormedRate,
  type EditQuality,
  type EditTally,
} from '../protocol/editQuality';
import { MATCH_STEPS, type AgentEvent, type KeyHeadroom, noteHeadroom, type ProviderStats, type RunSummary, type Stats } from '../protocol/events';
import { checkEvent } from './validate';
import type { CallRollup, RunRollup } from '../protocol/methods';
import type { ProviderName } from '../protocol/providers';
import { applyRunEvent, startedRun } from '../protocol/runSummary';
import { Column, IdColumn, Numbers } from './columns';
import { bucketOf, LatencySketch } from '../protocol/sketch';

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
  /** The model's edit replies: how many, how many applied, files by ladder step. */
  edits: EditQuality;
}

type Status = RunSummary['status'];
const STATUSES: readonly Status[] = ['running', 'passed', 'failed', 'cancelled', 'error'];

/** One page of the run list, newest first; `nextBefore` is the cursor of the next (older) page, if any. */
export interface RunPage {
  runs: RunSummary[];
  nextBefore: string | null;
}

/** The run list's columns, in the index file's order; names (file, provider, …) are ids into `names`, -1 for null. */
const RUN_COLUMNS = [
  'startedAt',
  'costUsd',
  'finishedAt',
  'pid',
  'iterations',
  'file',
  'provider',
  'model',
  'status',
  'reason',
  'startSeq',
  'resumedFrom',
  'evalId',
  // The run's edit replies (`EDIT_TALLIES`): the windowed rollups that walk runs sum them.
  ...EDIT_TALLIES.map((tally) => editColumn(tally)),
] as const;
type RunColumn = (typeof RUN_COLUMNS)[number];
/**
 * Run columns of whole numbers, kept as int32 while their values fit (`Column`): ids into `names`, counts, pids,
 * seqs; all but times (ms since the epoch are past int32) and cost.
 */
const INT_COLUMNS: ReadonlySet<RunColumn> = new Set(RUN_COLUMNS.filter((c) => c !== 'startedAt' && c !== 'finishedAt' && c !== 'costUsd'));

function editColumn<T extends EditTally>(tally: T): `edits.${T}` {
  return `edits.${tally}`;
}
export const RUN_COLUMN_COUNT = RUN_COLUMNS.length;

/**
 * Every model call as a row of numbers, flat, in log order: what windowed rollups are summed from. The model
 * is an id into `names` (of `provider NUL model`); a null TTFT or cost is NaN, null token counts are 0.
 */
const CALL_FIELDS = [
  'ts',
  'model',
  'ok',
  'latencyMs',
  'ttftMs',
  'inputTokens',
  'cachedInputTokens',
  'cacheWriteInputTokens',
  'outputTokens',
  'costUsd',
  'outputTokensPerSec',
  'loadMs',
] as const;
export const CALL_STRIDE = CALL_FIELDS.length;
const [TS, MODEL, OK, LATENCY, TTFT, INPUT, CACHED, CACHE_WRITE, OUTPUT, COST, TOKENS_PER_SEC, LOAD] = CALL_FIELDS.map((_, i) => i);
const DAY_MS = 86_400_000;
/** A rollup's sums, in the order `rollups` keeps them per bucket and model. */
const [S_CALLS, S_ERRORS, S_LATENCY, S_INPUT, S_CACHED, S_CACHE_WRITE, S_OUTPUT, S_COST, S_PRICED, S_TIMED_OUTPUT, S_GENERATION_MS, S_LOADS, S_LOAD_MS, SUMS] =
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

/** What `rollups` sums: `RollupsParams` with every default filled in (`untilTs` Infinity: no end). */
export interface RollupQuery {
  sinceTs: number;
  untilTs: number;
  bucketMs: number | null;
  sketches: boolean;
}

/** A run rollup's sums, in the order `runDays` keeps them: then the runs' edit tallies, from `R_EDITS` in `EDIT_TALLIES` order. */
const [R_RUNS, R_FINISHED, R_PASSED, R_PASS_ITERATIONS, R_COST, R_EDITS] = [0, 1, 2, 3, 4, 5];
const RUN_SUMS = R_EDITS + EDIT_TALLIES.length;
/** Name ids stay under this, so provider × it + model is one exact number. */
const NAMES_LIMIT = 2 ** 26;

/** Whether a time is a UTC midnight, or no time at all (an open end). */
const wholeDay = (ts: number) => ts % DAY_MS === 0 || ts === Infinity;

/** Rollups of calls and runs, per bucket and provider/model (`microAgent/rollups`). */
export interface Rollups {
  calls: CallRollup[];
  runs: RunRollup[];
  headroom?: KeyHeadroom[];
}

/**
 * Folds events into the stats and the run list, so `microAgent/stats` and `micro-agent stats` answer from the
 * same code. Every answer costs what the answer holds, not what the log holds: latencies go into sketches,
 * run counts are kept as they change, the run list is paged, and runs and priced calls are kept as columns of
 * numbers. `toSnapshot`/`fromSnapshot` are the index file's body (`events/logIndex.ts`), so a start folds only
 * what the log gained since.
 */
export class StatsAggregator {
  private readonly models = new Map<string, ModelAccumulator>();
  /** Runs in log order (the order they started), one column per field, and their ids. */
  private runIds = new IdColumn();
  private readonly columns = Object.fromEntries(RUN_COLUMNS.map((c) => [c, new Column(undefined, INT_COLUMNS.has(c))])) as Record<RunColumn, Column>;
  /** Each run's place; built on first need (a start that answers only stats never pays for it). */
  private runIndex: Map<string, number> | undefined;
  /** Strings the columns refer to by id. */
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly counts: Record<Status, number> = { running: 0, passed: 0, failed: 0, cancelled: 0, error: 0 };
  private passedIterations = 0;
  /** Every call's `CALL_FIELDS`, flat and in log order, for spend and rollups over any time window, exact. */
  private calls = new Column();
  /**
   * How to read the calls the index holds, until first needed (rollups, spend, a snapshot): they are most of the
   * index, and a start that answers stats and runs never reads them. `calls` holds those folded since meanwhile.
   */
  private indexedCalls: IndexedCalls | undefined;
  /** Blocks of `indexedCalls` read so far (a window reads only its own, newest first). */
  private readonly callBlocks = new Map<number, Float64Array>();
  /** The calls' sums (`SUMS` order) per UTC day and model id, kept as they are folded: see `rollups`. */
  private readonly days = new Map<number, Map<number, Float64Array>>();
  /**
   * The runs' sums (`RUN_SUMS` order) per UTC day they started on and provider × `NAMES_LIMIT` + model id, kept
   * as runs change (`count`), so the all-time and day answers walk no run.
   */
  private readonly runDays = new Map<number, Map<number, Float64Array>>();
  /** The last `stats()` answer, until the next event. */
  private cached: Stats | undefined;
  /** The latest rate-limit headroom per provider and key (`noteHeadroom`); a handful of entries. */
  private readonly headroom = new Map<string, KeyHeadroom>();
  /** Which reply of a running run was counted last (not in the snapshot: a reply's events are appended together). */
  private readonly editFold = new EditQualityFold();
  /**
   * Eval runs (every event of one carries `evalId`) are in the run list, marked, but they are not everyday runs:
   * they stay out of the stats, the per-model sums and the rollups, so analytics never mix a benchmark's hundred
   * runs with the user's own by accident (the Models view reads them from the eval's report). `counts` holds all
   * runs by status (start-up's interrupted runs need them), these the eval runs among them.
   */
  private readonly evalCounts: Record<Status, number> = { running: 0, passed: 0, failed: 0, cancelled: 0, error: 0 };
  /** `[ts, costUsd]` of each priced call of an eval's runs, flat, in log order: spend is still what was paid. */
  private evalSpend: number[] = [];
  /** An eval's calls summed per UTC day and model, as `days` the everyday ones: the vendors bill them alike. */
  private readonly evalDays = new Map<number, Map<number, Float64Array>>();

  add(event: AgentEvent): void {
    this.cached = undefined;
    switch (event.type) {
      case 'llm.response': {
        // A key's headroom is the key's, whoever spent it: an eval's calls move it too.
        if (event.rateLimit)
          this.noteHeadroom({ provider: event.provider, key: event.rateLimit.key, model: event.model, ts: event.ts, rateLimit: event.rateLimit });
        if (event.evalId !== undefined) {
          if (event.costUsd !== null) this.evalSpend.push(event.ts, event.costUsd);
          addToDay(this.evalDays, this.callRow(event));
          this.applyToRun(event);
          break;
        }
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
        }
        this.pushCall(event);
        this.applyToRun(event);
        break;
      }
      case 'run.started': {
        const summary = startedRun(event);
        const index = this.index();
        const at = index.get(event.runId);
        if (at === undefined) {
          index.set(event.runId, this.runIds.length);
          this.runIds.push(event.runId);
          for (const c of RUN_COLUMNS) this.columns[c].push(0);
          this.store(this.runIds.length - 1, summary);
          this.columns.startSeq.set(this.runIds.length - 1, event.seq);
        } else {
          // The same id started again (never by this engine): it keeps its place, as a Map entry would.
          this.count(this.summary(at), -1);
          this.store(at, summary);
        }
        this.count(summary, +1);
        break;
      }
      case 'run.iteration':
      case 'run.finished':
        this.applyToRun(event);
        this.editFold.add(event, emptyEditQuality());
        break;
      case 'edit.applied':
      case 'edit.rejected': {
        const at = this.index().get(event.runId);
        const judged = emptyEditQuality();
        if (at === undefined || !this.editFold.add(event, judged)) break;
        this.addRunEdits(at, judged);
        break;
      }
    }
  }

  /** Cost of the priced calls at or after `sinceTs`, evals' too. Calls are in ts order, so scan from the newest back. */
  spendSince(sinceTs: number): { costUsd: number; calls: number } {
    let costUsd = 0;
    let calls = 0;
    for (let i = this.evalSpend.length - 2; i >= 0 && this.evalSpend[i] >= sinceTs; i -= 2) {
      costUsd += this.evalSpend[i + 1];
      calls++;
    }
    this.callsSince(sinceTs, (rows, i) => {
      if (Number.isNaN(rows[i + COST])) return;
      costUsd += rows[i + COST];
      calls++;
    });
    return { costUsd, calls };
  }

  /**
   * Calls `visit` with each call at or after `sinceTs`, newest first, up to the first older one (calls are in
   * ts order). Of the index's calls, only the blocks that reach back to `sinceTs` are read.
   */
  private callsSince(sinceTs: number, visit: (rows: Float64Array, i: number) => void): void {
    const segments = function* (this: StatsAggregator): Generator<Float64Array> {
      yield this.calls.values() as Float64Array;
      const indexed = this.indexedCalls;
      for (let b = (indexed?.blocks ?? 0) - 1; b >= 0 && this.indexedCalls === indexed; b--) {
        let block = this.callBlocks.get(b);
        if (!block) this.callBlocks.set(b, (block = indexed!.block(b)));
        yield block;
      }
    };
    for (const rows of segments.call(this)) {
      let i = rows.length - CALL_STRIDE;
      for (; i >= 0 && rows[i + TS] >= sinceTs; i -= CALL_STRIDE) visit(rows, i);
      if (i >= 0) return;
    }
  }

  /**
   * The calls made and the runs started in `[sinceTs, untilTs)`, summed per time bucket (`bucketMs` wide, or one
   * bucket 0) and provider/model, with sparse latency and TTFT sketches when asked. Calls and runs are in ts
   * order, so this reads only the window, newest back: a day's window costs a day's calls, not the log. A
   * window holding every call in one bucket takes its sketches from the all-time ones `stats` keeps, so the
   * dashboard's all-time answer does not re-bucket half a million latencies.
   */
  rollups({ sinceTs, untilTs, bucketMs, sketches }: RollupQuery): Rollups {
    const firstDay = this.days.size > 0 ? Math.min(...this.days.keys()) : Infinity;
    const allTime = bucketMs === null && sinceTs <= firstDay * DAY_MS && untilTs === Infinity;
    // Keyed by a number (bucket × names + model id), with the sums in a typed array: a scan may read half a
    // million calls and allocates only per bucket.
    const width = this.names.length;
    const keyOf = (ts: number, model: number) => (bucketMs === null ? 0 : Math.floor(ts / bucketMs)) * width + model;
    const sums = new Map<number, { sums: Float64Array; lat?: Map<number, number>; ttf?: Map<number, number> }>();
    // Whole days from a midnight are summed already, as are all-time sketches: the dashboard's all-time and day
    // rows read no call at all (a million-event log's calls are 10 MB of the index, read on first need).
    const byDays = wholeDay(sinceTs) && wholeDay(untilTs) && (bucketMs === null || bucketMs % DAY_MS === 0);
    if (byDays && (!sketches || allTime)) {
      for (const [day, models] of this.days) {
        if (day * DAY_MS < sinceTs || day * DAY_MS >= untilTs) continue;
        for (const [model, daySums] of models) {
          const key = keyOf(day * DAY_MS, model);
          const r = sums.get(key);
          if (r) for (let f = 0; f < SUMS; f++) r.sums[f] += daySums[f];
          else sums.set(key, { sums: daySums.slice() });
        }
      }
    } else {
      const tallied = sketches && !allTime;
      this.callsSince(sinceTs, (rows, i) => {
        if (rows[i + TS] >= untilTs) return;
        const key = keyOf(rows[i + TS], rows[i + MODEL]);
        let r = sums.get(key);
        if (!r) sums.set(key, (r = { sums: new Float64Array(SUMS), ...(tallied ? { lat: new Map(), ttf: new Map() } : {}) }));
        addCall(r.sums, rows, i);
        if (r.lat) {
          tally(r.lat, bucketOf(rows[i + LATENCY]));
          if (!Number.isNaN(rows[i + TTFT])) tally(r.ttf!, bucketOf(rows[i + TTFT]));
        }
      });
    }
    const calls = [...sums].map(([key, { sums: s, lat, ttf }]): CallRollup => {
      const id = key % width;
      const acc = sketches && allTime ? this.models.get(this.names[id])! : undefined;
      return {
        ...this.callRollup((key - id) / width, id, s),
        ...(sketches && { latency: acc ? acc.latencies.flat() : flatSketch(lat!), ttft: acc ? acc.ttfts.flat() : flatSketch(ttf!) }),
      };
    });
    return {
      calls,
      runs: byDays ? this.runsByDay(sinceTs, untilTs, bucketMs) : this.walkRuns(sinceTs, untilTs, bucketMs),
      ...(this.headroom.size > 0 ? { headroom: [...this.headroom.values()] } : {}),
    };
  }

  /**
   * Every call by UTC day and model from `sinceTs` (a midnight), an eval's calls included: what the vendors bill
   * micro-agent for (`microAgent/providerUsage`), where the rollups are the everyday calls alone.
   */
  paidCallsByDay(sinceTs: number): CallRollup[] {
    const merged = new Map<number, { day: number; id: number; sums: Float64Array }>();
    for (const days of [this.days, this.evalDays])
      for (const [day, models] of days) {
        if (day * DAY_MS < sinceTs) continue;
        for (const [id, daySums] of models) {
          const key = day * this.names.length + id;
          const at = merged.get(key);
          if (at) for (let f = 0; f < SUMS; f++) at.sums[f] += daySums[f];
          else merged.set(key, { day, id, sums: daySums.slice() });
        }
      }
    return [...merged.values()].map(({ day, id, sums }) => this.callRollup(day, id, sums));
  }

  /** One bucket's sums of one provider/model as the rollups answer them. */
  private callRollup(bucket: number, id: number, s: Float64Array): CallRollup {
    const [provider, model] = this.names[id].split('\u0000') as [ProviderName, string];
    return {
      bucket,
      provider,
      model,
      calls: s[S_CALLS],
      errors: s[S_ERRORS],
      latencySumMs: s[S_LATENCY],
      inputTokens: s[S_INPUT],
      cachedInputTokens: s[S_CACHED],
      cacheWriteInputTokens: s[S_CACHE_WRITE],
      outputTokens: s[S_OUTPUT],
      costUsd: s[S_COST],
      pricedCalls: s[S_PRICED],
      timedOutputTokens: s[S_TIMED_OUTPUT],
      generationMs: s[S_GENERATION_MS],
      loadedCalls: s[S_LOADS],
      loadMsSum: s[S_LOAD_MS],
    };
  }

  /**
   * The runs started in `[sinceTs, untilTs)` (whole days), summed per bucket (whole days, or one) and
   * provider/model from the run day sums: the all-time and day answers, which would otherwise walk every run
   * (620k at ten million events).
   */
  private runsByDay(sinceTs: number, untilTs: number, bucketMs: number | null): RunRollup[] {
    const runs = new Map<string, RunRollup>();
    for (const [day, byModel] of this.runDays) {
      if (day * DAY_MS < sinceTs || day * DAY_MS >= untilTs) continue;
      const b = bucketMs === null ? 0 : Math.floor((day * DAY_MS) / bucketMs);
      for (const [key, sums] of byModel) {
        const [provider, model] = [this.names[Math.floor(key / NAMES_LIMIT)] as ProviderName, this.names[key % NAMES_LIMIT]];
        const id = `${b} ${key}`;
        let r = runs.get(id);
        if (!r) runs.set(id, (r = { bucket: b, provider, model, runs: 0, finished: 0, passed: 0, passIterations: 0, costUsd: 0 }));
        r.runs += sums[R_RUNS];
        r.finished += sums[R_FINISHED];
        r.passed += sums[R_PASSED];
        r.passIterations += sums[R_PASS_ITERATIONS];
        r.costUsd += sums[R_COST];
        if (sums[R_EDITS] > 0)
          addEditQuality(
            (r.edits ??= emptyEditQuality()),
            editQualityOf((tally) => sums[R_EDITS + EDIT_TALLIES.indexOf(tally)]),
          );
      }
    }
    return [...runs.values()].filter((r) => r.runs > 0);
  }

  /**
   * The runs started in `[sinceTs, untilTs)`, summed per bucket and provider/model by walking them, newest back
   * (they are in start order). The walk reads the
   * columns' typed arrays in place: through `Column.get`, whose array is int32 in one column and float64 in
   * another, it cost ten times as much.
   */
  private walkRuns(sinceTs: number, untilTs: number, bucketMs: number | null): RunRollup[] {
    const width = this.names.length;
    const [startedAt, provider, model, status, iterations, costUsd, evalId] = (
      ['startedAt', 'provider', 'model', 'status', 'iterations', 'costUsd', 'evalId'] as const
    ).map((c) => this.columns[c].values());
    const [running, passed] = [this.nameIds.get('running'), this.nameIds.get('passed')];
    const edits = EDIT_TALLIES.map((tally) => this.columns[editColumn(tally)].values());
    const [replies] = edits;
    // Per bucket, then per provider × names + model id: numbers, not strings.
    const runs = new Map<number, Map<number, RunRollup>>();
    // Runs are in start order: the bucket changes rarely from one to the next.
    let [b, bucket] = [NaN, new Map<number, RunRollup>()];
    for (let i = startedAt.length - 1; i >= 0 && startedAt[i] >= sinceTs; i--) {
      if (startedAt[i] >= untilTs || evalId[i] !== -1) continue;
      const at = bucketMs === null ? 0 : Math.floor(startedAt[i] / bucketMs);
      if (at !== b) {
        b = at;
        if (!runs.has(b)) runs.set(b, new Map<number, RunRollup>());
        bucket = runs.get(b)!;
      }
      const key = provider[i] * width + model[i];
      let r = bucket.get(key);
      if (!r) {
        const names = [this.names[provider[i]] as ProviderName, this.names[model[i]]] as const;
        bucket.set(key, (r = { bucket: b, provider: names[0], model: names[1], runs: 0, finished: 0, passed: 0, passIterations: 0, costUsd: 0 }));
      }
      r.runs++;
      if (status[i] !== running) r.finished++;
      if (status[i] === passed) {
        r.passed++;
        r.passIterations += iterations[i];
      }
      r.costUsd += costUsd[i];
      if (replies[i] > 0)
        addEditQuality(
          (r.edits ??= emptyEditQuality()),
          editQualityOf((tally) => edits[EDIT_TALLIES.indexOf(tally)][i]),
        );
    }
    return [...runs.values()].flatMap((bucket) => [...bucket.values()]);
  }

  /** Where a run's first event is in the log (its `run.started` seq), for reading its events. */
  runStartSeq(runId: string): number | undefined {
    const at = this.index().get(runId);
    return at === undefined ? undefined : this.columns.startSeq.get(at);
  }

  /** Every run, newest first (for a full scan; answers use `runPage`). */
  runList(): RunSummary[] {
    const runs: RunSummary[] = [];
    for (let i = this.runIds.length - 1; i >= 0; i--) runs.push(this.summary(i));
    return runs;
  }

  /**
   * At most `limit` runs, newest first, older than `before`: a run id (the cursor a page returns), or a time in
   * ms (runs started before it). Undefined when `before` names no run.
   */
  runPage(limit: number, before?: string | number): RunPage | undefined {
    let end = this.runIds.length;
    if (typeof before === 'string') {
      const at = this.index().get(before);
      if (at === undefined) return undefined;
      end = at;
    } else if (typeof before === 'number') {
      // Runs are in log order, which is start order; find the first started at or after `before`.
      const startedAt = this.columns.startedAt;
      let lo = 0;
      let hi = this.runIds.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (startedAt.get(mid) < before) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    const start = Math.max(0, end - limit);
    const runs: RunSummary[] = [];
    for (let i = end - 1; i >= start; i--) runs.push(this.summary(i));
    return { runs, nextBefore: start > 0 ? this.runIds.get(start) : null };
  }

  runById(runId: string): RunSummary | undefined {
    const at = this.index().get(runId);
    return at === undefined ? undefined : this.summary(at);
  }

  /** Runs started but never finished: the process that ran them died. */
  unfinished(): RunSummary[] {
    if (this.counts.running === 0) return [];
    const running = this.nameIds.get('running');
    const status = this.columns.status.values();
    const out: RunSummary[] = [];
    for (let i = 0; i < status.length; i++) if (status[i] === running) out.push(this.summary(i));
    return out;
  }

  stats(): Stats {
    this.cached ??= this.computeStats();
    return this.cached;
  }

  private computeStats(): Stats {
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
      editReplies: acc.edits.replies,
      wellFormedRate: wellFormedRate(acc.edits),
      matchSteps: { ...acc.edits.matchSteps },
    }));
    const [running, passed, failed, cancelled, error] = STATUSES.map((status) => this.counts[status] - this.evalCounts[status]);
    const total = running + passed + failed + cancelled + error;
    const finished = total - running;
    // Summed in log order on each call (a float total kept by deltas would drift from a fresh fold); a column, so fast.
    const costs = this.columns.costUsd.values();
    const evals = this.columns.evalId.values();
    let costUsd = 0;
    for (let i = 0; i < costs.length; i++) if (evals[i] === -1) costUsd += costs[i];
    return {
      providers: providers.sort((a, b) => b.calls - a.calls || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model)),
      runs: {
        total,
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

  /** Everything folded so far: a small JSON part and raw columns (the index file's body); `fromSnapshot` reads it back. */
  toSnapshot(): StatsSnapshot & { calls: Float64Array } {
    const accs = [...this.models.values()];
    const models = accs.map(({ latencies, ttfts, edits, ...acc }) => ({
      ...acc,
      latencies: latencies.count,
      ttfts: ttfts.count,
      editReplies: edits.replies,
      wellFormed: edits.wellFormed,
      matchSteps: MATCH_STEPS.map((step) => edits.matchSteps[step]),
    }));
    return {
      meta: {
        models,
        names: this.names,
        counts: this.counts,
        passedIterations: this.passedIterations,
        days: flatDays(this.days),
        evalDays: flatDays(this.evalDays),
        runDays: [...this.runDays].flatMap(([day, byModel]) => [...byModel].flatMap(([key, sums]) => [day, key, ...sums])),
        evalCounts: this.evalCounts,
        evalSpend: this.evalSpend,
        headroom: [...this.headroom.values()],
      },
      sketches: accs.flatMap((acc) => [acc.latencies.buckets(), acc.ttfts.buckets()]),
      runIds: this.runIds.packed(),
      columns: RUN_COLUMNS.map((c) => this.columns[c].values()),
      calls: this.callRows(),
    };
  }

  /**
   * Throws on a snapshot of the wrong shape, so a damaged index is rebuilt rather than believed. Its columns and
   * sketches are used as they are, with no pass over them: the index file's checksum vouches for their bytes,
   * and the counts by status come with them, so a start does no work per run beyond reading its bytes.
   */
  static fromSnapshot(snapshot: StatsSnapshot): StatsAggregator {
    const fail = (what: string): never => {
      throw new Error(`index: ${what}`);
    };
    const { meta, sketches, runIds, columns, calls } = snapshot;
    if (!Array.isArray(meta?.models) || !Array.isArray(meta.names) || !meta.names.every((n) => typeof n === 'string')) return fail('not a snapshot');
    if (columns.length !== RUN_COLUMNS.length || columns.some((c) => c.length !== runIds.ends.length)) return fail('bad columns');
    if (sketches.length !== meta.models.length * 2) return fail('bad sketches');
    const agg = new StatsAggregator();
    const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : fail('bad number'));
    // Sums that only ever grow (calls, tokens, costs): an index is untrusted like the log, and a negative one was not folded from it.
    const sum = (value: unknown): number => (num(value) >= 0 ? (value as number) : fail('negative sum'));
    meta.models.forEach((m, i) => {
      const acc = agg.model(String(m.provider) as ProviderName, String(m.model));
      for (const key of ['calls', 'errors', 'inputTokens', 'cachedInputTokens', 'cacheWriteInputTokens', 'outputTokens', 'costUsd', 'pricedCalls'] as const)
        acc[key] = sum(m[key]);
      acc.edits.replies = sum(m.editReplies);
      acc.edits.wellFormed = sum(m.wellFormed);
      const steps = Array.isArray(m.matchSteps) && m.matchSteps.length === MATCH_STEPS.length ? m.matchSteps : fail('bad match steps');
      MATCH_STEPS.forEach((step, k) => (acc.edits.matchSteps[step] = sum(steps[k])));
      acc.latencies = LatencySketch.fromBuckets(sketches[2 * i], num(m.latencies));
      acc.ttfts = LatencySketch.fromBuckets(sketches[2 * i + 1], num(m.ttfts));
    });
    for (const name of meta.names) agg.name(name);
    for (const status of STATUSES) agg.counts[status] = num(meta.counts?.[status]);
    if (STATUSES.reduce((sum, status) => sum + agg.counts[status], 0) !== runIds.ends.length) return fail('bad run counts');
    agg.passedIterations = num(meta.passedIterations);
    for (const held of Array.isArray(meta.headroom) ? meta.headroom : fail('bad headroom')) {
      // Checked as the log line it came from is: a garbled headroom is dropped, not believed.
      const call = checkEvent({
        seq: 1,
        ts: held?.ts,
        type: 'llm.response',
        provider: held?.provider,
        model: held?.model,
        ok: true,
        latencyMs: 0,
        retries: 0,
        rateLimit: held?.rateLimit,
      });
      if (call?.type === 'llm.response' && call.rateLimit)
        agg.noteHeadroom({ provider: call.provider, key: call.rateLimit.key, model: call.model, ts: call.ts, rateLimit: call.rateLimit });
    }
    for (const [flat, into] of [
      [meta.days, agg.days],
      [meta.evalDays, agg.evalDays],
    ] as const) {
      const days = Array.isArray(flat) && flat.length % (SUMS + 2) === 0 ? flat : fail('bad day sums');
      for (let i = 0; i < days.length; i += SUMS + 2) {
        const [day, model] = [num(days[i]), num(days[i + 1])];
        if (!Number.isInteger(model) || model < 0 || model >= agg.names.length) fail('bad day sums');
        if (!into.has(day)) into.set(day, new Map());
        into.get(day)!.set(model, Float64Array.from(days.slice(i + 2, i + 2 + SUMS), sum));
      }
    }
    const runDays = Array.isArray(meta.runDays) && meta.runDays.length % (RUN_SUMS + 2) === 0 ? meta.runDays : fail('bad run day sums');
    for (let i = 0; i < runDays.length; i += RUN_SUMS + 2) {
      const [day, key] = [num(runDays[i]), num(runDays[i + 1])];
      const named = (id: number) => Number.isInteger(id) && id >= 0 && id < agg.names.length;
      if (!named(Math.floor(key / NAMES_LIMIT)) || !named(key % NAMES_LIMIT)) fail('bad run day sums');
      if (!agg.runDays.has(day)) agg.runDays.set(day, new Map());
      agg.runDays.get(day)!.set(key, Float64Array.from(runDays.slice(i + 2, i + 2 + RUN_SUMS), num));
    }
    for (const status of STATUSES) agg.evalCounts[status] = sum(meta.evalCounts?.[status]);
    if (STATUSES.some((status) => agg.evalCounts[status] > agg.counts[status])) return fail('bad eval run counts');
    const evalSpend = Array.isArray(meta.evalSpend) && meta.evalSpend.length % 2 === 0 ? meta.evalSpend : fail('bad eval spend');
    agg.evalSpend = evalSpend.map((value, i) => (i % 2 === 0 ? num(value) : sum(value)));
    RUN_COLUMNS.forEach((c, i) => (agg.columns[c] = new Column(columns[i])));
    agg.runIds = new IdColumn(runIds.blob, runIds.ends);
    if (calls instanceof Float64Array) agg.calls = new Column(checkCalls(calls, agg.names.length));
    else agg.indexedCalls = calls;
    return agg;
  }

  /** Every call folded, the index's first (read now if they were not yet), flat. */
  private callRows(): Float64Array {
    const read = this.indexedCalls;
    if (read) {
      const blocks: Float64Array[] = [];
      for (let b = 0; b < read.blocks && this.indexedCalls === read; b++) blocks.push(this.callBlocks.get(b) ?? read.block(b));
      this.indexedCalls = undefined;
      this.callBlocks.clear();
      const indexed = concat(blocks);
      const since = this.calls.values();
      const all = since.length === 0 ? indexed : new Float64Array(indexed.length + since.length);
      if (all !== indexed) {
        all.set(indexed);
        all.set(since, indexed.length);
      }
      this.calls = new Column(all);
    }
    // A float64 column from the start (made without `ints`), and a column never narrows.
    return this.calls.values() as Float64Array;
  }

  private index(): Map<string, number> {
    if (!this.runIndex) {
      this.runIndex = new Map();
      for (let i = 0; i < this.runIds.length; i++) this.runIndex.set(this.runIds.get(i), i);
    }
    return this.runIndex;
  }

  private summary(i: number): RunSummary {
    const c = this.columns;
    const finishedAt = c.finishedAt.get(i);
    const reason = c.reason.get(i);
    const resumedFrom = c.resumedFrom.get(i);
    const evalId = c.evalId.get(i);
    return {
      runId: this.runIds.get(i),
      file: this.names[c.file.get(i)],
      provider: this.names[c.provider.get(i)] as ProviderName,
      model: this.names[c.model.get(i)],
      startedAt: c.startedAt.get(i),
      status: this.names[c.status.get(i)] as Status,
      reason: reason === -1 ? null : (this.names[reason] as RunSummary['reason']),
      iterations: c.iterations.get(i),
      costUsd: c.costUsd.get(i),
      finishedAt: Number.isNaN(finishedAt) ? null : finishedAt,
      pid: c.pid.get(i),
      ...(resumedFrom === -1 ? {} : { resumedFrom: this.names[resumedFrom] }),
      ...(evalId === -1 ? {} : { evalId: this.names[evalId] }),
    };
  }

  private store(i: number, run: RunSummary): void {
    const c = this.columns;
    c.startedAt.set(i, run.startedAt);
    c.costUsd.set(i, run.costUsd);
    c.finishedAt.set(i, run.finishedAt ?? NaN);
    c.pid.set(i, run.pid);
    c.iterations.set(i, run.iterations);
    c.file.set(i, this.name(run.file));
    c.provider.set(i, this.name(run.provider));
    c.model.set(i, this.name(run.model));
    c.status.set(i, this.name(run.status));
    c.reason.set(i, run.reason === null ? -1 : this.name(run.reason));
    c.resumedFrom.set(i, run.resumedFrom === undefined ? -1 : this.name(run.resumedFrom));
    c.evalId.set(i, run.evalId === undefined ? -1 : this.name(run.evalId));
  }

  private name(value: string): number {
    let id = this.nameIds.get(value);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(value);
      this.nameIds.set(value, id);
    }
    return id;
  }

  private pushCall(event: Extract<AgentEvent, { type: 'llm.response' }>): void {
    const row = this.callRow(event);
    for (const v of row) this.calls.push(v);
    addToDay(this.days, row);
  }

  /** A call as a row of the call columns. */
  private callRow(event: Extract<AgentEvent, { type: 'llm.response' }>): number[] {
    const row = new Array<number>(CALL_STRIDE);
    row[TS] = event.ts;
    row[MODEL] = this.name(`${event.provider}\u0000${event.model}`);
    row[OK] = event.ok ? 1 : 0;
    row[LATENCY] = event.latencyMs;
    row[TTFT] = event.ttftMs ?? NaN;
    row[INPUT] = event.inputTokens ?? 0;
    row[CACHED] = event.cachedInputTokens ?? 0;
    row[CACHE_WRITE] = event.cacheWriteInputTokens ?? 0;
    row[OUTPUT] = event.outputTokens ?? 0;
    row[COST] = event.costUsd ?? NaN;
    row[TOKENS_PER_SEC] = event.outputTokensPerSec ?? NaN;
    row[LOAD] = event.loadMs ?? NaN;
    return row;
  }

  /** Keeps a key's headroom when it is the newest seen (processes writing one log may append out of time order). */
  private noteHeadroom(headroom: KeyHeadroom): void {
    noteHeadroom(this.headroom, headroom);
  }

  /** Applies an event to its run, keeping the counts by status (and the iterations of passed runs) in step. */
  private applyToRun(event: AgentEvent): void {
    const at = event.runId ? this.index().get(event.runId) : undefined;
    if (at === undefined) return;
    const run = this.summary(at);
    this.count(run, -1);
    applyRunEvent(run, event);
    this.store(at, run);
    this.count(run, +1);
  }

  /** Adds a judged reply's tallies to run `at`'s, its start day's run sums and its model's. */
  private addRunEdits(at: number, judged: EditQuality): void {
    const run = this.summary(at);
    const everyday = run.evalId === undefined;
    if (everyday) addEditQuality(this.model(run.provider, run.model).edits, judged);
    const sums = everyday ? this.runSums(run) : undefined;
    EDIT_TALLIES.forEach((tally, k) => {
      const column = this.columns[editColumn(tally)];
      column.set(at, column.get(at) + editTally(judged, tally));
      if (sums) sums[R_EDITS + k] += editTally(judged, tally);
    });
  }

  /** The sums of the runs started on `run`'s day with its provider/model. */
  private runSums(run: RunSummary): Float64Array {
    const day = Math.floor(run.startedAt / DAY_MS);
    let byModel = this.runDays.get(day);
    if (!byModel) this.runDays.set(day, (byModel = new Map<number, Float64Array>()));
    const key = this.name(run.provider) * NAMES_LIMIT + this.name(run.model);
    let sums = byModel.get(key);
    if (!sums) byModel.set(key, (sums = new Float64Array(RUN_SUMS)));
    return sums;
  }

  /** Adds a run to (or, `sign` -1, takes it from) the counts by status and its start day's run sums. */
  private count(run: RunSummary, sign: 1 | -1): void {
    this.counts[run.status] += sign;
    if (run.evalId !== undefined) return void (this.evalCounts[run.status] += sign);
    if (run.status === 'passed') this.passedIterations += sign * run.iterations;
    const sums = this.runSums(run);
    sums[R_RUNS] += sign;
    if (run.status !== 'running') sums[R_FINISHED] += sign;
    if (run.status === 'passed') {
      sums[R_PASSED] += sign;
      sums[R_PASS_ITERATIONS] += sign * run.iterations;
    }
    sums[R_COST] += sign * run.costUsd;
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
        edits: emptyEditQuality(),
      };
      this.models.set(key, acc);
    }
    return acc;
  }
}

/** The aggregator as an index body: models (with sketches as flat bucket lists) and names as JSON, runs and calls as columns. */
export interface StatsSnapshot {
  /** The models, each with how many values its sketches hold; the names; the runs counted by status. */
  meta: {
    /** `matchSteps`: files by ladder step, in `MATCH_STEPS` order. */
    models: Array<
      Omit<ModelAccumulator, 'latencies' | 'ttfts' | 'edits'> & {
        latencies: number;
        ttfts: number;
        editReplies: number;
        wellFormed: number;
        matchSteps: number[];
      }
    >;
    names: string[];
    counts: Record<Status, number>;
    passedIterations: number;
    /** `[day, model id, …sums]` per UTC day and model, sums in `rollups`' order. */
    days: number[];
    /** The same of an eval's calls (`paidCallsByDay`). */
    evalDays: number[];
    /** `[day, provider × NAMES_LIMIT + model id, …sums]` per UTC day runs started on, sums in `RUN_SUMS` order. */
    runDays: number[];
    /** The eval runs among `counts`. */
    evalCounts: Record<Status, number>;
    /** `[ts, costUsd]` of each priced call of an eval's runs. */
    evalSpend: number[];
    /** Each key's latest headroom, as `llm.response` gave it (checked again on read, as the log's lines are). */
    headroom: KeyHeadroom[];
  };
  /** Each model's latency sketch then its TTFT sketch (`LatencySketch.buckets`), in `meta.models` order. */
  sketches: Float64Array[];
  /** The run ids as one string and where each ends in it. */
  runIds: { blob: string; ends: Float64Array };
  /** One per `RUN_COLUMNS` entry, each as long as `runIds.ends`: float64, or int32 where every value fits. */
  columns: Numbers[];
  /**
   * `CALL_FIELDS` of every call, flat; or how to read them on first need, a block at a time (the index reads
   * them lazily, and checks them with `checkCalls`).
   */
  calls: Float64Array | IndexedCalls;
}

/**
 * `calls` as read from an index whose snapshot has `names` names; throws unless they are whole rows naming
 * known models, so a damaged index is rebuilt rather than believed.
 */
export function checkCalls(calls: Float64Array, names: number): Float64Array {
  if (calls.length % CALL_STRIDE !== 0) throw new Error('index: bad calls');
  for (let i = MODEL; i < calls.length; i += CALL_STRIDE) {
    const id = calls[i];
    if (!Number.isInteger(id) || id < 0 || id >= names) throw new Error('index: bad call model');
  }
  return calls;
}

/**
 * An index's calls, left in the file until needed, in blocks of consecutive calls (oldest first): a window of
 * the last day reads the last block or two, not the history. A damaged block reads as empty (the index then
 * rebuilds itself, and this aggregator is replaced).
 */
export interface IndexedCalls {
  blocks: number;
  block(b: number): Float64Array;
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0];
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Adds call `i` of `rows` (`CALL_FIELDS`, flat) to sums in `SUMS` order. */
/** A call row added to its UTC day's sums for its model. */
function addToDay(days: Map<number, Map<number, Float64Array>>, row: number[]): void {
  const day = Math.floor(row[TS] / DAY_MS);
  let models = days.get(day);
  if (!models) days.set(day, (models = new Map<number, Float64Array>()));
  let daySums = models.get(row[MODEL]);
  if (!daySums) models.set(row[MODEL], (daySums = new Float64Array(SUMS)));
  addCall(daySums, row, 0);
}

/** Day sums as the snapshot keeps them: `[day, model id, …sums]` each. */
function flatDays(days: Map<number, Map<number, Float64Array>>): number[] {
  return [...days].flatMap(([day, byModel]) => [...byModel].flatMap(([model, daySums]) => [day, model, ...daySums]));
}

function addCall(sums: Float64Array, rows: ArrayLike<number>, i: number): void {
  sums[S_CALLS]++;
  if (rows[i + OK] === 0) sums[S_ERRORS]++;
  sums[S_LATENCY] += rows[i + LATENCY];
  sums[S_INPUT] += rows[i + INPUT];
  sums[S_CACHED] += rows[i + CACHED];
  sums[S_CACHE_WRITE] += rows[i + CACHE_WRITE];
  sums[S_OUTPUT] += rows[i + OUTPUT];
  if (!Number.isNaN(rows[i + COST])) {
    sums[S_COST] += rows[i + COST];
    sums[S_PRICED]++;
  }
  // Generation speed sums as tokens and time, so any window's tokens/s is weighted by what each call generated.
  const perSec = rows[i + TOKENS_PER_SEC];
  if (perSec > 0 && rows[i + OUTPUT] > 0) {
    sums[S_TIMED_OUTPUT] += rows[i + OUTPUT];
    sums[S_GENERATION_MS] += (rows[i + OUTPUT] / perSec) * 1000;
  }
  if (!Number.isNaN(rows[i + LOAD])) {
    sums[S_LOADS]++;
    sums[S_LOAD_MS] += rows[i + LOAD];
  }
}

function tally(counts: Map<number, number>, bucket: number): void {
  counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
}

/** A sparse sketch, `[bucket, count, …]`, ascending. */
function flatSketch(counts: Map<number, number>): number[] {
  const out: number[] = [];
  for (const bucket of [...counts.keys()].sort((a, b) => a - b)) out.push(bucket, counts.get(bucket)!);
  return out;
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
