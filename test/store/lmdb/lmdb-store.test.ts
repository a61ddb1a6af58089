/**
 * LmdbEventStore against a real LMDB file in a temp directory, with real signed events:
 * duplicates, replaceable/addressable replacement, NIP-09, NIP-40, ordering and limits,
 * time bounds, reopening, eventsSince, negentropyItems, cancellation and admin removal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Reasons } from '../../../src/errors.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import type { SaveResult, StoredEvent } from '../../../src/store/event-store.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { planQuery } from '../../../src/store/lmdb/query-plan.js';
import { BASE_TIME, newKey, signedEvent, type TestKey } from '../../helpers/events.js';

let dir: string;
let store: LmdbEventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orly-lmdb-test-'));
  store = LmdbEventStore.open(dir);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ids(filter: NormalizedFilter, now?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const stored of store.query(filter, now === undefined ? {} : { now })) out.push(stored.event.id);
  return out;
}

function tags(entries: Record<string, string[]>): Map<string, string[]> {
  return new Map(Object.entries(entries));
}

function stored(result: SaveResult): Extract<SaveResult, { stored: true }> {
  assert.equal(result.stored, true, result.stored ? '' : result.reason);
  return result as Extract<SaveResult, { stored: true }>;
}

function rejected(result: SaveResult, reason: string): void {
  assert.deepEqual(result, { stored: false, reason });
}

/** Two events of the same template that differ only in content, ordered by id. */
function tiedPair(key: TestKey, template: Parameters<typeof signedEvent>[1]): [NostrEvent, NostrEvent] {
  const a = signedEvent(key, { ...template, content: 'a' });
  const b = signedEvent(key, { ...template, content: 'b' });
  return a.id < b.id ? [a, b] : [b, a];
}

describe('LmdbEventStore: basic storage', () => {
  test('saves, gets by id and queries; serials start at 1', async () => {
    const alice = newKey();
    const event = signedEvent(alice, { content: 'hello', tags: [['t', 'nostr']] });
    const result = stored(await store.save(event));
    assert.equal(result.duplicate, false);
    assert.equal(result.serial, 1);
    assert.deepEqual(result.removed, []);
    const got = await store.getById(event.id);
    assert.ok(got);
    assert.equal(got.serial, 1);
    assert.deepEqual(got.event, event);
    assert.equal(got.raw, JSON.stringify(event));
    assert.deepEqual(await ids({ authors: [alice.pubkey] }), [event.id]);
    assert.equal(await store.lastSerial(), 1);
    assert.equal(await store.getById('0'.repeat(64)), undefined);
    assert.equal(await store.getById('not hex'), undefined);
  });

  test('a duplicate reports the existing serial, also when both arrive concurrently', async () => {
    const alice = newKey();
    const event = signedEvent(alice);
    const [first, second] = await Promise.all([store.save(event), store.save(event)]);
    assert.deepEqual(first, { stored: true, duplicate: false, serial: 1, removed: [] });
    assert.deepEqual(second, { stored: true, duplicate: true, serial: 1, removed: [] });
    assert.deepEqual(await store.save(event), { stored: true, duplicate: true, serial: 1, removed: [] });
    assert.equal((await store.stats()).events, 1);
  });

  test('ephemeral kinds are refused loudly', async () => {
    await assert.rejects(store.save(signedEvent(newKey(), { kind: 20001 })));
  });

  test('stats report events, bytes and the last serial', async () => {
    const alice = newKey();
    for (let i = 0; i < 3; i++) await store.save(signedEvent(alice, { created_at: BASE_TIME + i }));
    const stats = await store.stats();
    assert.equal(stats.events, 3);
    assert.equal(stats.lastSerial, 3);
    assert.ok(stats.bytes > 0);
  });
});

describe('LmdbEventStore: replaceable and addressable events', () => {
  test('a newer replaceable event replaces the older one; an older one is rejected', async () => {
    const alice = newKey();
    const v1 = signedEvent(alice, { kind: 0, content: 'v1', created_at: BASE_TIME });
    const v2 = signedEvent(alice, { kind: 0, content: 'v2', created_at: BASE_TIME + 10 });
    stored(await store.save(v1));
    assert.deepEqual(stored(await store.save(v2)).removed, [v1.id]);
    assert.equal(await store.getById(v1.id), undefined);
    rejected(await store.save(v1), Reasons.olderReplaceable);
    assert.deepEqual(await ids({ kinds: [0] }), [v2.id]);
    assert.deepEqual(await ids({ authors: [alice.pubkey], kinds: [0] }), [v2.id]);
    assert.equal((await store.stats()).events, 1);
  });

  test('replaceable tie on created_at: the lowest id wins, in either arrival order', async () => {
    const alice = newKey();
    const [low, high] = tiedPair(alice, { kind: 10002, created_at: BASE_TIME });
    stored(await store.save(low));
    rejected(await store.save(high), Reasons.olderReplaceable);
    assert.deepEqual(await ids({ kinds: [10002] }), [low.id]);

    const bob = newKey();
    const [low2, high2] = tiedPair(bob, { kind: 3, created_at: BASE_TIME });
    stored(await store.save(high2));
    assert.deepEqual(stored(await store.save(low2)).removed, [high2.id]);
    assert.deepEqual(await ids({ authors: [bob.pubkey] }), [low2.id]);
  });

  test('addressable events are keyed by d tag; a missing d tag equals d=""', async () => {
    const alice = newKey();
    const a1 = signedEvent(alice, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME });
    const b1 = signedEvent(alice, { kind: 30023, tags: [['d', 'b']], created_at: BASE_TIME });
    const none = signedEvent(alice, { kind: 30023, tags: [], created_at: BASE_TIME });
    const empty = signedEvent(alice, { kind: 30023, tags: [['d', '']], created_at: BASE_TIME + 1 });
    const bare = signedEvent(alice, { kind: 30023, tags: [['d']], created_at: BASE_TIME + 2 });
    for (const e of [a1, b1, none]) assert.deepEqual(stored(await store.save(e)).removed, []);
    assert.deepEqual(stored(await store.save(empty)).removed, [none.id]);
    assert.deepEqual(stored(await store.save(bare)).removed, [empty.id]);
    const a2 = signedEvent(alice, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME + 5 });
    assert.deepEqual(stored(await store.save(a2)).removed, [a1.id]);
    rejected(await store.save(a1), Reasons.olderAddressable);
    const all = await ids({ kinds: [30023] });
    assert.deepEqual(new Set(all), new Set([a2.id, b1.id, bare.id]));
    // Other authors and other kinds have their own addresses.
    const bob = newKey();
    stored(await store.save(signedEvent(bob, { kind: 30023, tags: [['d', 'a']], created_at: BASE_TIME })));
    stored(await store.save(signedEvent(alice, { kind: 30024, tags: [['d', 'a']], created_at: BASE_TIME })));
    assert.equal((await store.stats()).events, 5);
  });

  test('addressable tie on created_at: the lowest id wins, in either arrival order', async () => {
    const alice = newKey();
    const [low, high] = tiedPair(alice, { kind: 30000, tags: [['d', 'x']], created_at: BASE_TIME });
    stored(await store.save(low));
    rejected(await store.save(high), Reasons.olderAddressable);
    const [low2, high2] = tiedPair(alice, { kind: 30000, tags: [['d', 'y']], created_at: BASE_TIME });
    stored(await store.save(high2));
    assert.deepEqual(stored(await store.save(low2)).removed, [high2.id]);
    assert.deepEqual(new Set(await ids({ kinds: [30000] })), new Set([low.id, low2.id]));
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
    stored(await store.save(v1));
    stored(await store.save(v2));
    assert.deepEqual(await ids({ tags: tags({ t: ['old'] }) }), []);
    assert.deepEqual(await ids({ tags: tags({ p: [alice.pubkey] }) }), []);
    assert.deepEqual(await ids({ tags: tags({ d: ['list'] }) }), [v2.id]);
    assert.deepEqual(await ids({}), [v2.id]);
  });
});

describe('LmdbEventStore: NIP-09 deletion', () => {
  test('an e-tag deletion removes the target and blocks it forever', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { content: 'oops' });
    stored(await store.save(note));
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    const result = stored(await store.save(deletion));
    assert.deepEqual(result.removed, [note.id]);
    assert.equal(await store.getById(note.id), undefined);
    rejected(await store.save(note), Reasons.deleted);
    assert.deepEqual(await ids({ authors: [alice.pubkey] }), [deletion.id]);
  });

  test('a deletion that arrives before its target blocks the target', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { content: 'later' });
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    assert.deepEqual(stored(await store.save(deletion)).removed, []);
    rejected(await store.save(note), Reasons.deleted);
  });

  test("another pubkey's deletion has no effect, before or after the target", async () => {
    const alice = newKey();
    const mallory = newKey();
    const note = signedEvent(alice);
    const later = signedEvent(alice, { content: 'later' });
    stored(await store.save(note));
    const deletion = signedEvent(mallory, {
      kind: 5,
      tags: [
        ['e', note.id],
        ['e', later.id],
      ],
    });
    assert.deepEqual(stored(await store.save(deletion)).removed, []);
    assert.ok(await store.getById(note.id));
    stored(await store.save(later));
    // The real author can still delete it afterwards.
    const own = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    assert.deepEqual(stored(await store.save(own)).removed, [note.id]);
  });

  test('deleting a deletion has no effect', async () => {
    const alice = newKey();
    const note = signedEvent(alice);
    stored(await store.save(note));
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    stored(await store.save(deletion));
    const undelete = signedEvent(alice, { kind: 5, tags: [['e', deletion.id]], created_at: BASE_TIME + 2 });
    assert.deepEqual(stored(await store.save(undelete)).removed, []);
    assert.ok(await store.getById(deletion.id));
    rejected(await store.save(note), Reasons.deleted);
    // A kind 5 whose id was named by a deletion can still be stored.
    const other = signedEvent(alice, { kind: 5, tags: [['e', '1'.repeat(64)]], created_at: BASE_TIME + 3 });
    stored(
      await store.save(signedEvent(alice, { kind: 5, tags: [['e', other.id]], created_at: BASE_TIME + 4 })),
    );
    assert.equal(stored(await store.save(other)).duplicate, false);
  });

  test('an a-tag deletion removes versions up to its created_at and blocks them', async () => {
    const alice = newKey();
    const article = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME });
    stored(await store.save(article));
    const address = `30023:${alice.pubkey}:post`;
    const deletion = signedEvent(alice, { kind: 5, tags: [['a', address]], created_at: BASE_TIME + 10 });
    assert.deepEqual(stored(await store.save(deletion)).removed, [article.id]);
    const stale = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 10 });
    rejected(await store.save(stale), Reasons.deleted);
    const fresh = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 11 });
    stored(await store.save(fresh));
    // An older deletion neither removes the newer version nor lowers the tombstone.
    const oldDeletion = signedEvent(alice, { kind: 5, tags: [['a', address]], created_at: BASE_TIME + 5 });
    assert.deepEqual(stored(await store.save(oldDeletion)).removed, []);
    assert.ok(await store.getById(fresh.id));
    rejected(
      await store.save(signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 7 })),
      Reasons.deleted,
    );
  });

  test('an a-tag deletion of a replaceable address, and one naming another pubkey', async () => {
    const alice = newKey();
    const bob = newKey();
    const profile = signedEvent(alice, { kind: 0, created_at: BASE_TIME });
    const bobProfile = signedEvent(bob, { kind: 0, created_at: BASE_TIME });
    stored(await store.save(profile));
    stored(await store.save(bobProfile));
    const deletion = signedEvent(alice, {
      kind: 5,
      tags: [
        ['a', `0:${alice.pubkey}:`],
        ['a', `0:${bob.pubkey}:`],
      ],
      created_at: BASE_TIME + 1,
    });
    assert.deepEqual(stored(await store.save(deletion)).removed, [profile.id]);
    assert.ok(await store.getById(bobProfile.id));
    // The deletion arrives before the version (address tombstone).
    const article = signedEvent(bob, { kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME });
    stored(
      await store.save(
        signedEvent(bob, { kind: 5, tags: [['a', `30023:${bob.pubkey}:x`]], created_at: BASE_TIME }),
      ),
    );
    rejected(await store.save(article), Reasons.deleted);
  });
});

describe('LmdbEventStore: expiration (NIP-40)', () => {
  test('expired events are hidden from query, count and negentropy, then purged', async () => {
    const alice = newKey();
    const now = BASE_TIME + 100;
    const gone = signedEvent(alice, { tags: [['expiration', String(now)]], created_at: BASE_TIME });
    const soon = signedEvent(alice, { tags: [['expiration', String(now + 50)]], created_at: BASE_TIME + 1 });
    const plain = signedEvent(alice, { created_at: BASE_TIME + 2 });
    for (const e of [gone, soon, plain]) stored(await store.save(e));
    assert.deepEqual(await ids({ authors: [alice.pubkey] }, now), [plain.id, soon.id]);
    assert.deepEqual(await ids({ authors: [alice.pubkey] }, now - 1), [plain.id, soon.id, gone.id]);
    assert.equal(await store.count([{ kinds: [1] }], { now }), 2);
    assert.equal(await store.count([{ kinds: [1] }, { authors: [alice.pubkey] }], { now: now + 50 }), 1);
    assert.equal(await store.purgeExpired(now), 1);
    assert.equal(await store.getById(gone.id), undefined);
    assert.equal((await store.stats()).events, 2);
    assert.equal(await store.purgeExpired(now), 0);
    assert.equal(await store.purgeExpired(now + 50), 1);
    assert.deepEqual(await ids({}, 0), [plain.id]);
  });
});

describe('LmdbEventStore: query order, limits and bounds', () => {
  test('newest first, ties by lowest id, limit applies after ordering', async () => {
    const alice = newKey();
    const events: NostrEvent[] = [];
    for (let i = 0; i < 12; i++) {
      events.push(
        signedEvent(alice, { content: `n${i}`, created_at: BASE_TIME + (i % 3), tags: [['t', 'x']] }),
      );
    }
    for (const e of [...events].reverse()) stored(await store.save(e));
    const expected = [...events]
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1))
      .map((e) => e.id);
    for (const filter of [{}, { kinds: [1] }, { authors: [alice.pubkey] }, { tags: tags({ t: ['x'] }) }]) {
      assert.deepEqual(await ids(filter), expected);
      assert.deepEqual(await ids({ ...filter, limit: 5 }), expected.slice(0, 5));
      assert.deepEqual(await ids({ ...filter, limit: 0 }), []);
    }
    assert.deepEqual(await ids({ ids: expected.slice().reverse() }), expected);
    assert.deepEqual(await ids({ ids: expected, limit: 2 }), expected.slice(0, 2));
  });

  test('scan() visits what query() returns, in order, with kinds; false stops it', async () => {
    const alice = newKey();
    const now = BASE_TIME + 100;
    for (let i = 0; i < 30; i++) {
      const expiring = i % 7 === 0 ? [['expiration', String(i % 2 ? now - 1 : now + 1000)]] : [];
      stored(
        await store.save(
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
      store.scan(filter, { now }, (json, kind) => {
        const event = JSON.parse(json.toString('utf8')) as NostrEvent;
        seen.push({ id: event.id, kind });
        assert.equal(kind, event.kind);
        return true;
      });
      assert.deepEqual(
        seen.map((x) => x.id),
        await ids(filter, now),
        JSON.stringify(filter),
      );
    }
    let visits = 0;
    store.scan({}, { now }, () => ++visits < 3);
    assert.equal(visits, 3);
  });

  test('since and until are inclusive', async () => {
    const alice = newKey();
    const byTime = new Map<number, string>();
    for (let i = 0; i < 5; i++) {
      const e = signedEvent(alice, { created_at: BASE_TIME + i, tags: [['p', alice.pubkey]] });
      byTime.set(BASE_TIME + i, e.id);
      stored(await store.save(e));
    }
    const range = [BASE_TIME + 3, BASE_TIME + 2, BASE_TIME + 1].map((t) => byTime.get(t)!);
    const bounds = { since: BASE_TIME + 1, until: BASE_TIME + 3 };
    for (const filter of [
      {},
      { kinds: [1] },
      { authors: [alice.pubkey], kinds: [1] },
      { tags: tags({ p: [alice.pubkey] }) },
    ]) {
      assert.deepEqual(await ids({ ...filter, ...bounds }), range);
      assert.deepEqual(await ids({ ...filter, since: BASE_TIME + 4 }), [byTime.get(BASE_TIME + 4)]);
      assert.deepEqual(await ids({ ...filter, until: BASE_TIME }), [byTime.get(BASE_TIME)]);
      assert.deepEqual(await ids({ ...filter, since: BASE_TIME + 5 }), []);
    }
    assert.deepEqual(await ids({ ids: [...byTime.values()], ...bounds }), range);
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
    for (const e of [a, b, c, d]) stored(await store.save(e));
    assert.deepEqual(await ids({ tags: tags({ t: ['nostr'] }) }), [a.id, b.id, c.id]);
    assert.deepEqual(await ids({ tags: tags({ t: ['bitcoin', 'other'] }) }), [b.id, d.id]);
    assert.deepEqual(await ids({ tags: tags({ t: ['nostr'], p: [bob.pubkey] }) }), [a.id]);
    assert.deepEqual(await ids({ tags: tags({ t: ['nostr'] }), kinds: [7] }), [c.id]);
    assert.deepEqual(await ids({ tags: tags({ T: ['nostr'] }) }), [d.id]);
    assert.deepEqual(await ids({ tags: tags({ t: ['extra'] }) }), []);
    assert.deepEqual(await ids({ tags: tags({ t: ['nostr'] }), authors: [bob.pubkey] }), [c.id]);
    assert.equal(await store.count([{ tags: tags({ t: ['nostr'] }) }, { authors: [bob.pubkey] }]), 4);
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
        stored(await store.save(e));
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
    assert.deepEqual(await ids(filter), expected);
  });

  test('an aborted signal or a break stops the stream', async () => {
    const alice = newKey();
    for (let i = 0; i < 10; i++) stored(await store.save(signedEvent(alice, { created_at: BASE_TIME + i })));
    const controller = new AbortController();
    const seen: StoredEvent[] = [];
    for await (const e of store.query({}, { signal: controller.signal })) {
      seen.push(e);
      if (seen.length === 3) controller.abort();
    }
    assert.equal(seen.length, 3);
    let n = 0;
    for await (const _ of store.query({ kinds: [1, 2] })) if (++n === 2) break;
    assert.equal(n, 2);
    // The store keeps working after abandoned iterations.
    assert.equal((await ids({})).length, 10);
  });
});

describe('LmdbEventStore: durability, sync and admin', () => {
  test('data survives close and reopen, and serials continue', async () => {
    const alice = newKey();
    const first = signedEvent(alice, { created_at: BASE_TIME });
    stored(await store.save(first));
    stored(await store.save(signedEvent(alice, { kind: 0, created_at: BASE_TIME })));
    await store.close();
    await store.close();
    assert.equal(store.isOpen(), false);
    store = LmdbEventStore.open(dir);
    assert.equal(store.isOpen(), true);
    assert.equal(await store.lastSerial(), 2);
    assert.ok(await store.getById(first.id));
    const next = stored(await store.save(signedEvent(alice, { created_at: BASE_TIME + 1 })));
    assert.equal(next.serial, 3);
    rejected(
      await store.save(signedEvent(alice, { kind: 0, created_at: BASE_TIME - 1 })),
      Reasons.olderReplaceable,
    );
  });

  test('saves queued right before close are committed', async () => {
    const alice = newKey();
    const events = Array.from({ length: 20 }, (_, i) => signedEvent(alice, { created_at: BASE_TIME + i }));
    const pending = events.map((e) => store.save(e));
    await store.close();
    for (const result of await Promise.all(pending)) stored(result);
    store = LmdbEventStore.open(dir);
    assert.equal((await store.stats()).events, 20);
  });

  test('eventsSince walks serials in ascending order', async () => {
    const alice = newKey();
    const events = Array.from({ length: 6 }, (_, i) =>
      signedEvent(alice, { created_at: BASE_TIME + 10 - i }),
    );
    for (const e of events) stored(await store.save(e));
    await store.deleteByIds([events[2]!.id]);
    const collect = async (after: number, limit: number) => {
      const out: number[] = [];
      for await (const e of store.eventsSince(after, limit)) out.push(e.serial);
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
    for (const e of events) stored(await store.save(e));
    const expected = [...events].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    for (const filter of [{}, { authors: [alice.pubkey], limit: 1 }, { ids: events.map((e) => e.id) }]) {
      const items = await store.negentropyItems(filter, 100);
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
    assert.equal(await store.negentropyItems({}, 8), undefined);
    assert.equal((await store.negentropyItems({ kinds: [2] }, 0))?.count, 0);
  });

  test('deleteByIds removes without a tombstone', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { tags: [['t', 'gone']] });
    stored(await store.save(note));
    assert.equal(await store.deleteByIds([note.id, '0'.repeat(64), 'junk']), 1);
    assert.deepEqual(await ids({ tags: tags({ t: ['gone'] }) }), []);
    assert.equal(stored(await store.save(note)).duplicate, false);
  });

  test('a closed store refuses work', async () => {
    await store.close();
    assert.equal(store.isOpen(), false);
    const result = await store.save(signedEvent(newKey()));
    assert.equal(result.stored, false);
    await assert.rejects(store.count([{}]));
  });
});
