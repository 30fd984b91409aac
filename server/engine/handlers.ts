/**
 * The one handler table: each engine method's params validation and engine call. The LSP host registers
 * from it, the live API's WebSocket dispatches through it and its REST routes map onto it, so a method added
 * here is served on every transport with the same checks and the same error codes (`replyError`).
 */
import { fileURLToPath } from 'node:url';
import { Engine, EngineError, EngineErrorCode, RunRequest } from './engine';
import type { Scope } from '../protocol/api';
import type { StartEvalParams } from '../protocol/eval';
import {
  ErrorCodes,
  isRunId,
  Methods,
  MethodTypes,
  RestoreAttemptParams,
  ResumeRunParams,
  RUNS_PAGE,
  RunChangesParams,
  StartRunParams,
  UndoRunParams,
  WriteTestsParams,
} from '../protocol/methods';
import { PathError } from '../foundation/workspace';
import { HOST_MAX_AGE_MS, usageRequest } from './usageQuery';

interface Handler<M extends keyof MethodTypes> {
  /** Starts or cancels something: refused to a read-only caller. */
  writes: boolean;
  /**
   * Params arrive as JSON from another process: `handle` checks them (or the engine does) before use. `signal`
   * aborts when the caller cancels the request (LSP `$/cancelRequest`), for methods that wait on a model.
   */
  handle(engine: Engine, params: unknown, signal?: AbortSignal): MethodTypes[M]['result'] | Promise<MethodTypes[M]['result']>;
}

/** The methods every transport serves. (`review` and `apiStatus` are the editor host's own: see `lsp/host.ts`.) */
export type EngineMethod =
  | typeof Methods.startRun
  | typeof Methods.cancelRun
  | typeof Methods.runs
  | typeof Methods.stats
  | typeof Methods.events
  | typeof Methods.spend
  | typeof Methods.runChanges
  | typeof Methods.undoRun
  | typeof Methods.restoreAttempt
  | typeof Methods.resumeRun
  | typeof Methods.writeTests
  | typeof Methods.rollups
  | typeof Methods.providerUsage
  | typeof Methods.evals
  | typeof Methods.eval
  | typeof Methods.startEval
  | typeof Methods.cancelEval;

const MAX_EVENTS_PAGE = 5000;

export const HANDLERS: { [M in EngineMethod]: Handler<M> } = {
  [Methods.startRun]: { writes: true, handle: async (engine, params) => ({ runId: (await engine.start(runRequest(params))).runId }) },
  [Methods.cancelRun]: {
    writes: true,
    handle: (engine, params) => {
      const runId = field(params, 'runId');
      return { cancelled: typeof runId === 'string' && engine.cancel(runId) };
    },
  },
  [Methods.runs]: {
    writes: false,
    handle: (engine, params) => {
      const limit = wholeOr(field(params, 'limit'), RUNS_PAGE.DEFAULT, 1, RUNS_PAGE.MAX);
      const before = field(params, 'before');
      if (before !== undefined && before !== null && typeof before !== 'string' && !(typeof before === 'number' && Number.isFinite(before)))
        throw new EngineError('invalid_params', 'before must be a run id (the nextBefore of the previous page) or a time in ms');
      return engine.runs(limit, before ?? undefined);
    },
  },
  [Methods.stats]: { writes: false, handle: (engine) => engine.stats() },
  [Methods.events]: {
    writes: false,
    handle: (engine, params) => {
      const runId = field(params, 'runId');
      if (runId !== undefined) {
        if (!isRunId(runId)) throw new EngineError('invalid_params', 'runId must be a run id');
        return { events: engine.runEvents(runId), lastSeq: engine.log.lastSeq };
      }
      const afterSeq = wholeOr(field(params, 'afterSeq'), 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = wholeOr(field(params, 'limit'), MAX_EVENTS_PAGE, 1, MAX_EVENTS_PAGE);
      return { events: engine.log.read(afterSeq, limit), lastSeq: engine.log.lastSeq };
    },
  },
  [Methods.spend]: {
    writes: false,
    handle: (engine, params) => {
      const sinceTs = field(params, 'sinceTs');
      return engine.spendSince(typeof sinceTs === 'number' && Number.isFinite(sinceTs) ? sinceTs : 0);
    },
  },
  [Methods.runChanges]: {
    writes: false,
    handle: (engine, params) => {
      if (params !== undefined && params !== null) onlyFields(params, RUN_CHANGES_FIELDS);
      return engine.runChanges(field(params, 'runId') === undefined ? undefined : runIdOf(params));
    },
  },
  [Methods.undoRun]: {
    writes: true,
    handle: (engine, params) => engine.undo(runIdOf(onlyFields(params, UNDO_FIELDS)), field(params, 'force') === true),
  },
  [Methods.restoreAttempt]: {
    writes: true,
    handle: (engine, params) => {
      onlyFields(params, RESTORE_FIELDS);
      const iteration = field(params, 'iteration');
      if (typeof iteration !== 'number') throw new EngineError('invalid_params', 'iteration is required: the checkpoint to put back (0: the originals)');
      return engine.restore(runIdOf(params), iteration, field(params, 'force') === true);
    },
  },
  [Methods.resumeRun]: {
    writes: true,
    handle: async (engine, params) => ({ runId: (await engine.resume({ ...onlyFields(params, RESUME_FIELDS), runId: runIdOf(params) })).runId }),
  },
  [Methods.writeTests]: {
    writes: true,
    handle: (engine, params, signal) => {
      const { uri, file, ...rest } = onlyFields(params, WRITE_TESTS_FIELDS) as unknown as WriteTestsParams;
      if ((uri === undefined) === (file === undefined)) throw new EngineError('invalid_params', 'give the file the tests are for as uri or as file');
      return engine.writeTests({ ...rest, file: uri === undefined ? String(file) : filePath(uri) }, signal);
    },
  },
  [Methods.rollups]: {
    writes: false,
    handle: (engine, params) => {
      const sinceTs = field(params, 'sinceTs') ?? 0;
      const untilTs = field(params, 'untilTs') ?? Infinity;
      const bucketMs = field(params, 'bucketMs') ?? null;
      const sketches = field(params, 'sketches') ?? true;
      if (typeof sinceTs !== 'number' || !Number.isFinite(sinceTs)) throw new EngineError('invalid_params', 'sinceTs must be a time in ms');
      if (typeof untilTs !== 'number' || Number.isNaN(untilTs)) throw new EngineError('invalid_params', 'untilTs must be a time in ms');
      if (bucketMs !== null && !(typeof bucketMs === 'number' && Number.isSafeInteger(bucketMs) && bucketMs >= 60_000))
        throw new EngineError('invalid_params', 'bucketMs must be a whole number of ms, at least 60000');
      if (typeof sketches !== 'boolean') throw new EngineError('invalid_params', 'sketches must be true or false');
      return engine.rollups({ sinceTs, untilTs, bucketMs, sketches });
    },
  },

  [Methods.providerUsage]: {
    // It fetches the vendors' reports into the local cache, and changes nothing a user made.
    writes: false,
    handle: (engine, params, signal) => engine.providerUsage(usageRequest(params), { maxAgeMs: HOST_MAX_AGE_MS, signal }),
  },
  [Methods.evals]: { writes: false, handle: async (engine) => ({ evals: await engine.evals.list() }) },
  [Methods.eval]: { writes: false, handle: (engine, params) => engine.evals.report(field(params, 'evalId')) },
  [Methods.startEval]: {
    writes: true,
    handle: (engine, params) => ({ evalId: engine.evals.start(onlyFields(params, START_EVAL_FIELDS)).evalId }),
  },
  [Methods.cancelEval]: {
    writes: true,
    handle: (engine, params) => {
      const evalId = field(params, 'evalId');
      return { cancelled: typeof evalId === 'string' && engine.evals.cancel(evalId) };
    },
  },
};

export function isEngineMethod(method: string): method is EngineMethod {
  return Object.hasOwn(HANDLERS, method);
}

/** Calls a method as `scope` may; rejects with EngineError (or the engine's own errors) for `replyError` to map. */
export async function dispatch<M extends EngineMethod>(engine: Engine, method: M, params: unknown, scope: Scope): Promise<MethodTypes[M]['result']> {
  const handler = HANDLERS[method] as Handler<M>;
  if (handler.writes && scope !== 'full')
    throw new EngineError('forbidden', 'this token is read-only; starting, cancelling and undoing runs needs the full token');
  return handler.handle(engine, params);
}

/** Each refusal's JSON-RPC code and HTTP status: the one mapping every transport answers with. */
const REFUSALS: Record<EngineErrorCode, { code: number; status: number }> = {
  invalid_params: { code: ErrorCodes.InvalidParams, status: 400 },
  run_in_progress: { code: ErrorCodes.RunInProgress, status: 409 },
  configuration: { code: ErrorCodes.Configuration, status: 422 },
  untrusted: { code: ErrorCodes.Untrusted, status: 403 },
  forbidden: { code: ErrorCodes.Forbidden, status: 403 },
  changed_since: { code: ErrorCodes.ChangedSince, status: 409 },
  not_found: { code: ErrorCodes.NotFound, status: 404 },
  // 429 as the vendors answer a spent quota: the request may succeed later (after midnight), not as it is.
  budget_daily: { code: ErrorCodes.DailyBudget, status: 429 },
  // 422: the request is fine; what micro-agent read back from .micro-agent/ for it is not (see readRecord).
  invalid_record: { code: ErrorCodes.InvalidRecord, status: 422 },
};

const INTERNAL_ERROR = -32603;

/**
 * An error as a reply: a refusal keeps its code (with `data.files` for files changed since a run), anything
 * else is an internal error (status 500).
 */
export function replyError(err: unknown): { code: number; status: number; message: string; data?: { files: string[] } } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineError) return { ...REFUSALS[err.code], message, ...(err.files ? { data: { files: err.files } } : {}) };
  if (err instanceof PathError) return { ...REFUSALS.invalid_params, message };
  return { code: INTERNAL_ERROR, status: 500, message };
}

/**
 * The fields each method takes: anything else is refused rather than ignored, on every transport, so a typo
 * (`forse: true`) never silently runs with defaults.
 */
const START_RUN_FIELDS: ReadonlySet<string> = new Set<keyof StartRunParams | 'file'>([
  'uri',
  'file',
  'testCommand',
  'prompt',
  'maxRuns',
  'provider',
  'model',
  'keep',
  'testFiles',
  'contextFiles',
  'contextBudget',
  'commit',
  'generatedTests',
]);

const START_EVAL_FIELDS: ReadonlySet<string> = new Set<keyof StartEvalParams>([
  'fromGit',
  'mutants',
  'seed',
  'tasks',
  'models',
  'testCommand',
  'maxRuns',
  'budgetUsd',
  'taskBudgetUsd',
  'concurrency',
  'resume',
]);
const RUN_CHANGES_FIELDS: ReadonlySet<string> = new Set<keyof RunChangesParams>(['runId']);
const UNDO_FIELDS: ReadonlySet<string> = new Set<keyof UndoRunParams>(['runId', 'force']);
const RESTORE_FIELDS: ReadonlySet<string> = new Set<keyof RestoreAttemptParams>(['runId', 'iteration', 'force']);
const RESUME_FIELDS: ReadonlySet<string> = new Set<keyof ResumeRunParams>(['runId', 'maxRuns', 'provider', 'model', 'budgetUsd', 'force']);
const WRITE_TESTS_FIELDS: ReadonlySet<string> = new Set<keyof WriteTestsParams>([
  'uri',
  'file',
  'testFile',
  'prompt',
  'testCommand',
  'draft',
  'feedback',
  'provider',
  'model',
]);

/** `params` as an object holding only `allowed` fields; refused (invalid_params, naming them) otherwise. */
function onlyFields(params: unknown, allowed: ReadonlySet<string>): Record<string, unknown> {
  const object = objectOf(params);
  const unknown = Object.keys(object).filter((key) => !allowed.has(key));
  if (unknown.length)
    throw new EngineError('invalid_params', `unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (allowed: ${[...allowed].join(', ')})`);
  return object;
}

/**
 * `startRun` params: the target as a `file:` URI (editors) or a workspace path (`file`, scripts). Types and
 * bounds are the engine's to check.
 */
function runRequest(params: unknown): RunRequest {
  const { uri, ...rest } = onlyFields(params, START_RUN_FIELDS);
  if (uri === undefined) return rest as unknown as RunRequest;
  if (rest.file !== undefined) throw new EngineError('invalid_params', 'give the target as uri or as file, not both');
  return { ...rest, file: filePath(uri) };
}

/** A local `file:` URI's path; anything else (another scheme, a remote host, not a string) is bad params. */
function filePath(uri: unknown): string {
  if (typeof uri !== 'string' || !uri.startsWith('file:')) throw new EngineError('invalid_params', 'uri must be a file: URI');
  try {
    return fileURLToPath(uri);
  } catch (err) {
    throw new EngineError('invalid_params', `uri ${JSON.stringify(uri.slice(0, 200))} is not a local file: ${(err as Error).message}`);
  }
}

function objectOf(params: unknown): Record<string, unknown> {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new EngineError('invalid_params', 'the params must be a JSON object');
  return params as Record<string, unknown>;
}

function runIdOf(params: unknown): string {
  const runId = field(params, 'runId');
  if (typeof runId !== 'string') throw new EngineError('invalid_params', 'runId is required');
  return runId;
}

function field(params: unknown, name: string): unknown {
  return typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[name] : undefined;
}

function wholeOr(value: unknown, fallback: number, min: number, max: number): number {
  return typeof value === 'number' && Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}
