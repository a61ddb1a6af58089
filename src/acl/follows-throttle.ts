/**
 * ORLY's progressive throttle of follows mode (ORLY_FOLLOWS_THROTTLE): authors who are neither
 * owners, admins nor followed may write, but each of their EVENTs is delayed.
 *
 * Two leaky accumulators, one keyed by client IP, one by author pubkey. Each EVENT charges both:
 * `acc = max(0, acc - elapsed) + increment`, capped at `max`; the EVENT waits
 * `max(ipAcc, pubkeyAcc)`. So a writer's first EVENT waits one increment, a burst waits longer
 * and longer (up to `max`), and a writer that pauses drains at real-time speed.
 *
 * Bounded: an entry whose accumulator has drained to 0 is dropped (swept at most once per
 * `sweepEveryMs`, and dropped when touched), and each table holds at most `maxKeys` keys (the
 * least recently charged is dropped first; a Map's insertion order is kept as recency order).
 */

/** The longest delay a throttle may impose (ORLY_FOLLOWS_THROTTLE_MAX's upper bound); the relay refuses longer ones. */
export const MAX_THROTTLE_DELAY_MS = 600_000;

export interface ThrottleOptions {
  /** Added per EVENT, ms (ORLY_FOLLOWS_THROTTLE_INCREMENT). */
  readonly incrementMs: number;
  /** Cap of each accumulator, ms (ORLY_FOLLOWS_THROTTLE_MAX). */
  readonly maxMs: number;
  /** Keys per table. Default 100,000. */
  readonly maxKeys?: number;
  /** Monotonic clock, ms. Default performance.now. */
  readonly now?: () => number;
  /** How often drained entries are swept, ms. Default 60 s. */
  readonly sweepEveryMs?: number;
}

interface Entry {
  /** The accumulated delay at `at`, ms. */
  acc: number;
  at: number;
}

/** One table of leaky accumulators. */
export class LeakyAccumulators {
  private readonly entries = new Map<string, Entry>();
  private lastSweep: number;

  constructor(
    private readonly incrementMs: number,
    private readonly maxMs: number,
    private readonly maxKeys: number,
    private readonly sweepEveryMs: number,
    now: number,
  ) {
    this.lastSweep = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Charges one EVENT to `key` and returns its accumulator afterwards. */
  charge(key: string, now: number): number {
    if (now - this.lastSweep >= this.sweepEveryMs) this.sweep(now);
    const entry = this.entries.get(key);
    const drained = entry === undefined ? 0 : Math.max(0, entry.acc - Math.max(0, now - entry.at));
    const acc = Math.min(this.maxMs, drained + this.incrementMs);
    // Re-inserted: the Map's order is the order of the last charge (least recent first).
    if (entry !== undefined) this.entries.delete(key);
    this.entries.set(key, { acc, at: now });
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return acc;
  }

  /** Drops every entry that has drained to 0. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (entry.acc - (now - entry.at) <= 0) this.entries.delete(key);
  }
}

export class FollowsThrottle {
  readonly incrementMs: number;
  readonly maxMs: number;
  private readonly now: () => number;
  private readonly byIp: LeakyAccumulators;
  private readonly byPubkey: LeakyAccumulators;

  constructor(options: ThrottleOptions) {
    if (!(options.incrementMs >= 0) || !(options.maxMs >= 0) || options.maxMs > MAX_THROTTLE_DELAY_MS)
      throw new RangeError(`throttle increment and max must be between 0 and ${MAX_THROTTLE_DELAY_MS} ms`);
    this.incrementMs = options.incrementMs;
    this.maxMs = options.maxMs;
    this.now = options.now ?? (() => performance.now());
    const maxKeys = options.maxKeys ?? 100_000;
    const sweepEvery = options.sweepEveryMs ?? 60_000;
    const t = this.now();
    this.byIp = new LeakyAccumulators(options.incrementMs, options.maxMs, maxKeys, sweepEvery, t);
    this.byPubkey = new LeakyAccumulators(options.incrementMs, options.maxMs, maxKeys, sweepEvery, t);
  }

  /** Charges one EVENT of `pubkey` from `ip` ("" = unknown: only the pubkey counts); returns its delay, ms. */
  charge(ip: string, pubkey: string): number {
    const now = this.now();
    const byPubkey = this.byPubkey.charge(pubkey, now);
    const byIp = ip === '' ? 0 : this.byIp.charge(ip, now);
    return Math.round(Math.max(byIp, byPubkey));
  }

  /** Keys held (IP table, pubkey table), for tests and metrics. */
  get sizes(): { readonly ips: number; readonly pubkeys: number } {
    return { ips: this.byIp.size, pubkeys: this.byPubkey.size };
  }
}
