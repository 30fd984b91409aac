/**
 * The GenAI client metrics, from the log's `llm.response` events: token usage by type, operation duration and
 * time to first chunk, as histograms named, unitised and attributed per the GenAI semantic conventions, so a
 * Grafana or Prometheus behind a collector shows the agent's tokens and latency without custom dashboards.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { GEN_AI_METRICS, GEN_AI_OPERATION_NAME, GEN_AI_TOKEN_TYPE, GenAiConventions, providerAttributes } from './genAiConventions';
import type { AgentEvent } from '../protocol';

export class GenAiMetrics {
  private readonly tokenUsage: Histogram;
  private readonly duration: Histogram;
  private readonly timeToFirstChunk: Histogram;

  constructor(
    meter: Meter,
    private readonly conventions: GenAiConventions,
  ) {
    const histogram = ({ name, unit, description, buckets }: (typeof GEN_AI_METRICS)[keyof typeof GEN_AI_METRICS]) =>
      meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...buckets] } });
    this.tokenUsage = histogram(GEN_AI_METRICS.tokenUsage);
    this.duration = histogram(GEN_AI_METRICS.operationDuration);
    this.timeToFirstChunk = histogram(GEN_AI_METRICS.timeToFirstChunk);
  }

  add(event: AgentEvent): void {
    if (event.type !== 'llm.response') return;
    const base: Attributes = { [GEN_AI_OPERATION_NAME]: 'chat', ...providerAttributes(event.provider, event.model, this.conventions) };
    // Durations of failed calls too, marked with the error kind (never the message), as the convention asks.
    this.duration.record(event.latencyMs / 1000, event.ok ? base : { ...base, [ATTR_ERROR_TYPE]: event.error?.kind ?? 'bad_response' });
    if (!event.ok) return;
    // Only counts the vendor reported: an unknown count is no sample, not a 0.
    if (event.inputTokens !== null) this.tokenUsage.record(event.inputTokens, { ...base, [GEN_AI_TOKEN_TYPE]: 'input' });
    if (event.outputTokens !== null) this.tokenUsage.record(event.outputTokens, { ...base, [GEN_AI_TOKEN_TYPE]: 'output' });
    if (event.ttftMs !== null) this.timeToFirstChunk.record(event.ttftMs / 1000, base);
  }
}
