/**
 * NIP-01 REQ / CLOSE: filter fields, inclusive time bounds, limit and ordering, OR'ed filters,
 * rejected filters and subscription ids, subscription replacement and closing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { byId, Clients, fetchEvents, hasPrefix, newKeys, nowSec, sign } from '../helpers/nostr.js';
import type { Frame, RawClient } from '../helpers/relay-harness.js';
import { startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let t: TestRelay;
const clients = new Clients();
const base = nowSec() - 5000;

before(async () => {
  t = await startTestRelay();
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

function tagValue(): string {
  return `v-${randomBytes(6).toString('hex')}`;
}

async function publishAll(c: RawClient, events: NostrEvent[]): Promise<void> {
  for (const ev of events) assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

function ids(events: { id?: unknown }[]): string[] {
  return events.map((e) => e.id as string);
}

function sortedIds(events: { id?: unknown }[]): string[] {
  return ids(events).sort();
}

/** Sends a REQ expected to be refused; returns the CLOSED frame. */
async function refused(c: RawClient, subId: string, ...filters: unknown[]): Promise<Frame> {
  c.send(['REQ', subId, ...filters]);
  return c.next((f) => (f[0] === 'CLOSED' || f[0] === 'EOSE') && f[1] === subId);
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

describe('refused REQs', () => {
  it('non-hex ids / authors / #e / #p values -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const pk = newKeys().pk;
    const bad: Record<string, unknown>[] = [
      { ids: ['abc'] },
      { ids: [pk.toUpperCase()] },
      { ids: [pk.slice(1)] },
      { ids: [`${pk}0`] },
      { ids: [5] },
      { authors: [pk.toUpperCase()] },
      { authors: ['zz'.repeat(32)] },
      { '#e': ['xyz'] },
      { '#p': [pk.slice(0, 10)] },
      { '#E': ['nothex'] },
      { '#P': [pk.toUpperCase()] },
    ];
    for (const f of bad) {
      const frame = await refused(c, 'hex', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('invalid'), JSON.stringify(f));
    }
    // One bad filter refuses the whole REQ.
    const frame = await refused(c, 'hex2', { kinds: [1] }, { ids: ['abc'] });
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('invalid'));
    assert.equal(c.closed, false);
  });

  it('malformed filter values -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const bad: unknown[] = [
      5,
      'x',
      null,
      [],
      { ids: 'x' },
      { kinds: ['1'] },
      { kinds: [70000] },
      { kinds: [-1] },
      { kinds: 1 },
      { since: -1 },
      { since: '1' },
      { until: 1.5 },
      { limit: -1 },
      { limit: '10' },
      { '#t': 'x' },
      { '#t': [1] },
    ];
    for (const f of bad) {
      const frame = await refused(c, 'malformed', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('invalid'), JSON.stringify(f));
    }
    const noFilter = await refused(c, 'nofilter');
    assert.equal(noFilter[0], 'CLOSED');
    assert.match(noFilter[2], hasPrefix('invalid'));
  });

  it('multi-letter tag keys, unknown keys and search -> CLOSED "unsupported: ..."', async () => {
    const c = await clients.raw(t.url);
    for (const f of [{ '#emoji': ['x'] }, { foo: 1 }, { search: 'hello' }, { '#': ['x'] }, { '#1': ['x'] }]) {
      const frame = await refused(c, 'unsup', f);
      assert.equal(frame[0], 'CLOSED', JSON.stringify(f));
      assert.match(frame[2], hasPrefix('unsupported'), JSON.stringify(f));
    }
  });

  it('empty, 65-character and non-string subscription ids are refused', async () => {
    const c = await clients.raw(t.url);
    c.send(['REQ', '', {}]);
    const empty = await c.next((f) => (f[0] === 'CLOSED' && f[1] === '') || f[0] === 'NOTICE');
    assert.match(empty.at(-1), hasPrefix('invalid'));

    const long = 'x'.repeat(65);
    c.send(['REQ', long, {}]);
    const tooLong = await c.next((f) => (f[0] === 'CLOSED' && long.startsWith(f[1])) || f[0] === 'NOTICE');
    assert.match(tooLong.at(-1), hasPrefix('invalid'));

    c.send(['REQ', 42, {}]);
    const notString = await c.nextOfType('NOTICE');
    assert.match(notString[1], hasPrefix('invalid'));

    // Exactly 64 characters, and arbitrary characters, are fine.
    const max = 'y'.repeat(64);
    assert.deepEqual(await c.query(max, { ids: ['00'.repeat(32)] }), []);
    const odd = 'sub "quoted" \\ ü 🎉';
    const ev = sign(newKeys());
    await publishAll(c, [ev]);
    assert.deepEqual(await c.query(odd, { ids: [ev.id] }), [ev]);
    assert.ok(!c.frames.some((f) => f[0] === 'EVENT' && f[1] !== odd && f[1] !== max));
  });

  it('too many filters -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const max = t.relay.config.limits.maxFiltersPerReq;
    const frame = await refused(c, 'many', ...Array.from({ length: max + 1 }, (_, i) => ({ kinds: [i] })));
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('invalid'));
    assert.deepEqual(
      await c.query('ok', ...Array.from({ length: max }, (_, i) => ({ kinds: [40000 + i] }))),
      [],
    );
  });
});

describe('subscription lifecycle', () => {
  it('a REQ reusing an open subId replaces it', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    assert.deepEqual(await c.query('s', { authors: [keys.pk], kinds: [1] }), []);
    assert.deepEqual(await c.query('s', { authors: [keys.pk], kinds: [2] }), []);
    const old = sign(keys, { kind: 1, content: 'matches only the old filter' });
    const current = sign(keys, { kind: 2, content: 'matches the new filter' });
    await publishAll(pub, [old, current]);
    assert.deepEqual(await c.next((f) => f[0] === 'EVENT' && f[1] === 's'), ['EVENT', 's', current]);
    assert.ok(!c.frames.some((f) => f[0] === 'EVENT' && f[2]?.id === old.id), 'old filter must be gone');
  });

  it('CLOSE stops live delivery; unknown ids are ignored quietly; bad ids get NOTICE', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const sentinel = newKeys();
    assert.deepEqual(await c.query('closing', { authors: [keys.pk] }), []);
    assert.deepEqual(await c.query('sentinel', { authors: [sentinel.pk] }), []);
    const first = sign(keys, { content: 'before CLOSE' });
    await publishAll(pub, [first]);
    assert.deepEqual(await c.next((f) => f[0] === 'EVENT' && f[1] === 'closing'), [
      'EVENT',
      'closing',
      first,
    ]);

    c.send(['CLOSE', 'closing']);
    c.send(['CLOSE', 'never-opened']);
    // A round trip makes sure both CLOSEs were processed.
    assert.deepEqual(await c.query('barrier', { ids: ['00'.repeat(32)] }), []);
    const second = sign(keys, { content: 'after CLOSE' });
    const marker = sign(sentinel, { content: 'sentinel' });
    await publishAll(pub, [second, marker]);
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'sentinel');
    assert.ok(!c.frames.some((f) => f[1] === 'closing' || f[1] === 'never-opened'));

    c.send(['CLOSE', '']);
    assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
    c.send(['CLOSE', 5]);
    assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
  });

  it('the same subId on two connections gives independent subscriptions', async () => {
    const c1 = await clients.raw(t.url);
    const c2 = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const k1 = newKeys();
    const k2 = newKeys();
    assert.deepEqual(await c1.query('same', { authors: [k1.pk] }), []);
    assert.deepEqual(await c2.query('same', { authors: [k2.pk] }), []);
    const e1 = sign(k1);
    const e2 = sign(k2);
    await publishAll(pub, [e1, e2]);
    assert.deepEqual(await c1.next((f) => f[0] === 'EVENT'), ['EVENT', 'same', e1]);
    assert.deepEqual(await c2.next((f) => f[0] === 'EVENT'), ['EVENT', 'same', e2]);

    // Closing it on one connection leaves the other one live.
    c1.send(['CLOSE', 'same']);
    assert.deepEqual(await c1.query('sentinel', { authors: [k1.pk], kinds: [9999] }), []);
    const e3 = sign(k2, { content: 'still live on c2' });
    const e1b = sign(k1, { kind: 9999, content: 'sentinel' });
    await publishAll(pub, [e3, e1b]);
    assert.deepEqual(await c2.next((f) => f[0] === 'EVENT'), ['EVENT', 'same', e3]);
    await c1.next((f) => f[0] === 'EVENT' && f[1] === 'sentinel');
    assert.ok(!c1.frames.some((f) => f[1] === 'same'));
  });

  it('disconnecting removes the connection subscriptions', async () => {
    const initial = t.relay.subscriptions.size;
    const c = await clients.raw(t.url);
    assert.deepEqual(await c.query('a', { ids: ['01'.repeat(32)] }), []);
    assert.deepEqual(await c.query('b', { ids: ['02'.repeat(32)] }), []);
    assert.equal(t.relay.subscriptions.size, initial + 2);
    await c.close();
    await waitFor(
      () => t.relay.subscriptions.size === initial,
      5000,
      () => `${initial} subscriptions (${t.relay.subscriptions.size})`,
    );
  });
});
