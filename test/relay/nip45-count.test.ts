/**
 * NIP-45 COUNT: exact frames, OR'ed filters counted once, the same filter validation and
 * auth rules as REQ, and DMs invisible to the requester left out of the count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import {
  Clients,
  hasPrefix,
  type Keys,
  newKeys,
  nowSec,
  rawAuth,
  sign,
  signerFor,
} from '../helpers/nostr.js';
import { type Frame, type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

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

async function accepted(c: RawClient, ev: NostrEvent): Promise<void> {
  assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}

async function count(c: RawClient, id: string, ...filters: unknown[]): Promise<Frame> {
  c.send(['COUNT', id, ...filters]);
  return c.next((f) => (f[0] === 'COUNT' || f[0] === 'CLOSED') && f[1] === id);
}

async function authed(keys: Keys): Promise<RawClient> {
  const c = await clients.raw(t.url);
  assert.equal((await rawAuth(c, keys, t.url))[2], true);
  return c;
}

describe('COUNT', () => {
  it('answers ["COUNT", id, {"count": n}] (nostr-tools and raw)', async () => {
    const relay = await clients.nostrTools(t.url);
    const keys = newKeys();
    for (let i = 0; i < 3; i++) {
      assert.equal(await relay.publish(sign(keys, { created_at: base + i, content: `c${i}` })), '');
    }
    assert.equal(await relay.count([{ authors: [keys.pk] }], {}), 3);
    const c = await clients.raw(t.url);
    assert.deepEqual(await count(c, 'q1', { authors: [keys.pk] }), ['COUNT', 'q1', { count: 3 }]);
    assert.deepEqual(await count(c, 'q2', { authors: [keys.pk], since: base + 1 }), [
      'COUNT',
      'q2',
      { count: 2 },
    ]);
    assert.deepEqual(await count(c, 'q3', { authors: [keys.pk], kinds: [7] }), ['COUNT', 'q3', { count: 0 }]);
  });

  it('several filters are OR-ed and each event is counted once; limit does not cap the count', async () => {
    const c = await clients.raw(t.url);
    const a = newKeys();
    const b = newKeys();
    const evs = [
      sign(a, { kind: 1, created_at: base + 1 }),
      sign(a, { kind: 7, created_at: base + 2 }),
      sign(b, { kind: 1, created_at: base + 3 }),
      sign(b, { kind: 7, created_at: base + 4 }),
    ];
    for (const ev of evs) await accepted(c, ev);
    const frame = await count(
      c,
      'or',
      { authors: [a.pk] },
      { authors: [a.pk, b.pk], kinds: [1] },
      { ids: [evs[0]!.id, evs[3]!.id] },
    );
    assert.deepEqual(frame, ['COUNT', 'or', { count: 4 }]);
    assert.deepEqual(await count(c, 'lim', { authors: [a.pk, b.pk], limit: 1 }), [
      'COUNT',
      'lim',
      { count: 4 },
    ]);
    assert.deepEqual(await count(c, 'empty', { authors: [] }), ['COUNT', 'empty', { count: 0 }]);
    assert.deepEqual(await count(c, 'mix', { kinds: [] }, { authors: [b.pk] }), [
      'COUNT',
      'mix',
      { count: 2 },
    ]);
  });

  it('deleted and replaced events are not counted', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const note = sign(keys, { created_at: base + 1 });
    await accepted(c, note);
    await accepted(c, sign(keys, { kind: 0, created_at: base + 1 }));
    await accepted(c, sign(keys, { kind: 0, created_at: base + 2 }));
    await accepted(c, sign(keys, { kind: 5, created_at: base + 3, tags: [['e', note.id]] }));
    assert.deepEqual(await count(c, 'd', { authors: [keys.pk], kinds: [0, 1] }), [
      'COUNT',
      'd',
      { count: 1 },
    ]);
  });

  it('COUNT is not a subscription: no EOSE, no live updates', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const subsBefore = t.relay.subscriptions.size;
    assert.deepEqual(await count(c, 'once', { authors: [keys.pk] }), ['COUNT', 'once', { count: 0 }]);
    assert.equal(t.relay.subscriptions.size, subsBefore);
    assert.deepEqual(await c.query('marker', { authors: [keys.pk], kinds: [9] }), []);
    await accepted(c, sign(keys, { kind: 1 }));
    await accepted(c, sign(keys, { kind: 9 }));
    await c.next((f) => f[0] === 'EVENT' && f[1] === 'marker');
    assert.ok(!c.frames.some((f) => f[1] === 'once'));
  });

  it('invalid filters and ids are refused like REQ', async () => {
    const c = await clients.raw(t.url);
    const bad = await count(c, 'bad', { ids: ['xyz'] });
    assert.equal(bad[0], 'CLOSED');
    assert.match(bad[2], hasPrefix('invalid'));
    const unsup = await count(c, 'unsup', { '#emoji': ['x'] });
    assert.equal(unsup[0], 'CLOSED');
    assert.match(unsup[2], hasPrefix('unsupported'));
    const none = await count(c, 'none');
    assert.equal(none[0], 'CLOSED');
    assert.match(none[2], hasPrefix('invalid'));
    c.send(['COUNT', '', {}]);
    const empty = await c.next((f) => (f[0] === 'CLOSED' && f[1] === '') || f[0] === 'NOTICE');
    assert.match(empty.at(-1), hasPrefix('invalid'));
    c.send(['COUNT', 7, {}]);
    assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
  });
});

describe('COUNT and restricted kinds', () => {
  it('restricted kinds unauthenticated -> CLOSED "auth-required: ..." (nostr-tools rejects)', async () => {
    const c = await clients.raw(t.url);
    for (const kinds of [[4], [1059], [1, 4]]) {
      const frame = await count(c, 'dm', { kinds });
      assert.equal(frame[0], 'CLOSED');
      assert.match(frame[2], hasPrefix('auth-required'));
    }
    const relay = await clients.nostrTools(t.url);
    await assert.rejects(relay.count([{ kinds: [4] }], {}), { message: /^auth-required: / });
  });

  it('DMs invisible to the requester are not counted', async () => {
    const sender = newKeys();
    const recipient = newKeys();
    const pub = await clients.raw(t.url);
    const note = sign(sender, { created_at: base + 1 });
    const toRecipient = sign(sender, { kind: 4, created_at: base + 2, tags: [['p', recipient.pk]] });
    const toOther = sign(sender, { kind: 4, created_at: base + 3, tags: [['p', newKeys().pk]] });
    const wrap = sign(newKeys(), { kind: 1059, created_at: base + 4, tags: [['p', recipient.pk]] });
    for (const ev of [note, toRecipient, toOther, wrap]) await accepted(pub, ev);

    const anon = await clients.raw(t.url);
    assert.deepEqual(await count(anon, 'a', { authors: [sender.pk] }), ['COUNT', 'a', { count: 1 }]);
    assert.deepEqual(await count(anon, 'a2', { '#p': [recipient.pk] }), ['COUNT', 'a2', { count: 0 }]);

    const asRecipient = await authed(recipient);
    assert.deepEqual(await count(asRecipient, 'r', { kinds: [4], authors: [sender.pk] }), [
      'COUNT',
      'r',
      { count: 1 },
    ]);
    assert.deepEqual(await count(asRecipient, 'r2', { authors: [sender.pk] }), ['COUNT', 'r2', { count: 2 }]);
    assert.deepEqual(await count(asRecipient, 'r3', { '#p': [recipient.pk] }, { authors: [sender.pk] }), [
      'COUNT',
      'r3',
      { count: 3 },
    ]);

    const asSender = await authed(sender);
    assert.deepEqual(await count(asSender, 's', { kinds: [4], authors: [sender.pk] }), [
      'COUNT',
      's',
      { count: 2 },
    ]);

    const asThird = await authed(newKeys());
    assert.deepEqual(await count(asThird, 't', { kinds: [4, 1059], authors: [sender.pk] }), [
      'COUNT',
      't',
      { count: 0 },
    ]);
    assert.deepEqual(await count(asThird, 't2', { authors: [sender.pk] }), ['COUNT', 't2', { count: 1 }]);

    const tools = await clients.nostrTools(t.url);
    assert.equal(await tools.count([{ ids: ['00'.repeat(32)] }], {}), 0);
    await tools.auth(signerFor(recipient));
    assert.equal(await tools.count([{ kinds: [4, 1059], '#p': [recipient.pk] }], {}), 2);
  });
});

describe('COUNT at ORLY_MAX_COUNT', () => {
  it('stops at the cap and says the count is approximate; below it, exact', async () => {
    const capped = await startTestRelay({ ORLY_MAX_COUNT: '5' });
    const c = await clients.raw(capped.url);
    try {
      const keys = newKeys();
      for (let i = 0; i < 8; i++) await accepted(c, sign(keys, { content: `n${i}`, created_at: base + i }));
      assert.deepEqual(await count(c, 'all', { authors: [keys.pk] }), [
        'COUNT',
        'all',
        { count: 5, approximate: true },
      ]);
      assert.deepEqual(
        await count(c, 'or', { authors: [keys.pk], since: base + 6 }, { ids: ['00'.repeat(32)] }),
        ['COUNT', 'or', { count: 2 }],
      );
      assert.deepEqual(await count(c, 'two', { authors: [keys.pk] }, { kinds: [1] }), [
        'COUNT',
        'two',
        { count: 5, approximate: true },
      ]);
    } finally {
      await c.close();
      await capped.stop();
    }
  });
});

describe('COUNT never depends on events the requester may not see', () => {
  it('the cap and approximate come from visible events only (a padded probe learns nothing)', async () => {
    const capped = await startTestRelay({ ORLY_MAX_COUNT: '5' });
    const writer = await clients.raw(capped.url);
    try {
      const author = newKeys();
      const recipient = newKeys();
      const stranger = newKeys();
      // Four public notes and one DM (kind 4, restricted) by the same author.
      for (let i = 0; i < 4; i++)
        await accepted(writer, sign(author, { content: `n${i}`, created_at: base + i }));
      assert.equal((await rawAuth(writer, author, capped.url))[2], true);
      await accepted(
        writer,
        sign(author, { kind: 4, content: 'secret', created_at: base + 10, tags: [['p', recipient.pk]] }),
      );
      const probe = { authors: [author.pk] };
      // Anonymous, and authenticated as somebody else: 4 exactly (the DM would make it 5 = the cap).
      const anonymous = await clients.raw(capped.url);
      assert.deepEqual(await count(anonymous, 'anon', probe), ['COUNT', 'anon', { count: 4 }]);
      const other = await clients.raw(capped.url);
      assert.equal((await rawAuth(other, stranger, capped.url))[2], true);
      assert.deepEqual(await count(other, 'other', probe), ['COUNT', 'other', { count: 4 }]);
      // The recipient and the author may read the DM: 5, at the cap.
      const reader = await clients.raw(capped.url);
      assert.equal((await rawAuth(reader, recipient, capped.url))[2], true);
      assert.deepEqual(await count(reader, 'reader', probe), [
        'COUNT',
        'reader',
        { count: 5, approximate: true },
      ]);
      assert.deepEqual(await count(writer, 'author', probe, { kinds: [4] }), [
        'COUNT',
        'author',
        { count: 5, approximate: true },
      ]);
      assert.deepEqual(await count(reader, 'dm', { kinds: [4], '#p': [recipient.pk] }), [
        'COUNT',
        'dm',
        { count: 1 },
      ]);
    } finally {
      await capped.stop();
    }
  });
});
