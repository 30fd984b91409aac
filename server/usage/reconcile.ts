/**
 * The vendors' day records against micro-agent's logged calls, per UTC day × provider × model (pure). The rules are
 * the `usage --json` contract's (`protocol/providerUsage.ts`):
 * - a vendor's dated snapshot is shown under the alias the log uses (`gpt-4.1-mini-2025-04-14` → `gpt-4.1-mini`),
 *   its snapshots summed; a name the log never used stays the vendor's;
 * - days from `since` to yesterday, and today only for a vendor that reported it (`not_billed_yet`);
 * - `share` is logged over billed input+output tokens; `logged_exceeds_billed` when it is above 1 (or the vendor
 *   billed nothing we logged), `price_mismatch` when the vendor's cost is more than 5% off what the price table makes
 *   of the vendor's own tokens, with the rates the vendor implies.
 */
import {
  PRICE_MISMATCH_TOLERANCE,
  type ModelPrice,
  type ProviderUsageRow,
  type UsageFlag,
  type UsageFlagNote,
  type UsageProvider,
} from '../protocol/providerUsage';
import { modelFamily, type Price } from '../providers/prices';
import { order, type CostParts, type DayRecord } from './vendorReports';

/** micro-agent's calls of one UTC day, provider and model, as the log sums them (`microAgent/rollups` by day). */
export interface LoggedDay {
  day: string;
  provider: UsageProvider;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Sum over the priced calls. */
  costUsd: number;
  pricedCalls: number;
}

export interface ReconcileInput {
  /** First day, `YYYY-MM-DD`. */
  since: string;
  /** Today (UTC), `YYYY-MM-DD`. */
  today: string;
  /** The vendors whose reports are at hand (fetched now or cached): a vendor left out gets no row. */
  vendors: { provider: UsageProvider; records: readonly DayRecord[] }[];
  logged: readonly LoggedDay[];
  priceOf: (model: string) => Price | undefined;
}

const LABEL: Record<UsageProvider, string> = { openai: 'OpenAI', anthropic: 'Anthropic' };

export function reconcile(input: ReconcileInput): ProviderUsageRow[] {
  const rows: ProviderUsageRow[] = [];
  for (const { provider, records } of input.vendors) {
    const inRange = records.filter((r) => r.day >= input.since && r.day <= input.today);
    const reportedToday = inRange.some((r) => r.day === input.today);
    const inWindow = input.logged.filter((l) => l.provider === provider && l.day >= input.since && l.day <= input.today);
    // Every name the log used in the window, today's too, so a snapshot shows under the alias on every day alike.
    const alias = aliasing(new Set(inWindow.map((l) => l.model)));
    const logged = inWindow.filter((l) => l.day < input.today || reportedToday);
    const groups = new Map<string, { day: string; model: string; records: DayRecord[]; logged: LoggedDay[] }>();
    const groupOf = (day: string, model: string) => {
      const key = `${day}\n${model}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { day, model, records: [], logged: [] }));
      return group;
    };
    for (const record of inRange) groupOf(record.day, alias(record.model)).records.push(record);
    for (const day of logged) groupOf(day.day, day.model).logged.push(day);
    for (const group of groups.values()) rows.push(row(provider, group.day, group.model, group.records, group.logged, input));
  }
  return rows.sort((a, b) => order(a.day, b.day) || order(a.provider, b.provider) || order(a.model, b.model));
}

/** A vendor's model name → the log's name for the same model: itself, else the logged alias of its family. */
function aliasing(loggedModels: Set<string>): (vendorModel: string) => string {
  const byFamily = new Map<string, string>();
  // The bare alias wins over a logged snapshot of the same family, whichever came first.
  for (const model of loggedModels) if (!byFamily.has(modelFamily(model)) || model === modelFamily(model)) byFamily.set(modelFamily(model), model);
  return (vendorModel) => (loggedModels.has(vendorModel) ? vendorModel : (byFamily.get(modelFamily(vendorModel)) ?? vendorModel));
}

function row(provider: UsageProvider, day: string, model: string, records: DayRecord[], logged: LoggedDay[], input: ReconcileInput): ProviderUsageRow {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const costs = records.flatMap((r) => (r.cost ? [r.cost] : []));
  const parts: CostParts | null =
    costs.length === 0
      ? null
      : {
          input: sum(costs.map((c) => c.input)),
          cached: sum(costs.map((c) => c.cached)),
          cacheWrite: sum(costs.map((c) => c.cacheWrite)),
          output: sum(costs.map((c) => c.output)),
          other: sum(costs.map((c) => c.other)),
        };
  const billed = {
    inputTokens: sum(records.map((r) => r.inputTokens)),
    outputTokens: sum(records.map((r) => r.outputTokens)),
    cachedInputTokens: sum(records.map((r) => r.cachedInputTokens)),
    requests: provider === 'anthropic' ? null : sum(records.map((r) => r.requests ?? 0)),
    costUsd: parts ? usd(parts.input + parts.cached + parts.cacheWrite + parts.output + parts.other) : null,
  };
  const written = sum(records.map((r) => r.cacheWriteInputTokens));
  const calls = sum(logged.map((l) => l.calls));
  const pricedCalls = sum(logged.map((l) => l.pricedCalls));
  const loggedUsage = {
    inputTokens: sum(logged.map((l) => l.inputTokens)),
    outputTokens: sum(logged.map((l) => l.outputTokens)),
    cachedInputTokens: sum(logged.map((l) => l.cachedInputTokens)),
    calls,
    costUsd: calls > 0 && pricedCalls === 0 ? null : usd(sum(logged.map((l) => l.costUsd))),
    unpricedCalls: calls - pricedCalls,
  };
  const billedIO = billed.inputTokens + billed.outputTokens;
  const loggedIO = loggedUsage.inputTokens + loggedUsage.outputTokens;
  const price = input.priceOf(records[0]?.model ?? model) ?? input.priceOf(model);
  const uncached = Math.max(0, billed.inputTokens - billed.cachedInputTokens - written);
  const expectedCostUsd =
    price && billedIO > 0
      ? usd(
          (uncached * price.input +
            billed.cachedInputTokens * price.cachedInput +
            written * (price.cacheWrite ?? price.input) +
            billed.outputTokens * price.output) /
            1e6,
        )
      : null;

  const notes: UsageFlagNote[] = [];
  const flag = (name: UsageFlag, message: string) => notes.push({ flag: name, message });
  let impliedPrice: ModelPrice | null = null;
  const vendor = LABEL[provider];
  if (day === input.today) {
    flag('not_billed_yet', `today (UTC): ${vendor}'s numbers land hours late, so they are still growing`);
  } else {
    if (loggedIO > billedIO)
      flag(
        'logged_exceeds_billed',
        `micro-agent logged ${loggedIO.toLocaleString('en-US')} tokens but ${vendor} billed ${billedIO.toLocaleString('en-US')}: ` +
          `the calls went to another organization's key, or through a proxy that bills elsewhere`,
      );
    const vendorTokenCost = parts ? parts.input + parts.cached + parts.cacheWrite + parts.output : null;
    const implied = parts
      ? impliedRates(parts, { uncached, cached: billed.cachedInputTokens, written, output: billed.outputTokens }, price, expectedCostUsd)
      : null;
    if (
      vendorTokenCost !== null &&
      expectedCostUsd !== null &&
      expectedCostUsd > 0 &&
      Math.abs(vendorTokenCost / expectedCostUsd - 1) > PRICE_MISMATCH_TOLERANCE
    ) {
      impliedPrice = implied;
      const off = (vendorTokenCost / expectedCostUsd - 1) * 100;
      flag(
        'price_mismatch',
        `${vendor} billed $${vendorTokenCost.toFixed(4)} where the price table makes $${expectedCostUsd.toFixed(4)} of the same tokens ` +
          `(${off > 0 ? '+' : ''}${off.toFixed(1)}%)` +
          (implied ? `; ${vendor} implies $${rate(implied.input)} input, $${rate(implied.output)} output per million tokens` : ''),
      );
    } else if (!price && implied) {
      // A model the table lacks: no mismatch to tell, but the vendor's rates are what `--write-prices` needs.
      impliedPrice = implied;
    }
  }
  return {
    day,
    provider,
    model,
    billed,
    logged: loggedUsage,
    share: billedIO > 0 ? loggedIO / billedIO : null,
    flags: notes.map((n) => n.flag),
    vendorModels: [...new Set(records.map((r) => r.model))].sort(),
    expectedCostUsd,
    impliedPrice,
    notes,
  };
}

/**
 * The rates (per million tokens) the vendor's cost implies: each kind's cost over its tokens where the vendor split
 * it so; a kind it did not split out gets the table's rate scaled by the vendor's cost over the table's estimate.
 * Null when neither is known for input or output.
 */
function impliedRates(
  parts: CostParts,
  tokens: { uncached: number; cached: number; written: number; output: number },
  price: Price | undefined,
  expected: number | null,
): ModelPrice | null {
  const total = parts.input + parts.cached + parts.cacheWrite + parts.output;
  const scale = price && expected ? total / expected : null;
  const of = (cost: number, count: number, table: number | undefined): number | undefined =>
    count > 0 && cost > 0 ? round((cost / count) * 1e6) : scale !== null && table !== undefined ? round(table * scale) : undefined;
  const input = of(parts.input, tokens.uncached, price?.input);
  const output = of(parts.output, tokens.output, price?.output);
  if (input === undefined || output === undefined) return null;
  const implied: ModelPrice = { input, output };
  const cached = of(parts.cached, tokens.cached, price?.cachedInput);
  const cacheWrite = of(parts.cacheWrite, tokens.written, price?.cacheWrite ?? price?.input);
  if (cached !== undefined) implied.cached = cached;
  if (cacheWrite !== undefined) implied.cacheWrite = cacheWrite;
  return implied;
}

/** Dollars to a nano-dollar: sums of float cents stop showing 0.30000000000000004. */
function usd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

function round(rate: number): number {
  return Math.round(rate * 1e6) / 1e6;
}

function rate(value: number): string {
  return value.toFixed(value < 1 ? 3 : 2);
}
