/**
 * The SyncSource contract (eventsSince, lastSerial, negentropyItems), over events stored
 * through the store's ClientStore role.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClientStore, SyncSource } from '../../src/store/event-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';
import { type ContractFactory, stored, withStore } from './contract-kit.js';

export function registerSyncSourceContract(
  name: string,
  factory: ContractFactory<ClientStore & SyncSource>,
): void {
  describe(`SyncSource contract: ${name}`, () => {
    test(
      'eventsSince and lastSerial',
      withStore(factory, async (store) => {
        assert.equal(await store.lastSerial(), 0);
        const alice = newKey();
        const serials: number[] = [];
        for (let i = 0; i < 5; i++) {
          serials.push(stored(await store.save(signedEvent(alice, { content: `s${i}` }))).serial);
        }
        assert.equal(await store.lastSerial(), serials[4]);
        const all: number[] = [];
        for await (const s of store.eventsSince(0, 100)) all.push(s.serial);
        assert.deepEqual(all, serials);
        const page: string[] = [];
        for await (const s of store.eventsSince(serials[1]!, 2)) page.push(s.event.content);
        assert.deepEqual(page, ['s2', 's3']);
        const none: number[] = [];
        for await (const s of store.eventsSince(serials[4]!, 10)) none.push(s.serial);
        for await (const s of store.eventsSince(0, 0)) none.push(s.serial);
        assert.deepEqual(none, []);
      }),
    );

    test(
      'negentropyItems: ascending (created_at, id); undefined past max',
      withStore(factory, async (store) => {
        const alice = newKey();
        const events = [
          signedEvent(alice, { content: 'x', created_at: BASE_TIME + 2 }),
          signedEvent(alice, { content: 'y', created_at: BASE_TIME }),
          signedEvent(alice, { content: 'z', created_at: BASE_TIME }),
          signedEvent(alice, { content: 'w', created_at: BASE_TIME + 1 }),
        ];
        for (const e of events) stored(await store.save(e));
        const items = await store.negentropyItems({ authors: [alice.pubkey] }, 10);
        assert.ok(items);
        assert.equal(items.count, 4);
        const expected = [...events].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
        assert.deepEqual(
          [...items.timestamps],
          expected.map((e) => e.created_at),
        );
        const idsHex = Array.from({ length: items.count }, (_, i) =>
          Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'),
        );
        assert.deepEqual(
          idsHex,
          expected.map((e) => e.id),
        );
        assert.equal(await store.negentropyItems({ authors: [alice.pubkey] }, 3), undefined);
        const empty = await store.negentropyItems({ kinds: [9999] }, 3);
        assert.equal(empty?.count, 0);
      }),
    );
  });
}
