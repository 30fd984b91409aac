/**
 * A growable column of numbers (a Float64Array that doubles when full): the run list and the calls are kept
 * as columns, so that a million-event history is a few typed arrays, written to and read from the index as
 * raw bytes, instead of hundreds of thousands of objects to parse and collect.
 */
export class Column {
  private data: Float64Array;
  private size: number;

  constructor(from?: Float64Array) {
    this.data = from ?? new Float64Array(1024);
    this.size = from?.length ?? 0;
  }

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  get(i: number): number {
    return this.data[i];
  }

  set(i: number, value: number): void {
    this.data[i] = value;
  }

  /** The filled part, without copying. */
  values(): Float64Array {
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
