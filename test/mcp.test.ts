import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { BROKEN_MATH, DIST, fakeKey, FIXED_MATH, fixReply, makeWorkspace, readLog, REPO, TEST_COMMAND } from './support/fixtures';
import { RunsRequest } from '../server/protocol';
import { startHost } from './support/lspClient';
import { isAlive } from './support/processes';
import { until } from './support/until';
import { startVendorServer, useVendorServer, VendorServer } from './support/vendorServer';
import { connectMcp, type McpProcess } from './support/mcpClient';

/** `micro-agent mcp` as an MCP client (Claude Code, Cline, VS Code) runs it: a child process spoken to over its stdin/stdout. */
describe('micro-agent mcp (the official MCP SDK client over stdio)', function () {
  // A fix runs real node --test suites; the default 30 s is tight for that on a loaded machine.
  this.timeout(60_000);
  // One server process for the suite, so one vendor for it too (useVendorServer starts one per test).
  let vendor: VendorServer;
  const key = fakeKey();
  let root: string;
  let server: McpProcess;
  let client: Client;

  before(async () => {
    root = makeWorkspace();
    vendor = await startVendorServer();
    server = await connectMcp(root, { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl });
    client = server.client;
  });
  after(async () => {
    await client?.close();
    await vendor?.close();
    assert.deepEqual(server.protocolErrors, [], 'stdout carried nothing but the protocol');
    assert.ok(!server.stderr().includes(key), 'the key never reaches the output');
  });

  const reset = () => fs.writeFileSync(path.join(root, 'math.js'), BROKEN_MATH);

  it('lists the six tools with schemas and annotations that say which change files', async () => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    assert.deepEqual(Object.keys(byName).sort(), ['cancel_run', 'fix_file', 'get_provider_usage', 'get_stats', 'list_runs', 'run_eval']);
    assert.deepEqual(byName.run_eval.annotations, { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });

    const fix = byName.fix_file;
    assert.deepEqual(Object.keys(fix.inputSchema.properties ?? {}).sort(), ['file', 'maxRuns', 'model', 'prompt', 'provider', 'testCommand']);
    assert.deepEqual(fix.inputSchema.required, ['file']);
    assert.equal((fix.inputSchema as any).additionalProperties, false, 'an unknown field is refused, not ignored');
    assert.deepEqual((fix.inputSchema.properties as any).provider.enum, ['openai', 'anthropic', 'ollama']);
    assert.deepEqual([(fix.inputSchema.properties as any).maxRuns.minimum, (fix.inputSchema.properties as any).maxRuns.maximum], [1, 100]);
    assert.deepEqual(Object.keys(fix.outputSchema?.properties ?? {}).sort(), ['costUsd', 'files', 'iterations', 'outcome', 'runId']);
    assert.deepEqual(fix.annotations, { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });

    for (const name of ['list_runs', 'get_stats']) {
      assert.equal(byName[name].annotations?.readOnlyHint, true, `${name} is read-only`);
      assert.equal(byName[name].annotations?.openWorldHint, false);
    }
    // Read-only, but it asks the vendors' admin APIs: an open world.
    assert.deepEqual(byName.get_provider_usage.annotations, { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
    assert.deepEqual(Object.keys(byName.get_provider_usage.inputSchema.properties ?? {}).sort(), ['provider', 'sinceDays']);
    assert.equal(byName.cancel_run.annotations?.readOnlyHint, false);
    assert.equal(byName.cancel_run.annotations?.destructiveHint, false, 'cancelling puts files back');
    assert.deepEqual(byName.cancel_run.inputSchema.required, ['runId']);
  });

  it('fix_file fixes a broken module against the vendor, with progress, and get_stats adds up', async () => {
    vendor.script({ kind: 'text', text: 'I think add is wrong.' }, { kind: 'text', text: fixReply(), usage: { input: 900, output: 60 } });
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'fix_file', arguments: { file: 'math.js', model: 'gpt-4o-mini', prompt: 'add must add' } }, undefined, {
      onprogress: (p) => progress.push(p),
      resetTimeoutOnProgress: true,
    });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);

    const log = readLog(root);
    const finished = log.find((e) => e.type === 'run.finished');
    const structured = result.structuredContent as any;
    assert.deepEqual(structured, { runId: finished.runId, outcome: 'passed', iterations: 2, costUsd: finished.costUsd, files: ['math.js'] });
    assert.ok(structured.costUsd > 0);
    const text = (result.content as { type: string; text: string }[])[0].text;
    assert.match(text, new RegExp(`run ${finished.runId} on math\\.js: ✔ tests pass after 2 iteration`));

    // Progress followed the run as the log recorded it: iterations, the model's calls, the rejected reply, the tests.
    const messages = progress.map((p) => p.message ?? '');
    assert.equal(messages[0], `run ${finished.runId} started`);
    assert.ok(messages.some((m) => m.startsWith('— iteration 1/10')) && messages.some((m) => m.startsWith('— iteration 2/10')), messages.join('\n'));
    assert.ok(
      messages.some((m) => m.startsWith('tests: 1 failed')),
      messages.join('\n'),
    );
    assert.ok(messages.some((m) => m.startsWith('reply not used')));
    assert.ok(messages.some((m) => m.startsWith('tests: pass')));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress, 'progress increases');

    // The run went through the engine: the same log, the prompt given, the key as the SDK sends it.
    assert.equal(log.find((e) => e.type === 'run.started').prompt, 'add must add');
    assert.equal(vendor.requests[0].headers.authorization, `Bearer ${key}`);

    const stats = await client.callTool({ name: 'get_stats', arguments: {} });
    const { providers, runs } = stats.structuredContent as any;
    const calls = log.filter((e) => e.type === 'llm.response');
    assert.equal(providers.length, 1);
    assert.equal(providers[0].model, 'gpt-4o-mini');
    assert.equal(providers[0].calls, vendor.requests.length);
    assert.equal(providers[0].calls, calls.length);
    assert.equal(
      providers[0].costUsd,
      calls.reduce((sum, e) => sum + (e.costUsd ?? 0), 0),
    );
    assert.equal(
      providers[0].inputTokens,
      calls.reduce((sum, e) => sum + (e.inputTokens ?? 0), 0),
    );
    assert.deepEqual({ total: runs.total, passed: runs.passed, costUsd: runs.costUsd }, { total: 1, passed: 1, costUsd: structured.costUsd });
    assert.match((stats.content as any)[0].text, /openai\s+gpt-4o-mini\s+2\s+0/);

    const listed = await client.callTool({ name: 'list_runs', arguments: {} });
    assert.deepEqual(
      (listed.structuredContent as any).runs.map((r: any) => [r.runId, r.status]),
      [[finished.runId, 'passed']],
    );
  });

  it('refuses what the engine refuses as a tool error, and keeps answering', async () => {
    const calls = vendor.requests.length;
    const outside = await client.callTool({ name: 'fix_file', arguments: { file: '../../etc/passwd' } });
    assert.equal(outside.isError, true);
    assert.match((outside.content as any)[0].text, /outside the workspace/);

    const reserved = await client.callTool({ name: 'fix_file', arguments: { file: '.micro-agent/events.jsonl' } });
    assert.equal(reserved.isError, true);
    const tooMany = await client.callTool({ name: 'fix_file', arguments: { file: 'math.js', maxRuns: 1000 } });
    assert.equal(tooMany.isError, true);
    assert.match((tooMany.content as any)[0].text, /maxRuns/);
    const typo = await client.callTool({ name: 'fix_file', arguments: { file: 'math.js', maxRun: 3 } });
    assert.equal(typo.isError, true, 'an unknown field is refused rather than run with defaults');

    assert.equal(vendor.requests.length, calls, 'no model call for a refused request');
    const { tools } = await client.listTools();
    assert.equal(tools.length, 6, 'the server still answers');
    assert.equal(readLog(root).filter((e) => e.type === 'run.started').length, 1, 'nothing started');
  });

  it('cancelling the request cancels the run and restores the file', async () => {
    reset();
    vendor.script({ kind: 'hang' });
    const calls = vendor.requests.length;
    const controller = new AbortController();
    const call = client.callTool({ name: 'fix_file', arguments: { file: 'math.js' } }, undefined, { signal: controller.signal });
    await until(() => vendor.requests.length > calls, 'the model call');
    controller.abort();
    await assert.rejects(call, /abort/i);
    const finished = await until(() => readLog(root).filter((e) => e.type === 'run.finished')[1], 'the run to finish');
    assert.equal(finished.outcome, 'cancelled');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);
  });

  it('cancel_run cancels a run another call started; fix_file answers cancelled', async () => {
    reset();
    vendor.script({ kind: 'hang' });
    const calls = vendor.requests.length;
    const call = client.callTool({ name: 'fix_file', arguments: { file: 'math.js' } });
    await until(() => vendor.requests.length > calls, 'the model call');
    const listed = await client.callTool({ name: 'list_runs', arguments: { limit: 1 } });
    const [running] = (listed.structuredContent as any).runs;
    assert.equal(running.status, 'running');

    const cancelled = await client.callTool({ name: 'cancel_run', arguments: { runId: running.runId } });
    assert.deepEqual(cancelled.structuredContent, { cancelled: true });
    const result = await call;
    assert.equal((result.structuredContent as any).runId, running.runId);
    assert.equal((result.structuredContent as any).outcome, 'cancelled');
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), BROKEN_MATH);

    const again = await client.callTool({ name: 'cancel_run', arguments: { runId: running.runId } });
    assert.deepEqual(again.structuredContent, { cancelled: false });
  });

  it('a client that quits mid-run: the server cancels the run, restores the file and exits', async () => {
    const other = makeWorkspace();
    const quitting = await connectMcp(other, { OPENAI_API_KEY: key, OPENAI_BASE_URL: vendor.openaiUrl });
    vendor.script({ kind: 'hang' });
    const calls = vendor.requests.length;
    const call = quitting.client.callTool({ name: 'fix_file', arguments: { file: 'math.js' } });
    call.catch(() => undefined); // it ends with the connection
    await until(() => vendor.requests.length > calls, 'the model call');
    const pid = quitting.transport.pid!;
    await quitting.client.close();
    const finished = await until(() => readLog(other).find((e) => e.type === 'run.finished'), 'the run to finish');
    assert.equal(finished.outcome, 'cancelled');
    assert.equal(fs.readFileSync(path.join(other, 'math.js'), 'utf8'), BROKEN_MATH);
    await until(() => !isAlive(pid), 'the server to exit');
  });

  it("a run started over MCP reaches the editor's host live, through the shared log", async () => {
    reset();
    // The editor's agent host on the same workspace, as VS Code runs it beside an agent that uses the MCP server.
    const host = await startHost(root, {});
    try {
      // Once the host answers, it is following the log: what the MCP server appends from now on reaches it.
      await host.connection.sendRequest(RunsRequest.type);
      vendor.script({ kind: 'text', text: fixReply() });
      const result = await client.callTool({ name: 'fix_file', arguments: { file: 'math.js' } });
      const { runId } = result.structuredContent as any;
      // Live: the host forwards the other process's events as microAgent/event notifications, in order, each once.
      await host.waitFor((e) => e.type === 'run.finished' && e.runId === runId);
      const seen = host.events.filter((e) => e.runId === runId);
      assert.equal(seen[0].type, 'run.started');
      assert.ok(seen.some((e) => e.type === 'test.finished'));
      const seqs = seen.map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...new Set(seqs)].sort((a, b) => a - b),
        'in order, none twice',
      );
      const { runs } = await host.connection.sendRequest(RunsRequest.type);
      assert.equal(runs.find((r) => r.runId === runId)?.status, 'passed', 'the host counts it too');
    } finally {
      await host.stop();
    }
  });
});

/** The MCP project's own inspector, in its CLI mode: one server process per call, as a scripted check would run it. */
describe('micro-agent mcp under @modelcontextprotocol/inspector --cli', function () {
  this.timeout(60_000);
  const vendor = useVendorServer();
  const inspector = path.join(REPO, 'node_modules', '.bin', 'mcp-inspector');

  async function call(root: string, env: Record<string, string>, ...method: string[]): Promise<any> {
    const envFlags = Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    const server = [process.execPath, path.join(DIST, 'cli.js'), 'mcp', '--workspace', root, '--test', TEST_COMMAND];
    const { stdout } = await promisify(execFile)(inspector, ['--cli', ...envFlags, ...server, ...method], { cwd: root });
    return JSON.parse(stdout);
  }

  it('lists the tools, fixes a file, refuses a path outside the workspace, and counts the call', async () => {
    const root = makeWorkspace();
    const env = { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl };
    const { tools } = await call(root, env, '--method', 'tools/list');
    assert.deepEqual(tools.map((tool: any) => tool.name).sort(), ['cancel_run', 'fix_file', 'get_provider_usage', 'get_stats', 'list_runs', 'run_eval']);

    vendor.script({ kind: 'text', text: fixReply(), usage: { input: 500, output: 50 } });
    const fixed = await call(root, env, '--method', 'tools/call', '--tool-name', 'fix_file', '--tool-arg', 'file=math.js');
    assert.equal(fixed.structuredContent.outcome, 'passed', JSON.stringify(fixed));
    assert.equal(fs.readFileSync(path.join(root, 'math.js'), 'utf8'), FIXED_MATH);

    const outside = await call(root, env, '--method', 'tools/call', '--tool-name', 'fix_file', '--tool-arg', 'file=../../etc/passwd');
    assert.equal(outside.isError, true);
    assert.match(outside.content[0].text, /outside the workspace/);

    const stats = await call(root, env, '--method', 'tools/call', '--tool-name', 'get_stats');
    assert.equal(stats.structuredContent.providers[0].calls, 1);
    assert.equal(stats.structuredContent.runs.passed, 1);
  });
});
