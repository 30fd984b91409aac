/**
 * The daily cap's check before each model call, at a large log written by two processes: what the first look
 * costs (a binary search to local midnight, then today's bytes), what each later look costs while another
 * writer appends, and, for scale, what reading the whole log would cost instead.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DailyCap } from '../../server/alerts/dailyCap';
import { startOfDay } from '../../server/events/dailySpend';
import { EventLog, readEvents } from '../../server/events/log';
import type { EventInput } from '../../server/protocol';
import { LLM_RESPONSE } from './engine';
import { Result, summarize } from './stats';

/** A failing test run's event: most of a real log's bytes are test output. */
const TEST_FINISHED: EventInput = {
  type: 'test.finished',
  runId: 'bench',
  iteration: 1,
  exitCode: 1,
  signal: null,
  durationMs: 412,
  passed: false,
  timedOut: false,
  cancelled: false,
  outputTail: 'not ok 1 - adds\n  AssertionError: expected 5 to equal -1\n'.repeat(40),
};

const DAYS = 30;
const EVENTS_PER_DAY = 4000;

export async function dailySpend(): Promise<Result[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'micro-agent-bench-daily-'));
  const file = path.join(dir, 'events.jsonl');
  // A month of history, written as a log would hold it: seq and ts increasing, today the last day.
  const today = startOfDay(Date.now());
  const lines: string[] = [];
  let seq = 0;
  for (let day = DAYS - 1; day >= 0; day--) {
    const dayStart = today - day * 86_400_000;
    const span = day === 0 ? Math.max(1, Date.now() - dayStart - 60_000) : 86_400_000;
    for (let i = 0; i < EVENTS_PER_DAY; i++) {
      const ts = dayStart + Math.floor((i / EVENTS_PER_DAY) * span);
      lines.push(JSON.stringify({ seq: ++seq, ts, ...(i % 2 === 0 ? LLM_RESPONSE : TEST_FINISHED) }));
      if (lines.length >= 10_000) fs.appendFileSync(file, lines.splice(0).join('\n') + '\n');
    }
  }
  fs.appendFileSync(file, lines.join('\n') + '\n');
  const bytes = fs.statSync(file).size;

  const ours = EventLog.open(file);
  const theirs = EventLog.open(file); // another process (a terminal run) on the same file
  const cap = new DailyCap(ours, () => 1_000_000);

  let t = performance.now();
  cap.reached();
  const firstLook = performance.now() - t;

  const idle: number[] = [];
  const busy: number[] = [];
  for (let i = 0; i < 2000; i++) {
    t = performance.now();
    cap.reached();
    idle.push(performance.now() - t);
    // Between two of our calls the other process made a call and ran the tests.
    theirs.append(LLM_RESPONSE);
    theirs.append(TEST_FINISHED);
    t = performance.now();
    cap.reached();
    busy.push(performance.now() - t);
  }

  t = performance.now();
  let counted = 0;
  for await (const event of readEvents(file)) if (event.type === 'llm.response' && event.ts >= today) counted++;
  const fullScan = performance.now() - t;

  ours.close();
  theirs.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const quiet = summarize(idle).p50.toFixed(3);
  const size = `${Math.round(bytes / 1024 / 1024)} MB, ${(DAYS * EVENTS_PER_DAY).toLocaleString('en-US')} events over ${DAYS} days`;
  return [
    { name: 'daily cap: first check at a large log', value: firstLook, unit: 'ms', note: `${size}; binary search to midnight, then today's events` },
    {
      name: 'daily cap: check per model call',
      value: summarize(busy).p50,
      unit: 'ms',
      goal: '< 1 ms',
      note: `p50 (p95 ${summarize(busy).p95.toFixed(3)} ms) after another process appended a call and a test run; ${quiet} ms with nothing new`,
    },
    {
      name: 'daily cap: whole-log scan, for scale',
      value: fullScan,
      unit: 'ms',
      note: `what re-reading the log each call would cost (${counted} calls today)`,
    },
  ];
}
