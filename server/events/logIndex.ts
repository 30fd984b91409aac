import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import * as zlib from 'node:zlib';
import { writeAtomic } from '../foundation/workspace';
import { parseLine } from './log';
import type { Numbers } from './columns';
import { CALL_STRIDE, checkCalls, RUN_COLUMN_COUNT, StatsAggregator, StatsSnapshot } from './stats';

/** Bumped whenever the snapshot's shape changes: an index of another version is rebuilt. */
const INDEX_VERSION = 12;
/**
 * A log (or a tail of one) up to this size is folded before the engine answers; a larger one in the background.
 * About 4,000 events, 50–100 ms of folding on a 2-core machine, so a first start without an index is ready in
 * well under 300 ms (at 8 MB a 5 MB log cost 200–280 ms before the first answer).
 */
const FOLD_BEFORE_READY_BYTES = 2 * 1024 * 1024;
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
  /**
   * The index file as loaded, held open until its calls are read (on first need): the same bytes, even when
   * the file has been replaced since by a newer index.
   */
  private callsFd: number | undefined;

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
      // Taken first: it reads the loaded index's calls if they were not yet, and a damaged calls section starts a rebuild.
      const snapshot = this.agg.toSnapshot();
      this.closeCalls();
      if (this.folding) return;
      const dir = path.dirname(this.indexFile);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Never write through a link: the index belongs beside the log, nowhere else.
      if (fs.lstatSync(dir).isSymbolicLink()) throw new Error(`${dir} is a symlink`);
      const header: IndexHeader = { version: INDEX_VERSION, offset: this.offset, lastSeq: this.lastSeq, head: this.headHash(this.offset) };
      writeAtomic(this.indexFile, encodeIndex(header, snapshot));
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

  /** Reads the index but its calls, which stay in the file (held open) until first needed. */
  private load(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.indexFile, 'r');
    } catch {
      return; // Missing: built from the log.
    }
    try {
      const { header, snapshot, calls } = readIndex(fd);
      if (!this.matchesLog(header)) return;
      const names = snapshot.meta.names.length;
      this.agg = StatsAggregator.fromSnapshot({ ...snapshot, calls: { blocks: calls.crcs.length, block: (b) => this.readCalls(fd, calls, b, names) } });
      this.offset = this.persistedOffset = header.offset;
      this.lastSeq = header.lastSeq;
      this.callsFd = fd;
    } catch {
      this.reset(); // Corrupt or of another version: rebuilt from the log.
    } finally {
      if (this.callsFd !== fd) fs.closeSync(fd);
    }
  }

  /**
   * A block of the loaded index's calls, read and checked now. Should it be damaged (the rest of the file was
   * sound), the index is rebuilt from the log in the background and answers are partial until then; the
   * aggregator that asked is the one being replaced, so it gets none.
   */
  private readCalls(fd: number, section: CallsSection, block: number, names: number): Float64Array {
    if (this.callsFd !== fd) return new Float64Array(0);
    try {
      const first = block * BLOCK_NUMBERS;
      const count = Math.min(section.count - first, BLOCK_NUMBERS);
      const bytes = readAt(fd, section.at + first * 8, count * 8);
      if (zlib.crc32(bytes) !== section.crcs[block]) throw new Error('checksum mismatch');
      return checkCalls(new Float64Array(bytes.buffer, bytes.byteOffset, count), names);
    } catch (err) {
      this.say(`the stats index ${this.indexFile} is damaged (${(err as Error).message}); rebuilding it from the log`);
      this.reset();
      this.folding = this.foldInBackground();
      return new Float64Array(0);
    }
  }

  /** The log still holds what the index was built on: long enough, the same head, the same last seq at the offset. */
  private matchesLog(header: IndexHeader): boolean {
    if (fileSize(this.logFile) < header.offset || this.headHash(header.offset) !== header.head) return false;
    if (header.offset === 0) return true;
    // Read back from the offset a little at first (a line is about half a KB), up to 256 KB.
    for (let back = 16 * 1024; ; back *= 4) {
      const start = Math.max(0, header.offset - back);
      const lines = readRange(this.logFile, start, header.offset).split('\n');
      for (let i = lines.length - 1; i >= (start === 0 ? 0 : 1); i--) {
        const event = parseLine(lines[i]);
        if (event) return event.seq === header.lastSeq;
      }
      if (start === 0 || back >= 256 * 1024) return header.lastSeq === 0;
    }
  }

  private headHash(offset: number): string {
    return createHash('sha256')
      .update(readRange(this.logFile, 0, Math.min(offset, HEAD_BYTES)))
      .digest('hex');
  }

  private closeCalls(): void {
    if (this.callsFd === undefined) return;
    try {
      fs.closeSync(this.callsFd);
    } catch {
      // Already gone; nothing was read from it.
    }
    this.callsFd = undefined;
  }

  private reset(): void {
    this.closeCalls();
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
 * The index file: `MICROIDX`, the header's length and a CRC-32 of everything after it up to the calls; the header
 * (JSON: the stamp, the counts, which run columns are int32, the sketches' lengths, each calls block's CRC-32, the
 * snapshot's small part); the float64 run columns, the run ids' end offsets and the latency sketches, then the
 * int32 run columns, all raw little-endian; the run ids end to end; last, the calls (`CALL_FIELDS`) as raw
 * float64s. Raw numbers are used in place, with no pass over them (a start costs the same per byte whatever
 * the history), and the calls, most of the file, are read only when first needed (rollups, spend, the next
 * write).
 */
const MAGIC = Buffer.from('MICROIDX');
const PREFIX = MAGIC.length + 8;

/** Calls per block of the calls section, each with its own CRC-32: a window reads and checks only its blocks. */
const CALL_BLOCK = 1024;
/** Numbers (float64s) in a whole block. */
const BLOCK_NUMBERS = CALL_BLOCK * CALL_STRIDE;

/** Where the calls are in the file, how many numbers, and each block's CRC-32. */
interface CallsSection {
  at: number;
  count: number;
  crcs: number[];
}

type FileHeader = IndexHeader & {
  runs: number;
  int32: boolean[];
  sketches: number[];
  calls: number;
  callBlocks: number[];
  ids: number;
  meta: StatsSnapshot['meta'];
};

function encodeIndex(header: IndexHeader, snapshot: ReturnType<StatsAggregator['toSnapshot']>): Buffer {
  const raw = (a: Numbers) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const int32 = snapshot.columns.map((c) => c instanceof Int32Array);
  const calls = raw(snapshot.calls);
  const ids = Buffer.from(snapshot.runIds.blob, 'utf8');
  const fileHeader: FileHeader = {
    ...header,
    runs: snapshot.runIds.ends.length,
    int32,
    sketches: snapshot.sketches.map((s) => s.length),
    calls: calls.length / 8,
    callBlocks: Array.from({ length: Math.ceil(calls.length / 8 / BLOCK_NUMBERS) }, (_, b) =>
      zlib.crc32(calls.subarray(b * BLOCK_NUMBERS * 8, (b + 1) * BLOCK_NUMBERS * 8)),
    ),
    ids: ids.length,
    meta: snapshot.meta,
  };
  const head = Buffer.from(JSON.stringify(fileHeader));
  // Float64 first, int32 after, so that every column is aligned for a view on the bytes as read.
  const numbers = [...snapshot.columns.filter((_, i) => !int32[i]), snapshot.runIds.ends, ...snapshot.sketches, ...snapshot.columns.filter((_, i) => int32[i])];
  const body = Buffer.concat([head, ...numbers.map(raw), ids]);
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(head.length, MAGIC.length);
  prefix.writeUInt32LE(zlib.crc32(body), MAGIC.length + 4);
  return Buffer.concat([prefix, body, calls]);
}

/** Reads and checks everything but the calls, which it only locates. */
function readIndex(fd: number): { header: IndexHeader; snapshot: Omit<StatsSnapshot, 'calls'>; calls: CallsSection } {
  const size = fs.fstatSync(fd).size;
  if (size < PREFIX) throw new Error('not an index');
  const prefix = readAt(fd, 0, PREFIX);
  if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an index');
  const headLength = prefix.readUInt32LE(MAGIC.length);
  if (PREFIX + headLength > size) throw new Error('index cut short');
  const head = readAt(fd, PREFIX, headLength);
  const header = JSON.parse(head.toString('utf8')) as FileHeader;
  if (header.version !== INDEX_VERSION) throw new Error('index of another version');
  const counts = [
    header.offset,
    header.lastSeq,
    header.runs,
    header.calls,
    ...(Array.isArray(header.callBlocks) && header.callBlocks.length === Math.ceil(header.calls / BLOCK_NUMBERS) ? header.callBlocks : [-1]),
    header.ids,
    ...(Array.isArray(header.sketches) ? header.sketches : [-1]),
  ];
  if (!counts.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new Error('bad index header');
  const { int32 } = header;
  if (!Array.isArray(int32) || int32.length !== RUN_COLUMN_COUNT || !int32.every((i) => typeof i === 'boolean')) throw new Error('bad index header');
  const ints = int32.filter(Boolean).length;
  const runBytes = ((RUN_COLUMN_COUNT - ints + 1) * 8 + ints * 4) * header.runs + header.sketches.reduce((sum, n) => sum + n, 0) * 8;
  const callsAt = PREFIX + headLength + runBytes + header.ids;
  if (callsAt + header.calls * 8 !== size) throw new Error('index length mismatch');
  // Read into a buffer of its own, so the columns are aligned views on it, never copies.
  const rest = readAt(fd, PREFIX + headLength, runBytes + header.ids);
  if (zlib.crc32(rest, zlib.crc32(head)) !== prefix.readUInt32LE(MAGIC.length + 4)) throw new Error('index checksum mismatch');
  // In the file's order: the float64 run columns, the id offsets, the sketches, then the int32 run columns.
  let at = rest.byteOffset;
  const floats = (count: number) => new Float64Array(rest.buffer, (at += count * 8) - count * 8, count);
  const int32s = (count: number) => new Int32Array(rest.buffer, (at += count * 4) - count * 4, count);
  const columns = new Array<Numbers>(RUN_COLUMN_COUNT);
  int32.forEach((int, i) => {
    if (!int) columns[i] = floats(header.runs);
  });
  const ends = floats(header.runs);
  const sketches = header.sketches.map((count) => floats(count));
  int32.forEach((int, i) => {
    if (int) columns[i] = int32s(header.runs);
  });
  const snapshot = { meta: header.meta, sketches, runIds: { blob: rest.toString('utf8', runBytes), ends }, columns };
  return { header, snapshot, calls: { at: callsAt, count: header.calls, crcs: header.callBlocks } };
}

/** `length` bytes at `position`, in a buffer of their own (so aligned for float64 views); throws when the file is shorter. */
function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafeSlow(length);
  for (let done = 0; done < length;) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n <= 0) throw new Error('index cut short');
    done += n;
  }
  return buffer;
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
