/** Formatting every front end shares, so a cost reads the same in the terminal, the status bar and the dashboard. */
import { MATCH_STEPS, type MatchStep } from './events';

/** A cost in US dollars: cents above one cent, four places below; null (no known price) says so. */
export function usd(value: number | null): string {
  return value === null ? 'cost unknown' : `$${value.toFixed(value < 0.01 ? 4 : 2)}`;
}

/** A rate from 0 to 1 as a whole percentage, `67%`; a dash for none. */
export function percent(value: number | null): string {
  return value === null ? '–' : `${Math.round(value * 100)}%`;
}

/** The well-formed edit rate of `replies` judged replies, `83% of 12`; a dash before any. */
export function wellFormed(rate: number | null, replies: number): string {
  return rate === null ? '–' : `${Math.round(rate * 100)}% of ${replies}`;
}

/** `exact 8, indent 2`: how many files each matching-ladder step placed, the steps that placed none left out. */
export function placedBy(steps: Record<MatchStep, number>): string {
  const used = MATCH_STEPS.filter((step) => steps[step] > 0).map((step) => `${step} ${steps[step]}`);
  return used.length ? used.join(', ') : '–';
}
