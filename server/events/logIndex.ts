import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as zlib from 'node:zlib';
import { writeAtomic } from '../workspace';
import { parseLine } from './log';
import { RUN_COLUMN_COUNT, StatsAggregator, StatsSnapshot } from './stats';

/** Bumped whenever the snapshot's shape changes: an index of another version is rebuilt. */
const INDEX_VERSION = 4;
/** A log (or a tail of one) up to this size is folded before the engine answers; a larger one in the background. */
const FOLD_BEFORE_READY_BYTES = 8 * 1024 * 1024;
/** Bytes read per step of a background fold, between which requests are answered. */
const CHUNK_BYTES = 1024 * 1024;
/** Rewrite the index once this much more of the log has been folded into it. */
const PERSIST_EVERY_BYTES = 4 * 1024 * 1024;
/** The log's first bytes, hashed, tell a different log at the same path from the one the index was built on. */
const HEAD_BYTES = 4096;

interface IndexHeader {
  version: number;
  /** Bytes of the log folded into the snapshot, its last seq, and a hash of its first bytes. */
  offset: number;
  lastSeq: number;
  head: string;
}

/** Where a log's index lives: `index/<log file name>.idx` beside the log (`.micro-agent/index/` by default). */
export function indexFileFor(logFile: string): string {
  return path.join(path.dirname(logFile), 'index', `${path.basename(logFile)}.idx`);
}

/**
 * The stats and run list of a log, kept in a derived, rebuildable index beside it so that a start reads the
 * index and folds only what the log gained since, instead of the whole history.
 *
 * The log stays the source of truth: the index is stamped with the byte offset and last seq it covers and a
 * hash of the log's head, and is thrown away and rebuilt when it is missing, corrupt, of another version or
 * does not match the log. Everything is read from the file (never from in-memory events), so lines another
 * process appended are folded as well. A rebuild or a long tail is folded in the background while answers
 * are served marked `partial`; it never blocks a run.
 */
export class LogIndex {
  private agg = new StatsAggregator();
  private offset = 0;
  private lastSeq = 0;
  private folding: Promise<void> | null = null;
  private persistedOffset = 0;
  private persistTimer: NodeJS.Timeout | undefined;
  private warned = false;

  private constructor(
    readonly logFile: string,
    readonly indexFile: string,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * Loads the index (or starts from nothing), then folds the log's tail: before resolving when it is small,
   * in the background otherwise (`complete` says which, `whenComplete` waits).
   */
  static open(logFile: string, options: { warn?: (message: string) => void; persist?: boolean } = {}): LogIndex {
    const index = new LogIndex(logFile, indexFileFor(logFile), options.warn ?? (() => undefined));
    index.load();
    const tail = fileSize(logFile) - index.offset;
    if (tail <= FOLD_BEFORE_READY_BYTES) index.catchUp();
    else index.folding = index.foldInBackground();
    return index;
  }

  /** False while a rebuild or a long tail is still being folded: answers until then are partial. */
  get complete(): boolean {
    return this.folding === null;
  }

  async whenComplete(): Promise<void> {
    while (this.folding) await this.folding;
  }

  /** The seq of the last event folded. */
  get foldedSeq(): number {
    return this.lastSeq;
  }

  /** The aggregator as folded so far; call `catchUp` first for the freshest answer. */
  get aggregator(): StatsAggregator {
    return this.agg;
  }

  /** Folds whatever the log gained (this process's appends or another's). A no-op while a background fold runs. */
  catchUp(): void {
    if (this.folding) return;
    let fd: number;
    try {
      fd = fs.openSync(this.logFile, 'r');
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        // The log shrank: it was replaced or truncated. Start over from what it holds now.
        this.reset();
        this.folding = this.foldInBackground();
        return;
      }
      for (let want = CHUNK_BYTES; this.offset < size;) {
        const buffer = Buffer.alloc(Math.min(want, size - this.offset));
        const n = fs.readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n <= 0) break;
        want = this.step(buffer.subarray(0, n), size, want);
        if (want === 0) break;
      }
    } finally {
      fs.closeSync(fd);
    }
    this.schedulePersist();
  }

  /** Writes the index now if it is behind what has been folded (the engine calls this when it closes). */
  persist(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.folding || this.offset === this.persistedOffset) return;
    try {
      const dir = path.dirname(this.indexFile);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Never write through a link: the index belongs beside the log, nowhere else.
      if (fs.lstatSync(dir).isSymbolicLink()) throw new Error(`${dir} is a symlink`);
      const header: IndexHeader = { version: INDEX_VERSION, offset: this.offset, lastSeq: this.lastSeq, head: this.headHash(this.offset) };
      writeAtomic(this.indexFile, encodeIndex(header, this.agg.toSnapshot()));
      // Private like the log it summarises (later writes keep the mode; the folder is the user's only).
      fs.chmodSync(this.indexFile, 0o600);
      this.persistedOffset = this.offset;
    } catch (err) {
      // The index is only a cache: without it starts are slower, nothing is lost. Say so once.
      if (!this.warned) this.say(`could not write the stats index ${this.indexFile}: ${(err as Error).message}; starts will read the whole log`);
      this.warned = true;
    }
  }

  /** Tells the owner something went wrong; never throws (the owner's log may be closed by now). */
  private say(message: string): void {
    try {
      this.warn(message);
    } catch {
      // Nowhere left to say it; the index is only a cache.
    }
  }

  private load(): void {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.indexFile);
    } catch {
      return; // Missing: built from the log.
    }
    try {
      const { header, snapshot } = decodeIndex(bytes);
      if (!this.matchesLog(header)) return;
      this.agg = StatsAggregator.fromSnapshot(snapshot);
      this.offset = this.persistedOffset = header.offset;
      this.lastSeq = header.lastSeq;
    } catch {
      this.reset(); // Corrupt or of another version: rebuilt from the log.
    }
  }

  /** The log still holds what the index was built on: long enough, the same head, the same last seq at the offset. */
  private matchesLog(header: IndexHeader): boolean {
    if (fileSize(this.logFile) < header.offset || this.headHash(header.offset) !== header.head) return false;
    if (header.offset === 0) return true;
    const start = Math.max(0, header.offset - 256 * 1024);
    const lines = readRange(this.logFile, start, header.offset).split('\n');
    for (let i = lines.length - 1; i >= (start === 0 ? 0 : 1); i--) {
      const event = parseLine(lines[i]);
      if (event) return event.seq === header.lastSeq;
    }
    return header.lastSeq === 0;
  }

  private headHash(offset: number): string {
    return createHash('sha256')
      .update(readRange(this.logFile, 0, Math.min(offset, HEAD_BYTES)))
      .digest('hex');
  }

  private reset(): void {
    this.agg = new StatsAggregator();
    this.offset = this.persistedOffset = this.lastSeq = 0;
  }

  /**
   * Folds the complete lines of `chunk` (read at `this.offset`), and a last unterminated line too when it is
   * the end of the file and parses (a log written without a final newline); returns the bytes consumed.
   */
  private fold(chunk: Buffer, atEnd: boolean): number {
    let consumed = chunk.lastIndexOf(10) + 1;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1 && nl < consumed; nl = chunk.indexOf(10, start)) {
      this.foldLine(chunk.toString('utf8', start, nl));
      start = nl + 1;
    }
    if (atEnd && consumed < chunk.length) {
      const rest = chunk.toString('utf8', consumed);
      if (this.foldLine(rest)) consumed = chunk.length;
    }
    this.offset += consumed;
    return consumed;
  }

  /**
   * Folds one chunk read at the offset; returns how much to read next: the usual chunk, twice as much when
   * the chunk held no whole line (a line longer than a chunk), 0 when the rest is a line still being written.
   */
  private step(chunk: Buffer, size: number, want: number): number {
    const atEnd = this.offset + chunk.length >= size;
    if (this.fold(chunk, atEnd) > 0) return CHUNK_BYTES;
    return atEnd ? 0 : want * 2;
  }

  private foldLine(line: string): boolean {
    const event = parseLine(line);
    if (!event) return false;
    this.agg.add(event);
    this.lastSeq = event.seq;
    return true;
  }

  /** Folds to the end of the log in steps, yielding between them; follows appends made meanwhile. */
  private async foldInBackground(): Promise<void> {
    try {
      const handle = await fs.promises.open(this.logFile, 'r');
      try {
        for (let want = CHUNK_BYTES; ;) {
          const { size } = await handle.stat();
          if (this.offset >= size) break;
          const buffer = Buffer.alloc(Math.min(want, size - this.offset));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
          if (bytesRead <= 0) break;
          want = this.step(buffer.subarray(0, bytesRead), size, want);
          if (want === 0) break;
          await yieldToLoop();
        }
      } finally {
        await handle.close();
      }
    } catch (err) {
      this.say(`could not read the event log ${this.logFile} for the stats: ${(err as Error).message}`);
    } finally {
      this.folding = null;
    }
    this.catchUp();
    this.persist();
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.offset - this.persistedOffset < PERSIST_EVERY_BYTES) return;
    this.persistTimer = setTimeout(() => this.persist(), 1000);
    this.persistTimer.unref();
  }
}

/**
 * The index file: `MICROIDX`, the header's length and a CRC-32 of everything after it, the header (JSON: the
 * stamp, the counts, the snapshot's small part), then the run columns, the run ids' end offsets and the
 * calls (`CALL_FIELDS`) as raw little-endian float64s, then the run ids end to end. Raw columns load in a few milliseconds where JSON would take seconds.
 */
const MAGIC = Buffer.from('MICROIDX');

function encodeIndex(header: IndexHeader, snapshot: StatsSnapshot): Buffer {
  const ids = Buffer.from(snapshot.runIds.blob, 'utf8');
  const head = Buffer.from(
    JSON.stringify({ ...header, runs: snapshot.runIds.ends.length, calls: snapshot.calls.length, ids: ids.length, meta: snapshot.meta }),
  );
  const pad = Buffer.alloc((8 - ((MAGIC.length + 8 + head.length) % 8)) % 8);
  const raw = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const body = Buffer.concat([head, pad, ...snapshot.columns.map(raw), raw(snapshot.runIds.ends), raw(snapshot.calls), ids]);
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(head.length, 0);
  lengths.writeUInt32LE(zlib.crc32(body), 4);
  return Buffer.concat([MAGIC, lengths, body]);
}

function decodeIndex(bytes: Buffer): { header: IndexHeader; snapshot: StatsSnapshot } {
  if (bytes.length < MAGIC.length + 8 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an index');
  const headLength = bytes.readUInt32LE(MAGIC.length);
  const body = bytes.subarray(MAGIC.length + 8);
  if (zlib.crc32(body) !== bytes.readUInt32LE(MAGIC.length + 4)) throw new Error('index checksum mismatch');
  const header = JSON.parse(body.toString('utf8', 0, headLength)) as IndexHeader & { runs: number; calls: number; ids: number; meta: StatsSnapshot['meta'] };
  if (header.version !== INDEX_VERSION) throw new Error('index of another version');
  if (![header.offset, header.lastSeq, header.runs, header.calls, header.ids].every((n) => Number.isSafeInteger(n) && n >= 0))
    throw new Error('bad index header');
  let at = MAGIC.length + 8 + headLength;
  at += (8 - (at % 8)) % 8;
  const floats = (count: number) => {
    if (at + count * 8 > bytes.length) throw new Error('index cut short');
    const start = bytes.byteOffset + at;
    at += count * 8;
    // A view on the file's bytes where they are aligned (a file read whole is), else a copy.
    return start % 8 === 0 ? new Float64Array(bytes.buffer, start, count) : new Float64Array(bytes.buffer.slice(start, start + count * 8));
  };
  const columns = Array.from({ length: RUN_COLUMN_COUNT }, () => floats(header.runs));
  const ends = floats(header.runs);
  const calls = floats(header.calls);
  if (at + header.ids !== bytes.length) throw new Error('index length mismatch');
  return { header, snapshot: { meta: header.meta, runIds: { blob: bytes.toString('utf8', at), ends }, columns, calls } };
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const n = fs.readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}
