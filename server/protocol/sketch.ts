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
const PER_OCTAVE = 2 ** (SIGNIFICANT_BITS - 1);
/** Buckets up to 2^53 ms: any latency a double can hold as a whole number. */
const MAX_BUCKETS = EXACT_BELOW + (53 - SIGNIFICANT_BITS) * PER_OCTAVE;

/** The documented bound on a percentile's relative error above `EXACT_BELOW`. */
export const SKETCH_RELATIVE_ERROR = 2 ** -SIGNIFICANT_BITS;

export class LatencySketch {
  /** Count per bucket index, dense up to the highest bucket seen. */
  private counts: Float64Array = new Float64Array(64);
  private total = 0;

  get count(): number {
    return this.total;
  }

  add(value: number, times = 1): void {
    this.addToBucket(bucketOf(value), times);
  }

  merge(other: LatencySketch): void {
    for (let i = 0; i < other.counts.length; i++) if (other.counts[i] > 0) this.addToBucket(i, other.counts[i]);
  }

  /** Nearest-rank percentile (as `percentile` over the sorted values), null when empty. */
  quantile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.min(this.total, Math.max(1, Math.ceil((p / 100) * this.total)));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return representative(i);
    }
    return null; // Unreachable: the counts add up to the total.
  }

  /** The counts of buckets 0 up to the highest in use (a view, not a copy): how the index file stores a sketch. */
  buckets(): Float64Array {
    let end = this.counts.length;
    while (end > 0 && this.counts[end - 1] === 0) end--;
    return this.counts.subarray(0, end);
  }

  /**
   * A sketch of `count` values over `buckets` as `buckets()` gave them, used in place (read from the index, whose
   * checksum vouches for them: no pass over them at start).
   */
  static fromBuckets(buckets: Float64Array, count: number): LatencySketch {
    if (buckets.length > MAX_BUCKETS || !Number.isSafeInteger(count) || count < 0) throw new Error('a latency sketch holds a bad bucket');
    const sketch = new LatencySketch();
    sketch.counts = buckets;
    sketch.total = count;
    return sketch;
  }

  /** The buckets in use as `[bucket, count, …]`, ascending: how `microAgent/rollups` sends a sketch. */
  flat(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] > 0) out.push(i, this.counts[i]);
    return out;
  }

  /** Adds a sketch given as `flat()` gives one (from another process: checked). */
  addFlat(flat: readonly number[]): void {
    if (flat.length % 2 !== 0) throw new Error('a latency sketch is a flat list of bucket, count pairs');
    for (let i = 0; i < flat.length; i += 2) {
      if (!Number.isSafeInteger(flat[i + 1]) || flat[i + 1] <= 0) throw new Error('a latency sketch holds a bad count');
      this.addToBucket(flat[i], flat[i + 1]);
    }
  }

  /** Adds `times` values to a bucket (an index as `bucketOf` and `flat` give them). */
  addToBucket(bucket: number, times: number): void {
    if (!Number.isSafeInteger(bucket) || bucket < 0 || bucket >= MAX_BUCKETS) throw new Error(`a latency sketch has no bucket ${bucket}`);
    if (bucket >= this.counts.length) {
      const bigger = new Float64Array(Math.min(MAX_BUCKETS, Math.max(bucket + 1, this.counts.length * 2)));
      bigger.set(this.counts);
      this.counts = bigger;
    }
    this.counts[bucket] += times;
    this.total += times;
  }
}

/** Whole milliseconds (negatives count as 0) below 1,024; above, 512 buckets per doubling by the next 9 bits. */
export function bucketOf(value: number): number {
  const ms = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(value)));
  if (ms < EXACT_BELOW) return ms;
  let octave = Math.floor(Math.log2(ms));
  // log2 of a value just under a power of two can round up to it.
  if (ms < 2 ** octave) octave--;
  const mantissa = Math.floor(ms / 2 ** (octave - (SIGNIFICANT_BITS - 1)));
  return EXACT_BELOW + (octave - SIGNIFICANT_BITS) * PER_OCTAVE + (mantissa - PER_OCTAVE);
}

/** The value a bucket answers with: itself when exact, else its midpoint. */
export function representative(bucket: number): number {
  if (bucket < EXACT_BELOW) return bucket;
  const octave = SIGNIFICANT_BITS + Math.floor((bucket - EXACT_BELOW) / PER_OCTAVE);
  const width = 2 ** (octave - (SIGNIFICANT_BITS - 1));
  const low = (PER_OCTAVE + ((bucket - EXACT_BELOW) % PER_OCTAVE)) * width;
  return low + Math.floor(width / 2);
}
