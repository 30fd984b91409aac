import type { Database } from 'sql.js';
import { useState } from 'preact/hooks';
import { insights } from '../insights';
import { costSeries, latencySeries, modelStats, passRateByModel, spendSince, tokensByProvider, Window } from '../queries';
import { count, ms, percent, usd } from '../format';
import { BarChart, LineChart } from './Charts';

const WINDOWS: Array<{ id: Window; label: string; phrase: string }> = [
  { id: 'hour', label: 'Last hour', phrase: 'last hour' },
  { id: 'day', label: 'Last day', phrase: 'last day' },
  { id: 'all', label: 'All', phrase: 'whole log' },
];

/** Provider analytics over a chosen window: the stats table, insights and charts. `version` re-runs the queries. */
export function Analytics({ db, budgetUsd }: { db: Database; version: number; budgetUsd: number | null }) {
  const [window, setWindow] = useState<Window>('day');
  const now = Date.now();
  const stats = modelStats(db, window, now);
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
        <span class="spend" title="What today's priced model calls cost">
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
              <th>Calls</th>
              <th>Errors</th>
              <th>p50</th>
              <th>p95</th>
              <th>TTFT p50</th>
              <th>Tokens in</th>
              <th title="Of the tokens in, those read from the vendor's prompt cache">Cached</th>
              <th>Tokens out</th>
              <th>Cost</th>
              <th>Runs</th>
              <th>Pass rate</th>
              <th>Iter. to pass</th>
              <th>$ / passing run</th>
            </tr>
          </thead>
          <tbody>
            {stats.length === 0 && (
              <tr>
                <td colSpan={14} class="muted">
                  No model calls in this window.
                </td>
              </tr>
            )}
            {stats.map((s) => (
              <tr key={`${s.provider} ${s.model}`} data-model={`${s.provider} ${s.model}`}>
                <td>
                  {s.provider} <span class="muted">{s.model}</span>
                </td>
                <td data-col="calls">{count(s.calls)}</td>
                <td data-col="errorRate">{percent(s.errorRate)}</td>
                <td data-col="p50">{ms(s.p50LatencyMs)}</td>
                <td data-col="p95">{ms(s.p95LatencyMs)}</td>
                <td data-col="ttft">{ms(s.p50TtftMs)}</td>
                <td data-col="in">{count(s.inputTokens)}</td>
                <td data-col="cached">{count(s.cachedInputTokens)}</td>
                <td data-col="out">{count(s.outputTokens)}</td>
                <td data-col="cost">{usd(s.costUsd)}</td>
                <td data-col="runs">{s.runs}</td>
                <td data-col="passRate">{percent(s.passRate)}</td>
                <td data-col="iterations">{s.meanIterationsToPass === null ? '–' : s.meanIterationsToPass.toFixed(1)}</td>
                <td data-col="costPerPass">{s.costPerPassingRun === null ? '–' : usd(s.costPerPassingRun)}</td>
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
