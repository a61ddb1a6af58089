/**
 * Latency samples and their summary (nearest-rank percentiles). Samples are kept in a
 * growable Float64Array, so recording is an array store and nothing else.
 */
export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Samples {
  private values: Float64Array;
  private size = 0;

  constructor(initialCapacity = 1024) {
    this.values = new Float64Array(Math.max(16, initialCapacity));
  }

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.size));
  }
}

/** Nearest-rank percentile of an ascending array; p in [0, 100]. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : sorted[0]!,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: n === 0 ? Number.NaN : sorted[n - 1]!,
  };
}

/** Rounds every number of a summary for printing and JSON (3 decimals: microseconds for ms values). */
export function roundSummary(s: LatencySummary): LatencySummary {
  const r = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);
  return {
    count: s.count,
    mean: r(s.mean),
    min: r(s.min),
    p50: r(s.p50),
    p90: r(s.p90),
    p99: r(s.p99),
    p999: r(s.p999),
    max: r(s.max),
  };
}

/** Counts per whole second since a start time, for "sustained rate" checks. */
export class RateBuckets {
  private readonly counts: number[] = [];

  constructor(private readonly startMs: number) {}

  add(nowMs: number, n = 1): void {
    const i = Math.floor((nowMs - this.startMs) / 1000);
    if (i < 0) return;
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i]! += n;
  }

  /** Counts of the complete seconds (the last, partial second is dropped). */
  completeSeconds(): number[] {
    return this.counts.slice(0, Math.max(0, this.counts.length - 1));
  }
}
