/** Plain-language findings from the analytics: pure functions of query results, so they are easy to test. */
import { usd } from '../server/protocol/format';
import type { ModelStats } from './queries';

export interface Insight {
  level: 'info' | 'warning';
  text: string;
}

/** Below this many calls (or finished runs) a model's numbers are noise, not a finding. */
const MIN_SAMPLE = 3;
const ERROR_RATE_WARNING = 0.1;

export function insights(stats: readonly ModelStats[], spendToday: number, budgetUsd: number | null, windowLabel: string): Insight[] {
  const out: Insight[] = [];
  const name = (s: ModelStats) => `${s.provider} ${s.model}`;

  // Compare the models that have passed runs: iterations to pass and what a passing run costs.
  const passing = stats.filter((s) => s.meanIterationsToPass !== null && s.runs >= MIN_SAMPLE);
  if (passing.length >= 2) {
    const [best, worst] = [...passing].sort((a, b) => a.meanIterationsToPass! - b.meanIterationsToPass!).filter((_, i, all) => i === 0 || i === all.length - 1);
    const costNote =
      best.costPerPassingRun !== null && worst.costPerPassingRun !== null && worst.costPerPassingRun > 0
        ? ` at ${costRatio(best.costPerPassingRun / worst.costPerPassingRun)} per passing run`
        : '';
    const bestMean = best.meanIterationsToPass!.toFixed(1);
    const worstMean = worst.meanIterationsToPass!.toFixed(1);
    out.push({ level: 'info', text: `${name(best)} passes in ${bestMean} iterations on average, ${name(worst)} in ${worstMean}${costNote}.` });
  }

  for (const s of stats) {
    if (s.calls >= MIN_SAMPLE && s.errorRate >= ERROR_RATE_WARNING) {
      out.push({
        level: 'warning',
        text: `${name(s)} failed ${Math.round(s.errorRate * 100)}% of its calls (${s.errors} of ${s.calls}) in the ${windowLabel}.`,
      });
    }
    if (s.runs >= MIN_SAMPLE && s.passRate !== null && s.passRate < 0.5) {
      out.push({ level: 'warning', text: `Only ${Math.round(s.passRate * 100)}% of the runs with ${name(s)} passed in the ${windowLabel}.` });
    }
  }

  if (budgetUsd !== null && spendToday > budgetUsd) {
    out.push({ level: 'warning', text: `Today's spend, ${usd(spendToday)}, passed the ${usd(budgetUsd)} budget.` });
  }
  const unpriced = stats.filter((s) => s.calls > 0 && s.costUsd === null);
  if (unpriced.length > 0) out.push({ level: 'info', text: `No price is known for ${unpriced.map(name).join(', ')}: their cost is not counted.` });
  return out;
}

/** "half the cost", "twice the cost", "3.2× the cost": a ratio as a person says it. */
function costRatio(ratio: number): string {
  if (Math.abs(ratio - 0.5) < 0.05) return 'half the cost';
  if (Math.abs(ratio - 2) < 0.1) return 'twice the cost';
  if (Math.abs(ratio - 1) < 0.05) return 'about the same cost';
  return `${ratio.toFixed(1)}× the cost`;
}
