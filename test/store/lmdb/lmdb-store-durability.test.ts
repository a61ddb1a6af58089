/**
 * LmdbEventStore (real LMDB, real signed events): data and serials survive close and reopen,
 * saves queued before close are committed, eventsSince, negentropyItems, admin removal
 * (deleteByIds, no tombstone) and a closed store refusing work.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reasons } from '../../../src/errors.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { rejected, stored, tags, useTempStore } from './lmdb-store-fixtures.js';

const db = useTempStore();

describe('LmdbEventStore: durability, sync and admin', () => {
  test('data survives close and reopen, and serials continue', async () => {
    const alice = newKey();
    const first = signedEvent(alice, { created_at: BASE_TIME });
    stored(await db.store.save(first));
    stored(await db.store.save(signedEvent(alice, { kind: 0, created_at: BASE_TIME })));
    await db.store.close();
    await db.store.close();
    assert.equal(db.store.isOpen(), false);
    db.store = LmdbEventStore.open(db.dir);
    assert.equal(db.store.isOpen(), true);
    assert.equal(await db.store.lastSerial(), 2);
    assert.ok(await db.store.getById(first.id));
    const next = stored(await db.store.save(signedEvent(alice, { created_at: BASE_TIME + 1 })));
    assert.equal(next.serial, 3);
    rejected(
      await db.store.save(signedEvent(alice, { kind: 0, created_at: BASE_TIME - 1 })),
      Reasons.olderReplaceable,
    );
  });

  test('saves queued right before close are committed', async () => {
    const alice = newKey();
    const events = Array.from({ length: 20 }, (_, i) => signedEvent(alice, { created_at: BASE_TIME + i }));
    const pending = events.map((e) => db.store.save(e));
    await db.store.close();
    for (const result of await Promise.all(pending)) stored(result);
    db.store = LmdbEventStore.open(db.dir);
    assert.equal((await db.store.stats()).events, 20);
  });

  test('eventsSince walks serials in ascending order', async () => {
    const alice = newKey();
    const events = Array.from({ length: 6 }, (_, i) =>
      signedEvent(alice, { created_at: BASE_TIME + 10 - i }),
    );
    for (const e of events) stored(await db.store.save(e));
    await db.store.deleteByIds([events[2]!.id]);
    const collect = async (after: number, limit: number) => {
      const out: number[] = [];
      for await (const e of db.store.eventsSince(after, limit)) out.push(e.serial);
      return out;
    };
    assert.deepEqual(await collect(0, 100), [1, 2, 4, 5, 6]);
    assert.deepEqual(await collect(2, 2), [4, 5]);
    assert.deepEqual(await collect(6, 10), []);
    assert.deepEqual(await collect(0, 0), []);
  });

  test('negentropyItems: ascending by created_at then id, and undefined above max', async () => {
    const alice = newKey();
    const events: NostrEvent[] = [];
    for (let i = 0; i < 9; i++)
      events.push(signedEvent(alice, { content: `${i}`, created_at: BASE_TIME + (i % 3) }));
    for (const e of events) stored(await db.store.save(e));
    const expected = [...events].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    for (const filter of [{}, { authors: [alice.pubkey], limit: 1 }, { ids: events.map((e) => e.id) }]) {
      const items = await db.store.negentropyItems(filter, 100);
      assert.ok(items);
      assert.equal(items.count, 9);
      assert.deepEqual(
        [...items.timestamps],
        expected.map((e) => e.created_at),
      );
      const got = Array.from({ length: 9 }, (_, i) =>
        Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'),
      );
      assert.deepEqual(
        got,
        expected.map((e) => e.id),
      );
    }
    assert.equal(await db.store.negentropyItems({}, 8), undefined);
    assert.equal((await db.store.negentropyItems({ kinds: [2] }, 0))?.count, 0);
  });

  test('deleteByIds removes without a tombstone', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { tags: [['t', 'gone']] });
    stored(await db.store.save(note));
    assert.equal(await db.store.deleteByIds([note.id, '0'.repeat(64), 'junk']), 1);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['gone'] }) }), []);
    assert.equal(stored(await db.store.save(note)).duplicate, false);
  });

  test('a closed store refuses work', async () => {
    await db.store.close();
    assert.equal(db.store.isOpen(), false);
    const result = await db.store.save(signedEvent(newKey()));
    assert.equal(result.stored, false);
    await assert.rejects(db.store.count([{}]));
  });
});
