import { useState } from 'preact/hooks';
import { MATCH_STEPS } from '../../server/protocol/events';
import { insights } from '../insights';
import { costSeries, latencySeries, ModelStats, modelStats, passRateByModel, spendSince, tokensByProvider, Window } from '../queries';
import { count, ms, percent, placedBy, usd, wellFormed } from '../format';
import type { Store } from '../store';
import { BarChart, LineChart } from './Charts';
import { Column, ColumnCells, ColumnHeads } from './Columns';

const WINDOWS: Array<{ id: Window; label: string; phrase: string }> = [
  { id: 'hour', label: 'Last hour', phrase: 'last hour' },
  { id: 'day', label: 'Last day', phrase: 'last day' },
  { id: 'all', label: 'All', phrase: 'whole log' },
];

/** The model table's columns: sixteen, cards at sidebar width (`Columns.tsx`). */
const COLUMNS: Array<Column<ModelStats>> = [
  { col: 'calls', label: 'Calls', value: (s) => count(s.calls) },
  { col: 'errorRate', label: 'Errors', value: (s) => percent(s.errorRate) },
  { col: 'p50', label: 'p50', value: (s) => ms(s.p50LatencyMs) },
  { col: 'p95', label: 'p95', value: (s) => ms(s.p95LatencyMs) },
  { col: 'ttft', label: 'TTFT p50', value: (s) => ms(s.p50TtftMs) },
  { col: 'in', label: 'Tokens in', value: (s) => count(s.inputTokens) },
  { col: 'cached', label: 'Cached', title: "Of the tokens in, those read from the vendor's prompt cache", value: (s) => count(s.cachedInputTokens) },
  { col: 'out', label: 'Tokens out', value: (s) => count(s.outputTokens) },
  {
    col: 'tokensPerSec',
    label: 'Tokens/s',
    title: 'Output tokens per second of generating, as a local model server (Ollama) measured it: prompt reading and model loading left out',
    value: (s) => (s.outputTokensPerSec === null ? '–' : s.outputTokensPerSec.toFixed(s.outputTokensPerSec < 10 ? 1 : 0)),
  },
  {
    col: 'load',
    label: 'Load',
    title: 'Mean time the local model server spent loading the model before a call: seconds when the model was cold, about nothing when warm',
    value: (s) => ms(s.meanLoadMs),
  },
  { col: 'cost', label: 'Cost', value: (s) => usd(s.costUsd) },
  { col: 'runs', label: 'Runs', value: (s) => String(s.runs) },
  { col: 'passRate', label: 'Pass rate', value: (s) => percent(s.passRate) },
  { col: 'iterations', label: 'Iter. to pass', value: (s) => (s.meanIterationsToPass === null ? '–' : s.meanIterationsToPass.toFixed(1)) },
  { col: 'costPerPass', label: '$ / passing run', value: (s) => (s.costPerPassingRun === null ? '–' : usd(s.costPerPassingRun)) },
  {
    col: 'wellFormed',
    label: 'Well-formed',
    title: "Of the replies whose edits were judged (in the runs started in this window), the share whose edits applied: Aider's well-formed edit rate",
    value: (s) => wellFormed(s.wellFormedRate, s.editReplies),
  },
  {
    col: 'placedBy',
    label: 'Placed by',
    title: `Files written, by the matching-ladder step that placed their edits, strictest first: ${MATCH_STEPS.join(', ')}`,
    // A step and its count stay on one line where the cell wraps.
    value: (s) => placedBy(s.matchSteps).replace(/ (?=\d)/g, '\u00a0'),
  },
];

/** Provider analytics over a chosen window: the stats table, insights and charts. `version` re-runs the queries. */
export function Analytics({ store, budgetUsd }: { store: Store; version: number; budgetUsd: number | null }) {
  const db = store.db;
  const [window, setWindow] = useState<Window>('day');
  const now = Date.now();
  const stats = modelStats(store, window, now);
  const today = new Date();
  const spendToday = spendSince(db, new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime());
  const findings = insights(stats, spendToday, budgetUsd, WINDOWS.find((w) => w.id === window)!.phrase);
  return (
    <section class="analytics">
      <div class="window" role="radiogroup" aria-label="Window">
        {WINDOWS.map((w) => (
          <button key={w.id} role="radio" aria-checked={w.id === window} class={w.id === window ? 'selected' : ''} onClick={() => setWindow(w.id)}>
            {w.label}
          </button>
        ))}
        <span class="spend" title="What today's priced model calls of everyday runs cost (an eval's runs are in the Models tab, apart)">
          Today {usd(spendToday)}
        </span>
      </div>
      {findings.length > 0 && (
        <ul class="insights">
          {findings.map((f) => (
            <li key={f.text} class={f.level}>
              <i class={`codicon codicon-${f.level === 'warning' ? 'warning' : 'lightbulb'}`} /> {f.text}
            </li>
          ))}
        </ul>
      )}
      <div class="table-wrap">
        <table class="stats">
          <thead>
            <tr>
              <th>Provider / model</th>
              <ColumnHeads columns={COLUMNS} />
            </tr>
          </thead>
          <tbody>
            {stats.length === 0 && (
              <tr>
                <td colSpan={COLUMNS.length + 1} class="muted">
                  No model calls in this window.
                </td>
              </tr>
            )}
            {stats.map((s) => (
              // data-stats: the row's numbers unrounded, for tools and tests to read exactly.
              <tr key={`${s.provider} ${s.model}`} data-model={`${s.provider} ${s.model}`} data-stats={JSON.stringify(s)}>
                <td>
                  {s.provider} <span class="muted">{s.model}</span>
                </td>
                <ColumnCells columns={COLUMNS} row={s} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="charts">
        <LineChart title="Latency over time (mean)" points={latencySeries(db, window, now)} format={(v) => ms(v)} />
        <LineChart title="Cost over time" points={costSeries(db, window, now)} format={(v) => usd(v)} />
        <BarChart
          title="Tokens by provider"
          items={tokensByProvider(db, window, now).map((t) => ({
            label: t.provider,
            value: t.input + t.output,
            display: `${count(t.input)} in / ${count(t.output)} out`,
          }))}
        />
        <BarChart
          title="Pass rate by model"
          items={passRateByModel(db, window, now).map((p) => ({ label: p.model, value: p.rate, display: `${percent(p.rate)} of ${p.finished}` }))}
        />
      </div>
    </section>
  );
}
