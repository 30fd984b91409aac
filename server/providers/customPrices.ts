/**
 * Custom model prices: the `devAi.prices` setting and `<workspace>/.micro-agent/prices.json`, each an object of
 * model → `{ input, output, cached?, cacheWrite? }` in USD per million tokens. The file (which `micro-agent usage
 * --write-prices` writes) wins over the setting, model by model. Both are read as untrusted input: a repository
 * can ship either, so a price must be a finite number from 0 to 10,000 and a name a model id's shape.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../foundation/config';
import { ensureStateDir, statePaths, writeAtomic } from '../foundation/workspace';
import type { ModelPrice } from '../protocol/providerUsage';
import { setCustomPrices } from './prices';

const MODEL = /^[A-Za-z0-9][\w.:/@-]{0,199}$/;
const MAX_PRICE = 10_000;
const MAX_MODELS = 1000;

export type PriceTable = Record<string, ModelPrice>;

/** Reads both sources, checks them, and makes them the prices of every cost this process computes. */
export function applyCustomPrices(root: string, setting: unknown): PriceTable {
  const prices = { ...checkedPrices(setting ?? {}, 'devAi.prices'), ...readPricesFile(root) };
  setCustomPrices(prices);
  return prices;
}

export function readPricesFile(root: string): PriceTable {
  const file = statePaths(root).prices;
  let text: string;
  try {
    if (!fs.lstatSync(file).isFile()) throw new ConfigError(`${file} is not a plain file`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err instanceof ConfigError ? err : new ConfigError(`${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file} is not JSON`);
  }
  return checkedPrices(value, file);
}

/** Merges `prices` into `.micro-agent/prices.json` (a model already there takes the new price). */
export function writePricesFile(root: string, prices: PriceTable): string {
  ensureStateDir(root);
  const file = statePaths(root).prices;
  const merged = { ...readPricesFile(root), ...checkedPrices(prices, 'the prices to write') };
  writeAtomic(file, `${JSON.stringify(merged, null, 2)}\n`);
  return file;
}

export function checkedPrices(value: unknown, where: string): PriceTable {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where} must be an object of model → price`);
  const entries = Object.entries(value);
  if (entries.length > MAX_MODELS) throw new ConfigError(`${where} prices more than ${MAX_MODELS} models`);
  const out: PriceTable = {};
  for (const [model, raw] of entries) {
    if (!MODEL.test(model)) throw new ConfigError(`${where}: ${JSON.stringify(model.slice(0, 60))} is not a model id`);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(`${where}.${model} must be { input, output, cached?, cacheWrite? }`);
    const p = raw as Record<string, unknown>;
    const rate = (key: keyof ModelPrice, optional: boolean): number | undefined => {
      const v = p[key];
      if (v === undefined && optional) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_PRICE)
        throw new ConfigError(`${where}.${model}.${key} must be USD per million tokens, 0 to ${MAX_PRICE} (got ${JSON.stringify(v)})`);
      return v;
    };
    const price: ModelPrice = { input: rate('input', false)!, output: rate('output', false)! };
    const cached = rate('cached', true);
    const cacheWrite = rate('cacheWrite', true);
    if (cached !== undefined) price.cached = cached;
    if (cacheWrite !== undefined) price.cacheWrite = cacheWrite;
    out[model] = price;
  }
  return out;
}
