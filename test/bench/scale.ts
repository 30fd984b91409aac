/**
 * The scale table (issue #18): host start, `serve` start, stats, run pages and `micro-agent stats` on realistic
 * logs of 10k, 100k and 1M events (16 per run, several providers and models, failures, reviews, 60 days).
 * Logs are generated once a day into node_modules/.cache/micro-agent-bench/ and reused (the 1M one is over 500 MB);
 * `BENCH_SCALE=10000,100000` picks the sizes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunsRequest, Stats, StatsRequest } from '../../server/protocol';
import { readEvents } from '../../server/events/log';
import { LogIndex } from '../../server/events/logIndex';
import { StatsAggregator } from '../../server/events/stats';
import { request } from '../support/apiClient';
import { cli } from '../support/cli';
import { REPO } from '../support/fixtures';
import { writeHistoryLog } from '../support/historyLog';
import { HostClient, startHost } from '../support/lspClient';
import { serve, stop } from '../support/serve';
import { Result, summarize } from './stats';

const CACHE = path.join(REPO, 'node_modules', '.cache', 'micro-agent-bench');
/** Bumped when the generator changes, so a cached log of the old mix is made again. */
const GENERATOR_VERSION = 5;
export const SIZES = (process.env.BENCH_SCALE ?? '10000,100000,1000000').split(',').map(Number);

export async function scale(): Promise<Result[]> {
  const empty = path.join(CACHE, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  const results: Result[] = [];
  for (const events of SIZES) results.push(...(await atSize(events, empty)));
  return results;
}

/**
 * A workspace whose log holds `events` events ending when it was generated: generated on the first use of a
 * (UTC) day, so the last hour and the last day hold calls as a user's log does (the dashboard loads those at
 * minute resolution); the day before's copy is removed then.
 */
export function workspace(events: number): { root: string; log: string; index: string; runs: number } {
  const day = new Date().toISOString().slice(0, 10);
  const root = path.join(CACHE, `v${GENERATOR_VERSION}-${events}-${day}`);
  const log = path.join(root, '.micro-agent', 'events.jsonl');
  const marker = path.join(root, 'generated.json');
  if (!fs.existsSync(marker)) {
    // This size's log of another day, and any log of another generator.
    const stale = (name: string) => /^v\d+-/.test(name) && (name.startsWith(`v${GENERATOR_VERSION}-${events}-`) || !name.startsWith(`v${GENERATOR_VERSION}-`));
    for (const old of fs.existsSync(CACHE) ? fs.readdirSync(CACHE).filter(stale) : []) fs.rmSync(path.join(CACHE, old), { recursive: true, force: true });
    process.stderr.write(`bench: generating a ${events.toLocaleString('en-US')}-event log (once a day, cached in ${CACHE})…\n`);
    const { runs } = writeHistoryLog(log, events);
    fs.writeFileSync(path.join(root, 'a.js'), '');
    fs.writeFileSync(marker, JSON.stringify({ events, runs }));
  }
  const { runs } = JSON.parse(fs.readFileSync(marker, 'utf8')) as { runs: number };
  return { root, log, index: path.join(root, '.micro-agent', 'index'), runs };
}

/** Resident and peak memory of a process, from /proc (Linux). */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** How a start compares with the same start on an empty log, measured alternately with it. */
function over(t: { floor: number; over: number }): string {
  return `${t.over >= 0 ? '+' : '−'}${Math.abs(t.over).toFixed(0)} ms over the empty log's ${t.floor.toFixed(0)} ms`;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

async function samples(n: number, fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push((await timed(fn)).ms);
  return summarize(times);
}

/**
 * Times `start` on the workspace of a size and on an empty one, alternately, and gives the p50 of each and of
 * the pairwise differences: on a shared machine whose load swings, the difference is what the log's size costs.
 */
async function againstFloor(n: number, start: (root: string) => Promise<() => Promise<void>>, root: string, empty: string) {
  const full: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const [dir, into] of [
      [empty, floor],
      [root, full],
    ] as const) {
      const t = performance.now();
      const stop = await start(dir);
      into.push(performance.now() - t);
      await stop();
    }
  }
  return { p50: summarize(full).p50, floor: summarize(floor).p50, over: summarize(full.map((v, i) => v - floor[i])).p50 };
}

async function atSize(events: number, empty: string): Promise<Result[]> {
  const ws = workspace(events);
  const label = events >= 1e6 ? `${events / 1e6}M` : `${events / 1e3}k`;
  const mb = fs.statSync(ws.log).size / 1024 / 1024;
  const at = `${label} events`;
  const results: Result[] = [];

  // Cold: no index. The host answers at once (partial) and rebuilds in the background.
  fs.rmSync(ws.index, { recursive: true, force: true });
  let host: HostClient | undefined;
  const cold = await timed(async () => {
    host = await startHost(ws.root, {});
    return host.connection.sendRequest(StatsRequest.type);
  });
  const rebuilt = await timed(async () => {
    for (;;) {
      const stats: Stats = await host!.connection.sendRequest(StatsRequest.type);
      if (!stats.partial) return stats;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  await host!.stop();
  const indexMb = fs.readdirSync(ws.index).reduce((sum, f) => sum + fs.statSync(path.join(ws.index, f)).size, 0) / 1024 / 1024;

  // Warm: the index is there; what every later start costs, against the same start on an empty log.
  const hostStart = await againstFloor(
    5,
    async (root) => {
      const started = await startHost(root, {});
      const answer = await started.connection.sendRequest(StatsRequest.type);
      await started.connection.sendRequest(RunsRequest.type);
      if (answer.partial) throw new Error('a warm start answered partial');
      return () => started.stop();
    },
    ws.root,
    empty,
  );
  host = await startHost(ws.root, {});
  await host.connection.sendRequest(StatsRequest.type);
  const stats = await samples(200, () => host!.connection.sendRequest(StatsRequest.type));
  const firstPage = await samples(200, () => host!.connection.sendRequest(RunsRequest.paged, { limit: 100 }));
  // The logs end when they were generated (today): a month back is the middle of their 60 days.
  const monthBack = Date.now() - 30 * 86_400_000;
  const middle = (await host.connection.sendRequest(RunsRequest.paged, { limit: 1, before: monthBack })).runs[0];
  const deepPage = await samples(200, () => host!.connection.sendRequest(RunsRequest.paged, { limit: 100, before: middle.runId }));
  const memory = memoryMb(host.child.pid!);
  await host.stop();

  // The index's own cost, in CPU time (steadier than wall time on a loaded machine), against what every start
  // did before it: fold the whole log.
  const openCpu: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = process.cpuUsage();
    const index = LogIndex.open(ws.log);
    index.aggregator.stats();
    index.aggregator.runPage(100);
    const used = process.cpuUsage(before);
    openCpu.push((used.user + used.system) / 1000);
  }
  const foldBefore = process.cpuUsage();
  const full = new StatsAggregator();
  for await (const event of readEvents(ws.log)) full.add(event);
  full.stats();
  const foldUsed = process.cpuUsage(foldBefore);
  const fullFoldCpu = (foldUsed.user + foldUsed.system) / 1000;

  // `micro-agent serve`: spawn to listening, then the first GET /v1/stats and /v1/runs answered.
  const serveStart = await againstFloor(
    3,
    async (root) => {
      const served = await serve(root, {});
      await request(`${served.url}/v1/stats`, { token: served.info.readToken });
      await request(`${served.url}/v1/runs`, { token: served.info.readToken });
      return () => stop(served);
    },
    ws.root,
    empty,
  );
  const served = await serve(ws.root, {});
  const restStats = await samples(200, () => request(`${served.url}/v1/stats`, { token: served.info.readToken }));
  await stop(served);

  const cliStats = await againstFloor(
    3,
    async (root) => {
      const out = await cli(['stats'], root, {});
      if (out.code !== 0 && root === ws.root) throw new Error(`micro-agent stats failed: ${out.stderr}`);
      return () => Promise.resolve();
    },
    ws.root,
    empty,
  );

  const log = `${mb.toFixed(0)} MB log, ${ws.runs.toLocaleString('en-US')} runs`;
  results.push(
    {
      name: `${at}: host spawn → first stats (index)`,
      value: hostStart.p50,
      unit: 'ms',
      goal: '< 300 ms',
      note: `p50 of 5, stats and runs answered; ${over(hostStart)}; ${log}; index ${indexMb.toFixed(1)} MB`,
    },
    {
      name: `${at}: host spawn → first stats (no index)`,
      value: cold.ms,
      unit: 'ms',
      goal: '< 300 ms',
      note: `answered partial while the index is rebuilt in the background; complete ${((cold.ms + rebuilt.ms) / 1000).toFixed(1)} s after spawn`,
    },
    {
      name: `${at}: index load + tail fold, CPU`,
      value: summarize(openCpu).p50,
      unit: 'ms',
      note: `p50 of 5, in process, then stats and a page; a full fold of the log (what every start did before) took ${fullFoldCpu.toFixed(0)} ms CPU`,
    },
    { name: `${at}: host RSS`, value: memory.rss, unit: 'MB', goal: '< 150 MB', note: `after 600 requests; peak ${memory.peak.toFixed(0)} MB` },
    {
      name: `${at}: serve spawn → listening and answering`,
      value: serveStart.p50,
      unit: 'ms',
      goal: '< 300 ms',
      note: `p50 of 3, GET /v1/stats and /v1/runs; ${over(serveStart)}`,
    },
    { name: `${at}: microAgent/stats`, value: stats.p50, unit: 'ms', goal: '< 10 ms', note: `p50 of 200 over LSP stdio, p95 ${stats.p95.toFixed(2)} ms` },
    { name: `${at}: GET /v1/stats`, value: restStats.p50, unit: 'ms', goal: '< 10 ms', note: `p50 of 200, p95 ${restStats.p95.toFixed(2)} ms` },
    {
      name: `${at}: microAgent/runs page of 100`,
      value: Math.max(firstPage.p50, deepPage.p50),
      unit: 'ms',
      goal: '< 5 ms',
      note: `p50 of 200: newest ${firstPage.p50.toFixed(2)} ms, a month back ${deepPage.p50.toFixed(2)} ms`,
    },
    { name: `${at}: micro-agent stats`, value: cliStats.p50, unit: 'ms', goal: '< 300 ms', note: `p50 of 3, process spawn to exit; ${over(cliStats)}` },
  );
  return results;
}
