import { createHash, randomUUID } from 'node:crypto';
import { askModel, Emit } from '../agent/askModel';
import type { Finding, ProviderName, ReviewSettings } from '../protocol';
import type { Provider } from '../providers/types';
import { numberedListing, parseFindings, PROMPT_VERSION, REVIEW_SYSTEM_PROMPT } from './findings';

/** A review that will not run, with the reason for the user. */
export class ReviewRefused extends Error {}

/** A review stopped because its document changed or the client cancelled it. */
export class ReviewCancelled extends Error {}

export const REVIEW_DEFAULTS = { maxFileKb: 64, hourlyBudgetUsd: 0.5, concurrency: 2 } as const;
const CACHE_ENTRIES = 500;
const HOUR = 3_600_000;

export interface ReviewerDeps {
  emit: Emit;
  settings: () => ReviewSettings;
  /** The configured provider and model (throws a configuration error when a key is missing). */
  model: () => { provider: Provider; model: string };
  /** Asked right before the model call; throws to refuse it (today's spend reached `devAi.dailyBudgetUsd`). */
  beforeCall?: () => void;
}

/**
 * Asks the model to review a file, with cost control: results cached by content hash + provider + model +
 * prompt version (an unchanged file costs no call), a concurrency limit, an hourly budget, a size limit, and
 * cancellation (a change to the document cancels its review in flight).
 */
export class Reviewer {
  private readonly cache = new Map<string, Finding[]>();
  private readonly spent: Array<[number, number]> = [];
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private budgetAlertHour = -1;

  constructor(private readonly deps: ReviewerDeps) {}

  async review(file: string, text: string, signal: AbortSignal): Promise<{ findings: Finding[]; cached: boolean; dropped: string[] }> {
    const settings = { ...REVIEW_DEFAULTS, ...this.deps.settings() };
    const bytes = Buffer.byteLength(text);
    if (bytes > settings.maxFileKb * 1024) {
      throw new ReviewRefused(`${file} is ${Math.ceil(bytes / 1024)} KB; reviews are limited to ${settings.maxFileKb} KB (devAi.review.maxFileKb)`);
    }
    const { provider, model } = this.deps.model();
    const key = cacheKey(text, provider.name, model);
    const reviewId = randomUUID();
    const base = { reviewId, file };
    const hit = this.cache.get(key);
    if (hit) {
      this.deps.emit({ type: 'review.started', ...base, provider: provider.name, model });
      this.deps.emit({ type: 'review.finished', ...base, findings: hit.length, dropped: [], cached: true, outcome: 'ok' });
      return { findings: hit, cached: true, dropped: [] };
    }
    this.checkBudget(settings.hourlyBudgetUsd);
    await this.acquire(settings.concurrency, signal);
    try {
      this.deps.beforeCall?.();
    } catch (err) {
      this.release();
      throw err;
    }
    this.deps.emit({ type: 'review.started', ...base, provider: provider.name, model });
    try {
      const reply = await askModel(
        provider,
        { model, system: REVIEW_SYSTEM_PROMPT, messages: [{ role: 'user', content: numberedListing(file, text) }], maxTokens: 4096, signal },
        this.deps.emit,
        { iteration: null },
      );
      if (reply.metrics.costUsd !== null) this.spent.push([Date.now(), reply.metrics.costUsd]);
      const parsed = parseFindings(reply.text, text.split('\n').length);
      if (!parsed.ok) throw new Error(parsed.error);
      this.remember(key, parsed.findings);
      this.deps.emit({ type: 'review.finished', ...base, findings: parsed.findings.length, dropped: parsed.dropped, cached: false, outcome: 'ok' });
      return { findings: parsed.findings, cached: false, dropped: parsed.dropped };
    } catch (err) {
      const cancelled = signal.aborted;
      this.deps.emit({
        type: 'review.finished',
        ...base,
        findings: 0,
        dropped: [],
        cached: false,
        outcome: cancelled ? 'cancelled' : 'error',
        ...(cancelled ? {} : { error: (err as Error).message }),
      });
      throw cancelled ? new ReviewCancelled(`the review of ${file} was cancelled`) : err;
    } finally {
      this.release();
    }
  }

  private checkBudget(hourlyBudgetUsd: number): void {
    if (!hourlyBudgetUsd) return;
    const now = Date.now();
    while (this.spent.length > 0 && this.spent[0][0] < now - HOUR) this.spent.shift();
    const spent = this.spent.reduce((sum, [, cost]) => sum + cost, 0);
    if (spent < hourlyBudgetUsd) return;
    const resume = new Date(this.spent[0][0] + HOUR).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const message = `reviews cost $${spent.toFixed(2)} in the last hour, the devAi.review.hourlyBudgetUsd limit; they resume at ${resume}`;
    const hour = Math.floor(now / HOUR);
    if (this.budgetAlertHour !== hour) {
      this.budgetAlertHour = hour;
      this.deps.emit({ type: 'alert', kind: 'budget', message });
    }
    throw new ReviewRefused(message);
  }

  private acquire(limit: number, signal: AbortSignal): Promise<void> {
    if (this.running < limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const go = () => {
        signal.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(go), 1);
        reject(new ReviewCancelled(`the review was cancelled before it started`));
      };
      this.waiting.push(go);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  private remember(key: string, findings: Finding[]): void {
    this.cache.set(key, findings);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
  }
}

function cacheKey(text: string, provider: ProviderName, model: string): string {
  return createHash('sha256').update(`${PROMPT_VERSION}\0${provider}\0${model}\0${text}`).digest('hex');
}
