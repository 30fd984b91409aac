/**
 * Sends each `alert` event this process raises to a webhook (`devAi.alerts.webhookUrl` /
 * MICRO_AGENT_ALERT_WEBHOOK) as `POST { text, alert }`: `text` is what a Slack incoming webhook (and Mattermost,
 * Discord's `/slack` endpoint, most chat bridges) shows; `alert` is the event itself for anything else.
 *
 * The agent never waits for it: alerts go into a bounded queue that one worker drains, each delivery with a
 * timeout and a few retries. A receiver that is down costs one warning in the log, not one per alert, until a
 * delivery succeeds again. The URL is a secret (Slack's carries its token in the path): it is redacted by the
 * log like the API keys and never appears in a message, even a failing one's.
 */
import * as path from 'node:path';
import type { EventLog } from '../events/log';
import type { AlertEvent } from '../protocol';

export interface WebhookLimits {
  queue: number;
  timeoutMs: number;
  retryDelaysMs: readonly number[];
}

export const WEBHOOK_LIMITS: WebhookLimits = {
  /** Alerts waiting at most; past this the oldest is dropped (and counted in the next warning). */
  queue: 100,
  /** Per attempt. */
  timeoutMs: 5000,
  /** Attempts per alert: the first and then retries after these delays. */
  retryDelaysMs: [500, 2000, 5000],
};

/** What a delivery's failure says, never the URL: an HTTP status, a timeout, or the socket error's code. */
class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface AlertWebhook {
  /** Waits (at most `ms`) for queued alerts to go out: before a CLI exits or the host shuts down. */
  close(ms?: number): Promise<void>;
}

/**
 * Starts posting the log's `alert` events; `url` is read for each delivery, so a changed setting applies to
 * the next alert and an unset one sends nothing. `workspace` names the project in the text.
 */
export function startAlertWebhook(log: EventLog, url: () => string | undefined, workspace: string, limits = WEBHOOK_LIMITS): AlertWebhook {
  const queue: AlertEvent[] = [];
  let dropped = 0;
  let failing = false;
  let draining: Promise<void> | undefined;
  let closed = false;

  const warn = (message: string) => log.append({ type: 'log', level: 'warn', message });

  const drain = async () => {
    for (let alert = queue.shift(); alert; alert = queue.shift()) {
      const target = checkedUrl(url());
      if (!target.ok) {
        if (!failing) warn(`alert webhook: ${target.reason}; alerts are not sent until it is fixed`);
        failing = true;
        continue;
      }
      const error = await deliver(target.url, { text: slackText(alert, workspace), alert }, limits);
      if (error === undefined) {
        failing = false;
      } else if (!failing) {
        failing = true;
        const lost = dropped ? ` (and ${dropped} alert(s) dropped while the queue was full)` : '';
        warn(`alert webhook: could not deliver an alert: ${error}${lost}; further failures are not logged until a delivery succeeds`);
      }
      dropped = 0;
    }
  };

  // The URL's own secret: redacted wherever the log might otherwise print it (a test command, a message).
  let secret: string | undefined;
  const redact = (current: string | undefined) => {
    if (current === secret) return;
    secret = current;
    log.setSecrets(current ? [current] : [], 'webhook');
  };
  redact(url());

  const subscription = log.onEvent((event) => {
    if (event.type !== 'alert' || closed) return;
    const current = url();
    redact(current);
    if (!current) return;
    queue.push(event);
    if (queue.length > limits.queue) {
      queue.shift();
      dropped++;
    }
    draining ??= drain().finally(() => (draining = undefined));
  });

  return {
    async close(ms = limits.timeoutMs) {
      closed = true;
      subscription.dispose();
      if (!draining) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([draining, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    },
  };
}

/** The `text` a chat shows: the project, the kind and the message. */
export function slackText(alert: AlertEvent, workspace: string): string {
  return `:warning: *dev-ai* (${path.basename(workspace)}) ${alert.kind} alert: ${alert.message}`;
}

function checkedUrl(value: string | undefined): { ok: true; url: URL } | { ok: false; reason: string } {
  let parsed: URL;
  try {
    parsed = new URL(value ?? '');
  } catch {
    return { ok: false, reason: 'the webhook URL is not a URL' };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { ok: false, reason: 'the webhook URL is not an http: or https: URL' };
  return { ok: true, url: parsed };
}

/** One alert, with retries; undefined when delivered, else why not (no URL in it). */
async function deliver(url: URL, body: unknown, limits: WebhookLimits): Promise<string | undefined> {
  let last = '';
  for (let attempt = 0; attempt <= limits.retryDelaysMs.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, limits.retryDelaysMs[attempt - 1]));
    try {
      await post(url, body, limits.timeoutMs);
      return undefined;
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(networkReason(err), true);
      last = failure.message;
      if (!failure.retryable) break;
    }
  }
  return last;
}

async function post(url: URL, body: unknown, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') throw new DeliveryError(`no answer within ${timeoutMs / 1000} s`, true);
    throw err;
  }
  await drainBody(response);
  if (response.ok) return;
  // A receiver's 4xx (a revoked Slack hook answers 403/404) will not change by retrying; 429 and 5xx may.
  throw new DeliveryError(`HTTP ${response.status}`, response.status === 429 || response.status >= 500);
}

/**
 * The most of a receiver's reply body read. The body says nothing we use (a chat answers `ok`); reading it lets
 * the connection be reused. A receiver that streams without end gets this much read and its body cancelled,
 * never the process's memory.
 */
export const MAX_REPLY_BODY_BYTES = 64 * 1024;

/** Reads and drops at most `MAX_REPLY_BODY_BYTES` of the reply, then cancels the rest (closing the connection). */
async function drainBody(response: Response): Promise<void> {
  const reader = response.body?.getReader();
  if (!reader) return;
  try {
    for (let read = 0; read <= MAX_REPLY_BODY_BYTES;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
  } catch {
    // a reset or the timeout mid-body: the status already said what we need
  }
  await reader.cancel().catch(() => undefined);
}

/** `fetch failed` says nothing; its cause's code (ECONNREFUSED, ENOTFOUND) does, without the address. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : 'a network error';
}
