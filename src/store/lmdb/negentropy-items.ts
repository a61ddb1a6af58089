/**
 * Negentropy item collection from index keys: every index key ends with the same suffix
 * (inverted created_at, id, serial, kind, flags), so a key-only index scan yields the
 * (created_at, id) items without reading an event. Keys arrive either in index order (newest
 * first, equal created_at by ascending id) or in reverse index order (a reverse scan: oldest
 * first, equal created_at by descending id); `finish()` returns them in negentropy order
 * (ascending created_at, then id) in two packed arrays. Measured at 1,000,000 items: the scan is
 * bound by lmdb-js's key iteration (~0.26 µs per key here); this collector adds ~0.1 µs per item
 * (no per-item allocations: growable typed arrays, ids copied byte by byte; a reverse scan is
 * finished in place).
 */
import { nowSeconds } from '../../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../../protocol/filter.js';
import type { NegentropyItems } from '../event-store.js';
import { readInvertedTime } from './codec.js';
import { SUFFIX_ID, SUFFIX_LEN } from './index-keys.js';
import { planQuery } from './query-plan.js';
import { candidates, checkOf, matches } from './read-path.js';
import type { LmdbTables } from './tables.js';

/** Keys examined between turns of the event loop. */
const YIELD_EVERY = 20_000;

/**
 * The (created_at, id) items of every stored, unexpired event matching `filter`, or undefined
 * when there are more than `max`. `stored` is the number of events in the store (sizes the
 * arrays of a whole-store scan once); `yieldToLoop` is awaited every YIELD_EVERY keys.
 */
export async function collectNegentropyItems(
  t: LmdbTables,
  filter: NormalizedFilter,
  max: number,
  stored: number,
  yieldToLoop: () => Promise<void>,
): Promise<NegentropyItems | undefined> {
  const now = nowSeconds();
  const unlimited: NormalizedFilter = { ...filter, limit: undefined };
  const plan = matchesNothing(unlimited) ? undefined : planQuery(unlimited);
  // One range (the common case: no filter, since/until, one kind or author): lmdb's key
  // iterator directly, oldest first (no merge generator, finished in place).
  const single = plan?.type === 'index' && plan.ranges.length === 1 ? plan.ranges[0]! : undefined;
  // The created_at index holds one key per event: size the arrays once (no growth copies).
  const capacity =
    plan?.type === 'index' && plan.index === 'created' ? Math.min(stored + 1, max + 1) : undefined;
  const items = new ItemCollector(single ? 'oldest-first' : 'newest-first', capacity);
  if (plan !== undefined) {
    const check = checkOf(plan);
    const keys = single
      ? t.index.getKeys({ start: single.end, end: single.start, reverse: true })
      : candidates(t, plan);
    let work = 0;
    for (const key of keys) {
      if (++work % YIELD_EVERY === 0) await yieldToLoop();
      if (!matches(t, key, unlimited, check, now)) continue;
      if (items.count >= max) return undefined;
      items.push(key);
    }
  }
  return items.finish();
}

const ID_SIZE = 32;

export class ItemCollector {
  count = 0;
  private times: Float64Array;
  private ids: Uint8Array;

  constructor(
    private readonly order: 'newest-first' | 'oldest-first',
    capacity = 1024,
  ) {
    this.times = new Float64Array(Math.max(16, capacity));
    this.ids = new Uint8Array(this.times.length * ID_SIZE);
  }

  /** Adds the item of one index key. */
  push(key: Uint8Array): void {
    const n = this.count;
    if (n === this.times.length) this.grow();
    const off = key.length - SUFFIX_LEN;
    this.times[n] = readInvertedTime(key, off);
    const ids = this.ids;
    const to = n * ID_SIZE;
    const from = off + SUFFIX_ID;
    for (let k = 0; k < ID_SIZE; k++) ids[to + k] = key[from + k]!;
    this.count = n + 1;
  }

  /** The items in ascending (created_at, id) order. */
  finish(): NegentropyItems {
    return this.order === 'oldest-first' ? this.finishInPlace() : this.finishReversed();
  }

  /** Oldest first already: reverse each created_at group's ids in place, then trim. */
  private finishInPlace(): NegentropyItems {
    const count = this.count;
    const times = this.times;
    const ids = this.ids;
    let start = 0;
    while (start < count) {
      const createdAt = times[start]!;
      let end = start + 1;
      while (end < count && times[end] === createdAt) end++;
      for (let a = start, b = end - 1; a < b; a++, b--) {
        const ao = a * ID_SIZE;
        const bo = b * ID_SIZE;
        for (let k = 0; k < ID_SIZE; k++) {
          const t = ids[ao + k]!;
          ids[ao + k] = ids[bo + k]!;
          ids[bo + k] = t;
        }
      }
      start = end;
    }
    // Keep what the items need: views when the slack is small, else exact copies.
    const trim = times.length > count + (count >> 3) + 16;
    return {
      count,
      timestamps: trim ? times.slice(0, count) : times.subarray(0, count),
      ids: trim ? ids.slice(0, count * ID_SIZE) : ids.subarray(0, count * ID_SIZE),
    };
  }

  /** Newest first: the created_at groups in reverse, each group in its own (ascending id) order. */
  private finishReversed(): NegentropyItems {
    const count = this.count;
    const times = this.times;
    const packed = this.ids;
    const timestamps = new Float64Array(count);
    const ids = new Uint8Array(count * ID_SIZE);
    let out = 0;
    let groupEnd = count;
    while (groupEnd > 0) {
      const createdAt = times[groupEnd - 1]!;
      let groupStart = groupEnd - 1;
      while (groupStart > 0 && times[groupStart - 1] === createdAt) groupStart--;
      timestamps.fill(createdAt, out, out + groupEnd - groupStart);
      ids.set(packed.subarray(groupStart * ID_SIZE, groupEnd * ID_SIZE), out * ID_SIZE);
      out += groupEnd - groupStart;
      groupEnd = groupStart;
    }
    return { count, timestamps, ids };
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    const ids = new Uint8Array(times.length * ID_SIZE);
    ids.set(this.ids);
    this.times = times;
    this.ids = ids;
  }
}
