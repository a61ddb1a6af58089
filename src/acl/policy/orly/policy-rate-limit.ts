/**
 * ORLY's per-rule `rate_limit` (bytes per second): one token bucket per rule and author,
 * holding at most one second of bytes (an event larger than a second's worth is refused: it
 * could never pass). Bounded: at most MAX_BUCKETS buckets; when full, the ones idle longest go
 * first (a Map keeps insertion order, and a bucket is moved to the end each time it is used).
 */
export const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class PolicyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** Takes `bytes` from the bucket of (rule, author); false when they are not there. */
  take(rule: string, author: string, bytesPerSecond: number, bytes: number, nowMs: number): boolean {
    const key = `${rule}\u0000${author}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: bytesPerSecond, at: nowMs };
      if (this.buckets.size >= MAX_BUCKETS) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
    } else {
      this.buckets.delete(key);
      bucket.tokens = Math.min(bytesPerSecond, bucket.tokens + ((nowMs - bucket.at) / 1000) * bytesPerSecond);
      bucket.at = nowMs;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens < bytes) return false;
    bucket.tokens -= bytes;
    return true;
  }

  clear(): void {
    this.buckets.clear();
  }
}
