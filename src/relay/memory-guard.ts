/**
 * MemoryGuard: above the memory target (ORLY_MEMORY_LIMIT_MB: the process's resident set, or
 * 90% of V8's heap limit, whichever comes first) the relay refuses new work — REQ, COUNT,
 * NEG-OPEN get `rate-limited:` — instead of being killed by the OOM killer or a heap limit;
 * below 90% of the target it takes work again. Sampled on a timer, so a check is a field read.
 * Each sample also feeds the MemoryReclaimer (a full collection when the relay is idle after a
 * burst, and one before the guard starts refusing).
 */
import { getHeapStatistics } from 'node:v8';
import type { MemoryReclaimer } from '../memory-reclaimer.js';

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapLimit: number;
}

const SAMPLE_MS = 250;
/** Work is taken again below this share of the target. */
const RECOVER = 0.9;
/** The share of V8's heap limit that counts as full. */
const HEAP_SHARE = 0.9;

function sampleProcess(): MemorySample {
  const heap = getHeapStatistics();
  return { rss: process.memoryUsage.rss(), heapUsed: heap.used_heap_size, heapLimit: heap.heap_size_limit };
}

export class MemoryGuard {
  private over = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The resident-set target in bytes (may be changed while running; the next sample uses it). */
    public limitBytes: number,
    private readonly sample: () => MemorySample = sampleProcess,
    /** Gives memory back when the relay is idle, and before the guard refuses work. */
    private readonly reclaimer?: MemoryReclaimer,
    /** Whether the relay is idle now (no query running or waiting). */
    private readonly idle: () => boolean = () => false,
  ) {}

  /** True while memory is above the target (until it is back below 90% of it). */
  get overloaded(): boolean {
    return this.over;
  }

  start(): void {
    if (this.timer) return;
    this.check();
    this.timer = setInterval(() => this.check(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample and updates `overloaded`. */
  check(): boolean {
    let s = this.sample();
    this.reclaimer?.sample(s.rss, this.idle());
    // Over the target: first give back what is garbage, then decide.
    if (!this.over && this.share(s) >= 1 && this.reclaimer?.urgent()) s = this.sample();
    const share = this.share(s);
    if (share >= 1) this.over = true;
    else if (share < RECOVER) this.over = false;
    return this.over;
  }

  private share(s: MemorySample): number {
    return Math.max(s.rss / this.limitBytes, s.heapUsed / (s.heapLimit * HEAP_SHARE));
  }
}
