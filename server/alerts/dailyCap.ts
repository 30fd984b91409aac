/**
 * `devAi.dailyBudgetUsd`: a hard cap on what model calls cost today (since local midnight), counted from the
 * log across every process that writes it. The engine asks before each run and the loop and the reviewer
 * before each model call; an `alert` goes out once when today's spend passes 80 % of the cap and once when it
 * reaches it. The log itself says whether an alert was already raised today (by this process or another).
 */
import { DailySpend } from '../events/dailySpend';
import type { EventLog } from '../events/log';
import { usd } from '../protocol/format';

/** Shares of the cap that raise an alert, each once a day. */
export const DAILY_ALERT_THRESHOLDS = [0.8, 1] as const;

export class DailyCap {
  private readonly spend: DailySpend;
  /** Ignored values already said in the log (see `warnIgnored`). */
  private warnedIgnored = 0;

  /** `cap` is read at every check, so a changed setting applies at the next call; null means no cap. */
  constructor(
    private readonly log: EventLog,
    private readonly cap: () => number | null,
  ) {
    this.spend = new DailySpend(log.file);
    // A call of ours that crosses 80 % raises its alert now, not at the next call (which may never come).
    // Deferred: an event appended from inside a listener would reach later listeners before the call's own.
    log.onEvent((event) => {
      if (event.type !== 'llm.response' || !event.costUsd) return;
      queueMicrotask(() => {
        try {
          this.reached();
        } catch {
          // A cap that does not parse (a bad MICRO_AGENT_DAILY_BUDGET_USD) is reported where it is enforced: the
          // next run or review is refused with the reason. Nothing thrown here may reach the crash guard.
        }
      });
    });
  }

  /** Today's spend and the cap, or null without a cap (the status bar shows them). */
  status(): { spentUsd: number; capUsd: number } | null {
    const capUsd = this.cap();
    return capUsd === null ? null : { spentUsd: this.spend.today().costUsd, capUsd };
  }

  /** Why no model call may be made now (the spend and the cap, for the user), or undefined while under the cap. */
  reached(): string | undefined {
    const capUsd = this.cap();
    if (capUsd === null) return undefined;
    const today = this.spend.today();
    this.warnIgnored();
    // The highest share crossed, once: a day that jumps past both thresholds gets one alert, not two.
    const threshold = [...DAILY_ALERT_THRESHOLDS].reverse().find((share) => today.costUsd >= capUsd * share);
    if (threshold !== undefined && ![...today.alerted].some((raised) => raised >= threshold)) {
      const spent = `model calls today cost ${usd(today.costUsd)}`;
      const share = `${Math.round((today.costUsd / capUsd) * 100)}% of the ${usd(capUsd)} daily budget (devAi.dailyBudgetUsd)`;
      this.log.append({
        type: 'alert',
        kind: 'budget',
        message:
          threshold < 1 ? `${spent}, ${share}` : `${spent}, the ${usd(capUsd)} daily budget (devAi.dailyBudgetUsd): runs and reviews stop until midnight`,
        daily: { spentUsd: today.costUsd, capUsd, threshold },
      });
    }
    if (today.costUsd < capUsd) return undefined;
    return (
      `model calls today cost ${usd(today.costUsd)}, which reaches the daily budget of ${usd(capUsd)} ` +
      '(devAi.dailyBudgetUsd, MICRO_AGENT_DAILY_BUDGET_USD or --daily-budget); no more model calls until midnight'
    );
  }

  /**
   * Says once, for each new lot, how many log values the cap could not count: a cost that is no number ≥ 0 was
   * written by something other than micro-agent (code under test can append to the log) and is never added.
   */
  private warnIgnored(): void {
    const { ignored } = this.spend.tally;
    if (ignored <= this.warnedIgnored) return;
    this.log.append({
      type: 'log',
      level: 'warn',
      message:
        `daily budget: ${ignored - this.warnedIgnored} value(s) in ${this.log.file} are not a number ≥ 0 ` +
        '(written by something other than micro-agent?); they were ignored, not added',
    });
    this.warnedIgnored = ignored;
  }
}
