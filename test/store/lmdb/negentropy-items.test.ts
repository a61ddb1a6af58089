/**
 * ItemCollector: index keys in either scan order come out in negentropy order (ascending
 * created_at, then ascending id), with equal created_at groups of every size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderSuffix } from '../../../src/store/lmdb/index-keys.js';
import { ItemCollector } from '../../../src/store/lmdb/negentropy-items.js';
import { unsignedEvent } from '../../helpers/events.js';

function items(n: number, seed: number): { createdAt: number; id: Buffer }[] {
  let x = seed;
  const next = (): number => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x;
  };
  const out = [];
  for (let i = 0; i < n; i++) {
    const id = Buffer.alloc(32);
    for (let k = 0; k < 32; k++) id[k] = next() & 0xff;
    out.push({ createdAt: 1_700_000_000 + (next() % 7), id });
  }
  return out;
}

const ascending = (a: { createdAt: number; id: Buffer }, b: { createdAt: number; id: Buffer }): number =>
  a.createdAt - b.createdAt || Buffer.compare(a.id, b.id);

function keyOf(item: { createdAt: number; id: Buffer }, serial: number): Buffer {
  // An index key is a prefix plus the order suffix; a one-byte prefix stands for any index.
  const event = unsignedEvent('a'.repeat(64), { created_at: item.createdAt });
  return Buffer.concat([Buffer.of(1), orderSuffix(event, item.id, serial)]);
}

describe('ItemCollector', () => {
  for (const n of [0, 1, 2, 17, 1000, 5000]) {
    it(`returns ${n} items in negentropy order from both scan orders`, () => {
      const want = items(n, n + 1).sort(ascending);
      const newestFirst = new ItemCollector('newest-first', 4);
      const oldestFirst = new ItemCollector('oldest-first', 4);
      // Index order: newest created_at first, ascending ids within one created_at.
      const indexOrder = [...want].sort((a, b) => b.createdAt - a.createdAt || Buffer.compare(a.id, b.id));
      for (const [i, item] of indexOrder.entries()) newestFirst.push(keyOf(item, i));
      for (const [i, item] of [...indexOrder].reverse().entries()) oldestFirst.push(keyOf(item, i));
      for (const got of [newestFirst.finish(), oldestFirst.finish()]) {
        assert.equal(got.count, n);
        assert.deepEqual(
          Array.from(got.timestamps.subarray(0, n)),
          want.map((w) => w.createdAt),
        );
        assert.deepEqual(Buffer.from(got.ids.subarray(0, n * 32)), Buffer.concat(want.map((w) => w.id)));
      }
    });
  }
});
