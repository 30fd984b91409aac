/** Dashboard webview <-> extension messages (postMessage). The extension validates everything it receives. */
import type { AgentEvent } from './events';
import { isRunId, Methods, MethodTypes } from './methods';

/** The host's read-only methods a webview may call through the extension: what its views are loaded from. */
export const WEBVIEW_METHODS = [Methods.rollups, Methods.runs, Methods.events, Methods.evals, Methods.eval, Methods.providerUsage] as const;
export type WebviewMethod = (typeof WEBVIEW_METHODS)[number];
/** A webview method's params as sent: an object always, an empty one for a method that takes none. */
export type WebviewParams<M extends WebviewMethod> = [Exclude<MethodTypes[M]['params'], void>] extends [never]
  ? Record<string, never>
  : Exclude<MethodTypes[M]['params'], void>;

export type ToWebview =
  /** Events to ingest: history pages and live events alike. They may overlap; the store dedupes by seq. */
  | { type: 'events'; events: AgentEvent[] }
  /** The editor's context: the file a Start Run would fix, and whether runs are allowed at all. */
  | { type: 'context'; activeFile: string | null; trusted: boolean; budgetUsd: number | null }
  /** Show an eval in the Models view (Compare Models on This Repository finished it). */
  | { type: 'showEval'; evalId: string }
  /** The answer to the webview's `request` of the same `id`: the host's result, or its error's message. */
  | { type: 'response'; id: number; result?: MethodTypes[WebviewMethod]['result']; error?: string };

export type FromWebview =
  /** The webview (re)loaded and holds events up to `afterSeq`: send the history after it, then live events. */
  | { type: 'ready'; afterSeq: number }
  | { type: 'startRun' }
  | { type: 'cancelRun'; runId: string }
  /** Workspace-relative path of a run's file. */
  | { type: 'openFile'; file: string }
  /** A finished run: its diff in the editor, its originals back, or the run going on from its last attempt. */
  | { type: 'showChanges' | 'undoRun' | 'resumeRun'; runId: string }
  /** Put the run's files back as attempt `iteration` left them (a checkpoint). */
  | { type: 'restoreAttempt'; runId: string; iteration: number }
  /** Calls one of `WEBVIEW_METHODS` on the host (which checks the params); answered by a `response`. */
  | { type: 'request'; id: number; method: WebviewMethod; params: object };

/** The only messages the extension acts on; anything else from the webview is dropped. */
export function parseFromWebview(value: unknown): FromWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  const keys = Object.keys(message).sort().join(',');
  switch (message.type) {
    case 'ready':
      return keys === 'afterSeq,type' && Number.isSafeInteger(message.afterSeq) && (message.afterSeq as number) >= 0
        ? { type: 'ready', afterSeq: message.afterSeq as number }
        : undefined;
    case 'startRun':
      return keys === 'type' ? { type: 'startRun' } : undefined;
    case 'cancelRun':
      return keys === 'runId,type' && isRunId(message.runId) ? { type: 'cancelRun', runId: message.runId } : undefined;
    case 'showChanges':
    case 'undoRun':
    case 'resumeRun':
      return keys === 'runId,type' && isRunId(message.runId) ? { type: message.type, runId: message.runId } : undefined;
    case 'restoreAttempt':
      return keys === 'iteration,runId,type' && isRunId(message.runId) && Number.isSafeInteger(message.iteration) && (message.iteration as number) >= 0
        ? { type: 'restoreAttempt', runId: message.runId, iteration: message.iteration as number }
        : undefined;
    case 'openFile':
      return keys === 'file,type' && typeof message.file === 'string' && message.file.length > 0 && message.file.length < 4096 && !message.file.includes('\0')
        ? { type: 'openFile', file: message.file }
        : undefined;
    case 'request':
      return keys === 'id,method,params,type' &&
        Number.isSafeInteger(message.id) &&
        (WEBVIEW_METHODS as readonly unknown[]).includes(message.method) &&
        typeof message.params === 'object' &&
        message.params !== null &&
        !Array.isArray(message.params)
        ? { type: 'request', id: message.id as number, method: message.method as WebviewMethod, params: message.params }
        : undefined;
    default:
      return undefined;
  }
}
