import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { AgentEvent, EventInput } from '../protocol';
import { Secrets } from '../foundation/secrets';
import { checkEvent, Tally } from './validate';

export type EventListener = (event: AgentEvent) => void;

/** Tail bytes read on open to find the last seq; one line is far shorter than this. */
const TAIL_PROBE = 256 * 1024;

/**
 * The append-only JSONL event log: the source of truth for everything the engine did.
 *
 * Appends are synchronous writes on an O_APPEND descriptor, so an event is on disk before anyone hears of it
 * and a crash can at worst tear the last line. Reads skip a torn or corrupt line instead of failing, and a
 * torn tail is closed with a newline before the next append so it never swallows a good event.
 */
export class EventLog {
  private readonly fd: number;
  private seq: number;
  /** File size after our last append; a different size means another process (the CLI) appended too. */
  private knownSize: number;
  private readonly listeners = new Set<EventListener>();
  /** Listeners to what other processes append (see `follow`); they never hear this process's own events. */
  private readonly foreignListeners = new Set<EventListener>();
  /** The secret values this process knows (`server/foundation/secrets.ts`): no line or listener ever carries one. */
  readonly secrets = new Secrets();

  private constructor(
    readonly file: string,
    fd: number,
    lastSeq: number,
  ) {
    this.fd = fd;
    this.seq = lastSeq;
    this.knownSize = fs.fstatSync(fd).size;
  }

  static open(file: string): EventLog {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, 'a+', 0o600);
    const { lastSeq, tornTail } = scanTail(fd);
    if (tornTail) fs.writeSync(fd, '\n');
    return new EventLog(file, fd, lastSeq);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Values that must never reach the log or a listener (API keys, the webhook URL); replaced by `***`. */
  setSecrets(secrets: readonly string[], group = 'keys'): void {
    this.secrets.set(secrets, group);
  }

  append(input: EventInput): AgentEvent {
    this.catchUp();
    const event = { seq: this.seq + 1, ts: Date.now(), ...input };
    let line = JSON.stringify(event);
    const redacted = this.secrets.redact(line);
    const written = redacted === line ? event : (JSON.parse(redacted) as AgentEvent);
    line = redacted;
    this.knownSize += fs.writeSync(this.fd, line + '\n');
    this.seq = event.seq;
    notify(this.listeners, written);
    return written;
  }

  /**
   * Two processes may share a log (the editor's host and a terminal CLI). Before appending, pick up the seq
   * the other wrote so ours stays above it. The check and the write are not one atomic step, so two writers
   * appending in the same microsecond can still repeat a seq; readers dedupe by seq.
   */
  private catchUp(): void {
    const size = fs.fstatSync(this.fd).size;
    if (size === this.knownSize) return;
    const { lastSeq, tornTail } = scanTail(this.fd);
    if (tornTail) fs.writeSync(this.fd, '\n');
    this.knownSize = fs.fstatSync(this.fd).size;
    this.advance(lastSeq);
  }

  /**
   * Hears what other processes sharing the log append (`micro-agent run` or `mcp` beside the editor) within
   * `intervalMs`, so their runs show live: `onForeignEvent` listeners get each such event once, in seq order.
   * Polling only reads: a torn tail (another writer mid-line) is left for the next append to close.
   */
  follow(intervalMs = 250): { dispose(): void } {
    const timer = setInterval(() => {
      try {
        const size = fs.fstatSync(this.fd).size;
        if (size === this.knownSize) return;
        const { lastSeq, tornTail } = scanTail(this.fd);
        if (!tornTail) this.knownSize = size;
        this.advance(lastSeq);
      } catch {
        // A failed poll (the log closed under us) is retried on the next tick or ends with dispose.
      }
    }, intervalMs);
    timer.unref();
    return { dispose: () => clearInterval(timer) };
  }

  onEvent(listener: EventListener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  onForeignEvent(listener: EventListener): { dispose(): void } {
    this.foreignListeners.add(listener);
    return { dispose: () => this.foreignListeners.delete(listener) };
  }

  /** Another writer's events up to `lastSeq` are in the file: continue above them and tell the foreign listeners. */
  private advance(lastSeq: number): void {
    let after = this.seq;
    if (lastSeq <= after) return;
    this.seq = lastSeq;
    while (this.foreignListeners.size && after < lastSeq) {
      // Only up to lastSeq: what arrived since is the next poll's, so nothing is told twice.
      const batch = this.read(after).filter((event) => event.seq <= lastSeq);
      if (!batch.length) break;
      for (const event of batch) notify(this.foreignListeners, event);
      after = batch.at(-1)!.seq;
    }
  }

  /** Events with seq > afterSeq, oldest first, at most `limit`. Binary-searches the file, so old history is cheap to skip. */
  read(afterSeq = 0, limit = 5000): AgentEvent[] {
    const events: AgentEvent[] = [];
    if (limit <= 0 || afterSeq >= this.seq) return events;
    const size = fs.fstatSync(this.fd).size;
    let offset = offsetBefore(this.fd, size, (event) => event.seq <= afterSeq);
    const buffer = Buffer.alloc(64 * 1024);
    let carry = '';
    while (offset < size && events.length < limit) {
      const n = fs.readSync(this.fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
      if (n <= 0) break;
      offset += n;
      const lines = (carry + buffer.toString('utf8', 0, n)).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseLine(line);
        // Strictly increasing even if two writers once repeated a seq (see catchUp).
        if (event && event.seq > afterSeq && event.seq > (events.at(-1)?.seq ?? 0) && events.length < limit) events.push(event);
      }
    }
    return events;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function notify(listeners: ReadonlySet<EventListener>, event: AgentEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // A failing listener must not stop the engine or the other listeners.
    }
  }
}

/** Every readable event in a log file, streamed with constant memory; torn and corrupt lines are skipped. */
export async function* readEvents(file: string): AsyncGenerator<AgentEvent> {
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file);
    stream = fs.createReadStream(file, { encoding: 'utf8' });
  } catch {
    return;
  }
  for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    const event = parseLine(line);
    if (event) yield event;
  }
}

/**
 * One log line as an event, checked by the log's validator (`checkEvent`): undefined for a torn, corrupt or
 * ill-formed line; values no reader may add are neutralized and counted in `tally`.
 */
export function parseLine(line: string, tally?: Tally): AgentEvent | undefined {
  if (!line) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return checkEvent(value, tally);
}

/** The last good seq in the file and whether it ends mid-line (a write torn by a crash). */
function scanTail(fd: number): { lastSeq: number; tornTail: boolean } {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return { lastSeq: 0, tornTail: false };
  for (let probe = TAIL_PROBE; ; probe *= 4) {
    const start = Math.max(0, size - probe);
    const text = readRange(fd, start, size);
    const lines = text.split('\n');
    const tornTail = !text.endsWith('\n');
    // The first line of a partial window may be cut; skip it unless the window starts at the file's start.
    const from = start === 0 ? 0 : 1;
    for (let i = lines.length - 1; i >= from; i--) {
      const event = parseLine(lines[i]);
      if (event) return { lastSeq: event.seq, tornTail };
    }
    if (start === 0) return { lastSeq: 0, tornTail };
  }
}

function readRange(fd: number, start: number, end: number): string {
  const buffer = Buffer.alloc(end - start);
  const n = fs.readSync(fd, buffer, 0, buffer.length, start);
  return buffer.toString('utf8', 0, n);
}

/**
 * Byte offset of a line start at or before the first event for which `isBefore` is false. `isBefore` must hold
 * for a prefix of the file (events are in seq order, and in time order up to two writers' clocks), so a binary
 * search over byte offsets finds it in O(log size) small reads.
 */
export function offsetBefore(fd: number, size: number, isBefore: (event: AgentEvent) => boolean): number {
  let lo = 0;
  let hi = size;
  while (hi - lo > 64 * 1024) {
    const mid = Math.floor((lo + hi) / 2);
    const found = firstEventFrom(fd, mid, hi);
    if (!found) {
      hi = mid;
      continue;
    }
    if (isBefore(found.event)) lo = found.lineStart;
    else hi = mid;
  }
  return lo;
}

/** The first parseable event on a line that starts after `from`, with that line's byte offset. */
function firstEventFrom(fd: number, from: number, end: number): { event: AgentEvent; lineStart: number } | undefined {
  const buffer = Buffer.alloc(Math.min(end, from + 256 * 1024) - from);
  const n = fs.readSync(fd, buffer, 0, buffer.length, from);
  let newline = buffer.indexOf(10);
  while (newline !== -1 && newline < n - 1) {
    const next = buffer.indexOf(10, newline + 1);
    if (next === -1 || next >= n) return undefined;
    const event = parseLine(buffer.toString('utf8', newline + 1, next));
    if (event) return { event, lineStart: from + newline + 1 };
    newline = next;
  }
  return undefined;
}
