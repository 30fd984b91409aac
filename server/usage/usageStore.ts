/**
 * The vendors' reports as last fetched, in `.micro-agent/provider-usage.json`: per vendor, the days it covers, when
 * it was fetched, and a record per day and model. A year of 20 models is about 7,300 records (~1.5 MB), so one JSON
 * file rewritten atomically fits. It is a cache of the vendor's numbers: a missing or unreadable file is only a
 * re-fetch. What is read back is checked like any input, since a repository can ship its own `.micro-agent/`.
 */
import * as fs from 'node:fs';
import { statePaths, writeAtomic, ensureStateDir } from '../foundation/workspace';
import { USAGE_PROVIDERS, type UsageProvider } from '../protocol/providerUsage';
import type { CostParts, DayRecord } from './vendorReports';

export interface ProviderCache {
  /** When the last fetch ended (ms). */
  fetchedAt: number;
  /** First and last day (UTC, `YYYY-MM-DD`) the records cover: a day in between without a record had no usage. */
  from: string;
  to: string;
  records: DayRecord[];
}

export type UsageCache = Partial<Record<UsageProvider, ProviderCache>>;

const VERSION = 1;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Far more than a vendor reports in the longest window asked for (366 days × hundreds of models). */
const MAX_RECORDS = 200_000;
/** About 300 bytes a record: a file far larger is not ours, and is not read into memory. */
const MAX_BYTES = 64 * 1024 * 1024;

export interface CacheRead {
  cache: UsageCache;
  /** Why the file on disk was not used, when it was there but failed a check. */
  rejected?: string;
}

export function readUsageCache(root: string): CacheRead {
  const file = statePaths(root).providerUsage;
  let text: string;
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) return { cache: {}, rejected: `${file} is not a plain file` };
    if (stat.size > MAX_BYTES) return { cache: {}, rejected: `${file} is ${stat.size} bytes, more than a cache of ${MAX_RECORDS} records can be` };
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { cache: {} };
    return { cache: {}, rejected: `${file}: ${(err as Error).message}` };
  }
  try {
    return { cache: checkedCache(JSON.parse(text)) };
  } catch (err) {
    return { cache: {}, rejected: `${file} failed its check (${(err as Error).message}); fetching afresh` };
  }
}

export function writeUsageCache(root: string, cache: UsageCache): number {
  ensureStateDir(root);
  const text = JSON.stringify({ version: VERSION, providers: cache });
  writeAtomic(statePaths(root).providerUsage, text);
  return Buffer.byteLength(text);
}

/** The cache as read from disk, or a throw naming the first thing wrong with it. */
export function checkedCache(value: unknown): UsageCache {
  const root = object(value, 'the file');
  if (root.version !== VERSION) throw new Error(`version ${String(root.version)} is not ${VERSION}`);
  const providers = object(root.providers, 'providers');
  const cache: UsageCache = {};
  for (const [name, entry] of Object.entries(providers)) {
    if (!(USAGE_PROVIDERS as readonly string[]).includes(name)) throw new Error(`unknown provider ${JSON.stringify(name).slice(0, 40)}`);
    const e = object(entry, name);
    const fetchedAt = e.fetchedAt;
    if (typeof fetchedAt !== 'number' || !Number.isFinite(fetchedAt) || fetchedAt < 0) throw new Error(`${name}.fetchedAt is not a time`);
    const from = day(e.from, `${name}.from`);
    const to = day(e.to, `${name}.to`);
    if (from > to) throw new Error(`${name}: from is after to`);
    if (!Array.isArray(e.records) || e.records.length > MAX_RECORDS) throw new Error(`${name}.records is not a list of at most ${MAX_RECORDS}`);
    cache[name as UsageProvider] = { fetchedAt, from, to, records: e.records.map((r, i) => record(r, `${name}.records[${i}]`, name as UsageProvider)) };
  }
  return cache;
}

function record(value: unknown, where: string, provider: UsageProvider): DayRecord {
  const r = object(value, where);
  if (typeof r.model !== 'string' || r.model.length === 0 || r.model.length > 200 || [...r.model].some((c) => c < ' '))
    throw new Error(`${where}.model is not a model name`);
  const requests = r.requests === null ? null : tokens(r.requests, `${where}.requests`);
  if ((requests === null) !== (provider === 'anthropic')) throw new Error(`${where}.requests does not fit ${provider}`);
  const cost = r.cost === null ? null : costParts(r.cost, `${where}.cost`);
  const out: DayRecord = {
    day: day(r.day, `${where}.day`),
    model: r.model,
    inputTokens: tokens(r.inputTokens, `${where}.inputTokens`),
    outputTokens: tokens(r.outputTokens, `${where}.outputTokens`),
    cachedInputTokens: tokens(r.cachedInputTokens, `${where}.cachedInputTokens`),
    cacheWriteInputTokens: tokens(r.cacheWriteInputTokens, `${where}.cacheWriteInputTokens`),
    requests,
    cost,
  };
  if (out.cachedInputTokens + out.cacheWriteInputTokens > out.inputTokens) throw new Error(`${where}: cached and written tokens exceed the input`);
  return out;
}

function costParts(value: unknown, where: string): CostParts {
  const c = object(value, where);
  const usd = (key: keyof CostParts) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 1e9) throw new Error(`${where}.${key} is not an amount`);
    return v;
  };
  return { input: usd('input'), cached: usd('cached'), cacheWrite: usd('cacheWrite'), output: usd('output'), other: usd('other') };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function day(value: unknown, where: string): string {
  if (typeof value !== 'string' || !DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new Error(`${where} is not a YYYY-MM-DD day`);
  return value;
}

function tokens(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${where} is not a count`);
  return value;
}
