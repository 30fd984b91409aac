/**
 * One org's month as the Providers tab tests see it, in the browser and in code-server alike: the vendors' admin
 * stand-ins' days (micro-agent's calls and everyone else's, under dated snapshot names, one model billed at twice
 * the table's price) and a workspace log with micro-agent's own calls on those days.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AdminStandIn } from './adminServer';
import { EventFactory } from './events';
import { makeWorkspace } from './fixtures';

const DAY_MS = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY_MS) * DAY_MS;
/** The UTC day `n` days ago, `YYYY-MM-DD`. */
export const ago = (n: number) => new Date(TODAY - n * DAY_MS).toISOString().slice(0, 10);

/**
 * A workspace whose log holds micro-agent's calls on past days (written as the log's own lines: the engine reads
 * them as history), at noon UTC of each.
 */
export function workspaceWithHistory(): string {
  const root = makeWorkspace({ 'a.js': '' });
  const f = new EventFactory();
  const noon = (n: number) => TODAY - n * DAY_MS + 12 * 3_600_000;
  const lines = [
    // 3 days ago: a quarter of the org's gpt-4.1-mini tokens.
    f.at(noon(3)).call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 900, input: 25_000, output: 5000, costUsd: 0.018 }),
    // 2 days ago: a third of the org's claude-sonnet-4-5 tokens.
    f.at(noon(2)).call(undefined, 'anthropic', 'claude-sonnet-4-5', { latencyMs: 1500, input: 10_000, output: 2000, costUsd: 0.06 }),
    // Yesterday: more than the vendor billed for the day.
    f.at(noon(1)).call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 700, input: 3000, output: 300, costUsd: 0.00168 }),
  ];
  fs.mkdirSync(path.join(root, '.micro-agent'), { recursive: true });
  fs.writeFileSync(path.join(root, '.micro-agent', 'events.jsonl'), lines.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return root;
}

/** The org's days at the admin stand-ins: micro-agent's calls and everyone else's, under dated snapshot names. */
export function orgUsage(admin: AdminStandIn): void {
  admin.usage.openai = [
    { day: ago(3), model: 'gpt-4.1-mini-2025-04-14', input: 100_000, output: 20_000, requests: 40 },
    { day: ago(2), model: 'gpt-4.1-2025-04-14', input: 40_000, output: 4000, requests: 10 },
    { day: ago(1), model: 'gpt-4.1-mini-2025-04-14', input: 1000, output: 100, requests: 1 },
    { day: ago(0), model: 'gpt-4.1-mini-2025-04-14', input: 2000, output: 200, requests: 2 },
  ];
  admin.usage.anthropic = [{ day: ago(2), model: 'claude-sonnet-4-5-20250929', input: 30_000, output: 6000 }];
  // gpt-4.1-mini and Sonnet billed at the table's price; gpt-4.1 at twice it (a new price the table lacks).
  admin.rates['gpt-4.1-mini-2025-04-14'] = { input: 0.4, cached: 0.1, cacheWrite: 0.4, output: 1.6 };
  admin.rates['gpt-4.1-2025-04-14'] = { input: 4, cached: 1, cacheWrite: 4, output: 16 };
  admin.rates['claude-sonnet-4-5-20250929'] = { input: 3, cached: 0.3, cacheWrite: 3.75, output: 15 };
}

/** The environment that names the admin keys and the vendors' base URLs (the admin paths are appended to them). */
export function adminEnv(vendor: { admin: AdminStandIn; openaiUrl: string; anthropicUrl: string }): Record<string, string> {
  return {
    OPENAI_ADMIN_KEY: vendor.admin.keys.openai,
    ANTHROPIC_ADMIN_KEY: vendor.admin.keys.anthropic,
    OPENAI_BASE_URL: vendor.openaiUrl,
    ANTHROPIC_BASE_URL: vendor.anthropicUrl,
  };
}
