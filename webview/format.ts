/** Display formatting shared by the components. */
export { percent, placedBy, usd, wellFormed } from '../server/protocol/format';

export function ms(value: number | null): string {
  if (value === null) return '–';
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

// One formatter each, made once: `toLocaleString` with options builds a new one per call, which cost
// ~2 ms a call here (200 ms for the Activity list's 100 runs).
const counts = new Intl.NumberFormat('en-US');
const clockTimes = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const chartTimes = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const chartDays = new Intl.DateTimeFormat([], { month: 'short', day: 'numeric' });

export function count(value: number | null): string {
  if (value === null) return '–';
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : counts.format(value);
}

/** A time of day to the second (run start times). */
export function clock(ts: number): string {
  return clockTimes.format(ts);
}

/** A chart axis's end: the time of day, or the date on a chart spanning more than a day (`spanMs`). */
export function chartTime(ts: number, spanMs: number): string {
  return (spanMs > 86_400_000 ? chartDays : chartTimes).format(ts);
}
