/** `micro-agent usage` (and MCP `get_provider_usage`) as text: a row per day × provider × model, totals, why each flag fired. */
import type { ProviderUsageResult, ProviderUsageRow } from '../protocol/providerUsage';

const HEADER = [
  'day',
  'provider',
  'model',
  'billed in',
  'billed out',
  'requests',
  'billed $',
  'logged in',
  'logged out',
  'calls',
  'logged $',
  'share',
  'flags',
];

export function formatUsage(result: ProviderUsageResult): string {
  const lines: string[] = [`${result.since} … ${result.until} (UTC)${result.partial ? ' — partial: a vendor could not be fetched now' : ''}`];
  for (const source of result.sources) if (source.message) lines.push(`${source.provider}: ${source.message}`);
  if (result.rows.length === 0) {
    lines.push('no usage reported for these days');
    return lines.join('\n');
  }
  const table = [HEADER, ...result.rows.map(cells)];
  for (const provider of [...new Set(result.rows.map((r) => r.provider))])
    table.push(
      totalCells(
        provider,
        result.rows.filter((r) => r.provider === provider),
      ),
    );
  const widths = HEADER.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const numeric = (i: number) => i >= 3 && i <= 11;
  lines.push(
    '',
    ...table.map((row) =>
      row
        .map((cell, i) => (numeric(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    ),
  );
  const notes = result.rows.flatMap((row) =>
    row.notes.filter((n) => n.flag !== 'not_billed_yet').map((n) => `${row.day} ${row.provider} ${row.model} ${n.flag}: ${n.message}`),
  );
  if (notes.length) lines.push('', ...notes);
  return lines.join('\n');
}

function cells(row: ProviderUsageRow): string[] {
  return [
    row.day,
    row.provider,
    row.model,
    int(row.billed.inputTokens),
    int(row.billed.outputTokens),
    row.billed.requests === null ? '-' : int(row.billed.requests),
    money(row.billed.costUsd),
    int(row.logged.inputTokens),
    int(row.logged.outputTokens),
    int(row.logged.calls),
    money(row.logged.costUsd),
    row.share === null ? '-' : `${(row.share * 100).toFixed(1)}%`,
    row.flags.join(','),
  ];
}

function totalCells(provider: string, rows: ProviderUsageRow[]): string[] {
  const sum = (pick: (r: ProviderUsageRow) => number | null) => rows.reduce((a, r) => a + (pick(r) ?? 0), 0);
  const billedIO = sum((r) => r.billed.inputTokens + r.billed.outputTokens);
  const loggedIO = sum((r) => r.logged.inputTokens + r.logged.outputTokens);
  const requests = rows.every((r) => r.billed.requests === null) ? '-' : int(sum((r) => r.billed.requests));
  const anyCost = rows.some((r) => r.billed.costUsd !== null);
  return [
    'total',
    provider,
    '',
    int(sum((r) => r.billed.inputTokens)),
    int(sum((r) => r.billed.outputTokens)),
    requests,
    anyCost ? money(sum((r) => r.billed.costUsd)) : '-',
    int(sum((r) => r.logged.inputTokens)),
    int(sum((r) => r.logged.outputTokens)),
    int(sum((r) => r.logged.calls)),
    money(sum((r) => r.logged.costUsd)),
    billedIO > 0 ? `${((loggedIO / billedIO) * 100).toFixed(1)}%` : '-',
    '',
  ];
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

function money(usd: number | null): string {
  return usd === null ? '-' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}
