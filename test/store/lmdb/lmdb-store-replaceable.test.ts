/**
 * LmdbEventStore (real LMDB, real signed events): replaceable and addressable events. A newer
 * version replaces the older one and an older one is rejected, ties on created_at go to the
 * lowest id in either arrival order, addresses are keyed by the d tag (missing = ""), and a
 * replaced version leaves no index entries behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reasons } from '../../../src/errors.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { rejected, stored, tags, tiedPair, useTempStore } from './lmdb-store-fixtures.js';

const db = useTempStore();

describe('LmdbEventStore: replaceable and addressable events', () => {
  test('a newer replaceable event replaces the older one; an older one is rejected', async () => {
    const alice = newKey();
    const v1 = signedEvent(alice, { kind: 0, content: 'v1', created_at: BASE_TIME });
    const v2 = signedEvent(alice, { kind: 0, content: 'v2', created_at: BASE_TIME + 10 });
    stored(await db.store.save(v1));
    assert.deepEqual(stored(await db.store.save(v2)).removed, [v1.id]);
    assert.equal(await db.store.getById(v1.id), undefined);
    rejected(await db.store.save(v1), Reasons.olderReplaceable);
    assert.deepEqual(await db.ids({ kinds: [0] }), [v2.id]);
    assert.deepEqual(await db.ids({ authors: [alice.pubkey], kinds: [0] }), [v2.id]);
    assert.equal((await db.store.stats()).events, 1);
  });

  test('replaceable tie on created_at: the lowest id wins, in either arrival order', async () => {
    const alice = newKey();
    const [low, high] = tiedPair(alice, { kind: 10002, created_at: BASE_TIME });
    stored(await db.store.save(low));
    rejected(await db.store.save(high), Reasons.olderReplaceable);
    assert.deepEqual(await db.ids({ kinds: [10002] }), [low.id]);

    const bob = newKey();
    const [low2, high2] = tiedPair(bob, { kind: 3, created_at: BASE_TIME });
    stored(await db.store.save(high2));
    assert.deepEqual(stored(await db.store.save(low2)).removed, [high2.id]);
    assert.deepEqual(await db.ids({ authors: [bob.pubkey] }), [low2.id]);
  });

  test('addressable events are keyed by d tag; a missing d tag equals d=""', async () => {
    const alice = newKey();
    const a1 = signedEvent(alice, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME });
    const b1 = signedEvent(alice, { kind: 30023, tags: [['d', 'b']], created_at: BASE_TIME });
    const none = signedEvent(alice, { kind: 30023, tags: [], created_at: BASE_TIME });
    const empty = signedEvent(alice, { kind: 30023, tags: [['d', '']], created_at: BASE_TIME + 1 });
    const bare = signedEvent(alice, { kind: 30023, tags: [['d']], created_at: BASE_TIME + 2 });
    for (const e of [a1, b1, none]) assert.deepEqual(stored(await db.store.save(e)).removed, []);
    assert.deepEqual(stored(await db.store.save(empty)).removed, [none.id]);
    assert.deepEqual(stored(await db.store.save(bare)).removed, [empty.id]);
    const a2 = signedEvent(alice, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME + 5 });
    assert.deepEqual(stored(await db.store.save(a2)).removed, [a1.id]);
    rejected(await db.store.save(a1), Reasons.olderAddressable);
    const all = await db.ids({ kinds: [30023] });
    assert.deepEqual(new Set(all), new Set([a2.id, b1.id, bare.id]));
    // Other authors and other kinds have their own addresses.
    const bob = newKey();
    stored(await db.store.save(signedEvent(bob, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME })));
    stored(
      await db.store.save(signedEvent(alice, { kind: 30024, tags: [['d', 'a']], created_at: BASE_TIME })),
    );
    assert.equal((await db.store.stats()).events, 5);
  });

  test('addressable tie on created_at: the lowest id wins, in either arrival order', async () => {
    const alice = newKey();
    const [low, high] = tiedPair(alice, { kind: 30000, tags: [['d', 'x']], created_at: BASE_TIME });
    stored(await db.store.save(low));
    rejected(await db.store.save(high), Reasons.olderAddressable);
    const [low2, high2] = tiedPair(alice, { kind: 30000, tags: [['d', 'y']], created_at: BASE_TIME });
    stored(await db.store.save(high2));
    assert.deepEqual(stored(await db.store.save(low2)).removed, [high2.id]);
    assert.deepEqual(new Set(await db.ids({ kinds: [30000] })), new Set([low.id, low2.id]));
  });

  test('a replaced version leaves no index entries behind', async () => {
    const alice = newKey();
    const v1 = signedEvent(alice, {
      kind: 30001,
      tags: [
        ['d', 'list'],
        ['t', 'old'],
        ['p', alice.pubkey],
      ],
    });
    const v2 = signedEvent(alice, {
      kind: 30001,
      tags: [
        ['d', 'list'],
        ['t', 'new'],
      ],
      created_at: BASE_TIME + 1,
    });
    stored(await db.store.save(v1));
    stored(await db.store.save(v2));
    assert.deepEqual(await db.ids({ tags: tags({ t: ['old'] }) }), []);
    assert.deepEqual(await db.ids({ tags: tags({ p: [alice.pubkey] }) }), []);
    assert.deepEqual(await db.ids({ tags: tags({ d: ['list'] }) }), [v2.id]);
    assert.deepEqual(await db.ids({}), [v2.id]);
  });
});
