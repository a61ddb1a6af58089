/**
 * LmdbEventStore against a real LMDB file in a temp directory, with real signed events: saving,
 * getting by id and querying (serials from 1), duplicates (also concurrent ones), ephemeral
 * kinds refused, and stats.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { stored, useTempStore } from './lmdb-store-fixtures.js';

const db = useTempStore();

describe('LmdbEventStore: basic storage', () => {
  test('saves, gets by id and queries; serials start at 1', async () => {
    const alice = newKey();
    const event = signedEvent(alice, { content: 'hello', tags: [['t', 'nostr']] });
    const result = stored(await db.store.save(event));
    assert.equal(result.duplicate, false);
    assert.equal(result.serial, 1);
    assert.deepEqual(result.removed, []);
    const got = await db.store.getById(event.id);
    assert.ok(got);
    assert.equal(got.serial, 1);
    assert.deepEqual(got.event, event);
    assert.equal(got.raw, JSON.stringify(event));
    assert.deepEqual(await db.ids({ authors: [alice.pubkey] }), [event.id]);
    assert.equal(await db.store.lastSerial(), 1);
    assert.equal(await db.store.getById('0'.repeat(64)), undefined);
    assert.equal(await db.store.getById('not hex'), undefined);
  });

  test('a duplicate reports the existing serial, also when both arrive concurrently', async () => {
    const alice = newKey();
    const event = signedEvent(alice);
    const [first, second] = await Promise.all([db.store.save(event), db.store.save(event)]);
    assert.deepEqual(first, { stored: true, duplicate: false, serial: 1, removed: [] });
    assert.deepEqual(second, { stored: true, duplicate: true, serial: 1, removed: [] });
    assert.deepEqual(await db.store.save(event), { stored: true, duplicate: true, serial: 1, removed: [] });
    assert.equal((await db.store.stats()).events, 1);
  });

  test('ephemeral kinds are refused loudly', async () => {
    await assert.rejects(db.store.save(signedEvent(newKey(), { kind: 20001 })));
  });

  test('stats report events, bytes and the last serial', async () => {
    const alice = newKey();
    for (let i = 0; i < 3; i++) await db.store.save(signedEvent(alice, { created_at: BASE_TIME + i }));
    const stats = await db.store.stats();
    assert.equal(stats.events, 3);
    assert.equal(stats.lastSerial, 3);
    assert.ok(stats.bytes > 0);
  });
});
