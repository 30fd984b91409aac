/**
 * Charts as plain SVG: no chart library to ship (the bundle budget is 150 KB), colours from the theme's own
 * `--vscode-charts-*` variables, so dark, light and high-contrast themes all read well, and sizes in viewBox
 * units that scale to the sidebar's width.
 */
import type { SeriesPoint } from '../queries';
import { chartTime } from '../format';

/** The charts' colours in order, from the theme (`--vscode-charts-*`). */
export const PALETTE = ['blue', 'orange', 'green', 'purple', 'yellow', 'red'].map((c) => `var(--vscode-charts-${c})`);
const W = 300;
const H = 120;
const PAD = { left: 38, right: 6, top: 8, bottom: 18 };
/** Where the top value's label sits in every chart over time: a tick label's height below the viewBox's top. */
const TOP_LABEL_Y = 12;

/** A chart over time's frame: its viewBox size and plot margins. */
interface ChartBox {
  w: number;
  h: number;
  pad: { left: number; right: number; top: number; bottom: number };
}

/** The baseline, the top value and 0 on the left, the first and last time below it: the frame every chart over time shares. */
export function TimeAxes({ box: { w, h, pad }, top, from, to }: { box: ChartBox; top: string; from: string; to: string }) {
  return (
    <>
      <line class="axis" x1={pad.left} x2={w - pad.right} y1={h - pad.bottom} y2={h - pad.bottom} />
      <text class="tick" x={pad.left - 4} y={TOP_LABEL_Y} text-anchor="end">
        {top}
      </text>
      <text class="tick" x={pad.left - 4} y={h - pad.bottom} text-anchor="end">
        0
      </text>
      <text class="tick" x={pad.left} y={h - 4}>
        {from}
      </text>
      <text class="tick" x={w - pad.right} y={h - 4} text-anchor="end">
        {to}
      </text>
    </>
  );
}

export function LineChart({ title, points, format }: { title: string; points: SeriesPoint[]; format: (v: number) => string }) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.values)))].slice(0, PALETTE.length);
  if (points.length === 0) return <ChartFrame title={title} empty />;
  const t0 = points[0].t;
  const t1 = Math.max(points[points.length - 1].t, t0 + 60_000);
  const max = Math.max(...points.flatMap((p) => Object.values(p.values)), 0) || 1;
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return (
    <ChartFrame title={title} legend={names}>
      <TimeAxes box={{ w: W, h: H, pad: PAD }} top={format(max)} from={chartTime(t0, t1 - t0)} to={chartTime(t1, t1 - t0)} />
      {names.map((name, i) => {
        const path = points.filter((p) => name in p.values).map((p) => `${x(p.t).toFixed(1)},${y(p.values[name]).toFixed(1)}`);
        return (
          <g key={name} data-series={name}>
            <polyline fill="none" stroke={PALETTE[i]} stroke-width="1.5" points={path.join(' ')} />
            {path.length === 1 && <circle cx={path[0].split(',')[0]} cy={path[0].split(',')[1]} r="2.5" fill={PALETTE[i]} />}
          </g>
        );
      })}
    </ChartFrame>
  );
}

/** Horizontal bars, one per item, label and value above the bar: reads at sidebar width whatever the count. */
export function BarChart({ title, items }: { title: string; items: Array<{ label: string; value: number; display: string }> }) {
  if (items.length === 0) return <ChartFrame title={title} empty />;
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  const rowH = 26;
  const height = items.length * rowH;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={title}>
        {items.map((item, i) => (
          <g key={item.label} transform={`translate(0 ${i * rowH})`}>
            <text class="bar-label" x="0" y="10">
              {item.label.length > 40 ? `${item.label.slice(0, 39)}…` : item.label}
            </text>
            <text class="tick" x={W} y="10" text-anchor="end">
              {item.display}
            </text>
            <rect x="0" y="14" height="7" width={Math.max(1, (item.value / max) * W)} fill={PALETTE[i % PALETTE.length]} rx="1" />
          </g>
        ))}
      </svg>
    </figure>
  );
}

function ChartFrame({ title, legend, empty, children }: { title: string; legend?: string[]; empty?: boolean; children?: preact.ComponentChildren }) {
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {empty ? (
        <p class="muted">No data in this window.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
          {children}
        </svg>
      )}
      {legend && legend.length > 0 && (
        <ul class="legend">
          {legend.map((name, i) => (
            <li key={name}>
              <span class="swatch" style={{ background: PALETTE[i] }} />
              {name}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
