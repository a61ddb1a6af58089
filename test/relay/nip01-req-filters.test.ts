/**
 * NIP-01 REQ: what a filter selects. Filter fields and their combinations, tag filters on the
 * first value only, inclusive time bounds, limit and ordering (newest first, ties by lowest id),
 * OR'ed filters, limit 0, the empty filter and empty arrays; and a REQ through nostr-tools.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { byId, Clients, fetchEvents, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { useTestRelay } from '../helpers/use-test-relay.js';
import { publishAll } from './nip01-req-fixtures.js';

const clients = new Clients();
const t = useTestRelay(clients);
const base = nowSec() - 5000;

function tagValue(): string {
  return `v-${randomBytes(6).toString('hex')}`;
}

function ids(events: { id?: unknown }[]): string[] {
  return events.map((e) => e.id as string);
}

function sortedIds(events: { id?: unknown }[]): string[] {
  return ids(events).sort();
}

describe('REQ with nostr-tools', () => {
  it('returns stored events newest first and then live events', async () => {
    const relay = await clients.nostrTools(t.url);
    const keys = newKeys();
    const evs = [1, 2, 3].map((i) => sign(keys, { created_at: base + i, content: `nt ${i}` }));
    for (const ev of evs) assert.equal(await relay.publish(ev), '');
    const got = await fetchEvents(relay, [{ authors: [keys.pk] }]);
    assert.deepEqual(ids(got), ids([...evs].reverse()));

    const live = sign(keys, { content: 'live' });
    const received = new Promise<NostrEvent>((resolve) => {
      const sub = relay.subscribe([{ authors: [keys.pk], since: nowSec() - 60 }], {
        onevent: (ev) => {
          sub.close();
          resolve(ev as NostrEvent);
        },
        oneose: () => void relay.publish(live),
      });
    });
    assert.equal((await received).id, live.id);
  });
});

describe('filter fields', () => {
  it('ids, authors, kinds, #t, #e, #p and their combinations', async () => {
    const c = await clients.raw(t.url);
    const a = newKeys();
    const b = newKeys();
    const alpha = tagValue();
    const beta = tagValue();
    const e1 = sign(a, { kind: 1, created_at: base + 1, tags: [['t', alpha]] });
    const e2 = sign(a, {
      kind: 7,
      created_at: base + 2,
      tags: [
        ['e', e1.id],
        ['p', b.pk],
      ],
    });
    const e3 = sign(a, {
      kind: 1,
      created_at: base + 3,
      tags: [
        ['t', beta],
        ['p', b.pk],
      ],
    });
    const e4 = sign(b, { kind: 1, created_at: base + 4, tags: [['T', alpha]] });
    await publishAll(c, [e1, e2, e3, e4]);

    assert.deepEqual(sortedIds(await c.query('ids', { ids: [e1.id, e3.id] })), sortedIds([e1, e3]));
    assert.deepEqual(ids(await c.query('authors', { authors: [a.pk] })), ids([e3, e2, e1]));
    assert.deepEqual(ids(await c.query('authors2', { authors: [a.pk, b.pk] })), ids([e4, e3, e2, e1]));
    assert.deepEqual(ids(await c.query('kinds', { authors: [a.pk], kinds: [7] })), ids([e2]));
    assert.deepEqual(
      ids(await c.query('kinds2', { authors: [a.pk, b.pk], kinds: [1, 7] })),
      ids([e4, e3, e2, e1]),
    );
    assert.deepEqual(ids(await c.query('t1', { '#t': [alpha] })), ids([e1]));
    assert.deepEqual(ids(await c.query('t2', { '#t': [alpha, beta] })), ids([e3, e1]));
    assert.deepEqual(ids(await c.query('T', { '#T': [alpha] })), ids([e4]), 'tag letters are case-sensitive');
    assert.deepEqual(ids(await c.query('e', { '#e': [e1.id] })), ids([e2]));
    assert.deepEqual(ids(await c.query('p', { '#p': [b.pk] })), ids([e3, e2]));
    assert.deepEqual(ids(await c.query('and1', { kinds: [1], '#p': [b.pk] })), ids([e3]));
    assert.deepEqual(ids(await c.query('and2', { '#t': [beta], '#p': [b.pk] })), ids([e3]));
    assert.deepEqual(ids(await c.query('and3', { '#t': [alpha], '#p': [b.pk] })), []);
    assert.deepEqual(ids(await c.query('and4', { ids: [e1.id], authors: [b.pk] })), []);
    assert.deepEqual(ids(await c.query('none', { ids: ['00'.repeat(32)] })), []);
  });

  it('tag filters match only the first value (tag[1])', async () => {
    const c = await clients.raw(t.url);
    const first = tagValue();
    const second = tagValue();
    const ev = sign(newKeys(), { tags: [['t', first, second]] });
    await publishAll(c, [ev]);
    assert.deepEqual(ids(await c.query('first', { '#t': [first] })), [ev.id]);
    assert.deepEqual(ids(await c.query('second', { '#t': [second] })), []);
  });

  it('since and until are inclusive', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const evs = [10, 20, 30, 40, 50].map((d) => sign(keys, { created_at: base + d, content: `at ${d}` }));
    await publishAll(c, evs);
    const [e10, e20, e30, e40, e50] = evs as [NostrEvent, NostrEvent, NostrEvent, NostrEvent, NostrEvent];
    const f = { authors: [keys.pk] };
    assert.deepEqual(
      ids(await c.query('s-u', { ...f, since: base + 20, until: base + 40 })),
      ids([e40, e30, e20]),
    );
    assert.deepEqual(ids(await c.query('eq', { ...f, since: base + 30, until: base + 30 })), ids([e30]));
    assert.deepEqual(ids(await c.query('since', { ...f, since: base + 40 })), ids([e50, e40]));
    assert.deepEqual(ids(await c.query('until', { ...f, until: base + 10 })), ids([e10]));
    assert.deepEqual(ids(await c.query('inverted', { ...f, since: base + 40, until: base + 20 })), []);
  });

  it('limit with equal created_at returns the lowest ids, in ascending id order', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const evs = [1, 2, 3, 4, 5].map((i) => sign(keys, { created_at: base + 100, content: `tie ${i}` }));
    await publishAll(c, evs);
    const expected = [...evs].sort(byId).slice(0, 3);
    assert.deepEqual(ids(await c.query('lim', { authors: [keys.pk], limit: 3 })), ids(expected));
    assert.deepEqual(ids(await c.query('all', { authors: [keys.pk] })), ids([...evs].sort(byId)));
  });

  it('results are newest first (ties by lowest id) whatever the arrival order; limit keeps the newest', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const offsets = [30, 10, 50, 20, 40, 30];
    const evs = offsets.map((d, i) => sign(keys, { created_at: base + d, content: `order ${i}` }));
    await publishAll(c, evs);
    const expected = [...evs].sort((x, y) => y.created_at - x.created_at || byId(x, y));
    assert.deepEqual(ids(await c.query('order', { authors: [keys.pk] })), ids(expected));
    assert.deepEqual(
      ids(await c.query('newest', { authors: [keys.pk], limit: 2 })),
      ids(expected.slice(0, 2)),
    );
  });

  it('several filters are OR-ed and an event matching two filters is sent once', async () => {
    const c = await clients.raw(t.url);
    const a = newKeys();
    const b = newKeys();
    const tv = tagValue();
    const ea = sign(a, { created_at: base + 1, tags: [['t', tv]] });
    const ea2 = sign(a, { created_at: base + 2 });
    const eb = sign(b, { created_at: base + 3, tags: [['t', tv]] });
    await publishAll(c, [ea, ea2, eb]);
    const got = await c.query('or', { authors: [a.pk] }, { '#t': [tv] }, { ids: [ea.id, eb.id] });
    assert.deepEqual(sortedIds(got), sortedIds([ea, ea2, eb]));
    assert.equal(new Set(ids(got)).size, got.length);
    // limit is per filter.
    const perFilter = await c.query('per', { authors: [a.pk], limit: 1 }, { authors: [b.pk], limit: 1 });
    assert.deepEqual(sortedIds(perFilter), sortedIds([ea2, eb]));
  });

  it('an event already sent for an earlier filter is left out between new ones, the rest in order', async () => {
    const c = await clients.raw(t.url);
    const a = newKeys();
    const b = newKeys();
    const tv = tagValue();
    const as = [1, 3, 5].map((d) => sign(a, { created_at: base + d, tags: d === 3 ? [['t', tv]] : [] }));
    const bs = [2, 4].map((d) => sign(b, { created_at: base + d, tags: [['t', tv]] }));
    await publishAll(c, [...as, ...bs]);
    // The second filter's results, newest first, are b@4, a@3 (sent for the first filter), b@2.
    const got = await c.query('runs', { authors: [a.pk] }, { '#t': [tv] });
    assert.deepEqual(ids(got), ids([as[2]!, as[1]!, as[0]!, bs[1]!, bs[0]!]));
  });

  it('limit 0 sends EOSE at once, then live events', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    await publishAll(pub, [sign(keys, { created_at: base + 1 }), sign(keys, { created_at: base + 2 })]);
    assert.deepEqual(await c.query('zero', { authors: [keys.pk], limit: 0 }), []);
    const live = sign(keys, { content: 'after limit 0' });
    await publishAll(pub, [live]);
    const frame = await c.next((f) => f[0] === 'EVENT' && f[1] === 'zero');
    assert.deepEqual(frame, ['EVENT', 'zero', live]);
  });

  it('{} scrapes everything (newest first, within the default limit)', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'scrape me' });
    await publishAll(c, [ev]);
    const got = await c.query('scrape', {});
    assert.ok(ids(got).includes(ev.id));
    assert.ok(got.length <= 500);
    for (let i = 1; i < got.length; i++) {
      assert.ok((got[i - 1]!.created_at as number) >= (got[i]!.created_at as number), 'newest first');
    }
  });

  it('a filter with an empty array matches nothing', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const tv = tagValue();
    const ev = sign(keys, { tags: [['t', tv]] });
    await publishAll(c, [ev]);
    for (const f of [
      { ids: [] },
      { authors: [] },
      { kinds: [] },
      { '#t': [] },
      { authors: [keys.pk], kinds: [] },
    ]) {
      assert.deepEqual(await c.query('empty', f), [], JSON.stringify(f));
    }
    assert.deepEqual(ids(await c.query('mixed', { kinds: [] }, { '#t': [tv] })), [ev.id]);
  });
});
