/**
 * The StoreAdmin contract (deleteByIds, purgeExpired, stats; isOpen is checked by the
 * ClientStore contract's close test), over events stored through the ClientStore role.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClientStore, StoreAdmin } from '../../src/store/event-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';
import { type ContractFactory, stored, withStore } from './contract-kit.js';

export function registerStoreAdminContract(
  name: string,
  factory: ContractFactory<ClientStore & StoreAdmin>,
): void {
  describe(`StoreAdmin contract: ${name}`, () => {
    test(
      'deleteByIds removes without a tombstone',
      withStore(factory, async (store) => {
        const alice = newKey();
        const a = signedEvent(alice, { content: 'a' });
        const b = signedEvent(alice, { content: 'b' });
        stored(await store.save(a));
        stored(await store.save(b));
        assert.equal(await store.deleteByIds([a.id, '2'.repeat(64), 'bad']), 1);
        assert.equal(await store.deleteByIds([]), 0);
        assert.equal(await store.getById(a.id), undefined);
        assert.equal(stored(await store.save(a)).duplicate, false, 'no tombstone: it can be stored again');
      }),
    );

    test(
      'purgeExpired physically removes expired events',
      withStore(factory, async (store) => {
        const alice = newKey();
        const soon = signedEvent(alice, { tags: [['expiration', String(BASE_TIME + 10)]] });
        const later = signedEvent(alice, { content: 'l', tags: [['expiration', String(BASE_TIME + 1000)]] });
        const never = signedEvent(alice, { content: 'n' });
        for (const e of [soon, later, never]) stored(await store.save(e));
        assert.equal(await store.purgeExpired(BASE_TIME + 10), 1);
        assert.equal(await store.getById(soon.id), undefined);
        assert.ok(await store.getById(later.id));
        assert.equal(await store.purgeExpired(BASE_TIME + 10), 0);
        assert.equal(await store.purgeExpired(BASE_TIME + 5000), 1);
        assert.equal((await store.stats()).events, 1);
      }),
    );

    test(
      'stats: events and lastSerial',
      withStore(factory, async (store) => {
        const empty = await store.stats();
        assert.equal(empty.events, 0);
        assert.equal(empty.lastSerial, 0);
        const alice = newKey();
        let last = 0;
        for (let i = 0; i < 3; i++)
          last = stored(await store.save(signedEvent(alice, { content: `${i}` }))).serial;
        const stats = await store.stats();
        assert.equal(stats.events, 3);
        assert.equal(stats.lastSerial, last);
        assert.ok(stats.bytes > 0);
      }),
    );
  });
}
