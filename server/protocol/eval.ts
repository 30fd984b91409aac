/**
 * `micro-agent eval`: the same tasks, mined from the user's own repository, given to every model. The report
 * (`micro-agent eval --json`, `microAgent/eval`), its cells, and what `microAgent/startEval` takes. Types and
 * plain values only; the numbers are computed once, in `leaderboard.ts`.
 */

/**
 * How one task × model cell ended:
 * - `passed`: the loop's verdict (tests pass, integrity kept), within `--max-runs` and `--task-budget`;
 * - `failed`: the loop stopped without a pass (max runs, budget, stuck);
 * - `error`: the provider failed for good, or the loop could not run the task;
 * - `refused`: never started, or stopped before its next call, because the total `--budget` or the daily cap was
 *   spent (or the key is missing): a refusal is an outcome, not a crash;
 * - `cancelled`: Ctrl-C (or `cancelEval`) stopped it; `--resume` runs it again.
 */
export const EVAL_CELL_OUTCOMES = ['passed', 'failed', 'error', 'refused', 'cancelled'] as const;
export type EvalCellOutcome = (typeof EVAL_CELL_OUTCOMES)[number];

/** Where a task came from. */
export type EvalTaskSource = 'git' | 'mutant' | 'file';

/**
 * One task × model result: the `cells` of the report, the `eval.cell` event, and what `micro-agent eval --cell`
 * prints. `task` and `model` identify it; `model` is `provider:model`.
 */
export interface EvalCell {
  task: string;
  model: string;
  outcome: EvalCellOutcome;
  /** Model attempts the loop made (0 when refused before any). */
  iterations: number;
  /** Null when the model is unpriced (never a made-up 0), or nothing was called and nothing is known. */
  costUsd: number | null;
  wallMs: number;
  /** The loop's run, whose events carry this eval's id; null for a cell refused before it started. */
  runId: string | null;
  /** Why: the loop's stop reason (`tests_passed`, `max_runs`, `budget_usd`, …) or the refusal's (`budget_eval`, `budget_daily`, `configuration`). */
  reason: string;
  /** Replies whose edits were judged, and of those the ones whose edits applied (the well-formed rate's counts). */
  editReplies: number;
  wellFormed: number;
  inputTokens: number;
  outputTokens: number;
  /** Lines added plus removed by the cell's final change (passed cells; 0 otherwise). */
  diffLines: number;
  /** Lines added plus removed by the reference fix (the real commit, or the mutation undone); null for hand-picked tasks. */
  referenceDiffLines: number | null;
}

/** One model's row of the leaderboard. Counts are counts; rates are 0..1. */
export interface EvalModelRow {
  /** `provider:model`. */
  model: string;
  tasks: number;
  passed: number;
  /** The share of tasks passed at the first attempt. */
  passAt1: number;
  /** The share passed within two attempts (Aider's second try). */
  passAt2: number;
  /** The share of tasks passed within the budgets: the headline. */
  passRate: number;
  /** The 95% Wilson interval on `passRate` (z = 1.96, no continuity correction). */
  passRateLow: number;
  passRateHigh: number;
  /** Of the replies whose edits were judged, the share that applied; null when no reply was judged. */
  wellFormedRate: number | null;
  /** Mean iterations of the passing cells; null when none passed. */
  meanIterations: number | null;
  /** Sum over the priced cells; null when no cell is priced. */
  costUsd: number | null;
  /** `costUsd / tasks`; null when nothing is priced. */
  costPerTaskUsd: number | null;
  /** `costUsd / passed`; null when nothing is priced or nothing passed. */
  costPerPassUsd: number | null;
  /** Mean wall time of the model's cells. */
  meanWallMs: number;
  inputTokens: number;
  outputTokens: number;
}

/** A task as the report lists it (what `--plan` writes holds the whole spec: `EvalTaskSpec`). */
export interface EvalTaskSummary {
  id: string;
  source: EvalTaskSource;
  /** The file(s) the fix goes in, workspace-relative. */
  files: string[];
  /** The commit a git task is mined from; a mutant's description; the line of a --tasks file. */
  origin: string;
  referenceDiffLines: number | null;
}

/** The report: `micro-agent eval --json`, `microAgent/eval`, `micro-agent eval merge`. */
export interface EvalReport {
  evalId: string;
  /** How many tasks. */
  tasks: number;
  /** In leaderboard order (`leaderboard.ts` `compareRows`). */
  models: EvalModelRow[];
  cells: EvalCell[];
  taskList: EvalTaskSummary[];
  /** True when every task × model cell has a result other than `cancelled`. */
  complete: boolean;
  startedAt: number;
  finishedAt: number | null;
  /** What task mining said (fewer mutants than asked, a commit whose tests fail at the commit, …). */
  notes: string[];
}

/** The eval's whole task spec: enough for `--cell` to rebuild the task anywhere the repository is. */
export interface EvalTaskSpec {
  id: string;
  source: EvalTaskSource;
  /** Workspace-relative files whose contents `files` replaces in a copy of `baseRev` (or of the working tree when null). */
  baseRev: string | null;
  /** The broken state: path → contents. The fix is to change these back so that the tests pass. */
  files: Record<string, string>;
  /** The file the loop targets (the first changed one). */
  target: string;
  testCommand: string;
  /** The commit message, a --tasks prompt; null: the tests are the only goal. */
  prompt: string | null;
  /** A shell command run in the copy before the loop (--tasks `setup`). */
  setup: string | null;
  origin: string;
  referenceDiffLines: number | null;
}

/** One job of `--plan`'s matrix: `micro-agent eval --cell '<json>'` runs it and prints an `EvalCellResult`. */
export interface EvalCellJob {
  evalId: string;
  task: EvalTaskSpec;
  model: string;
  maxRuns: number;
  taskBudgetUsd: number | null;
}

/** What `--cell` prints, and `merge` reads. */
export interface EvalCellResult {
  evalId: string;
  task: EvalTaskSummary;
  cell: EvalCell;
}

/** `micro-agent eval --plan`: the matrix a CI fans out over. */
export interface EvalPlan {
  evalId: string;
  include: EvalCellJob[];
  notes: string[];
}

/** `microAgent/startEval`: the CLI's options. At least one task source and one model. */
export interface StartEvalParams {
  /** `--from-git <rev-range>`, e.g. `HEAD~20..HEAD`. */
  fromGit?: string;
  /** `--mutants <n>` with `--seed`. */
  mutants?: number;
  seed?: number;
  /** `--tasks <file.jsonl>`, workspace path. */
  tasks?: string;
  /** `--models`, each `provider:model`. */
  models?: string[];
  /** The test command (default: the configured one). */
  testCommand?: string;
  maxRuns?: number;
  /** `--budget`: total USD for the whole eval. */
  budgetUsd?: number;
  /** `--task-budget`: USD per cell. */
  taskBudgetUsd?: number;
  concurrency?: number;
  /** `--resume <evalId>`: run the missing cells of an earlier eval (the other options then come from it). */
  resume?: string;
}
export interface StartEvalResult {
  evalId: string;
}

export interface EvalParams {
  evalId: string;
}
export interface CancelEvalParams {
  evalId: string;
}
export interface CancelEvalResult {
  /** False when the eval is unknown or not running in this process. */
  cancelled: boolean;
}

/** One eval in `microAgent/evals`, newest first. */
export interface EvalSummary {
  evalId: string;
  startedAt: number;
  finishedAt: number | null;
  status: 'running' | 'finished' | 'cancelled' | 'interrupted';
  tasks: number;
  models: string[];
  /** Cells with a result so far, of `tasks × models`. */
  cellsDone: number;
  cells: number;
}
export interface EvalsResult {
  evals: EvalSummary[];
}

/** An eval id's shape: the same as a run id's. */
export const EVAL_ID_PATTERN = /^[\w-]{1,64}$/;
export function isEvalId(value: unknown): value is string {
  return typeof value === 'string' && EVAL_ID_PATTERN.test(value);
}
