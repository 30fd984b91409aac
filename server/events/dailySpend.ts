/**
 * Today's spend as the log file records it, whoever wrote it: this process, the editor's host, a terminal's
 * `micro-agent run`, `serve`, an MCP server. The engine's stats only hear this process's events, so the daily
 * cap reads the file itself: the first look binary-searches the log for local midnight, and every later look
 * reads only the bytes appended since the last one (a `fstat` and, usually, one small read), so the check
 * before each model call stays cheap however large the log grows.
 */
import * as fs from 'node:fs';
import type { AgentEvent } from '../protocol';
import { offsetBefore, parseLine } from './log';
import type { Tally } from './validate';

/** Read this much at a time when catching up after a long gap (another process's busy hour). */
const CHUNK = 1024 * 1024;
/** Events are in time order only up to two writers' clocks and append races: start the first look a little early. */
const CLOCK_SLACK_MS = 60_000;

export interface DayTotals {
  /** Local midnight that starts the day. */
  sinceTs: number;
  costUsd: number;
  calls: number;
  /** Daily-budget alerts already in the log today, by threshold (0.8, 1), so another process does not raise them again. */
  alerted: ReadonlySet<number>;
}

interface Day {
  costUsd: number;
  calls: number;
  alerted: Set<number>;
}

export class DailySpend {
  /** Bytes of the log already read, always at a line start; undefined until the first look. */
  private offset: number | undefined;
  private readonly days = new Map<number, Day>();
  /** Costs (and other numbers) in the lines read that were no number ≥ 0: ignored, never added, counted here. */
  readonly tally: Tally = { ignored: 0 };

  constructor(readonly file: string) {}

  /** Picks up what any process appended since the last look, then gives today's totals (local time). */
  today(now = Date.now()): DayTotals {
    const sinceTs = startOfDay(now);
    this.catchUp(sinceTs);
    for (const key of this.days.keys()) if (key < sinceTs) this.days.delete(key);
    const day = this.days.get(sinceTs);
    return { sinceTs, costUsd: day?.costUsd ?? 0, calls: day?.calls ?? 0, alerted: day?.alerted ?? new Set() };
  }

  private catchUp(sinceTs: number): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return; // No log yet: nothing spent.
    }
    try {
      const size = fs.fstatSync(fd).size;
      // First look: skip the days before today without reading them.
      this.offset ??= offsetBefore(fd, size, (event) => event.ts < sinceTs - CLOCK_SLACK_MS);
      if (size < this.offset) this.offset = 0; // The file was replaced by a shorter one: read it again.
      const buffer = Buffer.alloc(Math.min(CHUNK, size - this.offset));
      while (this.offset < size) {
        const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, size - this.offset), this.offset);
        if (n <= 0) break;
        // Only whole lines: a line another process is still writing is read on the next look.
        const end = buffer.lastIndexOf(10, n - 1);
        if (end === -1) {
          if (n < buffer.length) break;
          this.offset += n; // A line longer than a chunk is no event we count (they are far shorter).
          continue;
        }
        for (const line of buffer.toString('utf8', 0, end).split('\n')) this.count(line);
        this.offset += end + 1;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private count(line: string): void {
    // A cheap look before parsing: most lines (tests' output, diffs, prompts) are not what the cap counts.
    const call = line.includes('"type":"llm.response"');
    if (!call && !line.includes('"type":"alert"')) return;
    const event = parseLine(line, this.tally);
    if (!event) return;
    const day = this.dayOf(event);
    if (event.type === 'llm.response' && event.costUsd !== null) {
      day.costUsd += event.costUsd;
      day.calls++;
    } else if (event.type === 'alert' && event.daily) {
      day.alerted.add(event.daily.threshold);
    }
  }

  private dayOf(event: AgentEvent): Day {
    const key = startOfDay(event.ts);
    let day = this.days.get(key);
    if (!day) this.days.set(key, (day = { costUsd: 0, calls: 0, alerted: new Set() }));
    return day;
  }
}

/** Local midnight at the start of the day of `ts`. */
export function startOfDay(ts: number): number {
  const date = new Date(ts);
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}
