/**
 * A growable column of numbers (a Float64Array that doubles when full): the run list and the spending are kept
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
