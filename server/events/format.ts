import type { AgentEvent, Stats } from '../protocol';
import { placedBy, usd, wellFormed } from '../protocol/format';
import { failureSummary } from '../testResults';

/** One terminal line per event worth showing while a run goes on; undefined for the rest. */
export function formatEvent(event: AgentEvent): string | undefined {
  switch (event.type) {
    case 'run.started': {
      const resumed = event.resumedFrom ? ` (resuming run ${event.resumedFrom})` : '';
      return `▶ ${event.file}${resumed}: ${event.provider} ${event.model}, up to ${event.maxRuns} iterations, tests: ${event.testCommand}`;
    }
    case 'tests.generated':
      return `  wrote the accepted tests to ${event.testFile} (${event.bytes} bytes${event.edited ? ', edited by you' : ''})`;
    case 'run.restored': {
      const what = event.iteration === 0 ? 'originals' : `attempt ${event.iteration}`;
      return `↺ run ${event.runId}: ${what} put back${event.files.length ? ` (${event.files.join(', ')})` : ' (nothing to change)'}`;
    }
    case 'run.committed':
      return `  committed ${event.files.join(', ')} as ${event.commit.slice(0, 12)}`;
    case 'run.iteration':
      return `— iteration ${event.iteration}/${event.maxRuns}`;
    case 'llm.response': {
      if (!event.ok) return `  ✗ ${event.provider} ${event.error?.kind}: ${event.error?.message}`;
      const firstToken = event.ttftMs === null ? '–' : seconds(event.ttftMs);
      const retries = event.retries ? `, ${event.retries} retries` : '';
      const usage = `${tokens(event.inputTokens)} in${cacheNote(event.cachedInputTokens, event.cacheWriteInputTokens)} / ${tokens(event.outputTokens)} out`;
      // A local model's speed, and a cold load (over a second), which would otherwise read as a slow model.
      const rate = event.outputTokensPerSec != null ? `, ${Math.round(event.outputTokensPerSec)} tokens/s` : '';
      const speed = rate + (event.loadMs != null && event.loadMs >= 1000 ? `, loading ${seconds(event.loadMs)}` : '');
      return `  model: ${seconds(event.latencyMs)} (first token ${firstToken}), ${usage}${speed}, ${usd(event.costUsd)}${retries}`;
    }
    case 'edit.rejected':
      return `  reply not used: ${event.message}`;
    case 'edit.applied':
      return `  wrote ${event.file} (+${event.linesAdded} −${event.linesRemoved} lines)`;
    case 'test.finished': {
      const counts = event.report && event.report.runner !== 'unknown' ? failureSummary(event.report) : undefined;
      if (event.passed) return `  tests: pass${counts ? `, ${counts}` : ''} (${seconds(event.durationMs)})`;
      if (event.timedOut || event.cancelled) return `  tests: ${event.timedOut ? 'timed out' : 'cancelled'} (${seconds(event.durationMs)})`;
      return `  tests: ${counts ?? 'fail'} (exit ${event.exitCode ?? event.signal}, ${seconds(event.durationMs)})`;
    }
    case 'run.finished': {
      const mark = event.outcome === 'passed' ? '✔' : '✘';
      const detail =
        event.outcome === 'passed'
          ? event.iterations === 0
            ? 'tests already pass'
            : `tests pass after ${event.iterations} iteration(s)`
          : `${event.outcome} (${event.reason.replaceAll('_', ' ')})`;
      const restored = event.restored ? '; original restored' : '';
      const error = event.error ? `\n  ${event.error}` : '';
      const unpriced = event.unpricedCalls ? ` + ${event.unpricedCalls} unpriced call(s)` : '';
      return `${mark} ${detail}, ${usd(event.costUsd)}${unpriced}, ${seconds(event.durationMs)}${restored}${error}`;
    }
    case 'log':
      return event.level === 'info' ? undefined : `${event.level}: ${event.message}`;
    default:
      return undefined;
  }
}

/** The per provider/model table and the run totals, aligned for a terminal. */
export function formatStats(stats: Stats): string {
  const header = [
    'provider',
    'model',
    'calls',
    'errors',
    'p50 ms',
    'p95 ms',
    'p50 ttft',
    'tokens in',
    'cached',
    'tokens out',
    'cost',
    'well-formed',
    'placed by',
  ];
  const rows = stats.providers.map((p) => [
    p.provider,
    p.model,
    String(p.calls),
    String(p.errors),
    ms(p.p50LatencyMs),
    ms(p.p95LatencyMs),
    ms(p.p50TtftMs),
    String(p.inputTokens),
    String(p.cachedInputTokens),
    String(p.outputTokens),
    usd(p.costUsd) + (p.unpricedCalls ? ` (+${p.unpricedCalls} unpriced)` : ''),
    wellFormed(p.wellFormedRate, p.editReplies),
    placedBy(p.matchSteps),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const r = stats.runs;
  const runs = [
    `runs: ${r.total} (${r.passed} passed, ${r.failed} failed, ${r.cancelled} cancelled, ${r.error} error${r.running ? `, ${r.running} running` : ''})`,
    `pass rate: ${r.passRate === null ? '–' : `${Math.round(r.passRate * 100)}%`}, ` +
      `mean iterations to pass: ${r.meanIterationsToPass === null ? '–' : r.meanIterationsToPass.toFixed(1)}, cost: ${usd(r.costUsd)}`,
  ];
  const table = rows.length === 0 ? ['no model calls yet'] : [line(header), ...rows.map(line)];
  return [...table, '', ...runs].join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function ms(value: number | null): string {
  return value === null ? '–' : String(Math.round(value));
}

function tokens(value: number | null): string {
  return value === null ? '?' : value.toLocaleString('en-US');
}

/**
 * ` (600 cached)`, ` (600 cached, 200 cache writes)`: the parts of the input the vendor's prompt cache served or
 * took; nothing when it reported none (or nothing).
 */
function cacheNote(cached: number | null, written: number | null): string {
  const parts = [...(cached ? [`${tokens(cached)} cached`] : []), ...(written ? [`${tokens(written)} cache writes`] : [])];
  return parts.length ? ` (${parts.join(', ')})` : '';
}
