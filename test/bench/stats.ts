/** Small helpers for the benchmarks: timing, percentiles, a results table. */
import { percentile } from '../../server/events/stats';

export interface Result {
  name: string;
  value: number;
  unit: string;
  goal?: string;
  note?: string;
}

export function summarize(samples: number[]): { p50: number; p95: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50)!, p95: percentile(sorted, 95)!, mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

export function table(results: Result[]): string {
  const rows = results.map((r) => [r.name, `${format(r.value)} ${r.unit}`, r.goal ?? '', r.note ?? '']);
  const header = ['benchmark', 'result', 'goal', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function format(value: number): string {
  if (value >= 1000) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(3);
}
