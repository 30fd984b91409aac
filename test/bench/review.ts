/** Review benchmarks: request → diagnostics for a cached review, and the host's memory with many open documents. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReviewRequest } from '../../server/protocol';
import { makeWorkspace } from '../support/fixtures';
import { HostClient, startHost } from '../support/lspClient';
import { startVendorServer } from '../support/vendorServer';
import { Result, summarize } from './stats';

/** A 200-line source file, about 6 KB: the size of a typical module. */
const SOURCE = Array.from({ length: 200 }, (_, i) => `export function f${i}(x) { return x * ${i} + ${i % 7}; }`).join('\n') + '\n';

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** Resolves when the host next publishes diagnostics for `uri`. */
function nextDiagnostics(host: HostClient, uri: string): Promise<void> {
  return new Promise((resolve) => {
    const dispose = host.connection.onNotification('textDocument/publishDiagnostics', (params: { uri: string }) => {
      if (params.uri !== uri) return;
      dispose.dispose();
      resolve();
    });
  });
}

export async function review(): Promise<Result[]> {
  const vendor = await startVendorServer();
  const findings = Array.from({ length: 10 }, (_, i) => ({
    line: i * 20 + 1,
    endLine: i * 20 + 1,
    severity: 'warning',
    message: `finding ${i}`,
    fix: { replacement: `// fixed ${i}` },
  }));
  vendor.respond = () => ({ kind: 'text', text: JSON.stringify({ findings }) });
  const root = makeWorkspace({ 'app.js': SOURCE });
  const host = await startHost(root, { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: vendor.openaiUrl }, { model: 'gpt-4.1-mini' });
  const uri = pathToFileURL(path.join(root, 'app.js')).toString();
  await host.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'javascript', version: 1, text: SOURCE } });
  await host.connection.sendRequest(ReviewRequest.type, { uri }); // the one model call; everything after is cached

  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    const published = nextDiagnostics(host, uri);
    await host.connection.sendRequest(ReviewRequest.type, { uri });
    await published;
    times.push(performance.now() - t);
  }
  const latency = summarize(times.slice(50));
  const calls = vendor.requests.length;

  // Memory: open 1,000 documents of this size (6 MB of text in all), as a large workspace's open tabs would.
  const pid = host.child.pid!;
  await host.connection.sendRequest('microAgent/runs');
  const before = rssMb(pid);
  for (let i = 0; i < 1000; i++) {
    const text = SOURCE.replace('f0', `g${i}`);
    await host.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: pathToFileURL(path.join(root, `open/m${i}.js`)).toString(), languageId: 'javascript', version: 1, text },
    });
  }
  await host.connection.sendRequest('microAgent/runs'); // every didOpen before it has been handled
  const after = rssMb(pid);

  await host.stop();
  await vendor.close();
  fs.rmSync(root, { recursive: true, force: true });
  return [
    {
      name: 'review: cached review → diagnostics p50',
      value: latency.p50,
      unit: 'ms',
      goal: 'p50 < 5 ms',
      note: `p95 ${latency.p95.toFixed(3)} ms; 200-line file, 10 findings, ${calls} model call for 500 reviews`,
    },
    {
      name: 'host: memory with 1,000 open documents',
      value: after,
      unit: 'MB RSS',
      note: `${before.toFixed(1)} MB before opening them (+${(after - before).toFixed(1)} MB for 6 MB of text)`,
    },
  ];
}
