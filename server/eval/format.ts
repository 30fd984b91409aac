/** An eval's report and its events as terminal lines: the CLI prints them, MCP's `run_eval` answers with them. Pure. */
import type { EvalReport } from '../protocol/eval';
import type { AgentEvent } from '../protocol/events';
import { usd } from '../protocol/format';

const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const money = (value: number | null) => (value === null ? 'unpriced' : usd(value));

/** The leaderboard, best first, with each pass rate's 95% interval; then what mining said. */
export function formatLeaderboard(report: EvalReport): string {
  const header = ['model', 'pass', 'rate (95% CI)', 'pass@1', 'well-formed', 'iters', 'cost', '$/pass', 'mean time'];
  const rows = report.models.map((row) => [
    row.model,
    `${row.passed}/${row.tasks}`,
    `${percent(row.passRate)} (${percent(row.passRateLow)}–${percent(row.passRateHigh)})`,
    percent(row.passAt1),
    row.wellFormedRate === null ? '–' : percent(row.wellFormedRate),
    row.meanIterations === null ? '–' : row.meanIterations.toFixed(1),
    money(row.costUsd),
    row.costPerPassUsd === null ? '–' : usd(row.costPerPassUsd),
    `${(row.meanWallMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const models = new Set(report.cells.map((cell) => cell.model)).size;
  const missing = report.tasks * models - report.cells.filter((cell) => cell.outcome !== 'cancelled').length;
  const unfinished = report.complete ? '' : `, ${missing} cell(s) without a result (--resume ${report.evalId})`;
  return [
    `eval ${report.evalId}: ${report.tasks} task${report.tasks === 1 ? '' : 's'}${unfinished}`,
    line(header),
    ...rows.map(line),
    ...report.notes.map((note) => `note: ${note}`),
  ].join('\n');
}

/** An eval event's line, or undefined for the other events. */
export function formatEvalEvent(event: AgentEvent): string | undefined {
  switch (event.type) {
    case 'eval.started':
      return `eval ${event.evalId}${event.resumed ? ' resumed' : ''}: ${event.tasks} task(s) × ${event.models.length} model(s), ${event.cells} cell(s) to run`;
    case 'eval.cell': {
      const why = event.reason && event.outcome !== 'passed' ? ` (${event.reason.replaceAll('_', ' ')})` : '';
      const spent = `${event.iterations} iteration(s), ${money(event.costUsd)}, ${(event.wallMs / 1000).toFixed(1)} s`;
      return `  ${event.task} × ${event.model}: ${event.outcome}${why}, ${spent}`;
    }
    case 'eval.finished': {
      const why = event.error ? ` (${event.error})` : '';
      return `eval ${event.evalId} ${event.outcome}: ${event.cells} cell(s) in ${(event.durationMs / 1000).toFixed(1)} s${why}`;
    }
    default:
      return undefined;
  }
}
