/**
 * The validator of a log line. The log is read back by the stats, the daily cap, resume and every reader, and
 * anyone can append to it: code under test runs with the user's rights, and a cloned repository can ship one.
 * So an event is used only once it has the shape its type promises: the envelope (seq, ts, type, a run id in
 * its shape) and the fields the readers act on. A value that cannot be a cost, a count or a duration (a string,
 * a negative, NaN) is never added: where the type allows "unknown" it becomes null, else the event's other
 * numbers stand and it becomes 0; either way the reader's `Tally` counts it. An event whose identity is broken
 * (no run id where one belongs, no outcome) is no event at all.
 */
import type { AgentEvent } from '../protocol/events';
import { EVAL_CELL_OUTCOMES, isEvalId } from '../protocol/eval';
import { isRunId } from '../protocol/methods';

/** How many values a reader ignored (see above): kept by whoever reads, shown where its numbers are. */
export interface Tally {
  ignored: number;
}

type Fields = Record<string, unknown>;

const OUTCOMES = new Set(['passed', 'failed', 'cancelled', 'error']);
const CELL_OUTCOMES: ReadonlySet<unknown> = new Set(EVAL_CELL_OUTCOMES);
/** A cell's counts: the leaderboard sums them. */
const CELL_COUNTS = ['editReplies', 'wellFormed', 'inputTokens', 'outputTokens', 'diffLines'] as const;
/** A call's numbers that may be unknown (null). */
const CALL_NUMBERS = [
  'ttftMs',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteInputTokens',
  'costUsd',
  'outputTokensPerSec',
  'loadMs',
] as const;
/** The fields of a call's `rateLimit`, each a count or null. */
const RATE_LIMIT_FIELDS = ['requestsLimit', 'requestsRemaining', 'tokensLimit', 'tokensRemaining', 'resetAt'] as const;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isWhole = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isStrings = (value: unknown): boolean => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The event, checked (and its unusable numbers neutralized, counted in `tally`), or undefined when it is none. */
export function checkEvent(value: unknown, tally?: Tally): AgentEvent | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const event = value as Fields;
  if (!isWhole(event.seq) || !isCount(event.ts) || typeof event.type !== 'string') return undefined;
  // A refused eval cell never had a run: its runId is null.
  if (event.runId !== undefined && !isRunId(event.runId) && !(event.type === 'eval.cell' && event.runId === null)) return undefined;
  if (event.evalId !== undefined && !isEvalId(event.evalId)) return undefined;
  switch (event.type) {
    case 'eval.started':
      if (event.evalId === undefined || !isStrings(event.models) || !isWhole(event.tasks) || !isWhole(event.cells)) return undefined;
      nullable(event, 'budgetUsd', tally);
      nullable(event, 'taskBudgetUsd', tally);
      break;
    case 'eval.cell':
      if (event.evalId === undefined || event.runId === undefined || typeof event.task !== 'string' || typeof event.model !== 'string') return undefined;
      if (!CELL_OUTCOMES.has(event.outcome)) return undefined;
      if (typeof event.reason !== 'string') event.reason = '';
      nullable(event, 'costUsd', tally);
      nullable(event, 'referenceDiffLines', tally);
      zeroed(event, 'iterations', tally, isWhole);
      zeroed(event, 'wallMs', tally);
      for (const key of CELL_COUNTS) zeroed(event, key, tally, isWhole);
      break;
    case 'eval.finished':
      if (event.evalId === undefined || (event.outcome !== 'finished' && event.outcome !== 'cancelled')) return undefined;
      zeroed(event, 'cells', tally, isWhole);
      zeroed(event, 'durationMs', tally);
      if (event.error !== undefined && typeof event.error !== 'string') delete event.error;
      break;
    case 'llm.response':
      if (typeof event.provider !== 'string' || typeof event.model !== 'string' || typeof event.ok !== 'boolean') return undefined;
      for (const key of CALL_NUMBERS) nullable(event, key, tally);
      rateLimit(event, tally);
      zeroed(event, 'latencyMs', tally);
      zeroed(event, 'retries', tally, isWhole);
      break;
    case 'run.started':
      if (event.runId === undefined || typeof event.file !== 'string' || typeof event.testCommand !== 'string') return undefined;
      if (typeof event.provider !== 'string' || typeof event.model !== 'string' || !isWhole(event.maxRuns) || !isWhole(event.pid)) return undefined;
      if (!(event.prompt === null || event.prompt === undefined || typeof event.prompt === 'string')) return undefined;
      if ((event.testFiles !== undefined && !isStrings(event.testFiles)) || (event.files !== undefined && !isStrings(event.files))) return undefined;
      if (event.resumedFrom !== undefined && !isRunId(event.resumedFrom)) return undefined;
      nullable(event, 'budgetUsd', tally);
      nullable(event, 'budgetMs', tally);
      break;
    case 'run.iteration':
      if (event.runId === undefined || !isWhole(event.iteration)) return undefined;
      break;
    case 'run.finished':
      if (event.runId === undefined || !OUTCOMES.has(event.outcome as string) || typeof event.reason !== 'string') return undefined;
      if (event.files !== undefined && !isStrings(event.files)) return undefined;
      zeroed(event, 'iterations', tally, isWhole);
      zeroed(event, 'costUsd', tally);
      zeroed(event, 'durationMs', tally);
      zeroed(event, 'unpricedCalls', tally, isWhole);
      break;
    case 'test.finished':
      if (event.runId === undefined || !isWhole(event.iteration) || typeof event.passed !== 'boolean') return undefined;
      if (event.report !== undefined && !isReport(event.report)) {
        delete event.report;
        ignore(tally);
      }
      break;
    case 'edit.rejected':
      if (event.runId === undefined || !isWhole(event.iteration) || typeof event.reason !== 'string' || typeof event.message !== 'string') return undefined;
      break;
    case 'alert':
      if (event.daily !== undefined && !isDaily(event.daily)) {
        delete event.daily;
        ignore(tally);
      }
      break;
  }
  return event as unknown as AgentEvent;
}

// Module functions rather than closures: this runs for every line a fold reads (millions at a first start).
function ignore(tally: Tally | undefined): void {
  if (tally) tally.ignored++;
}

/** A number that may be unknown: kept when it is a count, else null (and counted when it was something else). */
function nullable(event: Fields, key: string, tally: Tally | undefined): void {
  const value = event[key];
  if (value === undefined) event[key] = null;
  else if (value !== null && !isCount(value)) {
    event[key] = null;
    ignore(tally);
  }
}

/**
 * A call's rate-limit headroom: absent (a call logged before it was recorded) is null; a record whose fields are not
 * all counts or null is not believed whole (null, counted), since a headroom view would act on any of them.
 */
function rateLimit(event: Fields, tally: Tally | undefined): void {
  const value = event.rateLimit;
  if (value === undefined || value === null) {
    event.rateLimit = null;
    return;
  }
  const fields = typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
  if (!fields || !RATE_LIMIT_FIELDS.every((key) => fields[key] === null || isCount(fields[key]))) {
    event.rateLimit = null;
    ignore(tally);
    return;
  }
  // The key is only a label: one that is absent (logged before it was recorded) or not a label is unknown.
  if (!isKeyIdentity(fields.key)) fields.key = null;
}

function isKeyIdentity(value: unknown): boolean {
  const key = value as Fields | null;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.source === 'string' &&
    key.source.length <= 100 &&
    typeof key.fingerprint === 'string' &&
    /^[0-9a-f]{8}$/.test(key.fingerprint)
  );
}

/** A number that has to be there: kept when it passes `check` (a count by default), else 0 (counted). */
function zeroed(event: Fields, key: string, tally: Tally | undefined, check: (value: unknown) => boolean = isCount): void {
  if (!check(event[key])) {
    event[key] = 0;
    ignore(tally);
  }
}

/** The parts of a test report that resume's history reads (`failureSummary`). */
function isReport(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const report = value as Fields;
  const totals = report.totals as Fields | null;
  const totalsOk = totals === null || (typeof totals === 'object' && ['passed', 'failed', 'skipped', 'todo'].every((key) => isWhole(totals[key])));
  return (
    typeof report.runner === 'string' &&
    totalsOk &&
    Array.isArray(report.failures) &&
    report.failures.every((failure) => typeof failure === 'object' && failure !== null && typeof (failure as Fields).name === 'string')
  );
}

function isDaily(value: unknown): boolean {
  const daily = value as Fields | null;
  return typeof daily === 'object' && daily !== null && isCount(daily.spentUsd) && isCount(daily.capUsd) && isCount(daily.threshold);
}
