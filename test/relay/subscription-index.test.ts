/**
 * The live-subscription index must report exactly the subscriptions a naive scan would,
 * each once, for random filters and events; and forget removed subscriptions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { matchAny, type NormalizedFilter } from '../../src/protocol/filter.js';
import { type Indexable, SubscriptionIndex } from '../../src/relay/subscription-index.js';

class Sub implements Indexable {
  lastMatchEpoch = 0;
  constructor(
    readonly name: number,
    readonly filters: NormalizedFilter[],
  ) {}
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const hex = (n: number) => n.toString(16).padStart(64, '0');

test('forEachMatch equals a naive scan over random filters and events', () => {
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const some = <T>(xs: T[]) => xs.filter(() => r() < 0.3).slice(0, 3);
  const authors = [1, 2, 3, 4, 5].map(hex);
  const ids = [10, 11, 12, 13].map(hex);
  const kinds = [0, 1, 3, 7, 30023];
  const tValues = ['a', 'b', 'c'];
  const randomFilter = (): NormalizedFilter => {
    const f: { -readonly [K in keyof NormalizedFilter]: NormalizedFilter[K] } = {};
    if (r() < 0.2) f.ids = some(ids);
    if (r() < 0.4) f.authors = some(authors);
    if (r() < 0.5) f.kinds = some(kinds);
    if (r() < 0.4) f.tags = new Map([['t', some(tValues)]]);
    if (r() < 0.2) f.since = Math.floor(r() * 100);
    if (r() < 0.2) f.until = Math.floor(r() * 100) + 50;
    return f;
  };
  const index = new SubscriptionIndex<Sub>();
  const subs: Sub[] = [];
  for (let i = 0; i < 300; i++) {
    const sub = new Sub(i, Array.from({ length: 1 + Math.floor(r() * 3) }, randomFilter));
    subs.push(sub);
    index.add(sub);
  }
  // Remove a third, to check removal bookkeeping.
  const live = subs.filter((s) => {
    if (r() < 0.33) {
      index.remove(s);
      return false;
    }
    return true;
  });
  assert.equal(index.size, live.length);
  for (let i = 0; i < 2000; i++) {
    const event: NostrEvent = {
      id: pick(ids),
      pubkey: pick(authors),
      created_at: Math.floor(r() * 150),
      kind: pick(kinds),
      tags: some(tValues).map((v) => ['t', v]),
      content: '',
      sig: '',
    };
    const got: number[] = [];
    index.forEachMatch(event, (s) => got.push(s.name));
    const expected = live.filter((s) => matchAny(s.filters, event)).map((s) => s.name);
    assert.deepEqual(
      got.sort((a, b) => a - b),
      expected,
      `event ${JSON.stringify(event)}`,
    );
  }
});

test('removing every subscription empties every bucket', () => {
  const index = new SubscriptionIndex<Sub>();
  const subs = [
    new Sub(1, [{ kinds: [1] }, { authors: [hex(1)] }]),
    new Sub(2, [{}]),
    new Sub(3, [{ tags: new Map([['p', [hex(2)]]]) }]),
  ];
  for (const s of subs) index.add(s);
  for (const s of subs) index.remove(s);
  assert.equal(index.size, 0);
  let called = 0;
  index.forEachMatch(
    { id: hex(9), pubkey: hex(1), created_at: 1, kind: 1, tags: [['p', hex(2)]], content: '', sig: '' },
    () => called++,
  );
  assert.equal(called, 0);
});
