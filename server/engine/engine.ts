/**
 * The engine behind every front end, as a facade: the LSP host, the CLI, the live API and MCP drive this class, and
 * each of its jobs lives in a module of its own:
 * - `request.ts`: what a request may ask and its validation (pure), the refusals (`EngineError`);
 * - `planner.ts`: a request planned against the settings, the workspace and the daily cap;
 * - `runner.ts`: starting, cancelling and auto-fixing runs, one per file;
 * - `runActions.ts`: what a run leaves behind (changes, undo, restore, resume, tests first, interrupted runs);
 * - `queries.ts`: stats, runs, rollups and spend from the stats index;
 * - `../eval/`: evals (`engine.evals`), the same loop over mined tasks, each cell in an isolated copy.
 */
import { DailyCap } from '../alerts/dailyCap';
import { Env, resolveDailyBudget } from '../foundation/config';
import { secretsIn } from '../foundation/secrets';
import type { EventLog } from '../events/log';
import { LogIndex } from '../events/logIndex';
import type { RollupQuery } from '../events/stats';
import type { AgentEvent, RunOutcome, RunSummary, Stats } from '../protocol/events';
import type {
  InterruptedRunsParams,
  RestoreResult,
  ResumeRunParams,
  RollupsResult,
  RunChanges,
  RunsResult,
  SpendResult,
  WriteTestsParams,
  WriteTestsResult,
} from '../protocol/methods';
import type { Provider } from '../providers';
import { Planner } from './planner';
import { Queries } from './queries';
import { checked, EngineOptions, RunRequest } from './request';
import { RunActions } from './runActions';
import { AutoFixResult, Runner } from './runner';
import { providerUsage, type UsageRequest } from './usageQuery';
import type { ProviderUsageResult } from '../protocol/providerUsage';
import { EvalService } from '../eval/evalRunner';

export { EngineError, REQUEST_LIMITS } from './request';
export type { EngineErrorCode, EngineOptions, RunRequest } from './request';
export type { AutoFixResult } from './runner';

/**
 * The engine behind every front end: validates and starts runs (one per file), cancels them, and keeps the
 * stats and run list folded from the log. The LSP host, the CLI and the HTTP API are thin layers over it.
 */
export class Engine {
  private env: Env;
  /** `devAi.dailyBudgetUsd` against today's spend by every process writing the log. */
  private readonly dailyCap: DailyCap;
  private readonly planner: Planner;
  private readonly runner: Runner;
  private queries!: Queries;
  private actions!: RunActions;
  /** `micro-agent eval`: tasks × models, each cell in an isolated copy (`server/eval/`). */
  readonly evals: EvalService;

  private constructor(private readonly options: EngineOptions) {
    this.env = options.env;
    options.log.setSecrets(secretsIn(this.env));
    this.dailyCap = new DailyCap(options.log, () => checked(() => resolveDailyBudget(this.options.settings?.() ?? {}, this.env)));
    this.planner = new Planner(options, () => this.env, this.dailyCap);
    this.runner = new Runner(options, this.planner);
    this.evals = new EvalService(options, () => this.env, this.dailyCap, this.planner);
  }

  /**
   * Opens the engine over a log: its stats come from the index and the log's tail, and runs a dead process
   * left open are closed. A log too long to fold at once is folded in the background (answers are `partial`
   * until then) and its open runs are closed when it is done.
   */
  static async create(options: EngineOptions): Promise<Engine> {
    const engine = new Engine(options);
    const warn = (message: string) => void options.log.append({ type: 'log', level: 'warn', message });
    const history = LogIndex.open(options.log.file, { warn });
    engine.queries = new Queries(history, options.log, engine.dailyCap);
    engine.actions = new RunActions(options, engine.planner, engine.runner, engine.queries);
    options.log.onEvent(() => history.catchUp());
    if (history.complete) engine.actions.closeInterrupted();
    else
      void history
        .whenComplete()
        .then(() => engine.actions.closeInterrupted())
        // The log was closed before the fold ended (a short CLI run): the next engine to open it closes them.
        .catch(() => undefined);
    return engine;
  }

  get log(): EventLog {
    return this.options.log;
  }

  get root(): string {
    return this.options.root;
  }

  setEnv(env: Env): void {
    this.env = env;
    this.options.log.setSecrets(secretsIn(env));
  }

  stats(): Stats {
    return this.queries.stats();
  }

  /** A page of runs, newest first, older than `before` (a run id from `nextBefore`, or a time in ms). */
  runs(limit: number, before?: string | number): RunsResult {
    return this.queries.runs(limit, before);
  }

  run(runId: string): RunSummary | undefined {
    return this.queries.run(runId);
  }

  spendSince(sinceTs: number): SpendResult {
    return this.queries.spendSince(sinceTs);
  }

  /** Refuses a model call outside a run (a review) once today's spend reached `devAi.dailyBudgetUsd`. */
  checkDailyBudget(): void {
    this.planner.checkDailyBudget();
  }

  /** Calls and runs since `sinceTs` summed per bucket and model (`microAgent/rollups`), with the seq they cover. */
  rollups(query: RollupQuery): RollupsResult {
    return this.queries.rollups(query);
  }

  /**
   * The vendors' org usage and cost reconciled with the log (`usageQuery.ts`). `maxAgeMs`: a vendor fetched this
   * recently is answered from the cache (the CLI passes 0: always fetch).
   */
  providerUsage(request: UsageRequest, options: { maxAgeMs: number; signal?: AbortSignal }): Promise<ProviderUsageResult> {
    return providerUsage(
      {
        root: this.options.root,
        env: () => this.env,
        settings: () => this.options.settings?.() ?? {},
        callsByDay: (sinceTs) => this.queries.paidCallsByDay(sinceTs),
        warn: (message) => void this.options.log.append({ type: 'log', level: 'warn', message }),
      },
      request,
      options,
    );
  }

  /** Every event of one run, oldest first (see `Queries.runEvents`). */
  runEvents(runId: string): AgentEvent[] {
    return this.queries.runEvents(runId);
  }

  isRunning(runId: string): boolean {
    return this.runner.isRunning(runId);
  }

  /** Runs an earlier process left open (killed, crashed), closed as interrupted when this engine opened. */
  get interrupted(): InterruptedRunsParams['runs'] {
    return this.actions.interrupted;
  }

  /** What a run changed (default: the latest run), each file's diff from its original, and its checkpoints. */
  runChanges(runId?: string): RunChanges {
    return this.actions.runChanges(runId);
  }

  /** Puts back the originals of every file a run changed (default: the latest run's). */
  undo(runId: string | undefined, force = false): RestoreResult {
    return this.actions.undo(runId, force);
  }

  /** Puts every file a run wrote back as attempt `iteration` left it (0: the originals); see `RunActions.restore`. */
  restore(runId: string, iteration: number, force = false): RestoreResult {
    return this.actions.restore(runId, iteration, force);
  }

  /** Goes on with a run that ended failed, cancelled or interrupted, as a new run (see `RunActions.resume`). */
  resume(params: ResumeRunParams): Promise<{ runId: string; done: Promise<RunOutcome> }> {
    return this.actions.resume(params);
  }

  /** Tests first: the model's test file for `file`, or a revision of a draft; nothing is written. */
  writeTests(params: WriteTestsParams & { file: string }, signal?: AbortSignal): Promise<WriteTestsResult> {
    return this.actions.writeTests(params, signal);
  }

  /** Validates everything before anything starts; rejects with an EngineError with a message for the user. */
  start(request: RunRequest): Promise<{ runId: string; done: Promise<RunOutcome> }> {
    return this.runner.start(request);
  }

  /** After a save with `devAi.autoFix` on: the tests as iteration 0, then a run when they fail (see `Runner.autoFix`). */
  autoFix(file: string): Promise<AutoFixResult> {
    return this.runner.autoFix(file);
  }

  /** False when the run is unknown or already over. */
  cancel(runId: string): boolean {
    return this.runner.cancel(runId);
  }

  /** Cancels every run and waits until each has killed its tests and put its file back. */
  async dispose(): Promise<void> {
    await Promise.all([this.runner.cancelAll(), this.evals.cancelAll()]);
    this.queries.history.persist();
  }

  /** The configured provider and model, for model calls outside a run (reviews). */
  modelClient(): { provider: Provider; model: string } {
    return this.planner.modelClient();
  }
}
