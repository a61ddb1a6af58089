/**
 * Configured limits are enforced as advertised: message and event size, tags, content length
 * (in unicode characters), the created_at window, subscriptions and filters per connection,
 * and the clamped / default `limit`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { Clients, hasPrefix, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const clients = new Clients();

after(async () => {
  await clients.closeAll();
});

async function accepted(c: RawClient, ev: NostrEvent): Promise<void> {
  assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

async function invalid(c: RawClient, ev: NostrEvent): Promise<string> {
  const ok = await c.publish(ev);
  assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
  assert.match(ok[3], hasPrefix('invalid'));
  return ok[3];
}

async function assertStillWorks(c: RawClient): Promise<void> {
  await accepted(c, sign(newKeys(), { content: 'ok' }));
  assert.equal(c.closed, false);
}

describe('small limits', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({
      ORLY_MAX_MESSAGE_SIZE: '2048',
      ORLY_MAX_EVENT_SIZE: '1024',
      ORLY_MAX_EVENT_TAGS: '5',
      ORLY_MAX_CONTENT_LENGTH: '10',
      ORLY_MAX_SUBSCRIPTIONS: '2',
      ORLY_MAX_FILTERS: '3',
      ORLY_MAX_LIMIT: '5',
      ORLY_DEFAULT_LIMIT: '3',
      ORLY_CREATED_AT_UPPER_LIMIT: '60',
      ORLY_CREATED_AT_LOWER_LIMIT: '1000',
    });
  });
  after(async () => {
    await t.stop();
  });

  it('a message over ORLY_MAX_MESSAGE_SIZE: EVENT -> OK false "invalid: ...", others -> NOTICE; connection stays open', async () => {
    const c = await clients.raw(t.url);
    const big = sign(newKeys(), { content: 'x'.repeat(3000) });
    const frame = JSON.stringify(['EVENT', big]);
    assert.ok(Buffer.byteLength(frame) > 2048);
    const reason = await invalid(c, big);
    assert.match(reason, /2048/);
    c.send(['REQ', 'big', { '#t': ['y'.repeat(3000)] }]);
    assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
    await assertStillWorks(c);
    // Just under the limit is read normally (and then judged by the event checks).
    const underLimit = sign(newKeys(), { tags: [['t', 'z'.repeat(1600)]] });
    assert.ok(Buffer.byteLength(JSON.stringify(['EVENT', underLimit])) < 2048);
    const r = await invalid(c, underLimit);
    assert.match(r, /1024/, 'the event size limit, not the message size limit');
  });

  it('a message far beyond the limit closes the connection (1009) without harming others', async () => {
    const victim = await clients.raw(t.url);
    const bystander = await clients.raw(t.url);
    const closed = new Promise<number>((resolve) => victim.ws.once('close', (code) => resolve(code)));
    victim.send(`["NOTICE","${'x'.repeat(70_000)}"]`);
    assert.equal(await closed, 1009);
    await assertStillWorks(bystander);
  });

  it('ORLY_MAX_EVENT_SIZE', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { tags: [['t', 'a'.repeat(1100)]] });
    assert.match(await invalid(c, ev), /1024/);
    await accepted(c, sign(newKeys(), { tags: [['t', 'a'.repeat(600)]] }));
  });

  it('ORLY_MAX_EVENT_TAGS', async () => {
    const c = await clients.raw(t.url);
    const tags = (n: number) => Array.from({ length: n }, (_, i) => ['t', `tag${i}`]);
    await invalid(c, sign(newKeys(), { tags: tags(6) }));
    await accepted(c, sign(newKeys(), { tags: tags(5) }));
  });

  it('ORLY_MAX_CONTENT_LENGTH counts unicode characters', async () => {
    const c = await clients.raw(t.url);
    await invalid(c, sign(newKeys(), { content: 'x'.repeat(11) }));
    await accepted(c, sign(newKeys(), { content: 'x'.repeat(10) }));
    // 10 astral characters are 20 UTF-16 units but 10 characters.
    await accepted(c, sign(newKeys(), { content: '🎉'.repeat(10) }));
    await invalid(c, sign(newKeys(), { content: '🎉'.repeat(11) }));
  });

  it('ORLY_CREATED_AT_UPPER_LIMIT / ORLY_CREATED_AT_LOWER_LIMIT', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    await invalid(c, sign(keys, { created_at: nowSec() + 120 }));
    await accepted(c, sign(keys, { created_at: nowSec() + 30 }));
    await invalid(c, sign(keys, { created_at: nowSec() - 1100 }));
    await accepted(c, sign(keys, { created_at: nowSec() - 900 }));
    await assertStillWorks(c);
  });

  it('ORLY_MAX_SUBSCRIPTIONS=2: a third subscription -> CLOSED "blocked: ..."', async () => {
    const c = await clients.raw(t.url);
    const none = { ids: ['00'.repeat(32)] };
    assert.deepEqual(await c.query('s1', none), []);
    assert.deepEqual(await c.query('s2', none), []);
    c.send(['REQ', 's3', none]);
    const frame = await c.next((f) => f[1] === 's3');
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('blocked'));
    // Replacing an open subscription is not a new one.
    assert.deepEqual(await c.query('s1', none), []);
    // Closing one makes room.
    c.send(['CLOSE', 's2']);
    assert.deepEqual(await c.query('s3', none), []);
    // The limit is per connection.
    const other = await clients.raw(t.url);
    assert.deepEqual(await other.query('s1', none), []);
    assert.deepEqual(await other.query('s2', none), []);
  });

  it('ORLY_MAX_FILTERS=3: four filters -> CLOSED "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    c.send(['REQ', 'f4', { kinds: [1] }, { kinds: [2] }, { kinds: [3] }, { kinds: [4] }]);
    const frame = await c.next((f) => f[1] === 'f4');
    assert.equal(frame[0], 'CLOSED');
    assert.match(frame[2], hasPrefix('invalid'));
    c.send(['COUNT', 'c4', { kinds: [1] }, { kinds: [2] }, { kinds: [3] }, { kinds: [4] }]);
    const count = await c.next((f) => f[1] === 'c4');
    assert.equal(count[0], 'CLOSED');
    assert.match(count[2], hasPrefix('invalid'));
    assert.deepEqual(await c.query('f3', { ids: ['00'.repeat(32)] }, { kinds: [9] }, { kinds: [8] }), []);
  });

  it('limit is clamped to ORLY_MAX_LIMIT and ORLY_DEFAULT_LIMIT applies without limit', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const base = nowSec() - 500;
    const evs = Array.from({ length: 8 }, (_, i) => sign(keys, { created_at: base + i, content: `n${i}` }));
    for (const ev of evs) await accepted(c, ev);
    const newest = [...evs].reverse().map((e) => e.id);
    const q = { authors: [keys.pk] };
    // One subscription id, replaced each time (this relay allows two per connection).
    assert.deepEqual(
      (await c.query('q', { ...q, limit: 100 })).map((e) => e.id),
      newest.slice(0, 5),
    );
    assert.deepEqual(
      (await c.query('q', q)).map((e) => e.id),
      newest.slice(0, 3),
    );
    assert.deepEqual(
      (await c.query('q', { ...q, limit: 4 })).map((e) => e.id),
      newest.slice(0, 4),
    );
    c.send(['COUNT', 'all', q]);
    assert.deepEqual(await c.nextOfType('COUNT'), ['COUNT', 'all', { count: 8 }]);
  });
});

describe('default created_at window', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay();
  });
  after(async () => {
    await t.stop();
  });

  it('now+3601 (and now+910) are too far in the future; now+600 is fine', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    assert.match(await invalid(c, sign(keys, { created_at: nowSec() + 3601 })), /future/);
    // 10 s past the 900 s window: now+901 flaked when the relay's clock second ticked after signing.
    await invalid(c, sign(keys, { created_at: nowSec() + 910 }));
    await accepted(c, sign(keys, { created_at: nowSec() + 600 }));
  });

  it('events older than three years are too old', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    assert.match(await invalid(c, sign(keys, { created_at: nowSec() - 94_608_000 - 100 })), /past/);
    await invalid(c, sign(keys, { created_at: 0 }));
    await accepted(c, sign(keys, { created_at: nowSec() - 94_608_000 + 3600 }));
  });
});

describe('widened created_at window', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_CREATED_AT_UPPER_LIMIT: '5000', ORLY_CREATED_AT_LOWER_LIMIT: '0' });
  });
  after(async () => {
    await t.stop();
  });

  it('ORLY_CREATED_AT_UPPER_LIMIT=5000 accepts now+3601; ORLY_CREATED_AT_LOWER_LIMIT=0 disables the lower bound', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    await accepted(c, sign(keys, { created_at: nowSec() + 3601 }));
    await invalid(c, sign(keys, { created_at: nowSec() + 5100 }));
    await accepted(c, sign(keys, { created_at: 1000 }));
  });
});
