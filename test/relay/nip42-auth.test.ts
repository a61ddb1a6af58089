/**
 * NIP-42 authentication and the read restriction on DM kinds (4, 1059): the challenge on
 * connect, AUTH validation, multi-user AUTH, auth-required refusals, per-event visibility in
 * stored results and live delivery, ORLY_RELAY_URL, and kind 22242 never being broadcast.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import {
  authEvent,
  Clients,
  challengeOf,
  fetchEvents,
  hasPrefix,
  type Keys,
  newKeys,
  nowSec,
  rawAuth,
  sign,
  signerFor,
} from '../helpers/nostr.js';
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

function ids(events: { id?: unknown }[]): string[] {
  return events.map((e) => e.id as string);
}

async function accepted(c: RawClient, ev: NostrEvent): Promise<void> {
  assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

/** A raw client authenticated as every one of `keys`. */
async function authedClient(...keys: Keys[]): Promise<RawClient> {
  const c = await clients.raw(t.url);
  for (const k of keys) {
    const ok = await rawAuth(c, k, t.url);
    assert.equal(ok[2], true, `AUTH failed: ${ok[3]}`);
  }
  return c;
}

/** A DM (kind 4) from `from` to `to`. */
function dm(from: Keys, to: Keys, content = 'secret'): NostrEvent {
  return sign(from, { kind: 4, tags: [['p', to.pk]], content });
}

async function expectClosed(
  c: RawClient,
  subId: string,
  prefix: string,
  ...filters: unknown[]
): Promise<void> {
  c.send(['REQ', subId, ...filters]);
  const frame = await c.next((f) => (f[0] === 'CLOSED' || f[0] === 'EOSE') && f[1] === subId);
  assert.equal(frame[0], 'CLOSED', JSON.stringify(filters));
  assert.match(frame[2], hasPrefix(prefix));
}

describe('challenge and AUTH', () => {
  it('sends ["AUTH", challenge] on connect, a different one per connection', async () => {
    const c1 = await clients.raw(t.url);
    const c2 = await clients.raw(t.url);
    const first1 = await c1.next(() => true);
    const first2 = await c2.next(() => true);
    assert.equal(first1[0], 'AUTH');
    assert.equal(first1.length, 2);
    assert.match(first1[1], /^[0-9a-f]{32}$/);
    assert.equal(first2[0], 'AUTH');
    assert.notEqual(first1[1], first2[1]);
  });

  it('a valid AUTH -> OK true (nostr-tools relay.auth), and restricted kinds are served', async () => {
    const relay = await clients.nostrTools(t.url);
    const me = newKeys();
    const sender = newKeys();
    const c = await clients.raw(t.url);
    const message = dm(sender, me);
    await accepted(c, message);
    // A round trip guarantees the AUTH challenge (sent on connect) has arrived.
    assert.equal(await relay.count([{ ids: ['00'.repeat(32)] }], {}), 0);
    await assert.rejects(fetchEvents(relay, [{ kinds: [4] }]), { message: /^auth-required: / });
    assert.equal(await relay.auth(signerFor(me)), '');
    assert.deepEqual(ids(await fetchEvents(relay, [{ kinds: [4], '#p': [me.pk] }])), [message.id]);
  });

  it('the REQ -> CLOSED auth-required -> AUTH -> REQ flow (raw)', async () => {
    const me = newKeys();
    const pub = await clients.raw(t.url);
    const wrap = sign(newKeys(), { kind: 1059, tags: [['p', me.pk]], content: 'gift wrap' });
    await accepted(pub, wrap);
    const c = await clients.raw(t.url);
    await expectClosed(c, 'dm', 'auth-required', { kinds: [4] });
    await expectClosed(c, 'gw', 'auth-required', { kinds: [1059] });
    await expectClosed(c, 'mixed', 'auth-required', { kinds: [1] }, { kinds: [1, 1059], '#p': [me.pk] });
    const ok = await rawAuth(c, me, t.url);
    assert.deepEqual(ok.slice(2), [true, '']);
    assert.deepEqual(ids(await c.query('gw', { kinds: [1059], '#p': [me.pk] })), [wrap.id]);
  });

  it('invalid AUTH events -> OK false "invalid: ..." and the connection stays unauthenticated', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const challenge = await challengeOf(c);
    const other = await clients.raw(t.url);
    const otherChallenge = await challengeOf(other);
    const now = nowSec();
    const port = t.port;
    const variants: [string, NostrEvent][] = [
      ['wrong challenge', authEvent(keys, 'not-the-challenge', t.url)],
      ['another connection challenge', authEvent(keys, otherChallenge, t.url)],
      ['missing challenge', authEvent(keys, challenge, t.url, { tags: [['relay', t.url]] })],
      ['stale created_at', authEvent(keys, challenge, t.url, { created_at: now - 700 })],
      ['future created_at', authEvent(keys, challenge, t.url, { created_at: now + 700 })],
      ['wrong relay host', authEvent(keys, challenge, 'ws://example.com/')],
      ['wrong relay port', authEvent(keys, challenge, `ws://127.0.0.1:${port === 1 ? 2 : 1}/`)],
      ['wrong relay path', authEvent(keys, challenge, `${t.url}/other`)],
      ['relay not a URL', authEvent(keys, challenge, 'not a url')],
      ['missing relay', authEvent(keys, challenge, t.url, { tags: [['challenge', challenge]] })],
      ['wrong kind', authEvent(keys, challenge, t.url, { kind: 1 })],
      ['ephemeral kind', authEvent(keys, challenge, t.url, { kind: 22243 })],
    ];
    const good = authEvent(keys, challenge, t.url);
    const badSig = { ...good, sig: authEvent(newKeys(), challenge, t.url).sig };
    const badId = { ...authEvent(keys, challenge, t.url), content: 'tampered' };
    variants.push(['bad signature', badSig], ['bad id', badId]);
    for (const [name, ev] of variants) {
      c.send(['AUTH', ev]);
      const ok = await c.next((f) => f[0] === 'OK' && f[1] === ev.id);
      assert.equal(ok[2], false, name);
      assert.match(ok[3], hasPrefix('invalid'), name);
    }
    // Malformed AUTH messages.
    c.send(['AUTH', { ...good, id: good.id.toUpperCase() }]);
    const upper = await c.next((f) => f[0] === 'OK' && f[1] === good.id.toUpperCase());
    assert.equal(upper[2], false);
    assert.match(upper[3], hasPrefix('invalid'));
    for (const value of ['just a string', null, 5]) {
      c.send(['AUTH', value]);
      assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
    }
    await expectClosed(c, 'still', 'auth-required', { kinds: [4] });
    // Then a good one still works.
    c.send(['AUTH', good]);
    assert.deepEqual(await c.next((f) => f[0] === 'OK' && f[1] === good.id), ['OK', good.id, true, '']);
  });

  it('the relay tag is compared by host, port and path (scheme and trailing slash do not matter)', async () => {
    for (const url of [
      `ws://127.0.0.1:${t.port}`,
      `ws://127.0.0.1:${t.port}/`,
      `wss://127.0.0.1:${t.port}`,
      `http://127.0.0.1:${t.port}/`,
    ]) {
      const c = await clients.raw(t.url);
      const ok = await rawAuth(c, newKeys(), url);
      assert.equal(ok[2], true, `${url}: ${ok[3]}`);
    }
  });

  it('two pubkeys authenticated on one connection both count', async () => {
    const a = newKeys();
    const b = newKeys();
    const c3 = newKeys();
    const x = newKeys();
    const pub = await clients.raw(t.url);
    const toA = dm(x, a);
    const toB = dm(x, b);
    const toC = dm(x, c3);
    for (const ev of [toA, toB, toC]) await accepted(pub, ev);
    const c = await authedClient(a, b);
    assert.deepEqual(
      ids(await c.query('multi', { kinds: [4], authors: [x.pk] })).sort(),
      ids([toA, toB]).sort(),
    );
    const single = await authedClient(a);
    assert.deepEqual(ids(await single.query('single', { kinds: [4], authors: [x.pk] })), [toA.id]);
  });

  it('authentication is per connection', async () => {
    const me = newKeys();
    await authedClient(me);
    const other = await clients.raw(t.url);
    await expectClosed(other, 'x', 'auth-required', { kinds: [4] });
  });
});

describe('restricted kinds (4, 1059) are served only to their parties', () => {
  it('the author and the p-tagged recipient are served; a third party gets nothing', async () => {
    const sender = newKeys();
    const recipient = newKeys();
    const third = newKeys();
    const pub = await clients.raw(t.url);
    const message = dm(sender, recipient);
    const wrap = sign(sender, { kind: 1059, tags: [['p', recipient.pk]], content: 'wrapped' });
    await accepted(pub, message);
    await accepted(pub, wrap);
    const q = { kinds: [4, 1059], authors: [sender.pk] };

    const asRecipient = await authedClient(recipient);
    assert.deepEqual(ids(await asRecipient.query('r', q)).sort(), ids([message, wrap]).sort());
    const asSender = await authedClient(sender);
    assert.deepEqual(ids(await asSender.query('s', q)).sort(), ids([message, wrap]).sort());
    const asThird = await authedClient(third);
    assert.deepEqual(await asThird.query('t', q), []);
    assert.deepEqual(await asThird.query('t2', { kinds: [4], ids: [message.id] }), []);
    assert.deepEqual(await asThird.query('t3', { ids: [message.id, wrap.id] }), []);
    // The third party authenticated with the recipient too: now served.
    const both = await authedClient(third, recipient);
    assert.deepEqual(ids(await both.query('b', q)).sort(), ids([message, wrap]).sort());
  });

  it('filters without kinds never leak restricted kinds to others', async () => {
    const sender = newKeys();
    const recipient = newKeys();
    const pub = await clients.raw(t.url);
    const note = sign(sender, { kind: 1, tags: [['p', recipient.pk]], content: 'public note' });
    const message = dm(sender, recipient);
    const wrap = sign(newKeys(), { kind: 1059, tags: [['p', recipient.pk]] });
    for (const ev of [note, message, wrap]) await accepted(pub, ev);

    const anon = await clients.raw(t.url);
    const asThird = await authedClient(newKeys());
    for (const c of [anon, asThird]) {
      const scrape = await c.query('scrape', {});
      assert.ok(ids(scrape).includes(note.id));
      assert.ok(!scrape.some((e) => e.kind === 4 || e.kind === 1059), 'scrape leaked a DM');
      assert.deepEqual(ids(await c.query('by-author', { authors: [sender.pk] })), [note.id]);
      assert.deepEqual(ids(await c.query('by-p', { '#p': [recipient.pk] })), [note.id]);
      assert.deepEqual(await c.query('by-id', { ids: [message.id, wrap.id] }), []);
    }
    // The recipient's own scrape includes them.
    const asRecipient = await authedClient(recipient);
    assert.deepEqual(
      ids(await asRecipient.query('mine', { '#p': [recipient.pk] })).sort(),
      ids([note, message, wrap]).sort(),
    );
  });

  it('live delivery of a DM reaches only its parties', async () => {
    const sender = newKeys();
    const recipient = newKeys();
    const marker = newKeys();
    const subscribers: [string, RawClient, boolean][] = [
      ['recipient', await authedClient(recipient), true],
      ['sender', await authedClient(sender), true],
      ['third party', await authedClient(newKeys()), false],
      ['anonymous', await clients.raw(t.url), false],
    ];
    for (const [, c, party] of subscribers) {
      // Anonymous connections cannot name kind 4; everyone may subscribe without kinds.
      await c.query('all', {});
      if (party) assert.deepEqual(await c.query('dms', { kinds: [4], since: nowSec() - 5 }), []);
      assert.deepEqual(await c.query('marker', { authors: [marker.pk] }), []);
    }
    const pub = await clients.raw(t.url);
    const message = dm(sender, recipient, 'live secret');
    await accepted(pub, message);
    await accepted(pub, sign(marker, { content: 'marker' }));
    for (const [name, c, party] of subscribers) {
      await c.next((f) => f[0] === 'EVENT' && f[1] === 'marker');
      const got = c.frames.filter((f) => f[0] === 'EVENT' && f[2]?.id === message.id).map((f) => f[1]);
      assert.deepEqual(got.sort(), party ? ['all', 'dms'] : [], name);
    }
  });
});

describe('ORLY_RELAY_URL', () => {
  let t2: TestRelay;
  before(async () => {
    t2 = await startTestRelay({ ORLY_RELAY_URL: 'wss://relay.example.com' });
  });
  after(async () => {
    await t2.stop();
  });

  it('is the URL the relay tag must name', async () => {
    const c = await clients.raw(t2.url);
    const local = await rawAuth(c, newKeys(), t2.url);
    assert.equal(local[2], false);
    assert.match(local[3], hasPrefix('invalid'));
    for (const url of [
      'wss://relay.example.com',
      'wss://relay.example.com/',
      'wss://RELAY.example.com:443',
    ]) {
      const ok = await rawAuth(c, newKeys(), url);
      assert.equal(ok[2], true, `${url}: ${ok[3]}`);
    }
    const otherHost = await rawAuth(c, newKeys(), 'wss://other.example.com');
    assert.equal(otherHost[2], false);
  });
});

describe('kind 22242', () => {
  it('sent via EVENT -> OK false, never stored, never broadcast (nor are AUTH events)', async () => {
    const watcher = await clients.raw(t.url);
    const marker = newKeys();
    assert.deepEqual(await watcher.query('auth-kind', { kinds: [22242] }), []);
    assert.deepEqual(await watcher.query('marker', { authors: [marker.pk] }), []);
    const keys = newKeys();
    const c = await clients.raw(t.url);
    const viaEvent = authEvent(keys, await challengeOf(c), t.url);
    const ok = await c.publish(viaEvent);
    assert.deepEqual(ok.slice(0, 3), ['OK', viaEvent.id, false]);
    assert.match(ok[3], hasPrefix('invalid'));
    assert.equal((await rawAuth(c, newKeys(), t.url))[2], true);
    await accepted(c, sign(marker));
    await watcher.next((f) => f[0] === 'EVENT' && f[1] === 'marker');
    assert.ok(!watcher.frames.some((f) => f[1] === 'auth-kind'), 'a kind 22242 event was broadcast');
    assert.deepEqual(await watcher.query('stored', { kinds: [22242] }), []);
  });
});
