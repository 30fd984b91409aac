/**
 * `GET /v1/export`: the log as JSON lines or CSV, as events, one row per LLM call, or one row per finished run.
 * Rows are produced page by page from the log and written with backpressure, so memory stays flat whatever the
 * log's size. Pure row shaping here; the HTTP side only streams.
 */
import type { EventLog } from '../events/log';
import type { ExportDataset, ExportFormat } from '../protocol/api';
import { EditQualityFold, emptyEditQuality, type EditQuality } from '../protocol/editQuality';
import type { AgentEvent, RunStartedEvent } from '../protocol/events';
import type { ProviderUsageResult } from '../protocol/providerUsage';
import { ApiError } from './http';

export interface ExportQuery {
  format: ExportFormat;
  dataset: ExportDataset;
  /** Only events of this type (dataset `events`). */
  eventType?: string;
  /** Inclusive bounds on the event's ts, ms since the epoch. */
  from?: number;
  to?: number;
  /** `provider_usage`: the whole UTC days before today to cover. */
  sinceDays?: number;
}

const CALL_COLUMNS = [
  'seq',
  'ts',
  'runId',
  'callId',
  'provider',
  'model',
  'iteration',
  'ok',
  'latencyMs',
  'ttftMs',
  'inputTokens',
  'outputTokens',
  'costUsd',
  'retries',
  'finishReason',
  'errorKind',
  // Last, so that the columns before them keep their places for readers that count.
  'cachedInputTokens',
  'cacheWriteInputTokens',
  // Later still: a local model's speed and load time, and the key's rate-limit headroom after the call (resetAt in
  // ms since the epoch); empty where the vendor reports none.
  'outputTokensPerSec',
  'loadMs',
  'requestsLimit',
  'requestsRemaining',
  'tokensLimit',
  'tokensRemaining',
  'rateLimitResetAt',
] as const;
const RUN_COLUMNS = [
  'runId',
  'file',
  'provider',
  'model',
  'testCommand',
  'startedAt',
  'finishedAt',
  'outcome',
  'reason',
  'iterations',
  'costUsd',
  'durationMs',
  // Last, so that the columns before them keep their places: the run's edit replies, those that applied, and the
  // files each matching-ladder step placed (a JSON object).
  'editReplies',
  'wellFormedReplies',
  'matchSteps',
] as const;
const EVENT_COLUMNS = ['seq', 'ts', 'type', 'runId', 'event'] as const;
/** `provider_usage` as CSV: the `usage --json` row flattened (`flags` joined with `;`). JSONL keeps the row as it is. */
const USAGE_COLUMNS = [
  'day',
  'provider',
  'model',
  'billedInputTokens',
  'billedOutputTokens',
  'billedCachedInputTokens',
  'billedRequests',
  'billedCostUsd',
  'loggedInputTokens',
  'loggedOutputTokens',
  'loggedCachedInputTokens',
  'loggedCalls',
  'loggedCostUsd',
  'share',
  'flags',
  'expectedCostUsd',
  'vendorModels',
] as const;

export function columns(dataset: ExportDataset): readonly string[] {
  return dataset === 'llm_calls' ? CALL_COLUMNS : dataset === 'runs' ? RUN_COLUMNS : dataset === 'provider_usage' ? USAGE_COLUMNS : EVENT_COLUMNS;
}

/** The export lines of a `provider_usage` answer, the header first for CSV. */
export function usageExport(result: ProviderUsageResult, query: ExportQuery): string {
  const lines = result.rows.map((row) => {
    if (query.format === 'jsonl') return JSON.stringify(row) + '\n';
    const flat: Record<string, CsvCell> = {
      day: row.day,
      provider: row.provider,
      model: row.model,
      billedInputTokens: row.billed.inputTokens,
      billedOutputTokens: row.billed.outputTokens,
      billedCachedInputTokens: row.billed.cachedInputTokens,
      billedRequests: row.billed.requests,
      billedCostUsd: row.billed.costUsd,
      loggedInputTokens: row.logged.inputTokens,
      loggedOutputTokens: row.logged.outputTokens,
      loggedCachedInputTokens: row.logged.cachedInputTokens,
      loggedCalls: row.logged.calls,
      loggedCostUsd: row.logged.costUsd,
      share: row.share,
      flags: row.flags.join(';'),
      expectedCostUsd: row.expectedCostUsd,
      vendorModels: row.vendorModels.join(';'),
    };
    return csvLine(USAGE_COLUMNS.map((c) => flat[c]));
  });
  return csvHeader(query) + lines.join('');
}

/** Turns events, in log order, into export rows; keeps only the runs still open (for their start fields). */
export class RowShaper {
  private readonly openRuns = new Map<string, { started: RunStartedEvent; edits: EditQuality }>();
  private readonly editFold = new EditQualityFold();
  constructor(private readonly query: ExportQuery) {}

  rows(event: AgentEvent): Array<Record<string, unknown>> {
    const { dataset, from, to, eventType } = this.query;
    if (event.type === 'run.started') this.openRuns.set(event.runId, { started: event, edits: emptyEditQuality() });
    const open = !event.runId ? undefined : this.openRuns.get(event.runId);
    if (open) this.editFold.add(event, open.edits);
    if (from !== undefined && event.ts < from) return [];
    if (to !== undefined && event.ts > to) return [];
    if (dataset === 'events') return eventType && event.type !== eventType ? [] : [{ ...event }];
    if (dataset === 'llm_calls') {
      if (event.type !== 'llm.response') return [];
      const { seq, ts, runId, callId, provider, model, iteration, ok, latencyMs, ttftMs, inputTokens, outputTokens, costUsd, retries, finishReason } = event;
      return [
        {
          seq,
          ts,
          runId: runId ?? null,
          callId,
          provider,
          model,
          iteration,
          ok,
          latencyMs,
          ttftMs,
          inputTokens,
          outputTokens,
          costUsd,
          retries,
          finishReason,
          errorKind: event.error?.kind ?? null,
          cachedInputTokens: event.cachedInputTokens ?? null,
          cacheWriteInputTokens: event.cacheWriteInputTokens ?? null,
          outputTokensPerSec: event.outputTokensPerSec ?? null,
          loadMs: event.loadMs ?? null,
          requestsLimit: event.rateLimit?.requestsLimit ?? null,
          requestsRemaining: event.rateLimit?.requestsRemaining ?? null,
          tokensLimit: event.rateLimit?.tokensLimit ?? null,
          tokensRemaining: event.rateLimit?.tokensRemaining ?? null,
          rateLimitResetAt: event.rateLimit?.resetAt ?? null,
        },
      ];
    }
    if (event.type !== 'run.finished') return [];
    const started = open?.started;
    this.openRuns.delete(event.runId);
    return [
      {
        runId: event.runId,
        file: started?.file ?? null,
        provider: started?.provider ?? null,
        model: started?.model ?? null,
        testCommand: started?.testCommand ?? null,
        startedAt: started?.ts ?? null,
        finishedAt: event.ts,
        outcome: event.outcome,
        reason: event.reason,
        iterations: event.iterations,
        costUsd: event.costUsd,
        durationMs: event.durationMs,
        editReplies: open?.edits.replies ?? null,
        wellFormedReplies: open?.edits.wellFormed ?? null,
        matchSteps: open ? JSON.stringify(open.edits.matchSteps) : null,
      },
    ];
  }
}

export function formatRow(row: Record<string, unknown>, query: ExportQuery): string {
  if (query.format === 'jsonl') return JSON.stringify(row) + '\n';
  if (query.dataset === 'events') {
    const event = row as unknown as AgentEvent;
    return csvLine([event.seq, event.ts, event.type, event.runId ?? null, JSON.stringify(event)]);
  }
  // The llm_calls and runs rows are flat: RowShaper fills them with scalars and null.
  return csvLine(columns(query.dataset).map((c) => row[c] as CsvCell));
}

export function csvHeader(query: ExportQuery): string {
  return query.format === 'csv' ? csvLine(columns(query.dataset)) : '';
}

type CsvCell = string | number | boolean | null | undefined;

/** RFC 4180: quote fields with commas, quotes or line breaks; null is an empty field. */
function csvLine(values: readonly CsvCell[]): string {
  return (
    values
      .map((v) => {
        if (v === null || v === undefined) return '';
        const text = String(v);
        return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
      })
      .join(',') + '\r\n'
  );
}

/** Writes the export page by page; `write` resolves once the chunk has left the process. */
export async function streamExport(log: EventLog, query: ExportQuery, write: (chunk: string) => Promise<void>): Promise<void> {
  const shaper = new RowShaper(query);
  const header = csvHeader(query);
  if (header) await write(header);
  // The export ends at the log's end as of now: a live agent does not make it run forever.
  const end = log.lastSeq;
  let cursor = 0;
  while (cursor < end) {
    const page = log.read(cursor, 1000).filter((e) => e.seq <= end);
    if (page.length === 0) break;
    cursor = page[page.length - 1].seq;
    const chunk = page.flatMap((e) => shaper.rows(e).map((row) => formatRow(row, query))).join('');
    if (chunk) await write(chunk);
  }
}

const DATASETS: readonly ExportDataset[] = ['events', 'llm_calls', 'runs', 'provider_usage'];

/** `?format=&type=&from=&to=`, every value checked; unknown parameters are refused. */
export function parseExportQuery(params: URLSearchParams): ExportQuery {
  const unknown = [...params.keys()].filter((key) => !['format', 'from', 'to', 'type', 'since'].includes(key));
  if (unknown.length) throw new ApiError(400, `unknown parameter: ${unknown.join(', ')}`);
  const format = params.get('format') ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new ApiError(400, `format must be jsonl or csv, not "${format}"`);
  const type = params.get('type') ?? 'events';
  // `type` names a dataset, or one event type (a dataset of those events).
  const dataset = (DATASETS as readonly string[]).includes(type) ? (type as ExportDataset) : 'events';
  if (dataset === 'events' && type !== 'events' && !/^[a-z]+(\.[a-z]+)?$/.test(type))
    throw new ApiError(400, `type must be events, llm_calls, runs, provider_usage or an event type such as llm.response, not "${type}"`);
  const since = params.get('since');
  if (since !== null && (dataset !== 'provider_usage' || !/^\d{1,4}$/.test(since)))
    throw new ApiError(400, `since (whole days) goes with type=provider_usage, not "${since}"`);
  return {
    format,
    dataset,
    eventType: dataset === 'events' && type !== 'events' ? type : undefined,
    from: time('from', params.get('from')),
    to: time('to', params.get('to')),
    ...(since === null ? {} : { sinceDays: Number(since) }),
  };
}

/** ms since the epoch, or an ISO date. */
function time(name: string, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ApiError(400, `${name} must be ms since the epoch or an ISO date, not "${value}"`);
  return ms;
}
