import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { askModel } from '../server/agent/askModel';
import { AlertMonitor } from '../server/alerts/alerts';
import { checkEvent, Tally } from '../server/events/validate';
import { lowHeadroom, type EventInput, type LlmResponseEvent, type RateLimit } from '../server/protocol/events';
import { createProvider } from '../server/providers/index';
import { goDurationMs, readRateLimit } from '../server/providers/rateLimit';
import { ProviderError } from '../server/providers/types';
import { statePaths } from '../server/foundation/workspace';
import { RollupsRequest } from '../server/protocol/lsp';
import type { RollupsResult } from '../server/protocol/methods';
import { EventFactory } from './support/events';
import { makeWorkspace } from './support/fixtures';
import { startHost } from './support/lspClient';
import { FAST } from './support/providerCalls';
import { goDuration, useVendorServer } from './support/vendorServer';

/** 'be brief' + 'hello' is 13 characters: 4 tokens as the stand-in counts them. */
const ask = { model: 'gpt-4.1-mini', system: 'be brief', messages: [{ role: 'user' as const, content: 'hello' }], maxTokens: 100 };
const PROMPT_TOKENS = 4;

describe('rate-limit headroom: the vendors’ headers read into llm.response.rateLimit', () => {
  it('reads Go durations as OpenAI sends them, and nothing else', () => {
    assert.equal(goDurationMs('6m0s'), 360_000);
    assert.equal(goDurationMs('1s'), 1000);
    assert.equal(goDurationMs('20ms'), 20);
    assert.equal(goDurationMs('1h2m3.5s'), 3_723_500);
    assert.equal(goDurationMs('17.28s'), 17_280);
    assert.equal(goDurationMs('0s'), 0);
    assert.equal(goDurationMs('250us'), 0.25);
    for (const bad of ['', '5', '6 minutes', '6m0', 's', '-1s', '1d']) assert.equal(goDurationMs(bad), null, bad);
    // The stand-in's formatter and the reader agree on every shape the header takes.
    for (const ms of [0, 20, 999, 1000, 1500, 17_280, 59_999, 60_000, 360_000, 3_723_500]) assert.equal(goDurationMs(goDuration(ms)), ms, goDuration(ms));
  });

  it('OpenAI: limits and remaining per requests and tokens; resetAt is the binding limit’s reset, counted from arrival', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    const headers = new Headers({
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-limit-tokens': '160000',
      'x-ratelimit-remaining-tokens': '8000',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    // 5% of the tokens left against 99.98% of the requests: the tokens bind, so their reset is the one that matters.
    assert.deepEqual(readRateLimit(headers, now), {
      requestsLimit: 5000,
      requestsRemaining: 4999,
      tokensLimit: 160_000,
      tokensRemaining: 8000,
      resetAt: now + 360_000,
    });
    headers.set('x-ratelimit-remaining-requests', '1');
    assert.equal(readRateLimit(headers, now)?.resetAt, now + 12, 'now the requests bind');
  });

  it('Anthropic: RFC 3339 resets; the tokens family, else the tighter of input and output tokens', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    const headers = new Headers({
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2026-12-07T10:00:01Z',
      'anthropic-ratelimit-input-tokens-limit': '30000',
      'anthropic-ratelimit-input-tokens-remaining': '29000',
      'anthropic-ratelimit-input-tokens-reset': '2026-12-07T10:00:02Z',
      'anthropic-ratelimit-output-tokens-limit': '8000',
      'anthropic-ratelimit-output-tokens-remaining': '2000',
      'anthropic-ratelimit-output-tokens-reset': '2026-12-07T10:00:45Z',
    });
    assert.deepEqual(readRateLimit(headers, now), {
      requestsLimit: 50,
      requestsRemaining: 49,
      tokensLimit: 8000,
      tokensRemaining: 2000,
      resetAt: Date.parse('2026-12-07T10:00:45Z'),
    });
    headers.set('anthropic-ratelimit-tokens-limit', '30000');
    headers.set('anthropic-ratelimit-tokens-remaining', '29000');
    headers.set('anthropic-ratelimit-tokens-reset', '2026-12-07T10:00:02Z');
    assert.equal(readRateLimit(headers, now)?.tokensLimit, 30_000, 'the tokens family, when sent, is the vendor’s own word on which binds');
  });

  it('retry-after names the reset; a vendor that says nothing is null, a garbled value is not believed', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    assert.deepEqual(readRateLimit(new Headers({ 'retry-after': '20', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' }), now), {
      requestsLimit: null,
      requestsRemaining: 0,
      tokensLimit: null,
      tokensRemaining: null,
      resetAt: now + 20_000,
    });
    assert.equal(readRateLimit(new Headers({ 'content-type': 'application/json' }), now), null);
    assert.equal(readRateLimit(undefined, now), null);
    assert.deepEqual(
      readRateLimit(new Headers({ 'x-ratelimit-limit-requests': '-5', 'x-ratelimit-remaining-requests': 'lots', 'x-ratelimit-limit-tokens': '100' }), now),
      {
        requestsLimit: null,
        requestsRemaining: null,
        tokensLimit: 100,
        tokensRemaining: null,
        resetAt: null,
      },
    );
  });

  it('a log line’s rateLimit: absent (older calls) is null, a garbled one is not believed and is counted', () => {
    const line = (extra: object) => ({ seq: 1, ts: 1, type: 'llm.response', provider: 'openai', model: 'm', ok: true, latencyMs: 5, retries: 0, ...extra });
    const tally: Tally = { ignored: 0 };
    const old = checkEvent(line({}), tally) as LlmResponseEvent;
    assert.equal(old.rateLimit, null);
    assert.equal(old.outputTokensPerSec, null);
    assert.equal(old.loadMs, null);
    assert.equal(tally.ignored, 0);
    const good = { requestsLimit: 10, requestsRemaining: 9, tokensLimit: null, tokensRemaining: null, resetAt: 1_795_000_000_000 };
    assert.deepEqual((checkEvent(line({ rateLimit: good }), tally) as LlmResponseEvent).rateLimit, good);
    for (const bad of [{ ...good, requestsRemaining: -1 }, { ...good, resetAt: '' }, [1, 2], 'plenty'])
      assert.equal((checkEvent(line({ rateLimit: bad }), tally) as LlmResponseEvent).rateLimit, null);
    assert.equal(tally.ignored, 4);
    // A key label that is not one (a whole key pasted in, a number) is dropped, the headroom kept.
    for (const key of [{ source: 'OPENAI_API_KEY', fingerprint: 'sk-proj-0123456789abcdef' }, 7])
      assert.equal((checkEvent(line({ rateLimit: { ...good, key } }), tally) as LlmResponseEvent).rateLimit?.key, null);
    assert.deepEqual(
      (checkEvent(line({ rateLimit: { ...good, key: { source: 'OPENAI_API_KEY', fingerprint: '0a1b2c3d' } } }), tally) as LlmResponseEvent).rateLimit?.key,
      {
        source: 'OPENAI_API_KEY',
        fingerprint: '0a1b2c3d',
      },
    );
    assert.equal((checkEvent(line({ loadMs: -3, outputTokensPerSec: 'fast' }), tally) as LlmResponseEvent).loadMs, null);
  });
});

describe('rate-limit headroom through the official SDKs, against vendors that send the headers', () => {
  const vendor = useVendorServer();
  const openai = (policy = FAST) => createProvider('openai', { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: vendor.openaiUrl }, { policy });
  const anthropic = (policy = FAST) =>
    createProvider('anthropic', { ANTHROPIC_API_KEY: 'sk-ant-test-key', ANTHROPIC_BASE_URL: vendor.anthropicUrl }, { policy });

  it('OpenAI: each call records the headroom its response reported, counting down; the reset an absolute time', async () => {
    vendor.limits = { requests: 100, tokens: 50_000, outputTokens: 0, windowMs: 60_000 };
    vendor.script({ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' });
    const before = Date.now();
    const first = await openai().chat(ask);
    const second = await openai().chat(ask);
    const spent = PROMPT_TOKENS + ask.maxTokens; // OpenAI counts the prompt and max_tokens against the token limit
    assert.deepEqual(
      { ...first.metrics.rateLimit, resetAt: undefined },
      {
        requestsLimit: 100,
        requestsRemaining: 99,
        tokensLimit: 50_000,
        tokensRemaining: 50_000 - spent,
        resetAt: undefined,
        key: { source: 'OPENAI_API_KEY', fingerprint: fingerprint('sk-test-key') },
      },
    );
    assert.equal(second.metrics.rateLimit?.requestsRemaining, 98);
    assert.equal(second.metrics.rateLimit?.tokensRemaining, 50_000 - 2 * spent);
    // "59.98s" from the response's arrival: an absolute time a minute ahead, not a duration.
    const resetAt = first.metrics.rateLimit!.resetAt!;
    assert.ok(resetAt >= before + 59_000 && resetAt <= Date.now() + 60_000, `resetAt ${resetAt - before} ms after the call`);
    assert.equal(vendor.requests.length, 2);
  });

  it('Anthropic: the tighter of input and output tokens, the RFC 3339 reset', async () => {
    vendor.limits = { requests: 50, tokens: 30_000, outputTokens: 1000, windowMs: 60_000 };
    vendor.script({ kind: 'text', text: 'ok' });
    const before = Date.now();
    const { metrics } = await anthropic().chat({ ...ask, model: 'claude-haiku-4-5' });
    // 100 of 1,000 output tokens (max_tokens, as Anthropic estimates at the start) against 4 of 30,000 input: output binds.
    assert.equal(metrics.rateLimit?.requestsLimit, 50);
    assert.equal(metrics.rateLimit?.requestsRemaining, 49);
    assert.equal(metrics.rateLimit?.tokensLimit, 1000);
    assert.equal(metrics.rateLimit?.tokensRemaining, 900);
    assert.deepEqual(metrics.rateLimit.key, { source: 'ANTHROPIC_API_KEY', fingerprint: fingerprint('sk-ant-test-key') });
    const resetAt = metrics.rateLimit.resetAt!;
    assert.equal(resetAt % 1000, 0, 'RFC 3339 to the second');
    assert.ok(resetAt >= before + 58_000 && resetAt <= Date.now() + 60_000);
  });

  it('a key out of requests: the 429’s headers are the call’s headroom, its retry-after the reset', async () => {
    vendor.limits = { requests: 1, tokens: 50_000, outputTokens: 50_000, windowMs: 60_000 };
    vendor.script({ kind: 'text', text: 'the last one' }, { kind: 'text', text: 'never served' });
    assert.equal((await openai().chat(ask)).metrics.rateLimit?.requestsRemaining, 0);
    const before = Date.now();
    let error: ProviderError | undefined;
    await openai()
      .chat(ask)
      .catch((err: ProviderError) => (error = err));
    assert.equal(error?.kind, 'rate_limit');
    assert.equal(error?.status, 429);
    // A minute's wait is longer than the policy allows: no retry, and the event still says where the key stands.
    assert.equal(error?.metrics?.retries, 0);
    assert.equal(error?.metrics?.rateLimit?.requestsRemaining, 0);
    assert.equal(error?.metrics?.rateLimit?.requestsLimit, 1);
    const resetAt = error.metrics.rateLimit.resetAt!;
    assert.ok(resetAt >= before + 58_000 && resetAt <= Date.now() + 61_000, `retry-after names the reset: ${resetAt - before} ms`);
  });

  it('llm.response carries it: what the log, the stats and a headroom view read', async () => {
    vendor.limits = { requests: 10, tokens: 50_000, outputTokens: 0, windowMs: 60_000 };
    vendor.script({ kind: 'text', text: 'logged' });
    const events: EventInput[] = [];
    await askModel(openai(), ask, (event) => events.push(event), { iteration: 1 });
    const response = events.find((e): e is Omit<LlmResponseEvent, 'seq' | 'ts'> => e.type === 'llm.response');
    assert.equal(response?.rateLimit?.requestsRemaining, 9);
    assert.equal(response?.rateLimit?.tokensLimit, 50_000);
    assert.equal(response?.outputTokensPerSec, null, 'OpenAI does not report its generation time');
    // Which key: named by its variable and fingerprint, never by any of its characters.
    assert.deepEqual(response?.rateLimit?.key, { source: 'OPENAI_API_KEY', fingerprint: fingerprint('sk-test-key') });
    assert.ok(!JSON.stringify(events).includes('sk-test-key'));
  });

  it('two keys of one vendor are told apart', async () => {
    vendor.limits = { requests: 10, tokens: 50_000, outputTokens: 0, windowMs: 60_000 };
    vendor.script({ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' });
    const other = createProvider('openai', { OPENAI_API_KEY: 'sk-other-key', OPENAI_BASE_URL: vendor.openaiUrl }, { policy: FAST });
    const [a, b] = [(await openai().chat(ask)).metrics.rateLimit?.key, (await other.chat(ask)).metrics.rateLimit?.key];
    assert.equal(a?.source, b?.source);
    assert.notEqual(a?.fingerprint, b?.fingerprint);
  });
});

describe('the headroom alert: under 10% of a key’s requests or tokens left', () => {
  const limit = (requestsRemaining: number | null, tokensRemaining: number | null): RateLimit => ({
    key: null,
    requestsLimit: 100,
    requestsRemaining,
    tokensLimit: 40_000,
    tokensRemaining,
    resetAt: Date.parse('2026-12-07T10:05:00Z'),
  });

  it('says which limit is low, how low, and when it resets; 10% and unknowns raise nothing', () => {
    assert.equal(lowHeadroom('openai', limit(10, 4000)), undefined, 'exactly 10% left is not under it');
    assert.equal(lowHeadroom('openai', limit(null, null)), undefined);
    assert.equal(lowHeadroom('openai', { ...limit(0, 0), requestsLimit: null, tokensLimit: 0 }), undefined, 'no limit, no share');
    assert.equal(
      lowHeadroom('openai', limit(9, 4000)),
      "openai has 9 of 100 requests (9%) left on this key's rate limit; the limit resets at 2026-12-07T10:05:00Z",
    );
    assert.equal(
      lowHeadroom('anthropic', { ...limit(3, 1200), resetAt: null }),
      "anthropic has 3 of 100 requests (3%) and 1,200 of 40,000 tokens (3%) left on this key's rate limit",
    );
  });

  it('AlertMonitor raises it once per provider per quiet period, a 429 included', () => {
    const raised: EventInput[] = [];
    const monitor = new AlertMonitor((alert) => raised.push(alert));
    const f = new EventFactory();
    monitor.observe(f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 100, rateLimit: limit(50, 20_000) }));
    assert.equal(raised.length, 0);
    monitor.observe(f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 100, ok: false, rateLimit: limit(0, 20_000) }));
    monitor.observe(f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 100, rateLimit: limit(1, 20_000) }));
    assert.equal(raised.length, 1);
    assert.deepEqual(
      { ...raised[0], message: undefined },
      { type: 'alert', kind: 'rate_limit', provider: 'openai', model: 'gpt-4.1-mini', message: undefined },
    );
    monitor.observe(f.call(undefined, 'anthropic', 'claude-haiku-4-5', { latencyMs: 100, rateLimit: limit(80, 100) }));
    assert.equal(raised.length, 2, 'another provider is another alert');
    assert.match((raised[1] as { message: string }).message, /^anthropic has 100 of 40,000 tokens \(0%\) left/);
  });

  describe('from the vendor’s headers, through the SDK', () => {
    const vendor = useVendorServer();

    it('the call that leaves a key under 10% raises the alert; the ones before it do not', async () => {
      vendor.limits = { requests: 12, tokens: 1_000_000, outputTokens: 1_000_000, windowMs: 60_000 };
      const provider = createProvider('openai', { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: vendor.openaiUrl }, { policy: FAST });
      const raised: EventInput[] = [];
      const monitor = new AlertMonitor((alert) => raised.push(alert));
      let seq = 0;
      const observe = (event: EventInput) => monitor.observe({ ...event, seq: ++seq, ts: Date.now() });
      // 12 requests a minute: after the 11th, 1 is left (8%).
      for (let call = 1; call <= 11; call++) {
        vendor.script({ kind: 'text', text: 'ok' });
        await askModel(provider, ask, observe, { iteration: call });
        assert.equal(raised.length, call < 11 ? 0 : 1, `after call ${call}`);
      }
      assert.match((raised[0] as { message: string }).message, /^openai has 1 of 12 requests \(8%\) left on this key's rate limit; the limit resets at \d{4}-/);
    });
  });
});

/** The key's fingerprint as the dashboard shows it: the first 8 hex digits of its SHA-256. */
function fingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

describe('each key’s latest headroom in the stats index (microAgent/rollups `headroom`)', function () {
  this.timeout(60_000);

  it('one per provider and key, the newest by time, kept across a restart of the host from its index', async () => {
    const root = makeWorkspace({ 'a.js': '' });
    const f = new EventFactory(Date.parse('2026-12-07T10:00:00Z'));
    const key = (fingerprint: string) => ({ source: 'OPENAI_API_KEY', fingerprint });
    const limit = (remaining: number, fingerprint: string | null) => ({
      requestsLimit: 100,
      requestsRemaining: remaining,
      tokensLimit: null,
      tokensRemaining: null,
      resetAt: Date.parse('2026-12-07T11:00:00Z'),
      key: fingerprint === null ? null : key(fingerprint),
    });
    const calls = [
      f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 5, rateLimit: limit(50, 'aaaaaaaa') }),
      f.call(undefined, 'openai', 'gpt-4.1-mini', { latencyMs: 5, rateLimit: limit(40, 'bbbbbbbb') }),
      // Appended later by another process but made earlier: it does not replace the newer headroom of its key.
      f.at(Date.parse('2026-12-07T09:00:00Z')).call(undefined, 'openai', 'gpt-4.1', { latencyMs: 5, rateLimit: limit(90, 'aaaaaaaa') }),
      // A call logged before keys were named.
      f.call(undefined, 'openai', 'gpt-4o', { latencyMs: 5, rateLimit: limit(7, null) }),
    ];
    fs.mkdirSync(path.join(root, '.micro-agent'), { recursive: true });
    fs.writeFileSync(path.join(root, '.micro-agent', 'events.jsonl'), calls.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const expected = [
      { provider: 'openai', key: key('aaaaaaaa'), model: 'gpt-4.1-mini', remaining: 50 },
      { provider: 'openai', key: key('bbbbbbbb'), model: 'gpt-4.1-mini', remaining: 40 },
      { provider: 'openai', key: null, model: 'gpt-4o', remaining: 7 },
    ];
    for (let start = 0; start < 2; start++) {
      const host = await startHost(root, {});
      try {
        let result: RollupsResult;
        do result = await host.connection.sendRequest(RollupsRequest.type, { sinceTs: Number.MAX_SAFE_INTEGER });
        while (result.partial);
        assert.deepEqual(
          result.headroom?.map((h) => ({ provider: h.provider, key: h.key, model: h.model, remaining: h.rateLimit.requestsRemaining })),
          expected,
          start === 0 ? 'from the log' : 'from the index, after a restart',
        );
      } finally {
        await host.stop();
      }
      assert.ok(fs.existsSync(statePaths(root).index), 'the index was written');
    }
  });
});
