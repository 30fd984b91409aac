/**
 * The OpenTelemetry side of `telemetry.ts`: the SDK's providers and OTLP/HTTP exporters, and the mapping of events
 * to spans and GenAI metrics. Loaded only when an endpoint is set (`telemetry.ts` requires it then), so a process that
 * exports nothing never loads the SDK; the product build bundles it apart (LAZY in esbuild.mjs).
 */
import { Attributes, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { EventLog } from '../events/log';
import {
  GEN_AI_AGENT_NAME,
  GEN_AI_OPERATION_NAME,
  GEN_AI_RESPONSE_FINISH_REASONS,
  GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  MICRO_AGENT_LOAD_MS,
  MICRO_AGENT_OUTPUT_TOKENS_PER_SEC,
  rateLimitAttributes,
  genAiConventions,
  GenAiConventions,
  providerAttributes,
} from './genAiConventions';
import { GenAiMetrics } from './genAiMetrics';
import { EditQualityFold, emptyEditQuality, MATCH_STEPS, wellFormedRate, type EditQuality } from '../protocol';
import type { AgentEvent, LlmRequestEvent, LlmResponseEvent, RunFinishedEvent, RunStartedEvent, TestFinishedEvent, TestStartedEvent } from '../protocol';

const AGENT_NAME = 'micro-agent';
/** How often metrics go out unless OTEL_METRIC_EXPORT_INTERVAL says otherwise (the SDK's default). */
const METRIC_EXPORT_INTERVAL_MS = 60_000;

/** Where each signal goes; a missing URL leaves that signal off. */
export interface OtlpTargets {
  tracesUrl: string | undefined;
  metricsUrl: string | undefined;
  service: string;
}

/**
 * Exports the log's events from now on to the targets; returns what stops each signal (exporting what it still
 * holds). `env` gives `OTEL_SERVICE_NAME`, `OTEL_METRIC_EXPORT_INTERVAL` and the GenAI conventions opt-in.
 */
export function startOtlpExport(log: EventLog, env: NodeJS.ProcessEnv, { tracesUrl, metricsUrl, service }: OtlpTargets): Array<() => Promise<void>> {
  const resource = defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || service }));
  const conventions = genAiConventions(env);
  const stops: Array<() => Promise<void>> = [];
  // The exporters would read the endpoint variables from process.env by themselves; the URLs are passed because
  // the caller's `env` is the one that counts (process.env, or a copy of it, for the host and the CLI). Neither
  // provider is registered globally: micro-agent records nothing through the API, and a host embedding this
  // module may have its own.
  if (tracesUrl) {
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl }))] });
    const spans = new SpanMapper(provider.getTracer(AGENT_NAME), conventions);
    const subscription = log.onEvent((event) => spans.add(event));
    stops.push(async () => {
      subscription.dispose();
      spans.endAll(Date.now());
      await provider.shutdown();
    });
  }
  if (metricsUrl) {
    const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: metricsUrl }),
      exportIntervalMillis: Number.isInteger(interval) && interval > 0 ? interval : METRIC_EXPORT_INTERVAL_MS,
    });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const metrics = new GenAiMetrics(provider.getMeter(AGENT_NAME), conventions);
    const subscription = log.onEvent((event) => metrics.add(event));
    stops.push(async () => {
      subscription.dispose();
      // Shutting the provider down collects and exports what was recorded since the last interval.
      await provider.shutdown();
    });
  }

  return stops;
}

/** Turns events into spans. Open spans are held by run and by call until the event that ends them. */
class SpanMapper {
  private readonly runs = new Map<string, Span>();
  /** Keyed by callId, with the run whose span is its parent (undefined for a call that is its own trace). */
  private readonly calls = new Map<string, { span: Span; runId: string | undefined }>();
  /** The test run in progress per run (a run runs its tests one at a time). */
  private readonly tests = new Map<string, Span>();
  /** Each open run's edit replies, for its span's well-formed rate and ladder steps. */
  private readonly edits = new Map<string, EditQuality>();
  private readonly editFold = new EditQualityFold();

  constructor(
    private readonly tracer: Tracer,
    private readonly conventions: GenAiConventions,
  ) {}

  add(event: AgentEvent): void {
    const edits = !event.runId ? undefined : this.edits.get(event.runId);
    if (edits) this.editFold.add(event, edits);
    switch (event.type) {
      case 'run.started':
        return this.runStarted(event);
      case 'llm.request':
        return this.llmRequest(event);
      case 'llm.response':
        return this.llmResponse(event);
      case 'test.started':
        return this.testStarted(event);
      case 'test.finished':
        return this.testFinished(event);
      case 'run.finished':
        return this.runFinished(event);
      case 'edit.applied':
        // A point in time, not an operation of its own: a span event on the run, numbers only (never the diff).
        this.runs.get(event.runId)?.addEvent(
          'micro_agent.edit.applied',
          {
            'micro_agent.iteration': event.iteration,
            'micro_agent.edit.lines_added': event.linesAdded,
            'micro_agent.edit.lines_removed': event.linesRemoved,
            'micro_agent.edit.bytes': event.bytes,
            ...(event.match ? { 'micro_agent.edit.match': event.match } : {}),
          },
          event.ts,
        );
        return;
      case 'edit.rejected':
        this.runs
          .get(event.runId)
          ?.addEvent('micro_agent.edit.rejected', { 'micro_agent.iteration': event.iteration, 'micro_agent.edit.reject_reason': event.reason }, event.ts);
        return;
      default:
        return;
    }
  }

  /** Ends whatever is still open, children first, so a shutdown mid-run still exports what happened so far. */
  endAll(ts: number): void {
    for (const { span } of this.calls.values()) span.end(ts);
    for (const span of this.tests.values()) span.end(ts);
    for (const span of this.runs.values()) span.end(ts);
    this.calls.clear();
    this.tests.clear();
    this.runs.clear();
  }

  private runStarted(event: RunStartedEvent): void {
    const span = this.tracer.startSpan(
      `invoke_agent ${AGENT_NAME}`,
      {
        // In-process agent: the convention's kind for an agent invoked without a remote call is INTERNAL.
        kind: SpanKind.INTERNAL,
        startTime: event.ts,
        attributes: {
          [GEN_AI_OPERATION_NAME]: 'invoke_agent',
          [GEN_AI_AGENT_NAME]: AGENT_NAME,
          ...providerAttributes(event.provider, event.model, this.conventions),
          'micro_agent.run.id': event.runId,
          'micro_agent.file': event.file,
          'micro_agent.test_command': event.testCommand,
          'micro_agent.max_runs': event.maxRuns,
          // Never `prompt`: it is the user's text.
        },
      },
      ROOT_CONTEXT,
    );
    this.runs.set(event.runId, span);
    this.edits.set(event.runId, emptyEditQuality());
  }

  private runFinished(event: RunFinishedEvent): void {
    const span = this.runs.get(event.runId);
    // A run finished without a start we saw: closed as interrupted at start-up, or begun before telemetry was on.
    if (!span) return;
    this.endChildrenOf(event.runId, event.ts);
    span.setAttributes({
      'micro_agent.run.outcome': event.outcome,
      'micro_agent.run.reason': event.reason,
      'micro_agent.run.iterations': event.iterations,
      'micro_agent.run.cost_usd': event.costUsd,
      'micro_agent.run.unpriced_calls': event.unpricedCalls,
      'micro_agent.run.restored': event.restored,
      ...editAttributes(this.edits.get(event.runId) ?? emptyEditQuality()),
    });
    this.edits.delete(event.runId);
    // `failed` (tests still red) is the agent doing its job and losing; only `error` is a failed operation.
    if (event.outcome === 'error') {
      span.setAttribute(ATTR_ERROR_TYPE, event.errorKind ?? event.reason);
      // The status description is the reason code, never `event.error`: that is free text.
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.reason });
    }
    span.end(event.ts);
    this.runs.delete(event.runId);
  }

  private llmRequest(event: LlmRequestEvent): void {
    const parent = event.runId ? this.runs.get(event.runId) : undefined;
    const span = this.tracer.startSpan(
      `chat ${event.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: event.ts,
        attributes: {
          [GEN_AI_OPERATION_NAME]: 'chat',
          ...providerAttributes(event.provider, event.model, this.conventions),
          ...(event.iteration !== null ? { 'micro_agent.iteration': event.iteration } : {}),
          // Sizes only; `promptPreview` is the user's code and never leaves the machine this way.
          'micro_agent.prompt_chars': event.promptChars,
        },
      },
      // A review's call (no runId), or a run we did not see start, is a trace of its own.
      parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
    this.calls.set(event.callId, { span, runId: parent ? event.runId : undefined });
  }

  private llmResponse(event: LlmResponseEvent): void {
    const call = this.calls.get(event.callId);
    if (!call) return;
    this.calls.delete(event.callId);
    const { span } = call;
    const attributes: Attributes = { 'micro_agent.retries': event.retries, 'micro_agent.latency_ms': event.latencyMs };
    if (event.inputTokens !== null) attributes[GEN_AI_USAGE_INPUT_TOKENS] = event.inputTokens;
    if (event.outputTokens !== null) attributes[GEN_AI_USAGE_OUTPUT_TOKENS] = event.outputTokens;
    // Only what the vendor reported: an absent count is unknown, not 0.
    if (event.cachedInputTokens != null) attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = event.cachedInputTokens;
    if (event.cacheWriteInputTokens != null) attributes[GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = event.cacheWriteInputTokens;
    if (event.finishReason !== null) attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [event.finishReason];
    if (event.costUsd !== null) attributes['micro_agent.cost_usd'] = event.costUsd;
    if (event.outputTokensPerSec !== null) attributes[MICRO_AGENT_OUTPUT_TOKENS_PER_SEC] = event.outputTokensPerSec;
    if (event.loadMs !== null) attributes[MICRO_AGENT_LOAD_MS] = event.loadMs;
    Object.assign(attributes, rateLimitAttributes(event.rateLimit));
    if (event.ttftMs !== null) {
      attributes[GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = event.ttftMs / 1000;
      attributes['micro_agent.ttft_ms'] = event.ttftMs;
    }
    span.setAttributes(attributes);
    if (!event.ok) {
      const kind = event.error?.kind ?? 'bad_response';
      span.setAttribute(ATTR_ERROR_TYPE, kind);
      if (event.error?.status !== undefined) span.setAttribute('http.response.status_code', event.error.status);
      // The kind, not the vendor's message: messages can quote the request.
      span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
    }
    span.end(event.ts);
  }

  private testStarted(event: TestStartedEvent): void {
    const parent = this.runs.get(event.runId);
    if (!parent) return;
    this.tests.get(event.runId)?.end(event.ts);
    const span = this.tracer.startSpan(
      `test ${event.command}`,
      { kind: SpanKind.INTERNAL, startTime: event.ts, attributes: { 'micro_agent.iteration': event.iteration } },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    this.tests.set(event.runId, span);
  }

  private testFinished(event: TestFinishedEvent): void {
    const span = this.tests.get(event.runId);
    if (!span) return;
    this.tests.delete(event.runId);
    span.setAttributes({
      'micro_agent.test.passed': event.passed,
      'micro_agent.test.duration_ms': event.durationMs,
      'micro_agent.test.timed_out': event.timedOut,
      'micro_agent.test.cancelled': event.cancelled,
      ...(event.exitCode !== null ? { 'micro_agent.test.exit_code': event.exitCode } : {}),
      ...(event.signal !== null ? { 'micro_agent.test.signal': event.signal } : {}),
      // Never `outputTail`: test output can print anything, secrets included.
    });
    // Failing tests are what the agent works on, not an error; a test command that hung is.
    if (event.timedOut) {
      span.setAttribute(ATTR_ERROR_TYPE, 'timeout');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
    }
    span.end(event.ts);
  }

  private endChildrenOf(runId: string, ts: number): void {
    for (const [callId, call] of this.calls) {
      if (call.runId !== runId) continue;
      call.span.end(ts);
      this.calls.delete(callId);
    }
    this.tests.get(runId)?.end(ts);
    this.tests.delete(runId);
  }
}

/** A run's edit quality as span attributes: replies judged, those whose edits applied, the rate, files by ladder step. */
function editAttributes(edits: EditQuality): Attributes {
  const rate = wellFormedRate(edits);
  return {
    'micro_agent.edits.replies': edits.replies,
    'micro_agent.edits.well_formed': edits.wellFormed,
    ...(rate === null ? {} : { 'micro_agent.edits.well_formed_rate': rate }),
    ...Object.fromEntries(MATCH_STEPS.map((step) => [`micro_agent.edits.match.${step}`, edits.matchSteps[step]])),
  };
}
