import type { Database } from 'sql.js';
import { useEffect, useState } from 'preact/hooks';
import type { EvalCell, EvalModelRow, EvalReport, EvalSummary } from '../../server/protocol/eval';
import { valueFrontier } from '../../server/protocol/leaderboard';
import { Methods } from '../../server/protocol/methods';
import { clock, ms, percent, usd } from '../format';
import { runEvents } from '../queries';
import type { Transport } from '../transport';
import { PALETTE } from './Charts';
import { Timeline } from './Activity';
import { Column, ColumnCells, ColumnHeads } from './Columns';

/** A cell's outcome as an icon, like a run's in the Activity list. */
const OUTCOME_ICON: Record<EvalCell['outcome'], string> = {
  passed: 'pass',
  failed: 'error',
  error: 'warning',
  refused: 'circle-slash',
  cancelled: 'debug-stop',
};

/**
 * `micro-agent eval` in the dashboard: which model fixes this repository's bugs, at what cost. The leaderboard
 * with each pass rate's 95% interval drawn on one shared axis, the task × model grid whose cells open their
 * run, and pass rate against cost per pass with the best-value frontier. Every number is the host's report
 * (`microAgent/eval`), asked again as `eval.*` events arrive (`evalsVersion`), so the view equals what
 * `micro-agent eval --json` prints.
 */
export function Models({
  db,
  transport,
  evalsVersion,
  shownEval,
  loadRun,
  unpinRun,
}: {
  db: Database;
  version: number;
  transport: Transport;
  /** Counts `eval.*` events seen: the list and the shown report are asked again when it changes. */
  evalsVersion: number;
  /** An eval the editor asked to show (Compare Models finished), else the newest. */
  shownEval: string | null;
  loadRun: (runId: string) => Promise<void>;
  unpinRun: (runId: string) => void;
}) {
  const [evals, setEvals] = useState<EvalSummary[] | { error: string } | null>(null);
  const [picked, setPicked] = useState<string | null>(shownEval);
  const [report, setReport] = useState<EvalReport | { error: string } | null>(null);
  useEffect(() => setPicked(shownEval), [shownEval]);
  useEffect(() => {
    transport.request(Methods.evals, {}).then(
      (result) => setEvals(result.evals),
      (err: Error) => setEvals({ error: err.message }),
    );
  }, [evalsVersion]);
  const list = Array.isArray(evals) ? evals : [];
  const evalId = picked ?? list[0]?.evalId ?? null;
  useEffect(() => {
    if (evalId === null) return;
    let current = true;
    transport.request(Methods.eval, { evalId }).then(
      (result) => current && setReport(result),
      (err: Error) => current && setReport({ error: err.message }),
    );
    return () => void (current = false);
  }, [evalId, evalsVersion]);

  if (evals === null) return <p class="muted empty">Loading evals…</p>;
  if (!Array.isArray(evals)) return <p class="error-text empty">Could not list the evals: {evals.error}</p>;
  if (evals.length === 0)
    return (
      <section class="models">
        <p class="muted empty">
          No evals yet. Run <b>dev-ai: Compare Models on This Repository…</b> from the command palette (or <code>micro-agent eval</code> in a terminal) to give
          every model the same tasks, mined from this repository's history.
        </p>
      </section>
    );
  const summary = list.find((e) => e.evalId === evalId);
  const shown = report && !('error' in report) && report.evalId === evalId ? report : null;
  return (
    <section class="models">
      <div class="toolbar">
        <label class="eval-picker">
          Eval{' '}
          <select value={evalId ?? ''} onChange={(e) => setPicked((e.target as HTMLSelectElement).value)}>
            {list.map((e) => (
              <option key={e.evalId} value={e.evalId}>
                {evalLabel(e)}
              </option>
            ))}
          </select>
        </label>
        {summary && (
          <span class="muted eval-status" data-status={summary.status}>
            {summary.status === 'running' ? (
              <>
                <i class="codicon codicon-sync codicon-modifier-spin" /> {summary.cellsDone} of {summary.cells} cells
              </>
            ) : (
              `${summary.status} · ${summary.cellsDone} of ${summary.cells} cells`
            )}
          </span>
        )}
      </div>
      {report && 'error' in report && <p class="error-text">Could not load this eval: {report.error}</p>}
      {!shown && !(report && 'error' in report) && <p class="muted">Loading the report…</p>}
      {shown && <Report report={shown} models={summary?.models ?? []} db={db} loadRun={loadRun} unpinRun={unpinRun} />}
    </section>
  );
}

function evalLabel(e: EvalSummary): string {
  const models = e.models.length === 1 ? '1 model' : `${e.models.length} models`;
  return `${new Date(e.startedAt).toLocaleDateString()} ${clock(e.startedAt)} · ${e.tasks} tasks × ${models}`;
}

function Report({
  report,
  models,
  db,
  loadRun,
  unpinRun,
}: {
  report: EvalReport;
  /** Every model the eval gives the tasks to, those with no result yet too. */
  models: string[];
  db: Database;
  loadRun: (runId: string) => Promise<void>;
  unpinRun: (runId: string) => void;
}) {
  const [opened, setOpened] = useState<EvalCell | null>(null);
  // Each model keeps its colour in the chart and its swatch in the table: by leaderboard place.
  const colour = new Map(report.models.map((row, i) => [row.model, PALETTE[i % PALETTE.length]]));
  return (
    <>
      {report.notes.length > 0 && (
        <ul class="insights">
          {report.notes.map((note) => (
            <li key={note}>
              <i class="codicon codicon-info" /> {note}
            </li>
          ))}
        </ul>
      )}
      <Leaderboard rows={report.models} colour={colour} />
      <Grid report={report} models={models} colour={colour} opened={opened} open={(cell) => setOpened(cell === opened ? null : cell)} />
      {opened?.runId && (
        <CellRun key={opened.runId} cell={opened} runId={opened.runId} db={db} loadRun={loadRun} unpinRun={unpinRun} close={() => setOpened(null)} />
      )}
      <div class="charts">
        <ValueScatter rows={report.models} colour={colour} />
      </div>
    </>
  );
}

/** The leaderboard's columns after the pass rate, cards at sidebar width (`Columns.tsx`). */
const COLUMNS: Array<Column<EvalModelRow>> = [
  { col: 'passed', label: 'Passed', value: (r) => `${r.passed} / ${r.tasks}` },
  { col: 'passAt1', label: 'Pass@1', title: 'Passed at the first attempt', value: (r) => percent(r.passAt1) },
  {
    col: 'wellFormed',
    label: 'Well-formed',
    title: 'Of the replies whose edits were judged, the share whose edits applied',
    value: (r) => percent(r.wellFormedRate),
  },
  {
    col: 'iterations',
    label: 'Iter. to pass',
    title: 'Mean iterations of the passing tasks',
    value: (r) => (r.meanIterations === null ? '–' : r.meanIterations.toFixed(1)),
  },
  { col: 'cost', label: 'Cost', value: (r) => (r.costUsd === null ? 'unpriced' : usd(r.costUsd)) },
  { col: 'costPerPass', label: '$ / pass', value: (r) => (r.costPerPassUsd === null ? '–' : usd(r.costPerPassUsd)) },
  { col: 'wall', label: 'Mean time', value: (r) => ms(r.meanWallMs) },
];

function Leaderboard({ rows, colour }: { rows: EvalModelRow[]; colour: Map<string, string> }) {
  return (
    <div class="table-wrap">
      <table class="stats leaderboard">
        <thead>
          <tr>
            <th>Model</th>
            <th class="interval-head" title="Pass rate with its 95% Wilson interval: with few tasks the truth can be anywhere on the bar">
              Pass rate (95% interval)
            </th>
            <ColumnHeads columns={COLUMNS} />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            // data-row: the row's numbers unrounded, for tools and tests to read exactly.
            <tr key={r.model} data-model={r.model} data-row={JSON.stringify(r)}>
              <td>
                <span class="rank">{i + 1}</span> <span class="swatch dot" style={{ background: colour.get(r.model) }} />
                {r.model}
              </td>
              <td data-col="passRate" data-label="Pass rate">
                <IntervalBar row={r} colour={colour.get(r.model)!} />
              </td>
              <ColumnCells columns={COLUMNS} row={r} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const BAR_W = 120;

/**
 * The pass rate as a dot on a 0–100% track with its Wilson interval as a bar: every row shares the scale, so
 * overlapping bars say plainly that two models are not told apart by this many tasks.
 */
function IntervalBar({ row, colour }: { row: EvalModelRow; colour: string }) {
  const x = (rate: number) => (rate * BAR_W).toFixed(1);
  const text = `${percent(row.passRate)} (${percent(row.passRateLow)}–${percent(row.passRateHigh)})`;
  return (
    <span class="interval">
      <svg class="interval-bar" viewBox={`-4 0 ${BAR_W + 8} 12`} role="img" aria-label={`pass rate ${text}`}>
        <line class="track" x1="0" x2={BAR_W} y1="6" y2="6" />
        <line class="tick-mark" x1={BAR_W / 2} x2={BAR_W / 2} y1="3" y2="9" />
        <rect class="ci" x={x(row.passRateLow)} y="3" width={Math.max(1, (row.passRateHigh - row.passRateLow) * BAR_W)} height="6" rx="2" fill={colour} />
        <circle cx={x(row.passRate)} cy="6" r="3.5" fill={colour} class="point" />
      </svg>
      <span class="interval-text">{text}</span>
    </span>
  );
}

/** Tasks down, models across (leaderboard order); a cell shows how its run ended and opens it. */
function Grid({
  report,
  models: asked,
  colour,
  opened,
  open,
}: {
  report: EvalReport;
  models: string[];
  colour: Map<string, string>;
  opened: EvalCell | null;
  open: (cell: EvalCell) => void;
}) {
  const cells = new Map(report.cells.map((c) => [`${c.task}\u0000${c.model}`, c]));
  // Leaderboard order first; models with no result yet (still running, or cancelled) have no row but a column.
  const models = [...new Set([...report.models.map((r) => r.model), ...asked, ...report.cells.map((c) => c.model)])];
  return (
    <div class="table-wrap grid-wrap">
      <table class="eval-grid">
        <thead>
          <tr>
            <th>Task</th>
            {models.map((m, i) => (
              // At sidebar width only the swatch and place show (styles.css): the leaderboard above names them.
              <th key={m} title={m}>
                {colour.has(m) && <span class="swatch dot" style={{ background: colour.get(m) }} />}
                <span class="rank">{i + 1}</span> <span class="model-name">{m.split(':').slice(1).join(':') || m}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {report.taskList.map((task) => (
            <tr key={task.id} data-task={task.id}>
              <th scope="row" title={`${task.origin}\n${task.files.join(', ')}`}>
                <span class="task-id">{task.id}</span>
                <span class="muted task-origin">{task.origin}</span>
              </th>
              {models.map((m) => {
                const cell = cells.get(`${task.id}\u0000${m}`);
                if (!cell)
                  return (
                    <td key={m} class="cell pending" data-model={m} title="Not run yet">
                      ·
                    </td>
                  );
                return (
                  <td key={m} class={`cell ${cell.outcome}`} data-model={m} data-cell={JSON.stringify(cell)}>
                    <button
                      class={opened === cell ? 'selected' : ''}
                      disabled={!cell.runId}
                      aria-pressed={opened === cell}
                      onClick={() => open(cell)}
                      title={`${cell.outcome} (${cell.reason}) · ${cell.iterations} iterations · ${usd(cell.costUsd)} · ${ms(cell.wallMs)}${
                        cell.referenceDiffLines === null ? '' : ` · diff ${cell.diffLines} lines, the reference fix ${cell.referenceDiffLines}`
                      }${cell.runId ? '\nOpen its run' : ''}`}
                    >
                      <i class={`codicon codicon-${OUTCOME_ICON[cell.outcome]}`} />
                      <span class="cell-text">
                        {cell.iterations}
                        <span class="cell-cost"> · {cell.costUsd === null ? '–' : usd(cell.costUsd)}</span>
                      </span>
                    </button>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The run of an opened cell: its attempts, as the Activity list shows a run. */
function CellRun({
  cell,
  runId,
  db,
  loadRun,
  unpinRun,
  close,
}: {
  cell: EvalCell;
  runId: string;
  db: Database;
  loadRun: (runId: string) => Promise<void>;
  unpinRun: (runId: string) => void;
  close: () => void;
}) {
  const [detail, setDetail] = useState<'loading' | 'ready' | { error: string }>('loading');
  useEffect(() => {
    loadRun(runId).then(
      () => setDetail('ready'),
      (err: Error) => setDetail({ error: err.message }),
    );
    return () => unpinRun(runId);
  }, [runId]);
  return (
    <div class={`cell-run run ${cell.outcome}`} data-run={runId}>
      <div class="run-head">
        <i class={`codicon codicon-${OUTCOME_ICON[cell.outcome]} status`} />
        <span class="file">{cell.task}</span>
        <span class="muted">
          {cell.model} · {cell.outcome} · {cell.iterations} iterations · {usd(cell.costUsd)} · {ms(cell.wallMs)}
        </span>
        <button class="icon" onClick={close} title="Close this run">
          <i class="codicon codicon-close" />
        </button>
      </div>
      {detail === 'loading' && <p class="muted">Loading the run…</p>}
      {typeof detail === 'object' && <p class="error-text">Could not load this run's events: {detail.error}</p>}
      {detail === 'ready' && <Timeline events={runEvents(db, runId)} />}
    </div>
  );
}

const W = 300;
const H = 170;
const PAD = { left: 34, right: 10, top: 14, bottom: 28 };

/**
 * Pass rate (up) against cost per pass (right): up and to the left is better. The frontier joins the models
 * no other beats on both (`valueFrontier`), each ringed; a model that passed nothing, or is unpriced, has no
 * cost per pass and is listed under the chart instead.
 */
function ValueScatter({ rows, colour }: { rows: EvalModelRow[]; colour: Map<string, string> }) {
  const title = 'Pass rate against cost per pass';
  const placed = rows.filter((r) => r.costPerPassUsd !== null);
  const unplaced = rows.filter((r) => r.costPerPassUsd === null);
  const frontier = valueFrontier(rows);
  const onFrontier = new Set(frontier.map((r) => r.model));
  const maxCost = niceCeiling(Math.max(0, ...placed.map((r) => r.costPerPassUsd!)));
  const x = (cost: number) => PAD.left + (cost / maxCost) * (W - PAD.left - PAD.right);
  const y = (rate: number) => H - PAD.bottom - rate * (H - PAD.top - PAD.bottom);
  const rank = new Map(rows.map((r, i) => [r.model, i + 1]));
  return (
    <figure class="chart value-chart">
      <figcaption>{title}</figcaption>
      {placed.length === 0 ? (
        <p class="muted">No model has a cost per pass yet (none passed a priced task).</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
          {[0, 0.5, 1].map((rate) => (
            <g key={rate}>
              <line class="grid-line" x1={PAD.left} x2={W - PAD.right} y1={y(rate)} y2={y(rate)} />
              <text class="tick" x={PAD.left - 4} y={y(rate) + 3} text-anchor="end">
                {percent(rate)}
              </text>
            </g>
          ))}
          <line class="axis" x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} />
          <text class="tick" x={PAD.left} y={H - PAD.bottom + 11}>
            $0
          </text>
          <text class="tick" x={W - PAD.right} y={H - PAD.bottom + 11} text-anchor="end">
            {usd(maxCost)}
          </text>
          <text class="tick" x={(PAD.left + W - PAD.right) / 2} y={H - 4} text-anchor="middle">
            cost per passing task →
          </text>
          <polyline
            class="frontier"
            data-frontier={frontier.map((r) => r.model).join(',')}
            points={frontier.map((r) => `${x(r.costPerPassUsd!).toFixed(1)},${y(r.passRate).toFixed(1)}`).join(' ')}
          />
          {placed.map((r) => (
            <g key={r.model} class={onFrontier.has(r.model) ? 'point on-frontier' : 'point'} data-model={r.model}>
              {onFrontier.has(r.model) && <circle class="ring" cx={x(r.costPerPassUsd!)} cy={y(r.passRate)} r="7" />}
              <circle cx={x(r.costPerPassUsd!)} cy={y(r.passRate)} r="4" fill={colour.get(r.model)} />
              <text class="point-label" x={x(r.costPerPassUsd!) + 8} y={y(r.passRate) - 5}>
                {rank.get(r.model)}
              </text>
            </g>
          ))}
        </svg>
      )}
      <ul class="legend value-legend">
        {rows.map((r) => (
          <li key={r.model} class={onFrontier.has(r.model) ? 'on-frontier' : ''}>
            <span class="swatch dot" style={{ background: colour.get(r.model) }} />
            {rank.get(r.model)}. {r.model}
            {onFrontier.has(r.model) && <span class="muted"> · best value</span>}
          </li>
        ))}
      </ul>
      {unplaced.length > 0 && (
        <p class="muted unplaced">Not placed (no cost per pass: nothing passed, or unpriced): {unplaced.map((r) => r.model).join(', ')}</p>
      )}
    </figure>
  );
}

/**
 * A round upper end for an axis from 0 that holds `max` with a little room: 1, 2 or 5 times a power of ten.
 * A max of 0 (every placed model free) still gets an axis.
 */
function niceCeiling(max: number): number {
  if (!(max > 0)) return 0.01;
  const target = max * 1.05;
  const power = 10 ** Math.floor(Math.log10(target));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= target)!;
}
