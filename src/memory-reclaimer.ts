/**
 * Gives memory back after a burst. V8 collects garbage when JavaScript allocates; a relay that
 * went quiet after a burst of huge queries allocates almost nothing, so the burst's dead
 * buffers and heap can stay resident for a long time, counted against ORLY_MEMORY_LIMIT_MB and
 * by the operator's monitoring. When the relay is idle (no query running or waiting) and its
 * resident set is RECLAIM_ABOVE over the level it had after the last collection, this runs a
 * full garbage collection, at most once per MIN_INTERVAL_MS; while busy, once it is
 * BUSY_RECLAIM_ABOVE over that level, at most once a second (a burst of large results makes
 * garbage faster than V8 collects it on its own); the memory guard also asks for one before it
 * starts refusing work. The collector comes from src/gc.ts; without one, this does
 * nothing. (The query workers collect their own heaps when they fall idle.)
 */
import { loadCollector } from './gc.js';

const RECLAIM_ABOVE = 32 * 1_048_576;
const MIN_INTERVAL_MS = 2_000;
/**
 * While busy, a collection once the resident set is this far over the floor, at most every
 * BUSY_INTERVAL_MS. 64 MB: with 96 the abuse suite's huge-scan row (64 × limit 5000) peaked
 * 250-270 MB over its baseline, at its 256 MB bound; with 64, 210-235 MB. Under sustained query
 * load the resident set is over either threshold anyway, so steady-state cost is the same.
 */
const BUSY_RECLAIM_ABOVE = 64 * 1_048_576;
const BUSY_INTERVAL_MS = 1_000;
/** Idle samples in a row before a collection. */
const IDLE_SAMPLES = 2;

export class MemoryReclaimer {
  private readonly collect: (() => void) | undefined;
  /** Resident set after the last collection (or at the first sample). */
  private floor: number | undefined;
  private lastRun = 0;
  private idleSamples = 0;
  /** Collections run so far (for metrics and tests). */
  runs = 0;

  constructor(collect: (() => void) | undefined | null = loadCollector()) {
    this.collect = collect ?? undefined;
  }

  /** One memory sample: collects when idle and well above the floor. */
  /** Samples every `ms` on an unref'd timer, with `idle` telling whether the process is idle. */
  every(ms: number, idle: () => boolean): () => void {
    const timer = setInterval(() => this.sample(process.memoryUsage.rss(), idle()), ms);
    timer.unref();
    return () => clearInterval(timer);
  }

  sample(rss: number, idle: boolean, now = Date.now()): void {
    this.floor ??= rss;
    this.idleSamples = idle ? this.idleSamples + 1 : 0;
    if (this.idleSamples >= IDLE_SAMPLES && rss > this.floor + RECLAIM_ABOVE) this.run(now);
    // Busy but growing fast (a burst of large results): collect at most once a second.
    else if (rss > this.floor + BUSY_RECLAIM_ABOVE && now - this.lastRun >= BUSY_INTERVAL_MS)
      this.run(now, true);
  }

  /** Collects now unless one ran within the last second; true when it ran. */
  urgent(now = Date.now()): boolean {
    if (now - this.lastRun < 1000) return false;
    return this.run(now, true);
  }

  private run(now: number, urgent = false): boolean {
    if (this.collect === undefined || (!urgent && now - this.lastRun < MIN_INTERVAL_MS)) return false;
    this.lastRun = now;
    this.collect();
    this.runs++;
    // After an idle collection the floor follows what is really live; a collection in the middle
    // of a burst only ever lowers it (the burst's memory is not the level to return to).
    const after = process.memoryUsage.rss();
    this.floor = !urgent || this.floor === undefined ? after : Math.min(this.floor, after);
    return true;
  }
}
