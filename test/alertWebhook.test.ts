import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAlertWebhook } from '../server/alerts/alertWebhook';
import { EventLog } from '../server/events/log';
import { cli } from './support/cli';
import { fakeKey, fixReply, makeWorkspace, readLog, TEST_COMMAND } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

/** A chat's incoming-webhook endpoint: records each POST and answers with the next scripted status (then 200). */
interface Receiver {
  /** A Slack-like URL whose path is the secret. */
  url: string;
  posts: Array<{ contentType: string | undefined; body: any }>;
  statuses: number[];
  close(): Promise<void>;
}

const SECRET_PATH = '/services/T0DEVAI/B0ALERTS/xoxb-very-secret-token';

async function startReceiver(): Promise<Receiver> {
  const posts: Receiver['posts'] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(statuses.shift() ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${SECRET_PATH}`,
    posts,
    statuses,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const FAST = { queue: 100, timeoutMs: 2000, retryDelaysMs: [20, 20] };

describe('alerts to a webhook (devAi.alerts.webhookUrl, MICRO_AGENT_ALERT_WEBHOOK)', () => {
  let receiver: Receiver | undefined;
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    await receiver?.close();
    host = receiver = undefined;
  });

  function tempLog(): EventLog {
    return EventLog.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-')), 'events.jsonl'));
  }

  it('POSTs each alert as { text, alert } (Slack-compatible text) and keeps the URL out of the log', async () => {
    receiver = await startReceiver();
    const log = tempLog();
    const webhook = startAlertWebhook(log, () => receiver!.url, '/home/me/shop', FAST);
    const alert = log.append({ type: 'alert', kind: 'error_rate', provider: 'openai', message: 'openai failed 5 of its last 10 calls (50%)' });
    log.append({ type: 'log', level: 'info', message: `something quoting ${receiver.url}` });
    await until(() => receiver!.posts.length === 1, 'the alert to arrive');
    await webhook.close();

    const [post] = receiver.posts;
    assert.equal(post.contentType, 'application/json');
    assert.deepEqual(Object.keys(post.body).sort(), ['alert', 'text']);
    assert.deepEqual(post.body.alert, alert);
    assert.equal(post.body.text, ':warning: *dev-ai* (shop) error_rate alert: openai failed 5 of its last 10 calls (50%)');
    const written = fs.readFileSync(log.file, 'utf8');
    assert.ok(!written.includes('xoxb-very-secret-token'), 'the webhook URL never reaches the log');
    assert.match(written, /something quoting \*\*\*/);
    log.close();
  });

  it('retries after a 500 and delivers, without a warning', async () => {
    receiver = await startReceiver();
    receiver.statuses.push(500);
    const log = tempLog();
    const webhook = startAlertWebhook(log, () => receiver!.url, '/w', FAST);
    log.append({ type: 'alert', kind: 'latency', message: 'slow' });
    await until(() => receiver!.posts.length === 2, 'the retry');
    await webhook.close();
    assert.deepEqual(
      receiver.posts.map((p) => p.body.alert.message),
      ['slow', 'slow'],
    );
    assert.equal(log.read().filter((e) => e.type === 'log').length, 0);
    log.close();
  });

  it('logs a receiver that is down once, not once per alert, and never blocks the appends', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}${SECRET_PATH}`;
    await new Promise((resolve) => closed.close(resolve));

    const log = tempLog();
    const webhook = startAlertWebhook(log, () => url, '/w', FAST);
    const started = performance.now();
    for (let i = 0; i < 5; i++) log.append({ type: 'alert', kind: 'latency', message: `slow ${i}` });
    assert.ok(performance.now() - started < 1000, 'appending alerts does not wait for the webhook');
    await webhook.close(10_000);

    const warnings = log.read().filter((e) => e.type === 'log');
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match((warnings[0] as any).message, /alert webhook: could not deliver an alert: ECONNREFUSED; further failures are not logged/);
    assert.ok(!fs.readFileSync(log.file, 'utf8').includes('xoxb-very-secret-token'));
    log.close();
  });

  it('a terminal run reaching 80 % of its daily budget posts the alert from its own process', async () => {
    receiver = await startReceiver();
    const root = makeWorkspace();
    vendor.respond = () => ({
      kind: 'text',
      text: fixReply('exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n'),
      usage: { input: 1_000_000, output: 0 },
    });
    const result = await cli(
      ['run', 'math.js', '-t', TEST_COMMAND, '-m', '1', '--daily-budget', '0.18', '--provider', 'openai', '--model', 'gpt-4o-mini'],
      root,
      {
        OPENAI_API_KEY: fakeKey(),
        OPENAI_BASE_URL: vendor.openaiUrl,
        MICRO_AGENT_ALERT_WEBHOOK: receiver.url,
      },
    );
    assert.equal(result.code, 1, result.stdout + result.stderr);
    // The process flushed its queue before it exited.
    assert.equal(receiver.posts.length, 1);
    assert.equal(receiver.posts[0].body.alert.kind, 'budget');
    assert.deepEqual(receiver.posts[0].body.alert.daily, { spentUsd: 0.15, capUsd: 0.18, threshold: 0.8 });
    assert.match(receiver.posts[0].body.text, /83% of the \$0\.18 daily budget/);
    const everything = result.stdout + result.stderr + fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8');
    assert.ok(!everything.includes('xoxb-very-secret-token'));
    assert.equal(readLog(root).filter((e) => e.type === 'alert').length, 1);
  });

  it('the editor host posts to devAi.alerts.webhookUrl from its settings', async () => {
    receiver = await startReceiver();
    const root = makeWorkspace();
    vendor.respond = () => ({ kind: 'text', text: 'no code here', usage: { input: 1_000_000, output: 0 } });
    host = await startHost(
      root,
      { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl },
      { provider: 'openai', model: 'gpt-4o-mini', dailyBudgetUsd: 0.1, alerts: { webhookUrl: receiver.url } },
    );
    const review = host.connection.sendRequest('microAgent/review', { uri: `file://${path.join(root, 'math.js')}` });
    await review.catch(() => undefined); // The reply is no JSON; the call was made and cost $0.15 all the same.
    await until(() => receiver!.posts.length >= 1, 'the host to post the daily alert');
    assert.equal(receiver.posts[0].body.alert.daily.threshold, 1);
    assert.ok(!host.logs.join('\n').includes('xoxb-very-secret-token'));
    assert.ok(!fs.readFileSync(path.join(root, '.micro-agent/events.jsonl'), 'utf8').includes('xoxb-very-secret-token'));
  });
});
