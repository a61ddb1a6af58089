/**
 * Live delivery after EOSE: every matching open subscription gets a new event once, `limit`
 * does not apply to live events, since / until do, and events arriving while the stored
 * results are being sent are neither lost nor duplicated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { Clients, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

let t: TestRelay;
const clients = new Clients();

before(async () => {
  t = await startTestRelay();
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

async function accepted(c: RawClient, ev: NostrEvent): Promise<void> {
  assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

describe('live subscriptions', () => {
  it('nostr-tools: a subscription receives events published after EOSE', async () => {
    const sub = await clients.nostrTools(t.url);
    const pub = await clients.nostrTools(t.url);
    const keys = newKeys();
    const evs = [1, 2, 3].map((i) => sign(keys, { content: `live ${i}` }));
    const received: string[] = [];
    await new Promise<void>((resolve) => {
      const s = sub.subscribe([{ authors: [keys.pk] }], {
        onevent: (ev) => {
          received.push(ev.id);
          if (received.length === evs.length) {
            s.close();
            resolve();
          }
        },
        oneose: () => {
          void (async () => {
            for (const ev of evs) assert.equal(await pub.publish(ev), '');
          })();
        },
      });
    });
    assert.deepEqual(
      received,
      evs.map((e) => e.id),
    );
  });

  it('limit does not apply to live events; since / until do', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const now = nowSec();
    assert.deepEqual(await c.query('lim', { authors: [keys.pk], limit: 1 }), []);
    assert.deepEqual(await c.query('past', { authors: [keys.pk], until: now - 100 }), []);
    assert.deepEqual(await c.query('future', { authors: [keys.pk], since: now + 100 }), []);
    assert.deepEqual(await c.query('window', { authors: [keys.pk], since: now - 100, until: now + 100 }), []);
    const evs = [1, 2, 3].map((i) => sign(keys, { created_at: now + i, content: `n${i}` }));
    for (const ev of evs) await accepted(pub, ev);
    const marker = sign(keys, { created_at: now + 200, content: 'marker' });
    await accepted(pub, marker);
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'future');
    const got = (sub: string) => c.frames.filter((f) => f[0] === 'EVENT' && f[1] === sub).map((f) => f[2].id);
    assert.deepEqual(
      got('lim'),
      [...evs, marker].map((e) => e.id),
    );
    assert.deepEqual(
      got('window'),
      evs.map((e) => e.id),
    );
    assert.deepEqual(got('past'), []);
    assert.deepEqual(got('future'), []);
  });

  it('an event matching several filters of one subscription is delivered once; each subscription gets it', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const ev = sign(keys, { kind: 1, tags: [['t', 'live-dedupe']] });
    // The catch-all filter {} also returns stored events; only what arrives afterwards is checked.
    await c.query(
      'multi',
      { authors: [keys.pk] },
      { kinds: [1], '#t': ['live-dedupe'] },
      { ids: [ev.id] },
      {},
    );
    assert.deepEqual(await c.query('second', { ids: [ev.id] }), []);
    await accepted(pub, ev);
    const marker = sign(keys, { kind: 2 });
    await accepted(pub, marker);
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'multi' && f[2].id === marker.id);
    const frames = c.frames.filter((f) => f[0] === 'EVENT' && f[2].id === ev.id).map((f) => f[1]);
    assert.deepEqual(frames.sort(), ['multi', 'second']);
  });

  it('events published during the initial query are delivered exactly once, after EOSE or before it', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const base = nowSec() - 1000;
    const stored = Array.from({ length: 200 }, (_, i) =>
      sign(keys, { created_at: base + i, content: `s${i}` }),
    );
    await Promise.all(stored.map((ev) => pub.publish(ev)));
    const live = Array.from({ length: 50 }, (_, i) => sign(keys, { created_at: nowSec(), content: `l${i}` }));
    c.send(['REQ', 'race', { authors: [keys.pk], limit: 1000 }]);
    await Promise.all(live.map((ev) => pub.publish(ev)));
    const marker = sign(keys, { kind: 2, content: 'marker' });
    await accepted(pub, marker);
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'race' && f[2].id === marker.id);
    const seen = c.frames.filter((f) => f[0] === 'EVENT' && f[1] === 'race').map((f) => f[2].id as string);
    assert.equal(new Set(seen).size, seen.length, 'no event delivered twice');
    assert.deepEqual([...seen].sort(), [...stored, ...live].map((e) => e.id).sort());
    assert.ok(c.frames.some((f) => f[0] === 'EOSE' && f[1] === 'race'));
  });

  it('many subscribers on many connections all get a broadcast', async () => {
    const keys = newKeys();
    const tag = `fanout-${keys.pk.slice(0, 8)}`;
    const subs = await Promise.all(Array.from({ length: 10 }, () => clients.raw(t.url)));
    for (const [i, c] of subs.entries()) {
      assert.deepEqual(
        await c.query(`s${i}`, i % 2 ? { authors: [keys.pk] } : { kinds: [1], '#t': [tag] }),
        [],
      );
    }
    const pub = await clients.raw(t.url);
    const ev = sign(keys, { content: 'to everyone', tags: [['t', tag]] });
    await accepted(pub, ev);
    for (const [i, c] of subs.entries()) {
      assert.deepEqual(await c.next((f) => f[0] === 'EVENT' && f[2].id === ev.id), ['EVENT', `s${i}`, ev]);
    }
  });

  it('live tag matching uses only the first tag value', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const first = `first-${keys.pk.slice(0, 8)}`;
    const second = `second-${keys.pk.slice(0, 8)}`;
    assert.deepEqual(await c.query('first', { '#t': [first] }), []);
    assert.deepEqual(await c.query('second', { '#t': [second] }), []);
    assert.deepEqual(await c.query('second-k', { kinds: [1], '#t': [second] }), []);
    assert.deepEqual(await c.query('marker', { authors: [keys.pk], kinds: [2] }), []);
    const ev = sign(keys, { tags: [['t', first, second]] });
    await accepted(pub, ev);
    await accepted(pub, sign(keys, { kind: 2 }));
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'marker');
    const got = c.frames.filter((f) => f[0] === 'EVENT' && f[2].id === ev.id).map((f) => f[1]);
    assert.deepEqual(got, ['first']);
  });

  it('rejected and duplicate events are not broadcast again', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    assert.deepEqual(await c.query('w', { authors: [keys.pk] }), []);
    const ev = sign(keys, { content: 'once' });
    await accepted(pub, ev);
    assert.deepEqual(await c.next((f) => f[0] === 'EVENT'), ['EVENT', 'w', ev]);
    assert.equal((await pub.publish(ev))[2], true);
    const bad = { ...sign(keys, { content: 'bad sig' }), sig: ev.sig };
    assert.equal((await pub.publish(bad))[2], false);
    const marker = sign(keys, { content: 'marker' });
    await accepted(pub, marker);
    assert.deepEqual(await c.next((f) => f[0] === 'EVENT'), ['EVENT', 'w', marker]);
  });
});
