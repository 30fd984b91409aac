import { useEffect, useState } from 'preact/hooks';
import { HEADROOM_ALERT_SHARE } from '../../server/protocol/events';
import { Methods } from '../../server/protocol/methods';
import { PROVIDER_INFO } from '../../server/protocol/providers';
import type { ModelPrice, ProviderUsageResult, UsageSourceStatus } from '../../server/protocol/providerUsage';
import { count, percent, usd } from '../format';
import { discrepancies, headroomRows, OTHER, spendChart, type HeadroomRow, type SpendChart } from '../providerUsage';
import type { Store } from '../store';
import type { Transport } from '../transport';
import { PALETTE, TimeAxes } from './Charts';

const WINDOWS = [7, 30, 90, 365] as const;

/** Rows of the discrepancy list shown before "show all": a year of a price mismatch is hundreds. */
const DISCREPANCIES_SHOWN = 20;

type Usage = { loading: true } | { result: ProviderUsageResult } | { error: string };

/**
 * The provider's side of the story: the org's spend per day and model as the vendors' admin APIs bill it, with
 * micro-agent's share drawn inside, the days where the bill and the log disagree and why, and each key's
 * rate-limit headroom as its last call left it. The usage comes from the host (`microAgent/providerUsage`,
 * which refreshes the local cache from the vendors); the headroom from the log (the store), so it shows with no
 * admin key at all.
 */
export function Providers({ store, transport }: { store: Store; version: number; transport: Transport }) {
  const [sinceDays, setSinceDays] = useState<number>(30);
  const [usage, setUsage] = useState<Usage>({ loading: true });
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let current = true;
    setUsage({ loading: true });
    transport.request(Methods.providerUsage, { sinceDays }).then(
      (result) => current && setUsage({ result }),
      (err: Error) => current && setUsage({ error: err.message }),
    );
    return () => {
      current = false;
    };
  }, [sinceDays, reload]);
  const headroom = headroomRows(store.headroom.values(), Date.now());
  return (
    <section class="providers" data-state={'loading' in usage ? 'loading' : 'error' in usage ? 'error' : 'ready'}>
      <div class="window" role="radiogroup" aria-label="Days">
        {WINDOWS.map((days) => (
          <button key={days} role="radio" aria-checked={days === sinceDays} class={days === sinceDays ? 'selected' : ''} onClick={() => setSinceDays(days)}>
            {days === 365 ? 'Year' : `${days} days`}
          </button>
        ))}
        <button
          class="spend"
          title="Ask the host again: it fetches the vendors' latest numbers when its copy is over a minute old"
          onClick={() => setReload((n) => n + 1)}
        >
          <i class="codicon codicon-refresh" /> Refresh
        </button>
      </div>
      {'loading' in usage && <p class="muted">Fetching the org's usage from the vendors…</p>}
      {'error' in usage && <p class="error-text">The org's usage could not be read: {usage.error}</p>}
      {'result' in usage && <UsageView result={usage.result} />}
      <HeadroomTable rows={headroom} />
    </section>
  );
}

function UsageView({ result }: { result: ProviderUsageResult }) {
  const missing = result.sources.filter((s) => s.state === 'no_admin_key');
  if (missing.length === result.sources.length) return <AdminKeyHelp />;
  const chart = spendChart(result);
  const flagged = discrepancies(result.rows);
  return (
    <>
      <Sources sources={result.sources} />
      <SpendBars chart={chart} />
      <Discrepancies items={flagged} />
    </>
  );
}

/** With no admin key the vendors show nothing: say where one goes. The variable names come from the provider table. */
function AdminKeyHelp() {
  const variables = (['openai', 'anthropic'] as const).map((p) => PROVIDER_INFO[p].adminKeyVariable);
  return (
    <div class="admin-help" data-admin-key="missing">
      <p>
        <i class="codicon codicon-key" /> <strong>No admin key is set.</strong> The org's usage and cost come from the vendors' admin APIs, which a chat key
        cannot read.
      </p>
      <ul>
        <li>
          Set <code>{variables[0]}</code> or <code>{variables[1]}</code> in the environment VS Code (or <code>micro-agent</code>) starts in, or
        </li>
        <li>
          run <strong>dev-ai: Set Admin Key</strong> from the Command Palette: the key is kept in VS Code's secret storage.
        </li>
      </ul>
      <p class="muted">Admin keys are made in the vendors' consoles (OpenAI: organization admin keys; Anthropic: admin keys) and never leave this machine.</p>
    </div>
  );
}

/** What each vendor said, when it was not a plain success: a key that is not an admin key, a fetch that failed. */
function Sources({ sources }: { sources: UsageSourceStatus[] }) {
  const told = sources.filter((s) => s.message !== null && s.state !== 'ok' && s.state !== 'cached');
  if (told.length === 0) return null;
  return (
    <ul class="insights sources">
      {told.map((s) => (
        <li key={s.provider} class="warning" data-source={s.provider} data-state={s.state}>
          <i class="codicon codicon-warning" /> {s.provider}: {s.message}
          {s.state === 'no_admin_key' && <> (set {PROVIDER_INFO[s.provider].adminKeyVariable} or run dev-ai: Set Admin Key)</>}
        </li>
      ))}
    </ul>
  );
}

const W = 300;
const H = 130;
const PAD = { left: 40, right: 4, top: 6, bottom: 16 };

/**
 * One column a day, stacked by model: the pale part is the org's spend on it, the solid part inside it the share
 * micro-agent's own calls account for. viewBox units, so it scales to the sidebar.
 */
function SpendBars({ chart }: { chart: SpendChart }) {
  const format = (v: number) => (chart.measure === 'usd' ? usd(v) : `${count(v)} tok`);
  const title = chart.measure === 'usd' ? "The org's spend per day and model" : "The org's tokens per day and model (the vendors gave no cost)";
  const max = Math.max(...chart.days.map((d) => d.total), 0);
  const colour = (series: string) => (series === OTHER ? 'var(--vscode-descriptionForeground)' : PALETTE[chart.series.indexOf(series) % PALETTE.length]);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, chart.days.length);
  const barW = Math.max(0.5, step * 0.8);
  const y = (v: number) => (max > 0 ? (v / max) * plotH : 0);
  return (
    <figure class="chart spend-chart" data-measure={chart.measure} data-days={chart.days.length}>
      <figcaption>{title}</figcaption>
      <p class="spend-totals">
        Org <strong data-total="org">{format(chart.totals.org)}</strong>, of which micro-agent's calls{' '}
        <strong data-total="mine">{format(chart.totals.mine)}</strong> ({percent(chart.totals.org > 0 ? chart.totals.mine / chart.totals.org : null)})
      </p>
      {max === 0 ? (
        <p class="muted">The vendors billed nothing in these days.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
          <TimeAxes box={{ w: W, h: H, pad: PAD }} top={format(max)} from={chart.days[0]?.day.slice(5) ?? ''} to={chart.days.at(-1)?.day.slice(5) ?? ''} />
          {chart.days.map((d, i) => {
            let base = H - PAD.bottom;
            const x = PAD.left + i * step + (step - barW) / 2;
            return (
              <g key={d.day} data-day={d.day}>
                {d.segments.map((s) => {
                  const h = y(s.value);
                  const mine = y(s.mine);
                  base -= h;
                  return (
                    <g key={s.series} data-series={s.series} data-value={s.value} data-mine={s.mine}>
                      <title>{`${d.day} ${s.series}: ${format(s.value)}, micro-agent ${format(s.mine)}`}</title>
                      <rect class="org" x={x} y={base} width={barW} height={h} fill={colour(s.series)} />
                      {mine > 0 && <rect class="mine" x={x} y={base + h - mine} width={barW} height={mine} fill={colour(s.series)} />}
                    </g>
                  );
                })}
              </g>
            );
          })}
        </svg>
      )}
      <ul class="legend">
        {chart.series.map((series) => (
          <li key={series}>
            <span class="swatch" style={{ background: colour(series) }} />
            {series}
          </li>
        ))}
        <li class="muted">solid: micro-agent's calls · pale: the rest of the org</li>
      </ul>
    </figure>
  );
}

const FLAG_TITLES = {
  logged_exceeds_billed: 'Logged more than billed',
  price_mismatch: 'Price mismatch',
  not_billed_yet: 'Not billed yet',
} as const;

function perMillion(price: ModelPrice): string {
  const rate = (v: number) => `$${v.toFixed(v < 1 ? 3 : 2)}`;
  const parts = [`${rate(price.input)} in`, `${rate(price.output)} out`];
  if (price.cached !== undefined) parts.push(`${rate(price.cached)} cached`);
  return `${parts.join(', ')} per 1M tokens`;
}

function Discrepancies({ items }: { items: ReturnType<typeof discrepancies> }) {
  const [all, setAll] = useState(false);
  const shown = all ? items : items.slice(0, DISCREPANCIES_SHOWN);
  return (
    <section class="discrepancies">
      <h3>Where the bill and the log disagree</h3>
      {items.length === 0 ? (
        <p class="muted">No discrepancies: every day's bill matches what micro-agent logged and priced.</p>
      ) : (
        <ul>
          {shown.map((d) => (
            <li key={`${d.day} ${d.provider} ${d.model} ${d.flag}`} data-flag={d.flag} data-day={d.day} data-model={`${d.provider} ${d.model}`}>
              <div class="discrepancy-head">
                <span class={`flag ${d.flag}`}>{FLAG_TITLES[d.flag]}</span> <span class="muted">{d.day}</span> {d.provider} <span class="muted">{d.model}</span>
              </div>
              <div class="discrepancy-note">{d.message}</div>
              {d.impliedPrice && (
                <div class="discrepancy-note muted" data-implied-price>
                  To price {d.model} at {perMillion(d.impliedPrice)}, run <code>micro-agent usage --write-prices</code>: it writes the implied rates to
                  .micro-agent/prices.json.
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {!all && items.length > shown.length && (
        <button class="link" onClick={() => setAll(true)}>
          Show all {items.length}
        </button>
      )}
    </section>
  );
}

function Meter({ share }: { share: number | null }) {
  if (share === null) return <span class="muted">–</span>;
  return (
    <span class={`meter ${share < HEADROOM_ALERT_SHARE ? 'low' : ''}`} title={`${percent(share)} left`}>
      <span style={{ width: `${Math.max(2, Math.min(100, share * 100))}%` }} />
    </span>
  );
}

function HeadroomTable({ rows }: { rows: HeadroomRow[] }) {
  const left = (part: HeadroomRow['requests']) =>
    part.remaining === null ? '–' : part.limit === null ? count(part.remaining) : `${count(part.remaining)} / ${count(part.limit)}`;
  const resets = (row: HeadroomRow) =>
    row.resetAt === null
      ? '–'
      : row.stale
        ? 'reset since'
        : new Date(row.resetAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return (
    <section class="headroom">
      <h3>Rate-limit headroom</h3>
      {rows.length === 0 ? (
        <p class="muted">No call has reported a rate limit yet: OpenAI and Anthropic send it with every response; Ollama has none.</p>
      ) : (
        <ul class="headroom-list">
          {rows.map((row) => (
            <li
              key={`${row.provider} ${row.key}`}
              data-key={`${row.provider} ${row.key}`}
              data-least={row.least ?? ''}
              class={row.least !== null && row.least < HEADROOM_ALERT_SHARE && !row.stale ? 'low' : ''}
              title={`As of the ${row.model} call at ${new Date(row.ts).toLocaleString()}`}
            >
              <div class="headroom-key">
                {row.least !== null && row.least < HEADROOM_ALERT_SHARE && !row.stale && <i class="codicon codicon-warning" />} {row.provider}{' '}
                <span class="muted">{row.key}</span>
              </div>
              <div class="headroom-values">
                <span data-col="requests">
                  <span class="muted">Requests</span> {left(row.requests)} <Meter share={row.requests.share} />
                </span>
                <span data-col="tokens">
                  <span class="muted">Tokens</span> {left(row.tokens)} <Meter share={row.tokens.share} />
                </span>
                <span data-col="resets">
                  <span class="muted">Resets</span> {resets(row)}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
