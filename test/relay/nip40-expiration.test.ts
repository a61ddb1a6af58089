/**
 * NIP-40 expiration: already-expired events are refused, expiring events stop being served
 * once expired, and the background sweep (ORLY_EXPIRATION_SWEEP_INTERVAL=1) purges them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Clients, fetchEvents, hasPrefix, newKeys, nowSec, sign, sleep } from '../helpers/nostr.js';
import { startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let t: TestRelay;
const clients = new Clients();

before(async () => {
  t = await startTestRelay({ ORLY_EXPIRATION_SWEEP_INTERVAL: '1' });
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

/** Sleeps until the wall clock is at least `seconds` (unix time). */
async function sleepUntil(seconds: number): Promise<void> {
  const ms = seconds * 1000 - Date.now();
  if (ms > 0) await sleep(ms + 20);
}

describe('NIP-40', () => {
  it('an already-expired event -> OK false "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    for (const exp of [nowSec() - 1, nowSec() - 3600, 1]) {
      const ev = sign(keys, { tags: [['expiration', String(exp)]], content: `expired at ${exp}` });
      const ok = await c.publish(ev);
      assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
      assert.match(ok[3], hasPrefix('invalid'));
      assert.deepEqual(await c.query('expired', { ids: [ev.id] }), []);
    }
  });

  it('a malformed expiration tag is ignored (the event is kept)', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { tags: [['expiration', 'soon']] });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    assert.deepEqual(await c.query('malformed', { ids: [ev.id] }), [ev]);
  });

  it('an event expiring in 2 s is served, then not served, then purged from the store', async () => {
    const relay = await clients.nostrTools(t.url);
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const expiration = nowSec() + 2;
    const ev = sign(keys, { tags: [['expiration', String(expiration)]], content: 'short-lived' });
    const durable = sign(keys, { tags: [['expiration', String(nowSec() + 3600)]], content: 'long-lived' });
    assert.equal(await relay.publish(ev), '');
    assert.equal(await relay.publish(durable), '');
    assert.deepEqual(
      (await fetchEvents(relay, [{ authors: [keys.pk] }])).map((e) => e.id).sort(),
      [ev.id, durable.id].sort(),
    );
    assert.ok(await t.relay.store.getById(ev.id));
    const eventsBefore = (await t.relay.store.stats()).events;

    // Once the expiration second is reached it is no longer served (by any query shape).
    await sleepUntil(expiration);
    assert.deepEqual(
      (await c.query('after', { authors: [keys.pk] })).map((e) => e.id),
      [durable.id],
    );
    assert.deepEqual(await c.query('after-id', { ids: [ev.id] }), []);
    c.send(['COUNT', 'cnt', { authors: [keys.pk] }]);
    assert.deepEqual(await c.nextOfType('COUNT'), ['COUNT', 'cnt', { count: 1 }]);

    // The sweep (every second) removes it physically.
    await waitFor(
      async () => (await t.relay.store.getById(ev.id)) === undefined,
      5000,
      'the expired event to be purged from the store',
      100,
    );
    await waitFor(
      async () => (await t.relay.store.stats()).events <= eventsBefore - 1,
      3000,
      'the store to hold one event less',
      100,
    );
    assert.equal((await t.relay.store.stats()).events, eventsBefore - 1, 'the store holds one event less');
    assert.ok(await t.relay.store.getById(durable.id), 'unexpired events stay');
  });
});
