/** Live API benchmarks: fan-out to 100 WebSocket clients, event → client latency, export rate. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { ApiServer } from '../../server/api/server';
import { TokenStore, tokensFile } from '../../server/api/tokens';
import { Engine } from '../../server/engine';
import { EventLog } from '../../server/events/log';
import { EventInput } from '../../server/protocol';
import { makeWorkspace } from '../support/fixtures';
import { Result, summarize } from './stats';

const CLIENTS = 100;

/** A typical event: a model call's response (about 450 bytes of JSON). */
const EVENT: EventInput = {
  type: 'llm.response',
  runId: 'bench',
  callId: '00000000-0000-0000-0000-000000000000',
  provider: 'openai',
  model: 'gpt-4.1-mini',
  iteration: 1,
  latencyMs: 812,
  ttftMs: 240,
  inputTokens: 1200,
  outputTokens: 300,
  costUsd: 0.00096,
  retries: 0,
  ok: true,
  finishReason: 'stop',
  responsePreview: 'Fixed the off-by-one in mean(); the divisor is the number of values.',
};

export async function api(): Promise<Result[]> {
  const root = makeWorkspace({});
  const log = EventLog.open(path.join(root, '.micro-agent', 'events.jsonl'));
  const engine = await Engine.create({ root, log, env: {} });
  const tokens = new TokenStore(tokensFile(path.join(root, '.micro-agent')));
  const server = new ApiServer({ engine, tokens });
  const url = await server.listen(0, '127.0.0.1');
  const { read } = tokens.current();

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
          const seq = JSON.parse(data.toString()).params.seq as number;
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
    sentAt.set(log.append(EVENT).seq, performance.now());
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
    log.append(EVENT);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => received >= count * CLIENTS);
  const fanout = (count * CLIENTS) / ((performance.now() - started) / 1000);
  for (const ws of clients) ws.terminate();
  // Closed before the log grows, so the export below measures reading, not 100 departing feeds.
  await server.close();

  // Export: the whole log as JSON lines, read as fast as a local client can.
  for (let i = 0; i < 80_000; i++) log.append(EVENT);
  const total = log.lastSeq;
  const exporter = new ApiServer({ engine, tokens });
  const exportUrl = await exporter.listen(0, '127.0.0.1');
  const exportStarted = performance.now();
  const bytes = await download(`${exportUrl}/v1/export?format=jsonl`, read);
  const exportSeconds = (performance.now() - exportStarted) / 1000;

  await exporter.close();
  await engine.dispose();
  log.close();
  fs.rmSync(root, { recursive: true, force: true });
  return [
    { name: 'api: events fanned out to 100 WebSocket clients', value: fanout, unit: 'deliveries/s', note: `${count.toLocaleString('en-US')} events × ${CLIENTS} clients, clients in the same process` },
    { name: 'api: event → client latency p50', value: latency.p50, unit: 'ms', note: `p95 ${latency.p95.toFixed(2)} ms; append to message received, 500 events/s to 100 clients` },
    { name: 'api: export rate', value: total / exportSeconds, unit: 'events/s', note: `${(bytes / 1024 / 1024 / exportSeconds).toFixed(1)} MB/s; ${total.toLocaleString('en-US')}-event log as JSON lines` },
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
