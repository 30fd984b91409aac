/**
 * The org usage refresh at a year's size: 366 daily buckets for 20 models (10 OpenAI, 10 Anthropic snapshots) from the
 * admin stand-ins, which page at two buckets (real ones page at 31 days, so this is the request-heavy case). What a
 * first fetch costs, what the routine refresh (the last two days) costs, the bytes the cache keeps, and the
 * reconciliation of the year against a log.
 */
import * as fs from 'node:fs';
import { reconcile, type LoggedDay } from '../../server/usage/reconcile';
import { refreshUsage } from '../../server/usage/refresh';
import { DAY_MS, utcDay } from '../../server/usage/vendorReports';
import { priceOf } from '../../server/providers/prices';
import { startAdminServer } from '../support/adminServer';
import { makeWorkspace } from '../support/fixtures';
import type { Result } from './stats';

const DAYS = 366;
const OPENAI_MODELS = ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini'].map(
  (m) => `${m}-2025-04-14`,
);
const ANTHROPIC_MODELS = [
  'claude-opus-4-5',
  'claude-opus-4-1',
  'claude-opus-4-0',
  'claude-sonnet-4-5',
  'claude-sonnet-4-0',
  'claude-3-7-sonnet',
  'claude-haiku-4-5',
  'claude-3-5-haiku',
  'claude-opus-4',
  'claude-sonnet-4',
].map((m) => `${m}-20250929`);

export async function providerUsage(): Promise<Result[]> {
  const server = await startAdminServer();
  const root = makeWorkspace({});
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const logged: LoggedDay[] = [];
  for (let d = 0; d <= DAYS; d++) {
    const day = utcDay(today - d * DAY_MS);
    OPENAI_MODELS.forEach((model, i) => {
      server.usage.openai.push({ day, model, input: 100_000 + i * 1000 + d, output: 9000 + d, cachedInput: 20_000, requests: 40 });
      server.rates[model] = { input: 1, cached: 0.25, cacheWrite: 1, output: 4 };
      logged.push({
        day,
        provider: 'openai',
        model: model.replace(/-\d{4}-\d{2}-\d{2}$/, ''),
        calls: 5,
        inputTokens: 10_000,
        outputTokens: 900,
        cachedInputTokens: 0,
        costUsd: 0.01,
        pricedCalls: 5,
      });
    });
    ANTHROPIC_MODELS.forEach((model, i) => {
      server.usage.anthropic.push({ day, model, input: 80_000 + i * 1000 + d, output: 7000 + d, cachedInput: 30_000, cacheWrite5m: 5000, cacheWrite1h: 1000 });
      server.rates[model] = { input: 3, cached: 0.3, cacheWrite: 3.75, output: 15 };
    });
  }
  const env = {
    OPENAI_ADMIN_KEY: server.keys.openai,
    OPENAI_BASE_URL: server.openaiUrl,
    ANTHROPIC_ADMIN_KEY: server.keys.anthropic,
    ANTHROPIC_BASE_URL: server.anthropicUrl,
  };
  const options = { root, env, providers: ['openai', 'anthropic'] as const, since: utcDay(today - DAYS * DAY_MS), maxAgeMs: 0 };
  try {
    let t = performance.now();
    const cold = await refreshUsage({ ...options, now: Date.now() });
    const coldMs = performance.now() - t;
    const coldRequests = server.requests.length;
    if (cold.sources.some((s) => s.state !== 'ok')) throw new Error(JSON.stringify(cold.sources));
    const records = cold.vendors.reduce((n, v) => n + v.records.length, 0);
    const bytes = cold.bytesStored;

    server.requests.length = 0;
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      await refreshUsage({ ...options, now: Date.now() });
      warm.push(performance.now() - t);
    }
    const warmRequests = server.requests.length / 5;

    const passes: number[] = [];
    let rows: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      rows = reconcile({ since: options.since, today: utcDay(today), vendors: cold.vendors, logged, priceOf });
      passes.push(performance.now() - t);
    }
    const reconcileMs = passes.sort((a, b) => a - b)[2];
    const onDisk = fs.statSync(`${root}/.micro-agent/provider-usage.json`).size;
    return [
      {
        name: 'provider usage: first refresh, a year × 20 models',
        value: coldMs,
        unit: 'ms',
        note: `${coldRequests} requests (pages of 2 buckets), ${records.toLocaleString('en-US')} day records`,
      },
      {
        name: 'provider usage: routine refresh (last two days)',
        value: warm.sort((a, b) => a - b)[2],
        unit: 'ms',
        note: `median of 5, ${warmRequests} requests each`,
      },
      {
        name: 'provider usage: cache on disk',
        value: onDisk / 1024,
        unit: 'KB',
        note: `${(bytes / records).toFixed(0)} bytes a record, one JSON file written atomically`,
      },
      {
        name: 'provider usage: reconcile the year',
        value: reconcileMs,
        unit: 'ms',
        note: `${rows.length.toLocaleString('en-US')} rows against ${logged.length.toLocaleString('en-US')} logged days`,
      },
    ];
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
