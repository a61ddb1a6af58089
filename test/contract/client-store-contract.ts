/**
 * The ClientStore contract (save, query, count, getById, close): what every store must do for
 * the relay, with real signed events. The close test also reads `isOpen` (StoreAdmin).
 *
 *   registerClientStoreContract('LmdbEventStore', async () => ({ store, cleanup }));
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reasons } from '../../src/errors.js';
import type { ClientStore, StoreAdmin } from '../../src/store/event-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';
import { type ContractFactory, ids, stored, tags, tiedPair, withStore } from './contract-kit.js';

export type ClientStoreUnderTest = ClientStore & Pick<StoreAdmin, 'isOpen'>;

export function registerClientStoreContract(
  name: string,
  factory: ContractFactory<ClientStoreUnderTest>,
): void {
  describe(`ClientStore contract: ${name}`, () => {
    test(
      'save, getById and query; serials increase; raw is the canonical JSON',
      withStore(factory, async (store) => {
        assert.equal(store.isOpen(), true);
        const alice = newKey();
        const first = signedEvent(alice, { content: 'hello', tags: [['t', 'nostr']] });
        const second = signedEvent(alice, { content: 'again', created_at: BASE_TIME + 1 });
        const r1 = stored(await store.save(first));
        const r2 = stored(await store.save(second));
        assert.equal(r1.duplicate, false);
        assert.deepEqual(r1.removed, []);
        assert.ok(r1.serial > 0 && r2.serial > r1.serial);
        const got = await store.getById(first.id);
        assert.ok(got);
        assert.equal(got.serial, r1.serial);
        assert.deepEqual(got.event, first);
        assert.equal(got.raw, JSON.stringify(first));
        assert.equal(await store.getById('0'.repeat(64)), undefined);
        assert.equal(await store.getById('not hex'), undefined);
        assert.deepEqual(await ids(store, { authors: [alice.pubkey] }), [second.id, first.id]);
        assert.deepEqual(await ids(store, { tags: tags({ t: ['nostr'] }) }), [first.id]);
        assert.deepEqual(await ids(store, { ids: [first.id, '1'.repeat(64)] }), [first.id]);
        // kind (cheap where the store has it) always agrees with the event, whatever the path.
        const third = signedEvent(alice, { kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME + 2 });
        stored(await store.save(third));
        for (const filter of [
          {},
          { kinds: [1, 30023] },
          { ids: [third.id, first.id] },
          { authors: [alice.pubkey] },
        ]) {
          for await (const s of store.query(filter)) assert.equal(s.kind, s.event.kind);
        }
        assert.equal((await store.getById(third.id))?.kind, 30023);
      }),
    );

    test(
      'duplicates report the existing serial, also when saved concurrently',
      withStore(factory, async (store) => {
        const event = signedEvent(newKey());
        const [a, b] = await Promise.all([store.save(event), store.save(event)]);
        const first = stored(a);
        const second = stored(b);
        assert.equal(first.serial, second.serial);
        assert.deepEqual([first.duplicate, second.duplicate].sort(), [false, true]);
        const again = stored(await store.save(event));
        assert.equal(again.duplicate, true);
        assert.equal(again.serial, first.serial);
        assert.equal((await store.count([{}])).count, 1);
      }),
    );

    test(
      'many concurrent saves are all stored with distinct serials',
      withStore(factory, async (store) => {
        const alice = newKey();
        const events = Array.from({ length: 200 }, (_, i) =>
          signedEvent(alice, { content: `n${i}`, created_at: BASE_TIME + i }),
        );
        const results = (await Promise.all(events.map((e) => store.save(e)))).map(stored);
        assert.equal(new Set(results.map((r) => r.serial)).size, events.length);
        assert.deepEqual(await store.count([{ authors: [alice.pubkey] }]), {
          count: events.length,
          approximate: false,
        });
        // max: counting stops there (one filter and several), approximate.
        assert.deepEqual(await store.count([{ authors: [alice.pubkey] }], { max: 3 }), {
          count: 3,
          approximate: true,
        });
        assert.deepEqual(await store.count([{ authors: [alice.pubkey] }, { kinds: [1] }], { max: 4 }), {
          count: 4,
          approximate: true,
        });
        assert.deepEqual(await store.count([{ authors: [alice.pubkey] }], { max: events.length + 1 }), {
          count: events.length,
          approximate: false,
        });
        // maxScan: after that many candidates, the count so far (a lower bound), approximate.
        const scanned = await store.count([{ authors: [alice.pubkey] }], { maxScan: 2 });
        assert.equal(scanned.approximate, true);
        assert.ok(scanned.count <= 2, `count ${scanned.count} after 2 candidates`);
      }),
    );

    test(
      'replaceable: newer replaces older, older is rejected, equal created_at keeps the lowest id',
      withStore(factory, async (store) => {
        const alice = newKey();
        const v1 = signedEvent(alice, { kind: 0, content: '{"name":"v1"}', created_at: BASE_TIME });
        const v2 = signedEvent(alice, { kind: 0, content: '{"name":"v2"}', created_at: BASE_TIME + 10 });
        stored(await store.save(v1));
        assert.deepEqual(stored(await store.save(v2)).removed, [v1.id]);
        assert.deepEqual(await store.save(v1), { stored: false, reason: Reasons.olderReplaceable });
        assert.deepEqual(await ids(store, { kinds: [0], authors: [alice.pubkey] }), [v2.id]);
        assert.equal(await store.getById(v1.id), undefined);

        const bob = newKey();
        const [low, high] = tiedPair(bob, { kind: 10002, created_at: BASE_TIME });
        stored(await store.save(high));
        assert.deepEqual(stored(await store.save(low)).removed, [high.id], 'lower id wins a tie');
        assert.deepEqual(await store.save(high), { stored: false, reason: Reasons.olderReplaceable });
        assert.deepEqual(await ids(store, { kinds: [10002], authors: [bob.pubkey] }), [low.id]);

        // A d tag does not split a replaceable kind: one version per pubkey and kind.
        const carol = newKey();
        const tagged = signedEvent(carol, { kind: 10002, tags: [['d', 'x']], created_at: BASE_TIME });
        const plain = signedEvent(carol, { kind: 10002, created_at: BASE_TIME + 1 });
        stored(await store.save(tagged));
        assert.deepEqual(stored(await store.save(plain)).removed, [tagged.id]);
      }),
    );

    test(
      'addressable: one version per d tag; older rejected; tie keeps the lowest id',
      withStore(factory, async (store) => {
        const alice = newKey();
        const a1 = signedEvent(alice, {
          kind: 30023,
          tags: [['d', 'a']],
          content: '1',
          created_at: BASE_TIME,
        });
        const b1 = signedEvent(alice, {
          kind: 30023,
          tags: [['d', 'b']],
          content: '1',
          created_at: BASE_TIME,
        });
        const a2 = signedEvent(alice, {
          kind: 30023,
          tags: [['d', 'a']],
          content: '2',
          created_at: BASE_TIME + 5,
        });
        stored(await store.save(a1));
        stored(await store.save(b1));
        assert.deepEqual(stored(await store.save(a2)).removed, [a1.id]);
        assert.deepEqual(await store.save(a1), { stored: false, reason: Reasons.olderAddressable });
        assert.deepEqual((await ids(store, { kinds: [30023] })).sort(), [a2.id, b1.id].sort());
        const [low, high] = tiedPair(alice, { kind: 30023, tags: [['d', 'c']], created_at: BASE_TIME });
        stored(await store.save(high));
        assert.deepEqual(stored(await store.save(low)).removed, [high.id]);
        assert.deepEqual(await store.save(high), { stored: false, reason: Reasons.olderAddressable });
      }),
    );

    test(
      'NIP-09 e: the author deletes, the id is tombstoned, others cannot delete',
      withStore(factory, async (store) => {
        const alice = newKey();
        const mallory = newKey();
        const note = signedEvent(alice, { content: 'oops' });
        const kept = signedEvent(alice, { content: 'keep', created_at: BASE_TIME + 1 });
        stored(await store.save(note));
        stored(await store.save(kept));
        const forged = signedEvent(mallory, { kind: 5, tags: [['e', kept.id]], created_at: BASE_TIME + 2 });
        assert.deepEqual(stored(await store.save(forged)).removed, []);
        assert.ok(await store.getById(kept.id), 'another author cannot delete');
        const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 3 });
        assert.deepEqual(stored(await store.save(deletion)).removed, [note.id]);
        assert.equal(await store.getById(note.id), undefined);
        assert.deepEqual(await store.save(note), { stored: false, reason: Reasons.deleted });
        assert.deepEqual(await ids(store, { kinds: [5], authors: [alice.pubkey] }), [deletion.id]);
      }),
    );

    test(
      'NIP-09 a: deletes versions up to the deletion time; newer versions are accepted',
      withStore(factory, async (store) => {
        const alice = newKey();
        const address = (d: string) => `30000:${alice.pubkey}:${d}`;
        const v1 = signedEvent(alice, { kind: 30000, tags: [['d', 'list']], created_at: BASE_TIME });
        stored(await store.save(v1));
        const deletion = signedEvent(alice, {
          kind: 5,
          tags: [['a', address('list')]],
          created_at: BASE_TIME + 10,
        });
        assert.deepEqual(stored(await store.save(deletion)).removed, [v1.id]);
        const stale = signedEvent(alice, { kind: 30000, tags: [['d', 'list']], created_at: BASE_TIME + 10 });
        assert.deepEqual(await store.save(stale), { stored: false, reason: Reasons.deleted });
        const fresh = signedEvent(alice, { kind: 30000, tags: [['d', 'list']], created_at: BASE_TIME + 11 });
        stored(await store.save(fresh));
        assert.deepEqual(await ids(store, { kinds: [30000] }), [fresh.id]);
      }),
    );

    test(
      'NIP-40: expired events are hidden from query and count',
      withStore(factory, async (store) => {
        const alice = newKey();
        const expiring = signedEvent(alice, { tags: [['expiration', String(BASE_TIME + 100)]] });
        const plain = signedEvent(alice, { content: 'plain', created_at: BASE_TIME - 1 });
        stored(await store.save(expiring));
        stored(await store.save(plain));
        assert.deepEqual(await ids(store, { authors: [alice.pubkey] }, BASE_TIME + 50), [
          expiring.id,
          plain.id,
        ]);
        assert.deepEqual(await ids(store, { authors: [alice.pubkey] }, BASE_TIME + 100), [plain.id]);
        assert.equal((await store.count([{ authors: [alice.pubkey] }], { now: BASE_TIME + 50 })).count, 2);
        assert.equal((await store.count([{ authors: [alice.pubkey] }], { now: BASE_TIME + 100 })).count, 1);
      }),
    );

    test(
      'query order: newest first, ties by lowest id; limit',
      withStore(factory, async (store) => {
        const alice = newKey();
        const events = [
          signedEvent(alice, { content: 'a', created_at: BASE_TIME }),
          signedEvent(alice, { content: 'b', created_at: BASE_TIME + 2 }),
          signedEvent(alice, { content: 'c', created_at: BASE_TIME + 1 }),
          signedEvent(alice, { content: 'd', created_at: BASE_TIME + 1 }),
          signedEvent(alice, { content: 'e', created_at: BASE_TIME + 1 }),
        ];
        for (const e of events) stored(await store.save(e));
        const expected = [...events]
          .sort((x, y) => y.created_at - x.created_at || (x.id < y.id ? -1 : 1))
          .map((e) => e.id);
        assert.deepEqual(await ids(store, { authors: [alice.pubkey] }), expected);
        assert.deepEqual(await ids(store, { authors: [alice.pubkey], limit: 3 }), expected.slice(0, 3));
        assert.deepEqual(await ids(store, { kinds: [1], limit: 2 }), expected.slice(0, 2));
        assert.deepEqual(await ids(store, { authors: [alice.pubkey], limit: 0 }), []);
        assert.deepEqual(await ids(store, { authors: [] }), []);
      }),
    );

    test(
      'since and until are inclusive',
      withStore(factory, async (store) => {
        const alice = newKey();
        const events = [0, 1, 2, 3, 4].map((i) =>
          signedEvent(alice, { content: `t${i}`, created_at: BASE_TIME + i }),
        );
        for (const e of events) stored(await store.save(e));
        const byTime = (from: number, to: number) =>
          events
            .filter((e) => e.created_at >= BASE_TIME + from && e.created_at <= BASE_TIME + to)
            .reverse()
            .map((e) => e.id);
        assert.deepEqual(await ids(store, { since: BASE_TIME + 1, until: BASE_TIME + 3 }), byTime(1, 3));
        assert.deepEqual(await ids(store, { since: BASE_TIME + 3 }), byTime(3, 4));
        assert.deepEqual(await ids(store, { until: BASE_TIME + 1 }), byTime(0, 1));
        assert.deepEqual(await ids(store, { since: BASE_TIME + 3, until: BASE_TIME + 2 }), []);
      }),
    );

    test(
      'count: each event counted once across filters',
      withStore(factory, async (store) => {
        const alice = newKey();
        const bob = newKey();
        stored(await store.save(signedEvent(alice, { tags: [['t', 'x']] })));
        stored(await store.save(signedEvent(alice, { kind: 7, content: '+' })));
        stored(await store.save(signedEvent(bob, { tags: [['t', 'x']] })));
        assert.equal((await store.count([{}])).count, 3);
        assert.equal((await store.count([{ authors: [alice.pubkey] }])).count, 2);
        assert.equal(
          (await store.count([{ authors: [alice.pubkey] }, { tags: tags({ t: ['x'] }) }])).count,
          3,
        );
        assert.equal((await store.count([{ kinds: [7] }, { kinds: [7] }])).count, 1);
        assert.equal((await store.count([])).count, 0);
      }),
    );

    test(
      'query can be abandoned early (break and abort signal)',
      withStore(factory, async (store) => {
        const alice = newKey();
        const events = Array.from({ length: 300 }, (_, i) =>
          signedEvent(alice, { content: `q${i}`, created_at: BASE_TIME + i }),
        );
        await Promise.all(events.map((e) => store.save(e)));
        let seen = 0;
        for await (const _ of store.query({ authors: [alice.pubkey] })) if (++seen === 5) break;
        assert.equal(seen, 5);
        const controller = new AbortController();
        seen = 0;
        for await (const _ of store.query({ authors: [alice.pubkey] }, { signal: controller.signal })) {
          if (++seen === 3) controller.abort();
        }
        assert.ok(seen >= 3 && seen < events.length, `stopped after abort (saw ${seen})`);
        // The store still answers afterwards.
        assert.equal((await store.count([{ authors: [alice.pubkey] }])).count, events.length);
      }),
    );

    test(
      'close: not open afterwards, saves resolve stored=false, closing twice is fine',
      withStore(factory, async (store) => {
        const alice = newKey();
        const before = signedEvent(alice, { content: 'before' });
        const pending = store.save(before);
        await store.close();
        stored(await pending);
        assert.equal(store.isOpen(), false);
        const after = await store.save(signedEvent(alice, { content: 'after' }));
        assert.equal(after.stored, false);
        await store.close();
      }),
    );
  });
}
