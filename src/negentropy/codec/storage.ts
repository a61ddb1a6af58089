/**
 * Negentropy storage: the sealed, sorted (timestamp, id) set one side reconciles over.
 *
 * `NegentropyStorage` is what the reconciler needs (size, item access, lower-bound search,
 * range fingerprints); `SealedVector` implements it over the packed arrays the event store
 * returns (`NegentropyItems`: Float64Array timestamps, 32 bytes per id), without copying them.
 * Fingerprints are O(1)-ish: cumulative id sums are kept every BLOCK (4) items as normalized
 * 32-bit limbs (8 bytes per item next to the items' own 40), so a range sum is two block prefixes
 * plus at most 2 × (BLOCK − 1) ids; the upper prefix of one call is kept for the next, since
 * splitRange asks for adjacent buckets. Pure code, no I/O.
 */
import { Accumulator } from './fingerprint.js';
import { type Bound, ID_SIZE, MAX_U64, NegentropyError } from './types.js';

/** The store's item layout (structurally EventStore's NegentropyItems). */
export interface PackedItems {
  readonly count: number;
  readonly timestamps: Float64Array;
  readonly ids: Uint8Array;
}

export interface NegentropyStorage {
  readonly size: number;
  /** Timestamp of item i: an integer in [0, 2^53). */
  timestampAt(i: number): number;
  /** Id of item i (a 32-byte view, do not modify). */
  idAt(i: number): Uint8Array;
  /** The ids of items [begin, end), packed 32 bytes each (a view or a copy; do not modify). */
  idsBetween(begin: number, end: number): Uint8Array;
  /** First index in [begin, end) whose item is not less than `bound`, else `end`. */
  findLowerBound(begin: number, end: number, bound: Bound): number;
  /** Fingerprint of items [begin, end). */
  fingerprint(begin: number, end: number): Uint8Array;
}

/** Items per block of the prefix sums: at most BLOCK - 1 ids are added to a block prefix. */
const BLOCK = 4;
const LIMBS = 8;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A bound's timestamp as a number for comparisons with items (all of which are < 2^53). */
export function boundTimeNumber(bound: Bound): number {
  return bound.timestamp > MAX_SAFE ? Number.POSITIVE_INFINITY : Number(bound.timestamp);
}

/**
 * Compares item (ts, id at ids[off..off+32)) with a bound (timestamp as from boundTimeNumber,
 * id prefix): negative when the item is less, else 0 or positive.
 */
export function compareItemToBound(
  ts: number,
  ids: Uint8Array,
  off: number,
  boundTime: number,
  prefix: Uint8Array,
): number {
  if (ts !== boundTime) return ts < boundTime ? -1 : 1;
  for (let k = 0; k < prefix.length; k++) {
    const x = ids[off + k]!;
    const y = prefix[k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  // Equal prefix: the bound's missing bytes are zeros, so the item is >= the bound.
  return 0;
}

export class SealedVector implements NegentropyStorage {
  readonly size: number;
  private readonly timestamps: Float64Array;
  private readonly ids: Uint8Array;
  /** blockSums[k*8 .. k*8+8): normalized 32-bit limbs of the sum of ids [0, k*BLOCK). */
  private readonly blockSums: Uint32Array;
  private readonly scratch = new Accumulator();
  private readonly lowerScratch = new Accumulator();
  /** The normalized sum of ids [0, lastPrefixAt), from the last fingerprint() over a long range. */
  private readonly lastPrefix = new Accumulator();
  private lastPrefixAt = -1;

  private constructor(items: PackedItems) {
    this.size = items.count;
    this.timestamps = items.timestamps;
    this.ids = items.ids;
    const blocks = Math.floor(this.size / BLOCK) + 1;
    this.blockSums = new Uint32Array(blocks * LIMBS);
    const acc = new Accumulator();
    for (let k = 1; k < blocks; k++) {
      for (let i = (k - 1) * BLOCK; i < k * BLOCK; i++) acc.addId(this.ids, i * ID_SIZE);
      acc.normalize();
      this.blockSums.set(acc.limbs, k * LIMBS);
    }
  }

  /**
   * Seals items already sorted by (timestamp, id) with no duplicates, as the event store
   * returns them. Throws NegentropyError when they are not, or a timestamp is unusable.
   * The arrays are used in place.
   */
  static fromSorted(items: PackedItems): SealedVector {
    const { count, timestamps, ids } = items;
    if (!Number.isSafeInteger(count) || count < 0) throw new NegentropyError('bad item count');
    if (timestamps.length < count || ids.length < count * ID_SIZE)
      throw new NegentropyError('item arrays are shorter than the count');
    for (let i = 0; i < count; i++) {
      const ts = timestamps[i]!;
      if (!Number.isSafeInteger(ts) || ts < 0) throw new NegentropyError(`bad timestamp ${ts} for item ${i}`);
      if (i > 0) {
        const prev = timestamps[i - 1]!;
        if (prev > ts) throw new NegentropyError('items are not sorted by timestamp');
        if (prev === ts) {
          const c = compareIds(ids, (i - 1) * ID_SIZE, i * ID_SIZE);
          if (c > 0) throw new NegentropyError('items are not sorted by id');
          if (c === 0) throw new NegentropyError('duplicate item');
        }
      }
    }
    return new SealedVector({ count, timestamps, ids });
  }

  /** Sorts and seals arbitrary items (ids as 32-byte arrays or 64-char hex). Throws on duplicates. */
  static fromUnsorted(list: readonly { timestamp: number; id: Uint8Array | string }[]): SealedVector {
    const rows = list.map((item) => {
      const id = typeof item.id === 'string' ? Buffer.from(item.id, 'hex') : item.id;
      if (id.length !== ID_SIZE) throw new NegentropyError('bad id size for added item');
      return { timestamp: item.timestamp, id };
    });
    rows.sort((a, b) => a.timestamp - b.timestamp || Buffer.compare(a.id, b.id));
    const timestamps = new Float64Array(rows.length);
    const ids = new Uint8Array(rows.length * ID_SIZE);
    rows.forEach((row, i) => {
      timestamps[i] = row.timestamp;
      ids.set(row.id, i * ID_SIZE);
    });
    return SealedVector.fromSorted({ count: rows.length, timestamps, ids });
  }

  timestampAt(i: number): number {
    return this.timestamps[i]!;
  }

  idAt(i: number): Uint8Array {
    return this.ids.subarray(i * ID_SIZE, (i + 1) * ID_SIZE);
  }

  /** The packed ids of items [begin, end) (a view). */
  idsBetween(begin: number, end: number): Uint8Array {
    return this.ids.subarray(begin * ID_SIZE, end * ID_SIZE);
  }

  findLowerBound(begin: number, end: number, bound: Bound): number {
    this.checkBounds(begin, end);
    if (bound.timestamp === MAX_U64 && bound.id.length === 0) return end;
    const boundTime = boundTimeNumber(bound);
    const prefix = bound.id;
    let first = begin;
    let count = end - begin;
    while (count > 0) {
      const step = count >>> 1;
      const it = first + step;
      if (compareItemToBound(this.timestamps[it]!, this.ids, it * ID_SIZE, boundTime, prefix) < 0) {
        first = it + 1;
        count -= step + 1;
      } else {
        count = step;
      }
    }
    return first;
  }

  fingerprint(begin: number, end: number): Uint8Array {
    this.checkBounds(begin, end);
    const acc = this.scratch;
    acc.setToZero();
    if (end - begin <= 2 * BLOCK) {
      acc.addIds(this.ids, begin, end);
      return acc.fingerprint(end - begin);
    }
    // Prefix sums: splitRange asks for adjacent buckets, so the previous call's upper prefix
    // is usually this call's lower one (kept, normalized, in lastPrefix).
    const lower = this.lowerScratch;
    if (this.lastPrefixAt !== begin) {
      lower.setToZero();
      this.addPrefix(lower, begin);
      lower.normalize();
    } else {
      lower.limbs.set(this.lastPrefix.limbs);
    }
    this.addPrefix(acc, end);
    acc.normalize();
    this.lastPrefix.limbs.set(acc.limbs);
    this.lastPrefixAt = end;
    acc.sub(lower);
    return acc.fingerprint(end - begin);
  }

  /** acc += sum of ids [0, i). */
  private addPrefix(acc: Accumulator, i: number): void {
    const k = Math.floor(i / BLOCK);
    acc.addLimbs(this.blockSums, k * LIMBS);
    for (let j = k * BLOCK; j < i; j++) acc.addId(this.ids, j * ID_SIZE);
  }

  private checkBounds(begin: number, end: number): void {
    if (begin < 0 || begin > end || end > this.size) throw new NegentropyError('bad range');
  }
}

function compareIds(ids: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < ID_SIZE; k++) {
    const x = ids[a + k]!;
    const y = ids[b + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
