/**
 * LmdbEventStore (real LMDB, real signed events): query order (newest first, ties by lowest
 * id) and limits, scan() against query(), inclusive time bounds, tag conditions, the wider-index
 * fallback for many author x kind pairs, and stopping a stream by abort or break.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import type { StoredEvent } from '../../../src/store/event-store.js';
import { planQuery } from '../../../src/store/lmdb/query-plan.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { stored, tags, useTempStore } from './lmdb-store-fixtures.js';

const db = useTempStore();

describe('LmdbEventStore: query order, limits and bounds', () => {
  test('newest first, ties by lowest id, limit applies after ordering', async () => {
    const alice = newKey();
    const events: NostrEvent[] = [];
    for (let i = 0; i < 12; i++) {
      events.push(
        signedEvent(alice, { content: `n${i}`, created_at: BASE_TIME + (i % 3), tags: [['t', 'x']] }),
      );
    }
    for (const e of [...events].reverse()) stored(await db.store.save(e));
    const expected = [...events]
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))
      .map((e) => e.id);
    for (const filter of [{}, { kinds: [1] }, { authors: [alice.pubkey] }, { tags: tags({ t: ['x'] }) }]) {
      assert.deepEqual(await db.ids(filter), expected);
      assert.deepEqual(await db.ids({ ...filter, limit: 5 }), expected.slice(0, 5));
      assert.deepEqual(await db.ids({ ...filter, limit: 0 }), []);
    }
    assert.deepEqual(await db.ids({ ids: expected.slice().reverse() }), expected);
    assert.deepEqual(await db.ids({ ids: expected, limit: 2 }), expected.slice(0, 2));
  });

  test('scan() visits what query() returns, in order, with kinds; false stops it', async () => {
    const alice = newKey();
    const now = BASE_TIME + 100;
    for (let i = 0; i < 30; i++) {
      const expiring = i % 7 === 0 ? [['expiration', String(i % 2 ? now - 1 : now + 1000)]] : [];
      stored(
        await db.store.save(
          signedEvent(alice, {
            kind: i % 3 === 0 ? 7 : 1,
            content: `s${i}`,
            created_at: BASE_TIME + (i % 9),
            tags: [['t', i % 2 ? 'odd' : 'even'], ...expiring],
          }),
        ),
      );
    }
    const filters: NormalizedFilter[] = [
      {},
      { kinds: [7] },
      { limit: 4 },
      { tags: tags({ t: ['odd'] }), kinds: [1] },
      { authors: [alice.pubkey], since: BASE_TIME + 3, until: BASE_TIME + 6 },
    ];
    for (const filter of filters) {
      const seen: { id: string; kind: number }[] = [];
      db.store.scan(filter, { now }, (json, kind) => {
        const event = JSON.parse(json.toString('utf8')) as NostrEvent;
        seen.push({ id: event.id, kind });
        assert.equal(kind, event.kind);
        return true;
      });
      assert.deepEqual(
        seen.map((x) => x.id),
        await db.ids(filter, now),
        JSON.stringify(filter),
      );
    }
    let visits = 0;
    db.store.scan({}, { now }, () => ++visits < 3);
    assert.equal(visits, 3);
  });

  test('since and until are inclusive', async () => {
    const alice = newKey();
    const byTime = new Map<number, string>();
    for (let i = 0; i < 5; i++) {
      const e = signedEvent(alice, { created_at: BASE_TIME + i, tags: [['p', alice.pubkey]] });
      byTime.set(BASE_TIME + i, e.id);
      stored(await db.store.save(e));
    }
    const range = [BASE_TIME + 3, BASE_TIME + 2, BASE_TIME + 1].map((t) => byTime.get(t)!);
    const bounds = { since: BASE_TIME + 1, until: BASE_TIME + 3 };
    for (const filter of [
      {},
      { kinds: [1] },
      { authors: [alice.pubkey], kinds: [1] },
      { tags: tags({ p: [alice.pubkey] }) },
    ]) {
      assert.deepEqual(await db.ids({ ...filter, ...bounds }), range);
      assert.deepEqual(await db.ids({ ...filter, since: BASE_TIME + 4 }), [byTime.get(BASE_TIME + 4)]);
      assert.deepEqual(await db.ids({ ...filter, until: BASE_TIME }), [byTime.get(BASE_TIME)]);
      assert.deepEqual(await db.ids({ ...filter, since: BASE_TIME + 5 }), []);
    }
    assert.deepEqual(await db.ids({ ids: [...byTime.values()], ...bounds }), range);
  });

  test('tag conditions: hashed values, several values (OR), several letters (AND), with kinds', async () => {
    const alice = newKey();
    const bob = newKey();
    const a = signedEvent(alice, {
      tags: [
        ['t', 'nostr'],
        ['p', bob.pubkey],
      ],
      created_at: BASE_TIME + 3,
    });
    const b = signedEvent(alice, {
      tags: [
        ['t', 'bitcoin'],
        ['t', 'nostr'],
      ],
      created_at: BASE_TIME + 2,
    });
    const c = signedEvent(bob, { kind: 7, tags: [['t', 'nostr', 'extra']], created_at: BASE_TIME + 1 });
    const d = signedEvent(bob, {
      tags: [
        ['t', 'other'],
        ['T', 'nostr'],
        ['x', 'nostr'],
      ],
      created_at: BASE_TIME,
    });
    for (const e of [a, b, c, d]) stored(await db.store.save(e));
    assert.deepEqual(await db.ids({ tags: tags({ t: ['nostr'] }) }), [a.id, b.id, c.id]);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['bitcoin', 'other'] }) }), [b.id, d.id]);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['nostr'], p: [bob.pubkey] }) }), [a.id]);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['nostr'] }), kinds: [7] }), [c.id]);
    assert.deepEqual(await db.ids({ tags: tags({ T: ['nostr'] }) }), [d.id]);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['extra'] }) }), []);
    assert.deepEqual(await db.ids({ tags: tags({ t: ['nostr'] }), authors: [bob.pubkey] }), [c.id]);
    assert.equal(
      (await db.store.count([{ tags: tags({ t: ['nostr'] }) }, { authors: [bob.pubkey] }])).count,
      4,
    );
  });

  test('many author x kind pairs fall back to a wider index with the same answer', async () => {
    const authors = Array.from({ length: 3 }, () => newKey());
    const saved: NostrEvent[] = [];
    for (const [i, key] of authors.entries()) {
      for (const kind of [1, 7, 30023]) {
        const e = signedEvent(key, {
          kind,
          created_at: BASE_TIME + i,
          tags: kind === 30023 ? [['d', '']] : [],
        });
        saved.push(e);
        stored(await db.store.save(e));
      }
    }
    const fakeAuthors = Array.from({ length: 200 }, (_, i) => i.toString(16).padStart(64, '0'));
    const filter = { authors: [...fakeAuthors, authors[0]!.pubkey, authors[2]!.pubkey], kinds: [1, 30023] };
    const plan = planQuery(filter);
    assert.equal(plan.type === 'index' ? plan.index : plan.type, 'author');
    const expected = saved
      .filter((e) => filter.authors.includes(e.pubkey) && filter.kinds.includes(e.kind))
      .sort((x, y) => y.created_at - x.created_at || (x.id < y.id ? -1 : 1))
      .map((e) => e.id);
    assert.equal(expected.length, 4);
    assert.deepEqual(await db.ids(filter), expected);
  });

  test('an aborted signal or a break stops the stream', async () => {
    const alice = newKey();
    for (let i = 0; i < 10; i++)
      stored(await db.store.save(signedEvent(alice, { created_at: BASE_TIME + i })));
    const controller = new AbortController();
    const seen: StoredEvent[] = [];
    for await (const e of db.store.query({}, { signal: controller.signal })) {
      seen.push(e);
      if (seen.length === 3) controller.abort();
    }
    assert.equal(seen.length, 3);
    let n = 0;
    for await (const _ of db.store.query({ kinds: [1, 2] })) if (++n === 2) break;
    assert.equal(n, 2);
    // The store keeps working after abandoned iterations.
    assert.equal((await db.ids({})).length, 10);
  });
});
