/**
 * Scans that run in slices (strfry's timeslice model): each keeps its cursors between calls of
 * run(), which works until the scan ends or `due()` says the slice is used up. lmdb-js keeps a
 * suspended cursor's read snapshot alive when the thread's read transaction is renewed, so a
 * paused scan continues on the snapshot it started with (reads of event bodies use the current
 * one: an event removed meanwhile is skipped). close() releases the cursors.
 *
 * FilterScan visits one REQ filter's results in query order; CountScan counts the events
 * matching any of several filters, up to `max` matches and `maxScan` candidates of countable
 * kinds (candidates of excluded kinds are skipped by the kind in their index key, outside the
 * budget, so the answer never depends on them).
 */
import type { NostrEvent } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import type { CountResult, Timeslice } from '../event-store.js';
import { readSerial } from './codec.js';
import { SUFFIX_LEN, SUFFIX_SERIAL } from './index-keys.js';
import { planQuery } from './query-plan.js';
import { acceptView, candidates, checkOf, matches, readKind } from './read-path.js';
import type { LmdbTables } from './tables.js';

/** Called with each result: its stored JSON as a view valid only during the call, its kind, the parsed event when a check needed it. False stops. */
export type ScanVisitor = (json: Buffer, kind: number, parsed: NostrEvent | undefined) => boolean;

export class FilterScan {
  private readonly keys: Iterator<Buffer> | undefined;
  private readonly check;
  private readonly limit: number;
  private visited = 0;
  private finished = false;

  constructor(
    private readonly t: LmdbTables,
    private readonly filter: NormalizedFilter,
    private readonly now: number,
  ) {
    this.limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const plan = this.limit === 0 || matchesNothing(filter) ? undefined : planQuery(filter);
    this.check = plan === undefined ? undefined : checkOf(plan);
    this.keys = plan === undefined ? undefined : candidates(t, plan)[Symbol.iterator]();
    if (plan === undefined) this.finished = true;
  }

  /** Visits results until the scan ends or visit() returns false (true), or due() turns true first (false: call again). */
  run(visit: ScanVisitor, due: () => boolean): boolean {
    if (this.finished) return true;
    const keys = this.keys!;
    for (;;) {
      if (due()) return false;
      const next = keys.next();
      if (next.done) return this.end();
      const hit = acceptView(this.t, next.value, this.filter, this.check!, this.now);
      if (hit === undefined) continue;
      if (!visit(hit.view, hit.kind, hit.event) || ++this.visited >= this.limit) return this.end();
    }
  }

  close(): void {
    this.end();
  }

  private end(): true {
    if (!this.finished) this.keys?.return?.();
    this.finished = true;
    return true;
  }
}

export interface CountLimits {
  readonly now: number;
  /** Stop at this many matches. */
  readonly max: number;
  /** Stop after this many candidates of countable kinds. */
  readonly maxScan: number;
  readonly excludeKinds?: ReadonlySet<number>;
}

export class CountScan {
  private readonly filters: NormalizedFilter[];
  private index = 0;
  private keys: Iterator<Buffer> | undefined;
  private check: ReturnType<typeof checkOf> | undefined;
  /** Serials seen, when several filters could reach one event twice. */
  private readonly seen: Set<number> | undefined;
  private total = 0;
  private scanned = 0;
  private stopped: 'complete' | 'approximate' | undefined;

  constructor(
    private readonly t: LmdbTables,
    filters: readonly NormalizedFilter[],
    private readonly limits: CountLimits,
  ) {
    this.filters = filters.filter((f) => !matchesNothing(f));
    this.seen = this.filters.length > 1 ? new Set() : undefined;
    if (this.filters.length === 0) this.stopped = 'complete';
  }

  /** Counts until the answer is known (true), or due() turns true first (false: call again). */
  run(due: () => boolean): boolean {
    const { now, max, maxScan, excludeKinds } = this.limits;
    while (this.stopped === undefined) {
      if (this.keys === undefined) {
        const plan = planQuery(this.filters[this.index]!);
        this.check = checkOf(plan);
        this.keys = candidates(this.t, plan)[Symbol.iterator]();
      }
      const filter = this.filters[this.index]!;
      for (;;) {
        if (due()) return false;
        const next = this.keys.next();
        if (next.done) {
          this.keys = undefined;
          if (++this.index === this.filters.length) this.stop('complete');
          break;
        }
        const key = next.value;
        if (excludeKinds?.has(readKind(key, key.length - SUFFIX_LEN))) continue;
        if (++this.scanned > maxScan) {
          this.stop('approximate');
          break;
        }
        if (!matches(this.t, key, filter, this.check!, now)) continue;
        if (this.seen === undefined) this.total++;
        else this.seen.add(readSerial(key, key.length - SUFFIX_LEN + SUFFIX_SERIAL));
        if (this.counted() >= max) {
          this.stop('approximate');
          break;
        }
      }
    }
    return true;
  }

  /** The answer once run() returned true. */
  result(): CountResult {
    return { count: Math.min(this.counted(), this.limits.max), approximate: this.stopped === 'approximate' };
  }

  close(): void {
    if (this.stopped === undefined) this.stop('approximate');
  }

  private counted(): number {
    return this.seen?.size ?? this.total;
  }

  private stop(how: 'complete' | 'approximate'): void {
    this.keys?.return?.();
    this.keys = undefined;
    this.stopped = how;
  }
}

/** A due() that turns true once every `every` calls. */
export function everyNth(every: number): () => boolean {
  let n = 0;
  return () => ++n % every === 0;
}

/** A due() that turns true once `ms` have passed (checking the clock every 64 calls). */
export function afterMs(ms: number): () => boolean {
  const deadline = performance.now() + ms;
  let n = 0;
  return () => (++n & 63) === 0 && performance.now() >= deadline;
}

/**
 * Runs a count in the event loop: pausing in `slice` whenever it is used, or without one
 * yielding to the loop every `yieldEvery` candidates. Closes the scan.
 */
export async function runCountScan(
  scan: CountScan,
  slice: Timeslice | undefined,
  yieldEvery: number,
): Promise<CountResult> {
  try {
    if (slice === undefined) {
      const due = everyNth(yieldEvery);
      while (!scan.run(due)) await new Promise((resolve) => setImmediate(resolve));
    } else {
      let n = 0;
      while (!scan.run(() => (++n & 255) === 0 && slice.expired())) await slice.pause();
    }
    return scan.result();
  } finally {
    scan.close();
  }
}
