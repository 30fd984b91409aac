/**
 * A mergeable latency histogram in the manner of HDR histograms: milliseconds below 1,024 are counted exactly,
 * larger values in buckets that keep their 10 most significant bits. A percentile read from it is the exact
 * nearest-rank value below 1,024 ms and within 0.1% of it above (a bucket's midpoint is at most half a bucket,
 * 2^-10 of the value, away). Memory is bounded by the range (512 buckets per doubling), not by the number of
 * calls, and two sketches add up bucket by bucket, so windows combine without keeping raw values.
 */

/** Below this many milliseconds every whole value is its own bucket. */
const EXACT_BELOW = 1024;
const SIGNIFICANT_BITS = 10;

/** The documented bound on a percentile's relative error above `EXACT_BELOW`. */
export const SKETCH_RELATIVE_ERROR = 2 ** -SIGNIFICANT_BITS;

export class LatencySketch {
  /** Bucket key (the smallest value it holds) → count. */
  private readonly buckets = new Map<number, number>();
  private total = 0;

  get count(): number {
    return this.total;
  }

  add(value: number, times = 1): void {
    const key = bucketOf(value);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + times);
    this.total += times;
  }

  merge(other: LatencySketch): void {
    for (const [key, n] of other.buckets) {
      this.buckets.set(key, (this.buckets.get(key) ?? 0) + n);
      this.total += n;
    }
  }

  /** Nearest-rank percentile (as `percentile` over the sorted values), null when empty. */
  quantile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const key of keys) {
      seen += this.buckets.get(key) ?? 0;
      if (seen >= rank) return representative(key);
    }
    return representative(keys[keys.length - 1]);
  }

  /** Flat `[key, count, key, count, …]` for the index file. */
  toJSON(): number[] {
    const out: number[] = [];
    for (const [key, n] of this.buckets) out.push(key, n);
    return out;
  }

  static fromJSON(flat: unknown): LatencySketch {
    if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error('a latency sketch is a flat list of bucket, count pairs');
    const sketch = new LatencySketch();
    for (let i = 0; i < flat.length; i += 2) {
      const key: unknown = flat[i];
      const n: unknown = flat[i + 1];
      if (typeof key !== 'number' || typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || bucketOf(key) !== key)
        throw new Error('a latency sketch holds a bad bucket');
      sketch.add(key, n);
    }
    return sketch;
  }
}

/** Whole milliseconds (negatives count as 0); above 1,024 the value's 10 leading bits. */
function bucketOf(value: number): number {
  const ms = Math.max(0, Math.round(value));
  if (ms < EXACT_BELOW) return ms;
  const shift = Math.floor(Math.log2(ms)) - (SIGNIFICANT_BITS - 1);
  return Math.floor(ms / 2 ** shift) * 2 ** shift;
}

/** The value a bucket answers with: itself when exact, else its midpoint. */
function representative(key: number): number {
  if (key < EXACT_BELOW) return key;
  const width = 2 ** (Math.floor(Math.log2(key)) - (SIGNIFICANT_BITS - 1));
  return key + Math.floor(width / 2);
}
