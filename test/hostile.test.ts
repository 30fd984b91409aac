/**
 * Hostile input against the real processes: bad WebSocket frames, random JSON-RPC, malformed HTTP and
 * oversized requests must close one connection or get a clear error, never take the process (or a run in
 * flight, and the user's file with it) down.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { ApiStatusRequest, ErrorCodes, Methods, StartRunRequest, StatsRequest } from '../server/protocol';
import { request, rpcSocket } from './support/apiClient';
import { BROKEN_MATH, fakeKey, fixReply, makeWorkspace, MATH_TEST, readLog } from './support/fixtures';
import { HostClient, rejection, startHost } from './support/lspClient';
import { lyingFrameHeader, maskedTextFrame, rawUpgrade } from './support/rawWebSocket';
import { serve, Served, stop } from './support/serve';
import { random } from './support/seeded';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

/** Tests slow enough that a run is certainly mid-iteration (its attempt in the file) while frames arrive. */
const SLOW_TEST = `node -e "setTimeout(() => {}, 1500)" && node --test math.test.js`;
const WRONG_ATTEMPT = `exports.add = (a, b) => a * b;\nexports.mul = (a, b) => a * b;\n`;

/** Three clients that break the WebSocket protocol, each closed with its own close code. */
async function sendBadFrames(url: string, token: string): Promise<void> {
  const unmasked = await rawUpgrade(url, token);
  unmasked.send(Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
  assert.equal(await unmasked.closed, 1002, 'an unmasked frame is a protocol error');

  const huge = await rawUpgrade(url, token);
  huge.send(maskedTextFrame(Buffer.alloc(2 * 1024 * 1024, 'x')));
  assert.equal(await huge.closed, 1009, 'a 2 MiB message is too big');

  const lying = await rawUpgrade(url, token);
  lying.send(lyingFrameHeader(100 * 1024 * 1024));
  assert.equal(await lying.closed, 1009, 'a frame announcing 100 MB is refused from its header');
}

function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 2 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return [1e308, -1, 0, 2 ** 53, NaN, 0.5][Math.floor(next() * 6)];
    case 2:
      return ['', 'file:///etc/passwd', 'file://host/x.js', '../../x', '\u0000', 'x'.repeat(5000), '.micro-agent/api-tokens.json'][Math.floor(next() * 7)];
    case 3:
      return next() < 0.5;
    case 4:
      return undefined;
    case 5:
      return Math.floor(next() * 1000);
    case 6:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const keys = ['uri', 'file', 'runId', 'maxRuns', 'prompt', 'afterSeq', 'limit', 'sinceTs', 'provider', 'testCommand', '__proto__', 'constructor'];
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, () => [keys[Math.floor(next() * keys.length)], randomValue(next, depth + 1)]));
    }
  }
}

const FUZZ_METHODS = [...Object.values(Methods), 'microAgent/nothing', 'rpc.discover', '__proto__'];

describe('hostile input: micro-agent serve', function () {
  this.timeout(60_000);
  let root: string;
  let served: Served | undefined;
  const vendor = useVendorServer(() => stop(served));

  beforeEach(async () => {
    root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    served = await serve(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, ['-t', SLOW_TEST]);
  });

  it('closes a read-only client that sends bad frames, and nothing else: the run in flight goes on and restores the file', async () => {
    const { url, info } = served!;
    vendor.script({ kind: 'text', text: fixReply(WRONG_ATTEMPT) }, { kind: 'hang' });
    const started = await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js' }) });
    assert.equal(started.status, 201);
    const { runId } = started.json();
    await until(() => readLog(root).some((e) => e.type === 'edit.applied' && e.runId === runId), 'the attempt to be written');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), WRONG_ATTEMPT);

    await sendBadFrames(url, info.readToken);

    assert.equal(served!.child.exitCode, null, `serve exited:\n${served!.output()}`);
    const runs = await request(`${url}/v1/runs`, { token: info.readToken });
    assert.equal(runs.status, 200);
    assert.equal(runs.json().runs.find((run: { runId: string }) => run.runId === runId)?.status, 'running');
    assert.equal((await request(`${url}/v1/runs/${runId}`, { method: 'DELETE', token: info.token })).status, 200);
    await until(() => readLog(root).some((e) => e.type === 'run.finished' && e.runId === runId), 'the run to finish');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('survives a fuzz pass of random JSON-RPC, malformed HTTP and truncated bodies, and still answers', async () => {
    const { url, info } = served!;
    const next = random(13);
    const fuzzer = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`, ['micro-agent.v1', info.token]);
    await new Promise((resolve, reject) => fuzzer.once('open', resolve).once('error', reject));
    let replies = 0;
    fuzzer.on('message', () => replies++);
    for (let i = 0; i < 300; i++) {
      const method = FUZZ_METHODS[Math.floor(next() * FUZZ_METHODS.length)];
      // startRun with random params must never start a run: nothing random names a real file correctly.
      if (method === Methods.startRun && next() < 0.5) continue;
      const message =
        next() < 0.1
          ? String(randomValue(next))
          : JSON.stringify({ jsonrpc: next() < 0.9 ? '2.0' : '1.0', id: `fuzz-${i}`, method, params: randomValue(next) });
      fuzzer.send(message);
    }
    await until(() => replies > 200, 'answers to the fuzz');
    fuzzer.close();
    const socket = await rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, info.token);
    const stats = await socket.call(Methods.stats, {});
    assert.ok(stats.result?.runs, `stats after the fuzz: ${JSON.stringify(stats)}`);
    socket.close();

    const { port, hostname } = new URL(url);
    const authorized = `Host: ${hostname}:${port}\r\nAuthorization: Bearer ${info.token}\r\ncontent-type: application/json`;
    const garbage = [
      'GARBAGE\r\n\r\n',
      'GET /v1/runs HTTP/1.1\r\nHost: \u0000\r\n\r\n',
      `POST /v1/runs HTTP/1.1\r\n${authorized}\r\ncontent-length: 5000\r\n\r\n{"file":`,
      `POST /v1/runs HTTP/1.1\r\n${authorized}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`,
      'GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(5000) + '\r\n',
    ];
    for (let i = 0; i < 40; i++) {
      const raw = net.connect(Number(port), hostname);
      raw.on('error', () => undefined);
      raw.end(garbage[i % garbage.length]);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(served!.child.exitCode, null, `serve exited:\n${served!.output()}`);
    assert.equal((await request(`${url}/v1/stats`, { token: info.readToken })).status, 200);
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 0);
    assert.equal(vendor.requests.length, 0);
  });

  it('refuses unbounded fields with a clear error before anything starts', async () => {
    const { url, info } = served!;
    const huge = await request(`${url}/v1/runs`, { method: 'POST', token: info.token, body: JSON.stringify({ file: 'math.js', maxRuns: 1e308 }) });
    assert.equal(huge.status, 400);
    assert.match(huge.json().error.message, /maxRuns must be at most 100/);
    const socket = await rpcSocket(`${url.replace('http', 'ws')}/v1/ws`, info.token);
    const remote = await socket.call(Methods.startRun, { uri: 'file://host/math.js' });
    assert.equal(remote.error?.code, ErrorCodes.InvalidParams);
    socket.close();
    assert.equal(vendor.requests.length, 0);
  });
});

describe('hostile input: the agent host', function () {
  this.timeout(60_000);
  let host: HostClient | undefined;
  let root: string;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });

  beforeEach(async () => {
    root = makeWorkspace({ 'math.js': BROKEN_MATH, 'math.test.js': MATH_TEST });
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { testCommand: SLOW_TEST, api: { enabled: true, port: 0 } });
  });

  it('serves on after a live API client sends bad frames', async () => {
    const status = await host!.connection.sendRequest(ApiStatusRequest.type);
    assert.ok(status, 'the live API is on');
    const info = JSON.parse(fs.readFileSync(path.join(root, '.micro-agent', 'api.json'), 'utf8'));
    await sendBadFrames(status.url, info.readToken);
    const stats = await host!.connection.sendRequest(StatsRequest.type);
    assert.equal(stats.runs.total, 0);
    assert.equal((await request(`${status.url}/v1/stats`, { token: info.readToken })).status, 200);
  });

  it('refuses a huge prompt, an absurd maxRuns and a remote file URI as invalid params, before any call', async () => {
    const uri = pathToFileURL(path.join(root, 'math.js')).toString();
    const prompt = await rejection(host!.connection.sendRequest(StartRunRequest.type, { uri, prompt: 'x'.repeat(1024 * 1024) }));
    assert.equal(prompt.code, ErrorCodes.InvalidParams);
    assert.match(prompt.message, /prompt is 1,048,576 characters; at most 100,000/);
    const maxRuns = await rejection(host!.connection.sendRequest(StartRunRequest.type, { uri, maxRuns: 1e308 }));
    assert.equal(maxRuns.code, ErrorCodes.InvalidParams);
    const remote = await rejection(host!.connection.sendRequest(StartRunRequest.type, { uri: 'file://host/share/math.js' }));
    assert.equal(remote.code, ErrorCodes.InvalidParams);
    assert.equal(vendor.requests.length, 0);
  });

  it('answers every random request over LSP with a result or an error, and stays up', async () => {
    const next = random(7);
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const method = FUZZ_METHODS[Math.floor(next() * FUZZ_METHODS.length)];
      if (method === Methods.startRun && next() < 0.5) continue;
      // A notification method sent as a request is still just an error for that request.
      answers.push(
        host!.connection.sendRequest(method, randomValue(next)).then(
          () => 'result',
          () => 'error',
        ),
      );
    }
    const settled = await Promise.all(answers);
    assert.equal(settled.length, answers.length);
    const stats = await host!.connection.sendRequest(StatsRequest.type);
    assert.equal(stats.runs.total, 0);
    assert.equal(vendor.requests.length, 0);
  });
});
