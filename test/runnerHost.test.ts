/**
 * Real runners forced into colour, through the agent host: the model never sees an escape code, and the
 * Problems panel shows each failure on its line, read from the runner's own live output.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StartRunRequest } from '../server/protocol';
import { fakeKey, makeWorkspace, REPO } from './support/fixtures';
import { HostClient, startHost } from './support/lspClient';
import { findPytest } from './support/runners';
import { until } from './support/until';
import { useVendorServer } from './support/vendorServer';

const VITEST_SOURCE = 'export const add = (a: number, b: number) => a - b;\nexport const mul = (a: number, b: number) => a * b;\n';
const VITEST_TEST = `import { describe, expect, it } from 'vitest';
import { add, mul } from './math';
describe('math', () => {
  it('adds', () => {
    expect(add(2, 3)).toBe(5);
  });
  it('multiplies', () => {
    expect(mul(2, 3)).toBe(6);
  });
});
`;

const PYTEST_SOURCE = 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n';
const PYTEST_TEST = `import pytest
from mathlib import add, mul


@pytest.mark.parametrize("a,b,want", [(2, 3, 5), (1, 1, 2)])
def test_add(a, b, want):
    assert add(a, b) == want


def test_mul():
    assert mul(2, 3) == 6
`;

/** The 1-based line of the first line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((line) => line.includes(needle)) + 1;
}

describe('real runners in colour, through the agent host', function () {
  this.timeout(90_000);
  let host: HostClient | undefined;
  const vendor = useVendorServer(async () => {
    await host?.stop();
    host = undefined;
  });

  /** Starts a run whose model never answers: the baseline test run is what is looked at. */
  async function baseline(root: string, file: string, testCommand: string): Promise<HostClient> {
    host = await startHost(root, { OPENAI_API_KEY: fakeKey(), OPENAI_BASE_URL: vendor.openaiUrl }, { provider: 'openai', testCommand });
    vendor.script({ kind: 'hang' });
    await host.connection.sendRequest(StartRunRequest.type, { uri: pathToFileURL(path.join(root, file)).toString() });
    await until(() => vendor.requests.length === 1, 'the first model call');
    return host;
  }

  it('vitest with --color: no escape reaches the model, and the failing expect is a diagnostic on its line', async () => {
    const root = makeWorkspace({ 'math.ts': VITEST_SOURCE, 'math.test.ts': VITEST_TEST });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    const h = await baseline(root, 'math.ts', 'FORCE_COLOR=1 npx --no-install vitest run --color');
    const finished = h.events.find((e) => e.type === 'test.finished');
    assert.ok(finished?.type === 'test.finished' && finished.report?.runner === 'vitest', JSON.stringify(finished));
    assert.deepEqual(finished.report.totals, { passed: 1, failed: 1, skipped: 0, todo: 0 });
    const prompt: string = vendor.requests[0].body.messages.at(-1).content;
    assert.ok(!prompt.includes('\u001b'), 'no escape codes reach the model');
    assert.match(prompt, /- math › adds \(test math\.test\.ts:5\)/);

    const testUri = pathToFileURL(path.join(root, 'math.test.ts')).toString();
    await until(() => h.diagnostics.get(testUri)?.length, 'the test diagnostics');
    const [diagnostic] = h.diagnostics.get(testUri)!;
    assert.equal(diagnostic.range.start.line + 1, lineOf(VITEST_TEST, 'expect(add(2, 3))'));
    assert.match(diagnostic.message, /math › adds — AssertionError: expected -1 to be 5/);
  });

  it('pytest with --color=yes: each parametrized failure on its assert line, with its own message', async () => {
    const root = makeWorkspace({ 'mathlib.py': PYTEST_SOURCE, 'test_math.py': PYTEST_TEST });
    const h = await baseline(root, 'mathlib.py', `${findPytest()} -m pytest --color=yes -p no:cacheprovider`);
    const finished = h.events.find((e) => e.type === 'test.finished');
    assert.ok(finished?.type === 'test.finished' && finished.report?.runner === 'pytest', JSON.stringify(finished));
    assert.equal(finished.report.totals?.failed, 2);
    const prompt: string = vendor.requests[0].body.messages.at(-1).content;
    assert.ok(!prompt.includes('\u001b'), 'no escape codes reach the model');

    const testUri = pathToFileURL(path.join(root, 'test_math.py')).toString();
    await until(() => (h.diagnostics.get(testUri)?.length ?? 0) >= 2, 'a diagnostic per failure');
    const diagnostics = h.diagnostics.get(testUri)!.filter((d) => d.range.start.line + 1 === lineOf(PYTEST_TEST, 'assert add(a, b) == want'));
    assert.equal(diagnostics.length, 2, JSON.stringify(h.diagnostics.get(testUri)));
    const messages = diagnostics.map((d) => d.message).sort();
    assert.match(messages[0], /test_add\[1-1-2\]/);
    assert.match(messages[1], /test_add\[2-3-5\]/);
    assert.notEqual(messages[0], messages[1]);
  });
});
