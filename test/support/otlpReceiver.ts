/**
 * A local stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: it accepts `POST /v1/traces` and
 * `POST /v1/metrics` (or any path) with the OTLP JSON encoding, answers as a collector does (200, an empty
 * Export…ServiceResponse), and keeps every request for assertions, raw and decoded, with the spans and the
 * metrics' data points flattened.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';

/** OTLP JSON AnyValue: exactly one of these is set. int64 may arrive as a number or a decimal string. */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: Array<{ key: string; value: AnyValue }> };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  /** Decoded to plain values. */
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  resource: Record<string, unknown>;
  scope: string;
}

/** One data point of a metric as received: a histogram's (count, sum, buckets) or a sum's / gauge's value. */
export interface ReceivedPoint {
  metric: string;
  unit: string;
  description: string;
  type: 'histogram' | 'sum' | 'gauge' | 'other';
  /** OTLP AggregationTemporality: 1 delta, 2 cumulative (histograms and sums). */
  temporality: number | undefined;
  attributes: Record<string, unknown>;
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  value?: number;
  resource: Record<string, unknown>;
  scope: string;
}

export interface OtlpRequest {
  path: string;
  contentType: string | undefined;
  /** The body as sent, decompressed. */
  raw: string;
  body: any;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (no trailing slash). */
  url: string;
  requests: OtlpRequest[];
  spans(): ReceivedSpan[];
  /** Every metric data point of every `/v1/metrics` request, in arrival order. */
  points(): ReceivedPoint[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: 'not OTLP JSON' }));
        return;
      }
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'], raw: text, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () => requests.flatMap((request) => flatten(request.body)),
    points: () => requests.flatMap((request) => flattenMetrics(request.body)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function flatten(body: any): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of body?.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: BigInt(span.startTimeUnixNano),
          endTimeUnixNano: BigInt(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          status: { code: span.status?.code ?? 0, message: span.status?.message },
          events: (span.events ?? []).map((e: any) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          resource,
          scope: scopeSpans.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

function flattenMetrics(body: any): ReceivedPoint[] {
  const out: ReceivedPoint[] = [];
  for (const resourceMetrics of body?.resourceMetrics ?? []) {
    const resource = attributesOf(resourceMetrics.resource?.attributes);
    for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
      for (const metric of scopeMetrics.metrics ?? []) {
        const type = metric.histogram ? 'histogram' : metric.sum ? 'sum' : metric.gauge ? 'gauge' : 'other';
        const data = metric.histogram ?? metric.sum ?? metric.gauge ?? {};
        for (const point of data.dataPoints ?? []) {
          out.push({
            metric: metric.name,
            unit: metric.unit ?? '',
            description: metric.description ?? '',
            type,
            temporality: data.aggregationTemporality,
            attributes: attributesOf(point.attributes),
            ...(type === 'histogram'
              ? {
                  count: Number(point.count),
                  sum: point.sum,
                  bucketCounts: (point.bucketCounts ?? []).map(Number),
                  explicitBounds: point.explicitBounds ?? [],
                }
              : { value: point.asDouble ?? Number(point.asInt) }),
            resource,
            scope: scopeMetrics.scope?.name ?? '',
          });
        }
      }
    }
  }
  return out;
}

function attributesOf(list: Array<{ key: string; value: AnyValue }> | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

export function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue !== undefined) return Object.fromEntries((value.kvlistValue.values ?? []).map(({ key, value: v }) => [key, valueOf(v)]));
  return undefined;
}
