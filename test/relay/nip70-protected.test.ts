/**
 * NIP-70 protected events (["-"] tag): accepted only from a connection authenticated as the
 * author; reposts (kinds 6 and 16) embedding a protected event are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { Clients, fetchEvents, hasPrefix, newKeys, rawAuth, sign, signerFor } from '../helpers/nostr.js';
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

async function refused(c: RawClient, ev: NostrEvent, prefix: string): Promise<void> {
  const ok = await c.publish(ev);
  assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
  assert.match(ok[3], hasPrefix(prefix));
}

describe('NIP-70 protected events', () => {
  it('unauthenticated -> OK false "auth-required: ..."', async () => {
    const c = await clients.raw(t.url);
    const author = newKeys();
    const ev = sign(author, { tags: [['-']], content: 'protected' });
    await refused(c, ev, 'auth-required');
    assert.deepEqual(await c.query('none', { ids: [ev.id] }), []);
  });

  it('authenticated as someone else -> OK false "restricted: ..."', async () => {
    const c = await clients.raw(t.url);
    assert.equal((await rawAuth(c, newKeys(), t.url))[2], true);
    const ev = sign(newKeys(), { tags: [['-']], content: 'protected' });
    await refused(c, ev, 'restricted');
  });

  it('authenticated as the author -> OK true, and the event is served (nostr-tools)', async () => {
    const relay = await clients.nostrTools(t.url);
    const author = newKeys();
    const ev = sign(author, { tags: [['-'], ['t', 'protected']], content: 'mine' });
    assert.equal(await relay.count([{ ids: [ev.id] }], {}), 0);
    await assert.rejects(relay.publish(ev), { message: /^auth-required: / });
    assert.equal(await relay.auth(signerFor(author)), '');
    assert.equal(await relay.publish(ev), '');
    const anon = await clients.raw(t.url);
    assert.deepEqual(await anon.query('read', { ids: [ev.id] }), [ev]);
    assert.deepEqual((await fetchEvents(relay, [{ ids: [ev.id] }])).length, 1);
  });

  it('with several authenticated pubkeys, any of them may be the author', async () => {
    const c = await clients.raw(t.url);
    const author = newKeys();
    assert.equal((await rawAuth(c, newKeys(), t.url))[2], true);
    const ev = sign(author, { tags: [['-']], content: 'multi' });
    await refused(c, ev, 'restricted');
    assert.equal((await rawAuth(c, author, t.url))[2], true);
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
  });

  it('only a single-element ["-"] tag protects', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { tags: [['-', 'x']], content: 'not protected' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
  });

  it('a repost (kind 6 or 16) embedding a protected event -> OK false "blocked: ..."', async () => {
    const c = await clients.raw(t.url);
    const author = newKeys();
    const reposter = newKeys();
    const original = sign(author, { tags: [['-']], content: 'protected original' });
    for (const kind of [6, 16]) {
      const repost = sign(reposter, {
        kind,
        tags: [
          ['e', original.id],
          ['p', author.pk],
          ['k', '1'],
        ],
        content: JSON.stringify(original),
      });
      await refused(c, repost, 'blocked');
    }
    // Reposting an unprotected event is fine.
    const plain = sign(author, { content: 'plain original' });
    const repost = sign(reposter, { kind: 6, tags: [['e', plain.id]], content: JSON.stringify(plain) });
    assert.deepEqual(await c.publish(repost), ['OK', repost.id, true, '']);
  });
});
