/**
 * Answering from the stats index (`events/logIndex.ts` over `events/stats.ts`): stats, the run list, one run and
 * its events, spend and rollups. Each answer catches the index up with the log first and says `partial` while a
 * long log is still being folded.
 */
import type { DailyCap } from '../alerts/dailyCap';
import type { EventLog } from '../events/log';
import type { LogIndex } from '../events/logIndex';
import type { RollupQuery } from '../events/stats';
import type { AgentEvent, RunSummary, Stats } from '../protocol/events';
import { RUNS_PAGE, type CallRollup, type RollupsResult, type RunsResult, type SpendResult } from '../protocol/methods';
import { EngineError } from './request';

export class Queries {
  constructor(
    /** The stats and run list, from the index beside the log plus what the log gained since. */
    readonly history: LogIndex,
    private readonly log: EventLog,
    private readonly dailyCap: DailyCap,
  ) {}

  stats(): Stats {
    this.history.catchUp();
    const stats = this.history.aggregator.stats();
    return this.history.complete ? stats : { ...stats, partial: true };
  }

  /** A page of runs, newest first, older than `before` (a run id from `nextBefore`, or a time in ms). */
  runs(limit: number, before?: string | number): RunsResult {
    this.history.catchUp();
    const page = this.history.aggregator.runPage(limit, before);
    if (!page) throw new EngineError('invalid_params', `before: no run ${String(before)} (pass the nextBefore of the previous page)`);
    return this.history.complete ? page : { ...page, partial: true };
  }

  run(runId: string): RunSummary | undefined {
    this.history.catchUp();
    return this.history.aggregator.runById(runId);
  }

  spendSince(sinceTs: number): SpendResult {
    this.history.catchUp();
    return { ...this.history.aggregator.spendSince(sinceTs), daily: this.dailyCap.status() };
  }

  /** Calls and runs since `sinceTs` summed per bucket and model (`microAgent/rollups`), with the seq they cover. */
  rollups(query: RollupQuery): RollupsResult {
    this.history.catchUp();
    const { sinceTs, untilTs, bucketMs } = query;
    const rollups = this.history.aggregator.rollups(query);
    const result = { sinceTs, ...(untilTs === Infinity ? {} : { untilTs }), bucketMs, lastSeq: this.history.foldedSeq, ...rollups };
    return this.history.complete ? result : { ...result, partial: true };
  }

  /**
   * Every event of one run, oldest first: read from its `run.started` up to its `run.finished` (or the log's
   * end), a page at a time, never more than `RUN_EVENTS_SCAN` events of the log however much ran beside it.
   */
  runEvents(runId: string): AgentEvent[] {
    this.history.catchUp();
    const startSeq = this.history.aggregator.runStartSeq(runId);
    if (startSeq === undefined) throw new EngineError('invalid_params', `runId: no run ${runId}`);
    const out: AgentEvent[] = [];
    for (let after = startSeq - 1, scanned = 0; scanned < RUN_EVENTS_SCAN;) {
      const page = this.log.read(after, 5000);
      if (page.length === 0) break;
      scanned += page.length;
      after = page[page.length - 1].seq;
      for (const event of page) {
        if (event.runId !== runId) continue;
        out.push(event);
        if (event.type === 'run.finished') return out;
      }
    }
    return out;
  }

  /** Every call by UTC day and model since a midnight, an eval's calls too (what the vendors bill). */
  paidCallsByDay(sinceTs: number): CallRollup[] {
    this.history.catchUp();
    return this.history.aggregator.paidCallsByDay(sinceTs);
  }

  /**
   * The latest everyday run in the log (the one `diff` and `undo` mean without a run id). An eval's runs happened in
   * copies that are gone, so they are skipped, page by page.
   */
  latestRun(): string {
    let before: string | undefined;
    for (;;) {
      const page = this.runs(RUNS_PAGE.MAX, before);
      const latest = page.runs.find((run) => run.evalId === undefined);
      if (latest) return latest.runId;
      if (page.nextBefore === null) throw new EngineError('not_found', 'no runs yet in this workspace');
      before = page.nextBefore;
    }
  }
}

/** The most log events `runEvents` reads for one run (a run's own are a few dozen; the rest ran beside it). */
const RUN_EVENTS_SCAN = 100_000;
