/**
 * The host's methods as typed vscode-jsonrpc messages (the vscode-eslint `customMessages.ts` style): what the
 * extension's client sends and the LSP connection registers. Names and shapes come from `methods.ts`.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { CancelEvalParams, CancelEvalResult, EvalParams, EvalReport, EvalsResult, StartEvalParams, StartEvalResult } from './eval';
import type { AgentEvent, Stats } from './events';
import {
  ApiStatus,
  CancelRunParams,
  CancelRunResult,
  EventsParams,
  EventsResult,
  InterruptedRunsParams,
  Methods,
  RestoreAttemptParams,
  RestoreResult,
  ResumeRunParams,
  ReviewParams,
  ReviewResult,
  RunChanges,
  RunChangesParams,
  RollupsParams,
  RollupsResult,
  RunsParams,
  RunsResult,
  SpendParams,
  SpendResult,
  StartRunParams,
  StartRunResult,
  UndoRunParams,
  WriteTestsParams,
  WriteTestsResult,
} from './methods';
import type { ProviderUsageParams, ProviderUsageResult } from './providerUsage';

export namespace StartRunRequest {
  export const method = Methods.startRun;
  export const type = new RequestType<StartRunParams, StartRunResult, void>(method);
}

export namespace CancelRunRequest {
  export const method = Methods.cancelRun;
  export const type = new RequestType<CancelRunParams, CancelRunResult, void>(method);
}

export namespace RunsRequest {
  export const method = Methods.runs;
  /** Without params: the newest page (100 runs). */
  export const type = new RequestType0<RunsResult, void>(method);
  /** With `{ limit, before }`: any page. */
  export const paged = new RequestType<RunsParams, RunsResult, void>(method);
}

export namespace StatsRequest {
  export const method = Methods.stats;
  export const type = new RequestType0<Stats, void>(method);
}

export namespace EventsRequest {
  export const method = Methods.events;
  export const type = new RequestType<EventsParams, EventsResult, void>(method);
}

/** What the model calls cost since a moment: the status bar's "today". */
export namespace SpendRequest {
  export const method = Methods.spend;
  export const type = new RequestType<SpendParams, SpendResult, void>(method);
}

/** Per provider/model/time-bucket sums and latency sketches, and run counts: the dashboard's analytics. */
export namespace RollupsRequest {
  export const method = Methods.rollups;
  export const type = new RequestType<RollupsParams, RollupsResult, void>(method);
}

/** null while the API is off (or could not start: the host's log says why). */
export namespace ApiStatusRequest {
  export const method = Methods.apiStatus;
  export const type = new RequestType0<ApiStatus | null, void>(method);
}

/** Reviews an open (or on-disk) file and publishes the findings as diagnostics with source `dev-ai`. */
export namespace ReviewRequest {
  export const method = Methods.review;
  export const type = new RequestType<ReviewParams, ReviewResult, void>(method);
}

/** Every event, live, as it is appended to the log. */
export namespace EventNotification {
  export const method = Methods.event;
  export const type = new NotificationType<AgentEvent>(method);
}

/** What a run changed, file by file, with its checkpoints (Show Changes). */
export namespace RunChangesRequest {
  export const method = Methods.runChanges;
  export const type = new RequestType<RunChangesParams, RunChanges, void>(method);
}

/** Puts a run's originals back; refused with ChangedSince (data.files) when a file changed after the run. */
export namespace UndoRunRequest {
  export const method = Methods.undoRun;
  export const type = new RequestType<UndoRunParams, RestoreResult, void>(method);
}

/** Puts the files back as one attempt of a run left them (a checkpoint). */
export namespace RestoreAttemptRequest {
  export const method = Methods.restoreAttempt;
  export const type = new RequestType<RestoreAttemptParams, RestoreResult, void>(method);
}

/** Continues a failed, cancelled or interrupted run from its last attempt, as a new run. */
export namespace ResumeRunRequest {
  export const method = Methods.resumeRun;
  export const type = new RequestType<ResumeRunParams, StartRunResult, void>(method);
}

/** Tests first: asks the model for a test file (a draft: nothing is written until a run accepts it). */
export namespace WriteTestsRequest {
  export const method = Methods.writeTests;
  export const type = new RequestType<WriteTestsParams, WriteTestsResult, void>(method);
}

/** The org's usage and cost per UTC day, provider and model, reconciled with the log (read-only). */
export namespace ProviderUsageRequest {
  export const method = Methods.providerUsage;
  export const type = new RequestType<ProviderUsageParams, ProviderUsageResult, void>(method);
}

/** The evals in the log, newest first. */
export namespace EvalsRequest {
  export const method = Methods.evals;
  export const type = new RequestType0<EvalsResult, void>(method);
}

/** One eval's report: the leaderboard (with Wilson intervals) and the task × model cells. */
export namespace EvalRequest {
  export const method = Methods.eval;
  export const type = new RequestType<EvalParams, EvalReport, void>(method);
}

/** Starts (or resumes) an eval; its progress arrives as `eval.started`, `eval.cell` and `eval.finished` events. */
export namespace StartEvalRequest {
  export const method = Methods.startEval;
  export const type = new RequestType<StartEvalParams, StartEvalResult, void>(method);
}

/** Cancels a running eval (running cells stop, copies go); resume it with `startEval { resume }`. */
export namespace CancelEvalRequest {
  export const method = Methods.cancelEval;
  export const type = new RequestType<CancelEvalParams, CancelEvalResult, void>(method);
}

/** Sent once after start-up when runs of an earlier process were found interrupted. */
export namespace InterruptedRunsNotification {
  export const method = Methods.interruptedRuns;
  export const type = new NotificationType<InterruptedRunsParams>(method);
}
