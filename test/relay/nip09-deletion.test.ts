/**
 * NIP-09 deletion requests (kind 5): e-tag and a-tag deletions by the author only, a-tag
 * deletions up to and including the request's created_at, tombstones that refuse re-publishing
 * (also when the deletion arrives first), and kind 5 events that stay served and undeletable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { Clients, fetchEvents, hasPrefix, type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
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

async function blocked(c: RawClient, ev: NostrEvent): Promise<void> {
  const ok = await c.publish(ev);
  assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
  assert.match(ok[3], hasPrefix('blocked'));
}

function deletion(keys: Keys, tags: string[][], createdAt = nowSec()): NostrEvent {
  return sign(keys, { kind: 5, created_at: createdAt, tags, content: 'deleted for the test' });
}

describe('e-tag deletions', () => {
  it('removes the author own event (nostr-tools client)', async () => {
    const relay = await clients.nostrTools(t.url);
    const keys = newKeys();
    const target = sign(keys, { content: 'to be deleted' });
    const kept = sign(keys, { content: 'kept' });
    assert.equal(await relay.publish(target), '');
    assert.equal(await relay.publish(kept), '');
    const del = deletion(keys, [
      ['e', target.id],
      ['k', '1'],
    ]);
    assert.equal(await relay.publish(del), '');
    assert.deepEqual(await fetchEvents(relay, [{ ids: [target.id] }]), []);
    assert.deepEqual(ids(await fetchEvents(relay, [{ authors: [keys.pk], kinds: [1] }])), [kept.id]);
  });

  it('removes several targets, including a replaceable event named by id', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const a = sign(keys, { created_at: base + 1 });
    const b = sign(keys, { kind: 7, created_at: base + 2 });
    const meta = sign(keys, { kind: 0, created_at: base + 3 });
    for (const ev of [a, b, meta]) await accepted(c, ev);
    await accepted(
      c,
      deletion(keys, [
        ['e', a.id],
        ['e', b.id],
        ['e', meta.id],
      ]),
    );
    assert.deepEqual(await c.query('gone', { ids: [a.id, b.id, meta.id] }), []);
    assert.deepEqual(await c.query('gone2', { authors: [keys.pk], kinds: [0, 1, 7] }), []);
  });

  it("another pubkey's deletion has no effect", async () => {
    const c = await clients.raw(t.url);
    const author = newKeys();
    const intruder = newKeys();
    const target = sign(author, { content: 'not yours to delete' });
    await accepted(c, target);
    const del = deletion(intruder, [['e', target.id]]);
    await accepted(c, del);
    assert.deepEqual(await c.query('kept', { ids: [target.id] }), [target]);
    // A later re-publish is a duplicate, not blocked.
    const ok = await c.publish(target);
    assert.equal(ok[2], true);
    assert.match(ok[3], hasPrefix('duplicate'));
  });

  it('a deleted id re-published -> OK false "blocked: ..."', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const target = sign(keys, { content: 'deleted, then re-sent' });
    await accepted(c, target);
    await accepted(c, deletion(keys, [['e', target.id]]));
    await blocked(c, target);
    const c2 = await clients.raw(t.url);
    await blocked(c2, target);
    assert.deepEqual(await c.query('still-gone', { ids: [target.id] }), []);
  });

  it('a deletion arriving before its target blocks the target (same author only)', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const target = sign(keys, { content: 'deleted before it arrived' });
    await accepted(c, deletion(keys, [['e', target.id]]));
    await blocked(c, target);
    assert.deepEqual(await c.query('pre', { ids: [target.id] }), []);

    // A deletion by someone else must not block the real author's event.
    const author = newKeys();
    const other = sign(author, { content: 'pre-deleted by a stranger' });
    await accepted(c, deletion(newKeys(), [['e', other.id]]));
    await accepted(c, other);
    assert.deepEqual(await c.query('pre2', { ids: [other.id] }), [other]);
  });

  it('kind 5 events themselves are served, and deleting a kind 5 has no effect', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const target = sign(keys, { content: 'target' });
    await accepted(c, target);
    const del = deletion(keys, [['e', target.id]], nowSec() - 10);
    await accepted(c, del);
    assert.deepEqual(await c.query('k5', { kinds: [5], authors: [keys.pk] }), [del]);
    const undelete = deletion(keys, [['e', del.id]]);
    await accepted(c, undelete);
    const served = await c.query('k5b', { kinds: [5], authors: [keys.pk] });
    assert.deepEqual(ids(served).sort(), ids([del, undelete]).sort());
    // The original target stays deleted.
    assert.deepEqual(await c.query('k5c', { ids: [target.id] }), []);
    await blocked(c, target);
  });

  it('a deletion is delivered live to matching subscriptions', async () => {
    const c = await clients.raw(t.url);
    const pub = await clients.raw(t.url);
    const keys = newKeys();
    const target = sign(keys);
    await accepted(pub, target);
    assert.deepEqual(await c.query('live5', { kinds: [5], authors: [keys.pk] }), []);
    const del = deletion(keys, [['e', target.id]]);
    await accepted(pub, del);
    assert.deepEqual(await c.next((f) => f[0] === 'EVENT'), ['EVENT', 'live5', del]);
  });
});

describe('a-tag deletions', () => {
  it('remove addressable versions up to the deletion created_at; newer versions are accepted and served', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const address = `30023:${keys.pk}:x`;
    const v150 = sign(keys, { kind: 30023, created_at: base + 150, tags: [['d', 'x']], content: 'v150' });
    const yv = sign(keys, { kind: 30023, created_at: base + 150, tags: [['d', 'y']], content: 'other d' });
    await accepted(c, v150);
    await accepted(c, yv);
    await accepted(c, deletion(keys, [['a', address]], base + 200));
    assert.deepEqual(ids(await c.query('a1', { kinds: [30023], authors: [keys.pk] })), [yv.id]);

    // Versions at or before the deletion stay deleted...
    const v180 = sign(keys, { kind: 30023, created_at: base + 180, tags: [['d', 'x']], content: 'v180' });
    const ok = await c.publish(v180);
    assert.deepEqual(ok.slice(0, 3), ['OK', v180.id, false]);
    assert.match(ok[3], hasPrefix('blocked'));
    // ...while a newer one is accepted and served.
    const v250 = sign(keys, { kind: 30023, created_at: base + 250, tags: [['d', 'x']], content: 'v250' });
    await accepted(c, v250);
    assert.deepEqual(ids(await c.query('a2', { kinds: [30023], authors: [keys.pk], '#d': ['x'] })), [
      v250.id,
    ]);
  });

  it('is inclusive: a version with the same created_at as the deletion is removed', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const same = sign(keys, {
      kind: 30023,
      created_at: base + 300,
      tags: [['d', 'same']],
      content: 'same second',
    });
    await accepted(c, same);
    await accepted(c, deletion(keys, [['a', `30023:${keys.pk}:same`]], base + 300));
    assert.deepEqual(await c.query('inc', { kinds: [30023], authors: [keys.pk] }), []);
    const newer = sign(keys, {
      kind: 30023,
      created_at: base + 301,
      tags: [['d', 'same']],
      content: 'next second',
    });
    await accepted(c, newer);
    assert.deepEqual(await c.query('inc2', { kinds: [30023], authors: [keys.pk] }), [newer]);
  });

  it('does not remove versions newer than the deletion', async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const v400 = sign(keys, { kind: 30023, created_at: base + 400, tags: [['d', 'n']] });
    await accepted(c, v400);
    await accepted(c, deletion(keys, [['a', `30023:${keys.pk}:n`]], base + 399));
    assert.deepEqual(await c.query('newer', { kinds: [30023], authors: [keys.pk] }), [v400]);
  });

  it("removes replaceable events named with a trailing colon ('<kind>:<pubkey>:')", async () => {
    const c = await clients.raw(t.url);
    const keys = newKeys();
    const list = sign(keys, { kind: 10002, created_at: base + 100, tags: [['r', 'wss://example.com']] });
    await accepted(c, list);
    await accepted(c, deletion(keys, [['a', `10002:${keys.pk}:`]], base + 100));
    assert.deepEqual(await c.query('repl', { kinds: [10002], authors: [keys.pk] }), []);
  });

  it("naming another pubkey's address has no effect", async () => {
    const c = await clients.raw(t.url);
    const author = newKeys();
    const intruder = newKeys();
    const ev = sign(author, { kind: 30023, created_at: base + 100, tags: [['d', 'mine']] });
    await accepted(c, ev);
    await accepted(c, deletion(intruder, [['a', `30023:${author.pk}:mine`]]));
    assert.deepEqual(await c.query('foreign', { kinds: [30023], authors: [author.pk] }), [ev]);
  });
});
