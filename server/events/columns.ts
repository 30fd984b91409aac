/** A column's numbers: float64, or int32 while every value is a whole number that fits (ids, counts, pids). */
export type Numbers = Float64Array | Int32Array;

/**
 * A growable column of numbers (a typed array that doubles when full): the run list and the calls are kept
 * as columns, so that a million-event history is a few typed arrays, written to and read from the index as
 * raw bytes, instead of hundreds of thousands of objects to parse and collect. A column of whole numbers is
 * kept as int32, half the bytes to read at start, until a value does not fit: then it widens to float64, so
 * every value stays exact.
 */
export class Column {
  private data: Numbers;
  private size: number;

  constructor(from?: Numbers, ints = false) {
    this.data = from ?? (ints ? new Int32Array(1024) : new Float64Array(1024));
    this.size = from?.length ?? 0;
  }

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = this.data instanceof Int32Array ? new Int32Array(this.data.length * 2) : new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.set(this.size++, value);
  }

  get(i: number): number {
    return this.data[i];
  }

  set(i: number, value: number): void {
    if (this.data instanceof Int32Array && (value | 0) !== value) this.data = Float64Array.from(this.data);
    this.data[i] = value;
  }

  /** The filled part, without copying. */
  values(): Numbers {
    return this.data.subarray(0, this.size);
  }
}

/**
 * Run ids in order: those read from the index stay one string with their end offsets (no string per run
 * until one is asked for), those added since are a plain list.
 */
export class IdColumn {
  private readonly extra: string[] = [];

  constructor(
    private readonly blob = '',
    private readonly ends: Float64Array = new Float64Array(0),
  ) {
    if (ends.length > 0 && ends[ends.length - 1] !== blob.length) throw new Error('run ids do not match their offsets');
  }

  get length(): number {
    return this.ends.length + this.extra.length;
  }

  get(i: number): string {
    if (i >= this.ends.length) return this.extra[i - this.ends.length];
    return this.blob.slice(i === 0 ? 0 : this.ends[i - 1], this.ends[i]);
  }

  push(id: string): void {
    this.extra.push(id);
  }

  /** All ids as one string and each one's end in it. */
  packed(): { blob: string; ends: Float64Array } {
    if (this.extra.length === 0) return { blob: this.blob, ends: this.ends };
    const ends = new Float64Array(this.length);
    ends.set(this.ends);
    let end = this.blob.length;
    this.extra.forEach((id, i) => (ends[this.ends.length + i] = end += id.length));
    return { blob: this.blob + this.extra.join(''), ends };
  }
}
