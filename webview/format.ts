/** Display formatting shared by the components. */
export { usd } from '../server/protocol/format';

export function ms(value: number | null): string {
  if (value === null) return '–';
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function count(value: number | null): string {
  if (value === null) return '–';
  return value >= 10_000 ? `${(value / 1000).toFixed(0)}k` : value.toLocaleString('en-US');
}

export function percent(value: number | null): string {
  return value === null ? '–' : `${Math.round(value * 100)}%`;
}

export function clock(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
