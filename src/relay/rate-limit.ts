/**
 * Token buckets, and a bounded table of them keyed by client address.
 *
 * A bucket holds up to `burst` tokens and gains `perSecond` tokens a second; each admitted
 * message (or upgrade) takes one. A bucket left alone long enough to be full again is the same
 * as a new one, so the keyed table may forget it: idle entries are swept (oldest first, O(1)
 * amortised), and when the table is full the least recently used entry is evicted, which at
 * worst hands that address a fresh (full) bucket. An attacker cycling addresses therefore costs
 * at most `maxKeys` entries, never unbounded memory.
 *
 * Times are milliseconds from a monotonic clock (performance.now()), passed in for testability.
 */

export interface Rate {
  /** Tokens gained per second (> 0). */
  readonly perSecond: number;
  /** Bucket capacity: how many may pass at once after a quiet spell (>= 1). */
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: Rate,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) / 1000) * this.rate.perSecond);
    this.last = now;
  }

  /** Whether a token is available now (nothing is taken). */
  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    if (!this.has(now)) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 if one is). */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000);
  }

  /** When the bucket was last refilled (i.e. last used). */
  get lastUsed(): number {
    return this.last;
  }
}

/** Milliseconds after which an unused bucket of this rate is surely full again. */
function refillMs(rate: Rate): number {
  return Math.ceil((rate.burst / rate.perSecond) * 1000);
}

/** One bucket per key (a client address), bounded to `maxKeys` entries, idle ones forgotten. */
export class KeyedBuckets {
  /** Insertion order is least recently used first: a used key is moved to the end. */
  private readonly table = new Map<string, TokenBucket>();
  private readonly idleMs: number;

  constructor(
    readonly rate: Rate,
    private readonly maxKeys: number,
  ) {
    this.idleMs = refillMs(rate);
  }

  /** The bucket of `key` (a full one for a key not seen recently). */
  bucket(key: string, now: number): TokenBucket {
    const known = this.table.get(key);
    if (known !== undefined) {
      this.table.delete(key);
      this.table.set(key, known);
      return known;
    }
    this.sweep(now);
    if (this.table.size >= this.maxKeys) {
      const oldest = this.table.keys().next();
      if (!oldest.done) this.table.delete(oldest.value);
    }
    const fresh = new TokenBucket(this.rate, now);
    this.table.set(key, fresh);
    return fresh;
  }

  /** Forgets buckets unused long enough to be full again (oldest first; stops at the first recent one). */
  sweep(now: number): void {
    for (const [key, bucket] of this.table) {
      if (now - bucket.lastUsed < this.idleMs) return;
      this.table.delete(key);
    }
  }

  get size(): number {
    return this.table.size;
  }
}
