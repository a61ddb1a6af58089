/**
 * K-way merge of index ranges into one stream of index keys in result order (newest first,
 * ties by lowest id), with duplicates (one event reached through several ranges) dropped.
 * Lazy: cursors advance only as the consumer pulls, and closing the generator closes them.
 */
import { readInvertedTime, readSerial } from './codec.js';
import { type KeyRange, SUFFIX_ID, SUFFIX_LEN, SUFFIX_SERIAL } from './index-keys.js';

/** The part of lmdb's Database this module needs. */
export interface KeyScanner {
  getKeys(options: { start: Buffer; end: Buffer }): Iterable<Buffer>;
}

/** One range's current key, with its created_at decoded once for cheap comparisons. */
interface Head {
  key: Buffer;
  createdAt: number;
  readonly it: Iterator<Buffer>;
}

function before(a: Head, b: Head): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  const ao = a.key.length - SUFFIX_LEN + SUFFIX_ID;
  const bo = b.key.length - SUFFIX_LEN + SUFFIX_ID;
  return a.key.compare(b.key, bo, bo + 32, ao, ao + 32) < 0;
}

function createdAtOf(key: Buffer): number {
  return readInvertedTime(key, key.length - SUFFIX_LEN);
}

export function* mergeRanges(
  db: KeyScanner,
  ranges: readonly KeyRange[],
): Generator<Buffer, void, undefined> {
  if (ranges.length === 1) {
    yield* db.getKeys(ranges[0]!);
    return;
  }
  const iterators: Iterator<Buffer>[] = [];
  const heap: Head[] = [];
  try {
    for (const range of ranges) {
      const it = db.getKeys(range)[Symbol.iterator]();
      iterators.push(it);
      const first = it.next();
      if (first.done) continue;
      heap.push({ key: first.value, createdAt: createdAtOf(first.value), it });
    }
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    let previousSerial = -1;
    while (heap.length > 0) {
      const top = heap[0]!;
      const key = top.key;
      const next = top.it.next();
      if (next.done) {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          siftDown(heap, 0);
        }
      } else {
        top.key = next.value;
        top.createdAt = createdAtOf(next.value);
        siftDown(heap, 0);
      }
      // The same event reached through two ranges arrives twice in a row.
      const serial = readSerial(key, key.length - SUFFIX_LEN + SUFFIX_SERIAL);
      if (serial === previousSerial) continue;
      previousSerial = serial;
      yield key;
    }
  } finally {
    for (const it of iterators) it.return?.();
  }
}

function siftDown(heap: Head[], index: number): void {
  const n = heap.length;
  const item = heap[index]!;
  let i = index;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
    if (!before(heap[child]!, item)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = item;
}
