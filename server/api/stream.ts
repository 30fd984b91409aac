/**
 * One watcher's feed of events (an SSE response or a WebSocket): history from the log first, then live events,
 * each exactly once and in seq order. History is read from the log in pages, each sent only after the previous
 * one left the process, so a slow reader costs a cursor, not memory. Live events are written as they happen
 * until the client holds `maxBuffered` unsent bytes; then it goes back to reading from the log at its own pace.
 * A client that takes nothing for `stallMs` is dropped (it resumes by seq when it reconnects), so one stalled
 * client never slows the agent or the others.
 */
import type { EventLog } from '../events/log';
import type { AgentEvent } from '../protocol/events';
import type { TokenStore } from './tokens';

/** What a transport must offer: send one serialized event, and how much it still holds unsent. */
export interface Sink {
  /** `done` is called once the data has been handed to the socket. */
  write(event: AgentEvent, done?: (err?: Error | null) => void): void;
  buffered(): number;
  close(reason: string): void;
}

export interface FeedLimits {
  maxBuffered: number;
  stallMs: number;
}

export const FEED_LIMITS: FeedLimits = { maxBuffered: 1024 * 1024, stallMs: 15_000 };
const PAGE = 500;

export class EventFeed {
  private cursor: number;
  private live = false;
  private closed = false;
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly log: EventLog,
    private readonly sink: Sink,
    afterSeq: number,
    private readonly limits: FeedLimits = FEED_LIMITS,
  ) {
    this.cursor = afterSeq;
    this.subscription = log.onEvent((event) => this.onLive(event));
    void this.catchUp();
  }

  stop(): void {
    this.closed = true;
    this.subscription.dispose();
  }

  private async catchUp(): Promise<void> {
    while (!this.closed) {
      const page = this.log.read(this.cursor, PAGE);
      // Nothing left to read: from here on, live events follow the last one read, in the same tick.
      if (page.length === 0) {
        this.live = true;
        return;
      }
      for (const event of page.slice(0, -1)) this.sink.write(event);
      const last = page[page.length - 1];
      this.cursor = last.seq;
      if (!(await this.flushed(last))) return;
    }
  }

  private onLive(event: AgentEvent): void {
    if (!this.live || this.closed || event.seq <= this.cursor) return;
    this.cursor = event.seq;
    if (this.sink.buffered() < this.limits.maxBuffered) {
      this.sink.write(event);
      return;
    }
    // Over its limit: queue nothing more for this client; once this event is out, it reads on from the log.
    this.live = false;
    void this.flushed(event).then((ok) => (ok ? this.catchUp() : undefined));
  }

  /** Writes the event and resolves once it has left the process; false (and dropped) if that takes too long. */
  private flushed(event: AgentEvent): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drop(`it took nothing for ${this.limits.stallMs} ms; it can reconnect from seq ${event.seq - 1}`);
        resolve(false);
      }, this.limits.stallMs);
      this.sink.write(event, (err) => {
        clearTimeout(timer);
        if (err) this.drop(`write failed: ${err.message}`);
        resolve(!err && !this.closed);
      });
    });
  }

  private drop(reason: string): void {
    if (this.closed) return;
    this.stop();
    this.sink.close(reason);
  }
}

/**
 * Every open feed with the token it was opened with: `micro-agent token rotate` closes the ones whose token no
 * longer works (checked each second), and closing the server closes them all.
 */
export class Watchers {
  private readonly entries = new Set<{ feed: EventFeed; token: string; close: () => void }>();
  private readonly rotationCheck: NodeJS.Timeout;

  constructor(
    private readonly log: EventLog,
    private readonly tokens: TokenStore,
    private readonly limits?: FeedLimits,
  ) {
    this.rotationCheck = setInterval(() => this.closeRevoked(), 1000);
    this.rotationCheck.unref();
  }

  /** Feeds `sink` from `afterSeq` until `closed` emits 'close'. */
  watch(sink: Sink, afterSeq: number, token: string, close: () => void, closed: NodeJS.EventEmitter): void {
    const feed = new EventFeed(this.log, sink, afterSeq, this.limits);
    const entry = { feed, token, close };
    this.entries.add(entry);
    closed.once('close', () => {
      feed.stop();
      this.entries.delete(entry);
    });
  }

  closeAll(): void {
    clearInterval(this.rotationCheck);
    for (const entry of this.entries) entry.close();
  }

  private closeRevoked(): void {
    for (const entry of this.entries) if (!this.tokens.scopeOf(entry.token)) entry.close();
  }
}

/** A live event goes to every watcher as the same object: serialize it once, not once per client. */
const frames = new WeakMap<AgentEvent, string>();
export function serialized(event: AgentEvent): string {
  let text = frames.get(event);
  if (text === undefined) frames.set(event, (text = JSON.stringify(event)));
  return text;
}
