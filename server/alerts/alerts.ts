/**
 * Watches the event stream and raises `alert` events worth a notification: a run stopped by its budget, a
 * provider failing a large share of its calls, a call far slower than that model's usual latency, a key's rate
 * limit nearly used up (under 10% of its requests or tokens left, as the vendor's headers said). Each alert
 * is rate-limited so a bad hour gives one notification, not fifty.
 */
import type { AgentEvent, EventInput } from '../protocol';
import { lowHeadroom } from '../protocol/events';

export const ALERT_RULES = {
  /** Error rate over a provider's last `errorWindow` calls (within the hour) that raises an alert. */
  errorRate: 0.25,
  errorWindow: 20,
  errorMinCalls: 5,
  /** A call slower than `latencyFactor` × the model's median of its last `latencyWindow` good calls, and at least `latencyFloorMs`. */
  latencyFactor: 3,
  latencyWindow: 50,
  latencyMinSamples: 10,
  latencyFloorMs: 5000,
  /** The same alert (kind + provider/model) at most once per this long. */
  quietMs: 15 * 60_000,
} as const;

export class AlertMonitor {
  private readonly calls = new Map<string, Array<{ ts: number; ok: boolean }>>();
  private readonly latencies = new Map<string, number[]>();
  private readonly lastRaised = new Map<string, number>();

  constructor(private readonly raise: (alert: EventInput) => void) {}

  observe(event: AgentEvent): void {
    if (event.type === 'run.finished' && event.reason === 'budget_usd') {
      this.once(`budget:${event.runId}`, event.ts, {
        type: 'alert',
        kind: 'budget',
        runId: event.runId,
        message: `a run stopped after spending its $${event.costUsd.toFixed(2)} budget (devAi.budgetUsd)`,
      });
    }
    if (event.type !== 'llm.response' || event.error?.kind === 'cancelled') return;
    const { provider, model, ts } = event;

    const recent = (this.calls.get(provider) ?? []).filter((c) => c.ts > ts - 3_600_000).slice(-(ALERT_RULES.errorWindow - 1));
    recent.push({ ts, ok: event.ok });
    this.calls.set(provider, recent);
    const errors = recent.filter((c) => !c.ok).length;
    if (recent.length >= ALERT_RULES.errorMinCalls && errors / recent.length >= ALERT_RULES.errorRate) {
      this.once(`error_rate:${provider}`, ts, {
        type: 'alert',
        kind: 'error_rate',
        provider,
        message: `${provider} failed ${errors} of its last ${recent.length} calls (${Math.round((errors / recent.length) * 100)}%)`,
      });
    }

    const low = event.rateLimit && lowHeadroom(provider, event.rateLimit);
    if (low) this.once(`rate_limit:${provider}`, ts, { type: 'alert', kind: 'rate_limit', provider, model, message: low });

    if (!event.ok) return;
    const key = `${provider}\u0000${model}`;
    const history = this.latencies.get(key) ?? [];
    if (history.length >= ALERT_RULES.latencyMinSamples) {
      const median = [...history].sort((a, b) => a - b)[Math.floor(history.length / 2)];
      if (event.latencyMs >= ALERT_RULES.latencyFloorMs && event.latencyMs > ALERT_RULES.latencyFactor * median) {
        this.once(`latency:${key}`, ts, {
          type: 'alert',
          kind: 'latency',
          provider,
          model,
          message: `${provider} ${model} took ${(event.latencyMs / 1000).toFixed(1)} s for a call; it usually takes ${(median / 1000).toFixed(1)} s`,
        });
      }
    }
    history.push(event.latencyMs);
    if (history.length > ALERT_RULES.latencyWindow) history.shift();
    this.latencies.set(key, history);
  }

  private once(key: string, ts: number, alert: EventInput): void {
    const last = this.lastRaised.get(key);
    if (last !== undefined && ts - last < ALERT_RULES.quietMs) return;
    this.lastRaised.set(key, ts);
    this.raise(alert);
  }
}
