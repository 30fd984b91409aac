/** Live API benchmarks: fan-out to 100 WebSocket clients, event → client latency, export rate. */
import * as http from 'node:http';
import { WebSocket } from 'ws';
import { startInProcessApi } from '../support/apiClient';
import { LLM_RESPONSE } from './engine';
import { Result, summarize } from './stats';

const CLIENTS = 100;
const MB = 1024 * 1024;

export async function api(): Promise<Result[]> {
  const live = await startInProcessApi();
  const { log, url } = live;
  const { read } = live.tokens;

  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let received = 0;
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?afterSeq=${log.lastSeq}`, ['micro-agent.v1', read]);
      ws.on('message', (data) => {
        received++;
        // One client in ten measures latency: parsing every message in all 100 would measure the benchmark.
        if (i % 10 === 0) {
          const seq = JSON.parse((data as Buffer).toString()).params.seq as number;
          const t = sentAt.get(seq);
          if (t !== undefined) latencies.push(performance.now() - t);
        }
      });
      await new Promise((resolve) => ws.once('open', resolve));
      return ws;
    }),
  );

  // Latency: events at a steady 500/s, as a busy agent host might produce them.
  for (let i = 0; i < 1000; i++) {
    sentAt.set(log.append(LLM_RESPONSE).seq, performance.now());
    await new Promise((r) => setTimeout(r, 2));
  }
  await waitFor(() => received >= 1000 * CLIENTS);
  sentAt.clear();
  const latency = summarize(latencies);

  // Throughput: as fast as the log takes them.
  received = 0;
  const count = 10_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    log.append(LLM_RESPONSE);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => received >= count * CLIENTS);
  const fanout = (count * CLIENTS) / ((performance.now() - started) / 1000);
  for (const ws of clients) ws.terminate();
  await live.close();

  // Export: a 300k-event log (~130 MB) as JSON lines, read as fast as a local client can (a server with no
  // watchers). The resident size is sampled throughout: streamed, it should not grow with the log.
  const archive = await startInProcessApi();
  for (let i = 0; i < 300_000; i++) archive.log.append(LLM_RESPONSE);
  const total = archive.log.lastSeq;
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 10);
  const exportStarted = performance.now();
  const bytes = await download(`${archive.url}/v1/export?format=jsonl`, archive.tokens.read);
  const exportSeconds = (performance.now() - exportStarted) / 1000;
  clearInterval(sampler);
  await archive.close();

  return [
    {
      name: 'api: events fanned out to 100 WebSocket clients',
      value: fanout,
      unit: 'deliveries/s',
      note: `${count.toLocaleString('en-US')} events × ${CLIENTS} clients, clients in the same process`,
    },
    {
      name: 'api: event → client latency p50',
      value: latency.p50,
      unit: 'ms',
      note: `p95 ${latency.p95.toFixed(2)} ms; append to message received, 500 events/s to 100 clients`,
    },
    {
      name: 'api: export rate',
      value: total / exportSeconds,
      unit: 'events/s',
      note:
        `${(bytes / MB / exportSeconds).toFixed(1)} MB/s; ${total.toLocaleString('en-US')}-event log (${(bytes / MB).toFixed(0)} MB) as JSON lines; ` +
        `RSS +${((rssPeak - rssBefore) / MB).toFixed(1)} MB at peak`,
    },
  ];
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('api bench: the clients did not receive every event');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function download(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
