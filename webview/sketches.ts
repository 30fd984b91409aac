/**
 * The dashboard's latency and TTFT sketches, kept beside the SQL store in the host's own form
 * (`protocol/sketch.ts`): per provider/model and metric, one `LatencySketch` for all time, and the host's sparse
 * `[bucket, count, …]` lists per minute and hour of the last day (a minute of one model holds a few calls; a
 * dense sketch each would be 30 KB). A window's percentile adds up the lists of the buckets that cover it, as
 * the host merges sketches: the same numbers `microAgent/stats` gives (exact below 1,024 ms, within 2^-10
 * above). Not SQL rows, because a busy day is tens of thousands of sketch buckets: inserting them cost most of
 * the dashboard's first open, and re-reading them most of a live event.
 */
import { LatencySketch } from '../server/protocol/sketch';

export type Metric = 'latency' | 'ttft';
/** The resolutions sketches are kept at: a minute, an hour, all time (bucket 0). */
export type SketchResolution = 'm' | 'h' | 'a';

/** Buckets `[from, to)` of one resolution (`to` omitted: up to now). */
export interface BucketRange {
  res: SketchResolution;
  from: number;
  to?: number;
}

/** The key of a provider/model in every per-model map of the dashboard. */
export const modelKey = (provider: string, model: string) => `${provider}\u0000${model}`;

export class Sketches {
  /** Per `metric NUL provider NUL model`. */
  private readonly allTime = new Map<string, LatencySketch>();
  /** Per resolution, per bucket, per `metric NUL provider NUL model`: `[sketch bucket, count, …]`, in any order. */
  private readonly recent = { m: new Map<number, Map<string, number[]>>(), h: new Map<number, Map<string, number[]>>() };

  clear(): void {
    this.allTime.clear();
    this.recent.m.clear();
    this.recent.h.clear();
  }

  /** Adds a host sketch (`[bucket, count, …]`, as `LatencySketch.flat` gives it) to a bucket's. */
  merge(res: SketchResolution, bucket: number, model: string, metric: Metric, flat: number[]): void {
    const key = `${metric}\u0000${model}`;
    if (res === 'a') return void this.allTimeSketch(key).addFlat(flat);
    let buckets = this.recent[res].get(bucket);
    if (!buckets) this.recent[res].set(bucket, (buckets = new Map<string, number[]>()));
    const list = buckets.get(key);
    if (list) list.push(...flat);
    else buckets.set(key, flat);
  }

  /** Per provider/model (`modelKey`), the sketch of the buckets in `ranges`. */
  window(ranges: readonly BucketRange[], metric: Metric): Map<string, LatencySketch> {
    const out = new Map<string, LatencySketch>();
    const sketchOf = (key: string) => {
      const model = key.slice(metric.length + 1);
      let sketch = out.get(model);
      if (!sketch) out.set(model, (sketch = new LatencySketch()));
      return sketch;
    };
    const mine = (key: string) => key.startsWith(`${metric}\u0000`);
    for (const { res, from, to = Infinity } of ranges) {
      if (res === 'a') {
        for (const [key, sketch] of this.allTime) if (mine(key)) sketchOf(key).merge(sketch);
        continue;
      }
      for (const [bucket, lists] of this.recent[res]) {
        if (bucket < from || bucket >= to) continue;
        for (const [key, flat] of lists) {
          if (!mine(key)) continue;
          sketchOf(key).addFlat(flat);
        }
      }
    }
    return out;
  }

  private allTimeSketch(key: string): LatencySketch {
    let sketch = this.allTime.get(key);
    if (!sketch) this.allTime.set(key, (sketch = new LatencySketch()));
    return sketch;
  }
}
