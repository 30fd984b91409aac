/**
 * The eval's numbers, computed once for the CLI, the host and the dashboard: the Wilson interval, a model's row
 * folded from its cells, and the leaderboard order. Pure.
 */
import type { EvalCell, EvalModelRow } from './eval';

/** The normal quantile of a two-sided 95% interval. */
export const WILSON_Z = 1.96;

/**
 * The Wilson score interval for `passed` successes out of `n` (no continuity correction): unlike p ± z·se it
 * stays inside [0, 1] and is honest at the small n an eval has. n = 0 says nothing: [0, 1].
 */
export function wilsonInterval(passed: number, n: number, z = WILSON_Z): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = passed / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamped only against floating-point dust (1.0000000000000002).
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** One model's row from its cells (every cell of `cells` is that model's). */
export function modelRow(model: string, cells: readonly EvalCell[]): EvalModelRow {
  const tasks = cells.length;
  const passing = cells.filter((cell) => cell.outcome === 'passed');
  const passed = passing.length;
  const priced = cells.filter((cell) => cell.costUsd !== null);
  const costUsd = priced.length === 0 ? null : priced.reduce((sum, cell) => sum + (cell.costUsd ?? 0), 0);
  const editReplies = sum(cells, (cell) => cell.editReplies);
  const { low, high } = wilsonInterval(passed, tasks);
  const rate = (count: number) => (tasks === 0 ? 0 : count / tasks);
  return {
    model,
    tasks,
    passed,
    passAt1: rate(passing.filter((cell) => cell.iterations <= 1).length),
    passAt2: rate(passing.filter((cell) => cell.iterations <= 2).length),
    passRate: rate(passed),
    passRateLow: low,
    passRateHigh: high,
    wellFormedRate: editReplies === 0 ? null : sum(cells, (cell) => cell.wellFormed) / editReplies,
    meanIterations: passed === 0 ? null : sum(passing, (cell) => cell.iterations) / passed,
    costUsd,
    costPerTaskUsd: costUsd === null || tasks === 0 ? null : costUsd / tasks,
    costPerPassUsd: costUsd === null || passed === 0 ? null : costUsd / passed,
    meanWallMs: tasks === 0 ? 0 : sum(cells, (cell) => cell.wallMs) / tasks,
    inputTokens: sum(cells, (cell) => cell.inputTokens),
    outputTokens: sum(cells, (cell) => cell.outputTokens),
  };
}

/** The leaderboard order: pass rate descending, then cost per pass ascending (nulls last), then mean wall time. */
export function compareRows(a: EvalModelRow, b: EvalModelRow): number {
  if (a.passRate !== b.passRate) return b.passRate - a.passRate;
  if (a.costPerPassUsd !== b.costPerPassUsd) {
    if (a.costPerPassUsd === null) return 1;
    if (b.costPerPassUsd === null) return -1;
    return a.costPerPassUsd - b.costPerPassUsd;
  }
  return a.meanWallMs - b.meanWallMs;
}

/**
 * The leaderboard over every cell: one row per model, in `compareRows` order. A cell that was cancelled is left
 * out (it has no result yet: `--resume` runs it), so a model's `tasks` counts its finished cells.
 */
export function leaderboard(cells: readonly EvalCell[]): EvalModelRow[] {
  const byModel = new Map<string, EvalCell[]>();
  for (const cell of cells) {
    if (cell.outcome === 'cancelled') continue;
    const list = byModel.get(cell.model) ?? [];
    list.push(cell);
    byModel.set(cell.model, list);
  }
  return [...byModel].map(([model, list]) => modelRow(model, list)).sort(compareRows);
}

/**
 * The points of the pass-rate / cost-per-pass scatter that no other model beats on both (a higher or equal pass
 * rate for a lower or equal cost, one of them strictly): the best-value frontier, in ascending cost. Unpriced
 * models have no place on the cost axis.
 */
export function valueFrontier(rows: readonly EvalModelRow[]): EvalModelRow[] {
  const priced = rows.filter((row) => row.costPerPassUsd !== null);
  const cost = (row: EvalModelRow) => row.costPerPassUsd as number;
  const beats = (other: EvalModelRow, row: EvalModelRow) =>
    other.passRate >= row.passRate && cost(other) <= cost(row) && (other.passRate > row.passRate || cost(other) < cost(row));
  return priced.filter((row) => !priced.some((other) => beats(other, row))).sort((a, b) => cost(a) - cost(b));
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}
