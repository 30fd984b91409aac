/**
 * OpenTelemetry export of agent activity (traces and metrics), on only when a standard OTLP endpoint variable is set.
 *
 * Everything is derived from the event log, after the fact: the engine knows nothing about tracing, and what
 * a trace shows is exactly what the log recorded. Each run is one trace: an `invoke_agent micro-agent` span,
 * with a `chat <model>` child per model call and a `test <command>` child per test run, named and attributed
 * per the OpenTelemetry GenAI semantic conventions. A model call outside a run (a review) is a trace of its own.
 * Spans take their start and end times from the events' `ts`, so they are as exact as the log. The GenAI
 * client metrics (token usage, operation duration, time to first chunk) come from the same events
 * (`genAiMetrics.ts`).
 *
 * No text content is ever exported: no prompt, reply, diff, test output or error message, only names, numbers
 * and enums. The events arrive already redacted by the log, so an API key inside e.g. a test command is `***`.
 */
import type { EventLog } from '../events/log';

/** Upper bound on the final flush, so a collector that is down cannot hold up the CLI's exit or the host's shutdown. */
const SHUTDOWN_TIMEOUT_MS = 5000;

export interface Telemetry {
  /** Where spans go, else where metrics go (without any user:password part of the URL), for a start-up log line. */
  readonly endpoint: string;
  /** What is exported where, for the start-up line: `traces to …, metrics to …`. */
  readonly description: string;
  /** Ends spans still open (at the current time), exports everything buffered and stops. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * `startTelemetry` for a process that runs on without export: the outcome is reported as one line, `info` when
 * exporting, `warn` when an endpoint is unusable, nothing when export is off.
 */
export function startTelemetryOrWarn(log: EventLog, env: NodeJS.ProcessEnv, report: (level: 'info' | 'warn', message: string) => void): Telemetry | undefined {
  try {
    const telemetry = startTelemetry(log, env, 'micro-agent');
    if (telemetry) report('info', `micro-agent: exporting ${telemetry.description}`);
    return telemetry;
  } catch (err) {
    report('warn', `micro-agent: no OpenTelemetry export: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/**
 * Starts exporting the log's events over OTLP/HTTP (JSON) when `env` names an endpoint: traces to
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, the GenAI
 * metrics to `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`, every
 * `OTEL_METRIC_EXPORT_INTERVAL` ms (60 s) and on shutdown. Returns undefined when no endpoint is set, or when
 * `OTEL_SDK_DISABLED=true`; `OTEL_TRACES_EXPORTER=none` / `OTEL_METRICS_EXPORTER=none` turn one signal off.
 * Throws when an endpoint is not an http(s) URL, so a typo is reported rather than silently exporting nowhere.
 *
 * `service` is the resource's `service.name` unless `OTEL_SERVICE_NAME` is set. Headers, certificates, timeout
 * and compression come from the usual `OTEL_EXPORTER_OTLP_*` variables, which the exporters read themselves.
 * `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup` adds the replaced `gen_ai.system` (see genAiConventions.ts).
 */
export function startTelemetry(log: EventLog, env: NodeJS.ProcessEnv, service: string): Telemetry | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const tracesUrl = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none' ? undefined : tracesEndpoint(env);
  const metricsUrl = env.OTEL_METRICS_EXPORTER?.trim().toLowerCase() === 'none' ? undefined : metricsEndpoint(env);
  if (!tracesUrl && !metricsUrl) return undefined;

  // OpenTelemetry's SDK is loaded here, on the first export, not at every start: most processes export nothing.
  // A synchronous require, so that the caller subscribes to the log before its next event (esbuild.mjs bundles
  // ./otlpExport apart: LAZY).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startOtlpExport } = require('./otlpExport') as typeof import('./otlpExport');
  const stops = startOtlpExport(log, env, { tracesUrl, metricsUrl, service });
  let stopped: Promise<void> | undefined;
  const where = [tracesUrl && `traces to ${withoutCredentials(tracesUrl)}`, metricsUrl && `metrics to ${withoutCredentials(metricsUrl)}`];
  return {
    endpoint: withoutCredentials((tracesUrl ?? metricsUrl)!),
    description: where.filter(Boolean).join(', '),
    shutdown() {
      stopped ??= withTimeout(Promise.all(stops.map((stop) => stop())), SHUTDOWN_TIMEOUT_MS);
      return stopped;
    },
  };
}

/** The OTLP/HTTP traces URL per the exporter specification, from `env`; undefined when none is set. */
export function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return signalEndpoint(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT, 'v1/traces');
}

/** The OTLP/HTTP metrics URL per the exporter specification, from `env`; undefined when none is set. */
export function metricsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return signalEndpoint(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, env.OTEL_EXPORTER_OTLP_ENDPOINT, 'v1/metrics');
}

/** A signal's own endpoint as given, else the generic one with the signal's path appended; checked to be http(s). */
function signalEndpoint(specificValue: string | undefined, baseValue: string | undefined, signalPath: string): string | undefined {
  const specific = specificValue?.trim();
  const base = baseValue?.trim();
  const url = specific || (base ? `${base.replace(/\/+$/, '')}/${signalPath}` : undefined);
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`OpenTelemetry: the OTLP endpoint "${withoutCredentials(url)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error(`OpenTelemetry: the OTLP endpoint "${withoutCredentials(url)}" is not an http: or https: URL`);
  return parsed.toString();
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** Resolves when `promise` settles or after `ms`, whichever is first; never rejects (telemetry must not fail a shutdown). */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
