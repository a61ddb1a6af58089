/**
 * NIP-01 kind classes (nips.md §2.3 tests (a)-(e)): replaceable (0, 3, 10000-19999) and
 * addressable (30000-39999) events keep only the latest version per address, with the lowest
 * id winning ties; ephemeral events (20000-29999) are delivered live and never stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { byId, Clients, fetchEvents, hasPrefix, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

let t: TestRelay;
const clients = new Clients();
const base = nowSec() - 10_000;

before(async () => {
  t = await startTestRelay();
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

function ids(events: { id?: unknown }[]): string[] {
  return events.map((e) => e.id as string);
}

async function accepted(c: RawClient, ev: NostrEvent): Promise<void> {
  assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

async function rejectedAsOlder(c: RawClient, ev: NostrEvent): Promise<void> {
  const ok = await c.publish(ev);
  assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
  assert.match(ok[3], /^blocked: .*older than existing/);
}

/** Two events for the same address and created_at, ordered [lower id, higher id]. */
function tiePair(build: (i: number) => NostrEvent): [NostrEvent, NostrEvent] {
  const pair = [build(1), build(2)].sort(byId);
  return [pair[0]!, pair[1]!];
}

describe('replaceable kinds (0, 3, 10000-19999)', () => {
  for (const kind of [0, 3, 10000, 10002, 19999]) {
    it(`(a) kind ${kind}: a newer version replaces, an older one is rejected`, async () => {
      const relay = await clients.nostrTools(t.url);
      const keys = newKeys();
      const v100 = sign(keys, { kind, created_at: base + 100, content: 'v100' });
      const v200 = sign(keys, { kind, created_at: base + 200, content: 'v200' });
      const v150 = sign(keys, { kind, created_at: base + 150, content: 'v150' });
      assert.equal(await relay.publish(v100), '');
      assert.deepEqual(ids(await fetchEvents(relay, [{ kinds: [kind], authors: [keys.pk] }])), [v100.id]);
      assert.equal(await relay.publish(v200), '');
      assert.deepEqual(ids(await fetchEvents(relay, [{ kinds: [kind], authors: [keys.pk] }])), [v200.id]);
      await assert.rejects(relay.publish(v150), { message: /^blocked: .*older than existing/ });
      assert.deepEqual(ids(await fetchEvents(relay, [{ kinds: [kind], authors: [keys.pk] }])), [v200.id]);
      // The replaced version is gone for every kind of query.
      assert.deepEqual(await fetchEvents(relay, [{ ids: [v100.id, v150.id] }]), []);
    });
  }

  it('versions are per pubkey and per kind, and d tags do not split replaceable kinds', async () => {
    const c = await clients.raw(t.url);
    const a = newKeys();
    const b = newKeys();
    const a0 = sign(a, { kind: 0, created_at: base + 1, content: '{"name":"a"}' });
    const b0 = sign(b, { kind: 0, created_at: base + 1, content: '{"name":"b"}' });
    const a3 = sign(a, { kind: 3, created_at: base + 1 });
    await accepted(c, a0);
    await accepted(c, b0);
    await accepted(c, a3);
    const got = await c.query('per', { kinds: [0, 3], authors: [a.pk, b.pk] });
    assert.deepEqual(ids(got).sort(), ids([a0, b0, a3]).sort());

    const dA = sign(a, { kind: 10001, created_at: base + 1, tags: [['d', 'a']] });
    const dB = sign(a, { kind: 10001, created_at: base + 2, tags: [['d', 'b']] });
    await accepted(c, dA);
    await accepted(c, dB);
    assert.deepEqual(ids(await c.query('dtag', { kinds: [10001], authors: [a.pk] })), [dB.id]);
  });

  it('(b) equal created_at: the lowest id wins, whatever the arrival order', async () => {
    const c = await clients.raw(t.url);
    for (const order of ['high first', 'low first'] as const) {
      const keys = newKeys();
      const [low, high] = tiePair((i) =>
        sign(keys, { kind: 10002, created_at: base + 500, content: `tie ${i}` }),
      );
      if (order === 'high first') {
        await accepted(c, high);
        await accepted(c, low);
      } else {
        await accepted(c, low);
        const ok = await c.publish(high);
        assert.deepEqual(ok.slice(0, 3), ['OK', high.id, false], order);
        assert.match(ok[3], hasPrefix('blocked'));
      }
      assert.deepEqual(ids(await c.query('tie', { kinds: [10002], authors: [keys.pk] })), [low.id], order);
    }
  });
});

describe('addressable kinds (30000-39999)', () => {
  it('(c) different d tags are kept apart; a newer version replaces only its own d', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const x100 = sign(keys, { kind: 30023, created_at: base + 100, tags: [['d', 'x']], content: 'x100' });
    const y100 = sign(keys, { kind: 30023, created_at: base + 100, tags: [['d', 'y']], content: 'y100' });
    const x200 = sign(keys, { kind: 30023, created_at: base + 200, tags: [['d', 'x']], content: 'x200' });
    const x150 = sign(keys, { kind: 30023, created_at: base + 150, tags: [['d', 'x']], content: 'x150' });
    await accepted(c, x100);
    await accepted(c, y100);
    assert.deepEqual(
      ids(await c.query('both', { kinds: [30023], authors: [keys.pk] })).sort(),
      ids([x100, y100]).sort(),
    );
    await accepted(c, x200);
    assert.deepEqual(ids(await c.query('after', { kinds: [30023], authors: [keys.pk] })), ids([x200, y100]));
    assert.deepEqual(ids(await c.query('dx', { kinds: [30023], authors: [keys.pk], '#d': ['x'] })), [
      x200.id,
    ]);
    await rejectedAsOlder(c, x150);
    assert.deepEqual(ids(await c.query('final', { kinds: [30023], authors: [keys.pk] })), ids([x200, y100]));
    // Same d under another kind or another author is another address.
    const other = sign(newKeys(), { kind: 30023, created_at: base + 100, tags: [['d', 'x']] });
    const otherKind = sign(keys, { kind: 30024, created_at: base + 100, tags: [['d', 'x']] });
    await accepted(c, other);
    await accepted(c, otherKind);
    assert.deepEqual(ids(await c.query('still', { kinds: [30023], authors: [keys.pk] })), ids([x200, y100]));
  });

  it('(d) a missing d tag and ["d"] are the same address as ["d",""]', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const none = sign(keys, { kind: 30000, created_at: base + 100, content: 'no d tag' });
    const empty = sign(keys, { kind: 30000, created_at: base + 200, tags: [['d', '']], content: 'd ""' });
    const bare = sign(keys, { kind: 30000, created_at: base + 300, tags: [['d']], content: 'bare d' });
    const olderNone = sign(keys, { kind: 30000, created_at: base + 250, content: 'older, no d tag' });
    const firstD = sign(keys, {
      kind: 30000,
      created_at: base + 400,
      tags: [
        ['d', ''],
        ['d', 'other'],
      ],
      content: 'the first d tag counts',
    });
    const q = { kinds: [30000], authors: [keys.pk] };
    await accepted(c, none);
    await accepted(c, empty);
    assert.deepEqual(ids(await c.query('d1', q)), [empty.id]);
    await accepted(c, bare);
    assert.deepEqual(ids(await c.query('d2', q)), [bare.id]);
    await rejectedAsOlder(c, olderNone);
    await accepted(c, firstD);
    assert.deepEqual(ids(await c.query('d3', q)), [firstD.id]);
  });

  it('(b) equal created_at: the lowest id wins, whatever the arrival order', async () => {
    const c = await clients.raw(t.url);
    for (const order of ['high first', 'low first'] as const) {
      const keys = newKeys();
      const [low, high] = tiePair((i) =>
        sign(keys, { kind: 30078, created_at: base + 500, tags: [['d', 'tie']], content: `tie ${i}` }),
      );
      if (order === 'high first') {
        await accepted(c, high);
        await accepted(c, low);
      } else {
        await accepted(c, low);
        const ok = await c.publish(high);
        assert.deepEqual(ok.slice(0, 3), ['OK', high.id, false], order);
        assert.match(ok[3], hasPrefix('blocked'));
      }
      assert.deepEqual(ids(await c.query('tie', { kinds: [30078], authors: [keys.pk] })), [low.id], order);
    }
  });

  it('boundaries: 39999 is addressable, 40000 and 9999 are regular', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const a1 = sign(keys, { kind: 39999, created_at: base + 1, tags: [['d', 'b']] });
    const a2 = sign(keys, { kind: 39999, created_at: base + 2, tags: [['d', 'b']] });
    const r1 = sign(keys, { kind: 40000, created_at: base + 1, tags: [['d', 'b']] });
    const r2 = sign(keys, { kind: 40000, created_at: base + 2, tags: [['d', 'b']] });
    const s1 = sign(keys, { kind: 9999, created_at: base + 1 });
    const s2 = sign(keys, { kind: 9999, created_at: base + 2 });
    for (const ev of [a1, a2, r1, r2, s1, s2]) await accepted(c, ev);
    assert.deepEqual(ids(await c.query('a', { kinds: [39999], authors: [keys.pk] })), [a2.id]);
    assert.deepEqual(ids(await c.query('r', { kinds: [40000], authors: [keys.pk] })), [r2.id, r1.id]);
    assert.deepEqual(ids(await c.query('s', { kinds: [9999], authors: [keys.pk] })), [s2.id, s1.id]);
  });
});

describe('(e) ephemeral kinds (20000-29999)', () => {
  it('OK true, delivered live to open subscriptions (also on the same connection), never returned by REQ', async () => {
    const publisher = await clients.nostrTools(t.url);
    const other = await clients.raw(t.url);
    const same = await clients.raw(t.url);
    const keys = newKeys();
    assert.deepEqual(await other.query('eph', { authors: [keys.pk] }), []);
    assert.deepEqual(await same.query('eph', { kinds: [20001], authors: [keys.pk] }), []);
    const ev = sign(keys, { kind: 20001, content: 'ephemeral' });
    assert.equal(await publisher.publish(ev), '');
    assert.deepEqual(await other.next((f) => f[0] === 'EVENT'), ['EVENT', 'eph', ev]);
    // The publishing connection's own subscription gets it too.
    assert.deepEqual(
      await same.publish(sign(keys, { kind: 20001, content: 'from same' })).then((f) => f[2]),
      true,
    );
    const own = await same.next((f) => f[0] === 'EVENT' && f[2].content === 'from same');
    assert.equal(own[1], 'eph');
    assert.deepEqual(await same.query('later', { ids: [ev.id] }), []);
    assert.deepEqual(await same.query('later2', { authors: [keys.pk] }), []);
  });

  it('the kind boundaries 20000 and 29999 are ephemeral', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    for (const kind of [20000, 29999]) {
      const ev = sign(keys, { kind });
      assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    }
    const stored = sign(keys, { kind: 19999, created_at: base });
    await accepted(c, stored);
    assert.deepEqual(ids(await c.query('bounds', { authors: [keys.pk] })), [stored.id]);
  });
});
