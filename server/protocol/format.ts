/** Formatting every front end shares, so a cost reads the same in the terminal, the status bar and the dashboard. */

/** A cost in US dollars: cents above one cent, four places below; null (no known price) says so. */
export function usd(value: number | null): string {
  return value === null ? 'cost unknown' : `$${value.toFixed(value < 0.01 ? 4 : 2)}`;
}
