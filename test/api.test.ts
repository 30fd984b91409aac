import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { ApiInfo, ApiStatusRequest, DevAiSettings, RunFinishedEvent } from '../server/protocol';
import { request, rpcSocket, sse, startInProcessApi } from './support/apiClient';
import { launchBrowser, screenshot } from './support/codeServer';
import { BROKEN_MATH, DIST, fakeKey, FIXED_MATH, fixReply, makeWorkspace, MATH_TEST, readLog, REPO, TEST_COMMAND } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { serve, Served, stop } from './support/serve';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

describe('live API (micro-agent serve)', function () {
  this.timeout(60_000);
  let root: string;
  let served: Served | undefined;
  let key: string;
  const vendor = useVendorServer(() => stop(served));

  beforeEach(async () => {
    root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    key = fakeKey();
    served = await serve(root, { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl }, ['-t', TEST_COMMAND]);
  });

  it('writes api.json for the owner only, listens on loopback, and refuses requests without the right token, Host or Origin', async () => {
    const { url, info } = served!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(info.url, url);
    assert.equal(fs.statSync(path.join(root, '.micro-agent', 'api.json')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(root, '.micro-agent', 'api-tokens.json')).mode & 0o777, 0o600);

    assert.equal((await request(`${url}/v1/runs`)).status, 401);
    const wrong = await request(`${url}/v1/runs`, { token: info.token.slice(0, -2) + 'xx' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer');
    assert.equal((await request(`${url}/v1/runs`, { token: info.token })).status, 200);
    assert.equal((await request(`${url}/v1/stats`, { token: info.readToken })).status, 200);

    // A read-only token watches and exports but cannot start or cancel.
    const readOnly = await request(`${url}/v1/runs`, { method: 'POST', token: info.readToken, body: JSON.stringify({ file: 'math.js' }) });
    assert.equal(readOnly.status, 403);
    assert.match(readOnly.json().error.message, /read-only/);
    assert.equal(vendor.requests.length, 0);

    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
    const port = new URL(url).port;
    assert.equal((await request(`${url}/v1/runs`, { token: info.token, headers: { host: `evil.example:${port}` } })).status, 403);
    assert.equal((await request(`${url}/v1/runs`, { token: info.token, headers: { host: `localhost:${port}` } })).status, 200);
    const foreign = await request(`${url}/v1/runs`, { token: info.token, headers: { origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);

    await assert.rejects(rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, 'not-a-token'), /401/);
    const ws = await rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, info.readToken);
    const refused = await ws.call('microAgent/startRun', { file: 'math.js' });
    assert.equal(refused.error?.code, -32004);
    ws.close();
  });

  it('a run started by POST /v1/runs fixes a real module while SSE and WebSocket clients each get every event once, in order', async () => {
    const { url, info } = served!;
    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 700, output: 60 } });
    const stream = sse(`${url}/v1/events`, info.readToken);
    assert.equal(await stream.status, 200);
    const ws = await rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, info.token);

    const started = await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js', prompt: 'add adds' }) });
    assert.equal(started.status, 201);
    const { runId } = started.json();
    const finished = (events: any[]) => events.some((e) => e.type === 'run.finished' && e.runId === runId);
    await until(() => finished(stream.events) && finished(ws.events), 'run.finished on both streams');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);

    const logged = readLog(root);
    assert.deepEqual(stream.events, logged);
    assert.deepEqual(ws.events, logged);
    assert.equal(logged.find((e) => e.type === 'run.finished').outcome, 'passed');

    // The same requests over the WebSocket, with the LSP shapes.
    const runs = await ws.call('microAgent/runs');
    assert.equal(runs.result.runs[0].runId, runId);
    const stats = await ws.call('microAgent/stats');
    assert.deepEqual(stats.result, (await request(`${url}/v1/stats`, { token: info.token })).json());
    assert.equal(stats.result.providers[0].inputTokens, 700);
    ws.close();
    stream.close();
    assert.ok(!JSON.stringify(logged).includes(key), 'the key is in no event');
  });

  it("AI-DEVELOP.md's Node client watches a run to its end (the documented example works as written)", async () => {
    const { url, info } = served!;
    const doc = fs.readFileSync(path.join(REPO, 'AI-DEVELOP.md'), 'utf8');
    const code = /```js\n(\/\/ watch\.mjs[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(code, 'the example is in AI-DEVELOP.md');
    const script = path.join(root, '.micro-agent', 'watch.mjs');
    fs.writeFileSync(script, code);
    const watcher = spawn(process.execPath, [script, root]);
    let printed = '';
    watcher.stdout.on('data', (d) => (printed += d));
    watcher.stderr.on('data', (d) => (printed += d));
    try {
      vendor.script({ kind: 'text', text: fixReply() });
      const { runId } = (await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js' }) })).json();
      await until(() => printed.includes(`run.finished ${runId} passed`), `the example to print the run's end; it printed:\n${printed}`);
      assert.match(printed, new RegExp(`^1 run\\.started ${runId}`));
    } finally {
      watcher.kill();
    }
  });

  it('resumes from Last-Event-ID without gaps, and export equals the log', async () => {
    const { url, info } = served!;
    vendor.script({ kind: 'text', text: fixReply() });
    const run = await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js' }) });
    await until(() => readLog(root).some((e) => e.type === 'run.finished'), 'the run');
    const logged = readLog(root);
    assert.equal(run.status, 201);

    const resumed = sse(`${url}/v1/events`, info.token, { 'last-event-id': String(logged[2].seq) });
    await until(() => resumed.events.length === logged.length - 3, 'the rest of the events');
    assert.deepEqual(resumed.events, logged.slice(3));
    resumed.close();

    const jsonl = await request(`${url}/v1/export?format=jsonl`, { token: info.readToken });
    assert.equal(jsonl.status, 200);
    assert.deepEqual(
      jsonl.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
      logged,
    );

    const calls = await request(`${url}/v1/export?format=csv&type=llm_calls`, { token: info.readToken });
    const rows = calls.text.trim().split('\r\n');
    assert.equal(
      rows[0],
      'seq,ts,runId,callId,provider,model,iteration,ok,latencyMs,ttftMs,inputTokens,outputTokens,costUsd,retries,finishReason,errorKind,' +
        'cachedInputTokens,cacheWriteInputTokens,outputTokensPerSec,loadMs,requestsLimit,requestsRemaining,tokensLimit,tokensRemaining,rateLimitResetAt',
    );
    // The stand-in's key allows 4,000 requests a minute: the first call's headroom, as its headers said it.
    assert.match(rows[1], /,,,4000,3999,2000000,\d+,\d{13}$/);
    assert.equal(rows.length - 1, logged.filter((e) => e.type === 'llm.response').length);
    const runs = await request(`${url}/v1/export?format=csv&type=runs`, { token: info.readToken });
    assert.match(runs.text.split('\r\n')[1], new RegExp(`^${run.json().runId},math.js,openai,gpt-4.1-mini,`));
    // The run's edit quality, last: one reply, applied (a whole file: no ladder step).
    assert.match(runs.text.split('\r\n')[0], /,durationMs,editReplies,wellFormedReplies,matchSteps$/);
    assert.match(runs.text.split('\r\n')[1], /,1,1,"\{""exact"":0,""whitespace"":0,""indent"":0,""tabs"":0,""blank_lines"":0,""elision"":0\}"$/);
    const onlyTests = await request(`${url}/v1/export?type=test.finished&from=${logged[0].ts}`, { token: info.readToken });
    assert.deepEqual(
      onlyTests.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).type),
      logged.filter((e) => e.type === 'test.finished').map((e) => e.type),
    );
    assert.equal((await request(`${url}/v1/export?format=xml`, { token: info.readToken })).status, 400);
  });

  it('answers bad input with clear errors and starts nothing', async () => {
    const { url, info } = served!;
    const post = (body: string | Buffer) => request(`${url}/v1/runs`, { method: 'POST', token: info.token, body });
    const huge = await post(Buffer.alloc(70 * 1024, 'a'));
    assert.equal(huge.status, 413);
    const malformed = await post('{"file": "math.js",');
    assert.equal(malformed.status, 400);
    assert.match(malformed.json().error.message, /not valid JSON/);
    const unknown = await post(JSON.stringify({ file: 'math.js', shell: 'rm -rf /' }));
    assert.equal(unknown.status, 400);
    assert.match(unknown.json().error.message, /unknown field: shell/);
    const outside = await post(JSON.stringify({ file: '../../etc/passwd' }));
    assert.equal(outside.status, 400);
    assert.match(outside.json().error.message, /outside the workspace/);
    assert.equal((await request(`${url}/v1/runs/nope-123`, { method: 'DELETE', token: info.token })).status, 404);
    assert.equal((await request(`${url}/v1/nothing`, { token: info.token })).status, 404);
    assert.equal((await request(`${url}/v1/stats`, { method: 'POST', token: info.token, body: '{}' })).status, 405);
    for (const [query, message] of [
      ['bucketMs=5', /bucketMs must be a whole number of ms, at least 60000/],
      ['sinceTs=yesterday', /sinceTs must be a whole number of ms/],
      ['untilTs=-1', /untilTs must be a whole number of ms/],
      ['sketches=maybe', /sketches must be true or false/],
      ['window=day', /unknown query parameter window/],
    ] as const) {
      const bad = await request(`${url}/v1/rollups?${query}`, { token: info.readToken });
      assert.equal(bad.status, 400, query);
      assert.match(bad.json().error.message, message);
    }
    const rollups = await request(`${url}/v1/rollups?sinceTs=0&bucketMs=3600000&sketches=false`, { token: info.readToken });
    assert.equal(rollups.status, 200);
    assert.deepEqual(Object.keys(rollups.json()).sort(), ['bucketMs', 'calls', 'lastSeq', 'runs', 'sinceTs']);
    const ended = await request(`${url}/v1/rollups?sinceTs=0&untilTs=86400000&bucketMs=3600000`, { token: info.readToken });
    assert.equal(ended.json().untilTs, 86_400_000, 'a window with an end says so');

    // One run per file, as in the editor; DELETE cancels it and restores the file.
    vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 30_000 });
    const first = await post(JSON.stringify({ file: 'math.js' }));
    assert.equal(first.status, 201);
    const second = await post(JSON.stringify({ file: 'math.js' }));
    assert.equal(second.status, 409);
    await until(() => vendor.requests.length === 1, 'the model call');
    const cancel = await request(`${url}/v1/runs/${first.json().runId}`, { method: 'DELETE', token: info.token });
    assert.deepEqual(cancel.json(), { cancelled: true });
    await until(() => readLog(root).some((e) => e.type === 'run.finished'), 'the cancelled run');
    assert.equal(readLog(root).find((e) => e.type === 'run.finished').outcome, 'cancelled');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
    assert.ok(!served!.output().includes(key));
  });

  it('token rotate invalidates the old tokens at once, and closes streams opened with them', async () => {
    const { url, info } = served!;
    const stream = sse(`${url}/v1/events`, info.readToken);
    assert.equal(await stream.status, 200);
    execFileSync(process.execPath, [path.join(DIST, 'cli.js'), 'token', 'rotate', '--workspace', root]);
    const fresh = JSON.parse(fs.readFileSync(path.join(root, '.micro-agent', 'api.json'), 'utf8')) as ApiInfo;
    assert.notEqual(fresh.token, info.token);
    assert.equal((await request(`${url}/v1/runs`, { token: info.token })).status, 401);
    assert.equal((await request(`${url}/v1/runs`, { token: fresh.token })).status, 200);
    await stream.ended;
  });

  it('serves the dashboard page: it signs in with the one-time link and shows a run live in headless Chromium', async () => {
    const { url, info } = served!;
    const link = /dashboard (http:\/\/\S+)/.exec(served!.output())![1];
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      await page.goto(link);
      await page.locator('vscode-tab-header', { hasText: 'Analytics' }).waitFor({ timeout: 30_000 });
      assert.equal(new URL(page.url()).hash, '', 'the code is gone from the address bar');
      // The page draws before its sign-in request has stored the token: wait for the session, then check it.
      await page.waitForFunction(() => sessionStorage.getItem('micro-agent.token') !== null, undefined, { timeout: 30_000 });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('micro-agent.token')), info.token);
      // The code worked once.
      const again = await request(`${url}/v1/session`, { body: JSON.stringify({ code: new URL(link).hash.slice(6) }), method: 'POST' });
      assert.equal(again.status, 401);

      vendor.script({ kind: 'text', text: fixReply(), firstTokenDelayMs: 1500, usage: { input: 800, output: 60 } });
      const started = await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js' }) });
      assert.equal(started.status, 201);
      await page.locator('.run.running').waitFor({ timeout: 30_000 });
      await screenshot(page, 'api-dashboard-running');
      await page.locator('.run.passed').waitFor({ timeout: 30_000 });

      // A reload keeps the session (sessionStorage) and shows the run once.
      await page.reload();
      await page.locator('.run.passed').waitFor({ timeout: 30_000 });
      assert.equal(await page.locator('.run').count(), 1);
      await page.locator('vscode-tab-header', { hasText: 'Analytics' }).click();
      await page.locator('tr[data-model="openai gpt-4.1-mini"]').waitFor();
      await screenshot(page, 'api-dashboard-analytics');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('refuses a non-loopback address unless asked, and then warns', async () => {
    const refused = spawn(process.execPath, [path.join(DIST, 'cli.js'), 'serve', '--workspace', root, '--host', '0.0.0.0'], {
      env: { PATH: process.env.PATH },
    });
    let err = '';
    refused.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => refused.once('exit', r));
    assert.equal(code, 2);
    assert.match(err, /--allow-remote/);
  });
});

describe('live API fan-out', function () {
  this.timeout(60_000);

  it('keeps serving others while a client stalls, drops the stalled one, and it resumes by seq', async () => {
    const dropped: string[] = [];
    const api = await startInProcessApi({ feedLimits: { maxBuffered: 256 * 1024, stallMs: 1000 }, log: (m) => dropped.push(m) });
    const { log, url } = api;
    const { full } = api.tokens;
    try {
      const healthy = sse(`${url}/v1/events`, full);
      const ws = await rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, full);
      // A client that asks for the stream and then never reads.
      const stalled = net.connect(Number(new URL(url).port), '127.0.0.1');
      stalled.write(`GET /v1/events HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${full}\r\n\r\n`);
      stalled.pause();
      await healthy.status;
      await new Promise((r) => setTimeout(r, 100));

      const count = 20_000;
      const message = 'x'.repeat(1000);
      for (let i = 0; i < count; i++) {
        log.append({ type: 'log', level: 'info', message });
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      await until(() => healthy.events.length === count && ws.events.length === count, 'every event at the healthy clients', 30_000);
      assert.deepEqual(
        healthy.events.map((e) => e.seq),
        Array.from({ length: count }, (_, i) => i + 1),
      );
      assert.deepEqual(
        ws.events.map((e) => e.seq),
        healthy.events.map((e) => e.seq),
      );
      await until(() => dropped.some((m) => /dropped an SSE client/.test(m)), 'the stalled client to be dropped');
      stalled.destroy();

      // Back with the last seq it had: the rest, no gaps.
      const resumed = sse(`${url}/v1/events`, full, { 'last-event-id': '12345' });
      await until(() => resumed.events.length === count - 12345, 'the resumed stream');
      assert.equal(resumed.events[0].seq, 12346);
      healthy.close();
      resumed.close();
      ws.close();
    } finally {
      await api.close();
    }
  });

  it('survives thousands of reconnects', async () => {
    const api = await startInProcessApi();
    const { log, url } = api;
    const { read } = api.tokens;
    log.append({ type: 'log', level: 'info', message: 'one' });
    try {
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 100 }, async () => {
            const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`, ['micro-agent.v1', read]);
            await new Promise<void>((resolve, reject) => {
              ws.once('message', () => resolve());
              ws.once('error', reject);
            });
            ws.terminate();
          }),
        );
      }
      const after = sse(`${url}/v1/events`, read);
      await until(() => after.events.length === 1, 'a stream after 2,000 reconnects');
      after.close();
    } finally {
      await api.close();
    }
  });
});

describe('live API in the agent host (devAi.api.enabled)', function () {
  this.timeout(60_000);
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });

  it('serves the same engine while the setting is on: a run started over HTTP reaches the editor; off, then on another port', async () => {
    const root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    const settings: DevAiSettings = { model: 'gpt-4.1-mini', testCommand: TEST_COMMAND, api: { enabled: true, port: 0 } };
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, settings);
    const status = await host.connection.sendRequest(ApiStatusRequest.type);
    assert.ok(status, 'the API is on');
    assert.match(status.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const info = JSON.parse(fs.readFileSync(status.infoFile, 'utf8')) as ApiInfo;
    assert.equal(info.url, status.url);
    assert.equal(fs.statSync(status.infoFile).mode & 0o777, 0o600);
    // Each ask mints its own one-time code.
    const again = await host.connection.sendRequest(ApiStatusRequest.type);
    assert.match(status.dashboardUrl, /#code=[\w-]{20,}$/);
    assert.notEqual(again!.dashboardUrl, status.dashboardUrl);

    vendor.script({ kind: 'text', text: fixReply() });
    const started = await request(`${status.url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js' }) });
    assert.equal(started.status, 201, started.text);
    const { runId } = started.json();
    const finished = await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId);
    assert.equal((finished as RunFinishedEvent).outcome, 'passed');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);
    const runs = await request(`${status.url}/v1/runs`, { token: info.readToken });
    assert.deepEqual(
      runs.json().runs.map((r: { runId: string }) => r.runId),
      [runId],
    );

    settings.api = { enabled: false };
    await host.settingsChanged();
    assert.equal(await host.connection.sendRequest(ApiStatusRequest.type), null);
    assert.ok(!fs.existsSync(status.infoFile), 'api.json goes with the server');
    await assert.rejects(request(`${status.url}/v1/stats`, { token: info.readToken }), /ECONNREFUSED/);

    const port = await freePort();
    settings.api = { enabled: true, port };
    await host.settingsChanged();
    const moved = await host.connection.sendRequest(ApiStatusRequest.type);
    assert.equal(moved?.url, `http://127.0.0.1:${port}`);
    const stats = await request(`${moved.url}/v1/stats`, { token: JSON.parse(fs.readFileSync(moved.infoFile, 'utf8')).readToken });
    assert.equal(stats.status, 200);
    assert.equal(stats.json().runs.total, 1);

    await host.stop();
    host = undefined;
    assert.ok(!fs.existsSync(moved.infoFile), 'shutdown closes the API');
  });

  it('does not serve in an untrusted workspace, and reports a port that is taken', async () => {
    const root = makeWorkspace({});
    host = await startHost(root, {}, { api: { enabled: true } }, { trusted: false });
    assert.equal(await host.connection.sendRequest(ApiStatusRequest.type), null);
    assert.ok(
      host.logs.some((line) => /devAi\.api\.enabled is ignored until the workspace is trusted/.test(line)),
      host.logs.join('\n'),
    );
    assert.ok(!fs.existsSync(path.join(root, '.micro-agent')), 'nothing written into an untrusted workspace');
    await host.stop();

    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      host = await startHost(makeWorkspace({}), {}, { api: { enabled: true, port } });
      assert.equal(await host.connection.sendRequest(ApiStatusRequest.type), null);
      assert.ok(
        host.logs.some((line) => line.includes(`could not listen on 127.0.0.1:${port}`) && /EADDRINUSE/.test(line)),
        host.logs.join('\n'),
      );
    } finally {
      taken.close();
    }
  });
});

function freePort(): Promise<number> {
  const probe = net.createServer();
  return new Promise((resolve) =>
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    }),
  );
}
