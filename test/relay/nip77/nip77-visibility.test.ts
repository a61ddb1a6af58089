/**
 * NIP-77 and restricted kinds (DMs, gift wraps): their ids never leak to unauthenticated or
 * unrelated connections, naming a restricted kind unauthenticated is refused with the REQ's
 * reason, and the recipient (DMs and wrap) and the author (only the DMs) see what a REQ serves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clients, newKeys, rawAuth } from '../../helpers/nostr.js';
import { alice, bob, idSet, negReply, rawSync, useNip77Relay } from './nip77-fixtures.js';

const clients = new Clients();

describe('restricted kinds never leak', () => {
  const { t, shared, relayOnly, restricted } = useNip77Relay(clients);

  const dmIds = () => idSet(restricted);

  it('unauthenticated: {} syncs everything but the restricted events', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'anon', {}, []);
    for (const id of dmIds()) assert.ok(!r.need.has(id), 'restricted id leaked');
    assert.deepEqual(r.need, idSet([...shared, ...relayOnly]));
  });

  it('unauthenticated: naming a restricted kind is refused with the REQ reason', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-OPEN', 'dm', { kinds: [4] }, '6100000200']);
    const neg = await negReply(c, 'dm');
    c.send(['REQ', 'dm-req', { kinds: [4] }]);
    const closed = await c.nextOfType('CLOSED');
    assert.equal(neg[0], 'NEG-ERR');
    assert.match(neg[2], /^auth-required: /);
    assert.equal(neg[2], closed[2]);
  });

  it('authenticated as an unrelated pubkey: none of the DMs', async () => {
    const c = await clients.raw(t.url);
    await rawAuth(c, newKeys(), t.url);
    const r = await rawSync(c, 'stranger', { kinds: [4, 1059] }, []);
    assert.equal(r.need.size, 0);
    const all = await rawSync(c, 'stranger-all', {}, []);
    for (const id of dmIds()) assert.ok(!all.need.has(id), 'restricted id leaked');
  });

  it('authenticated as the recipient: the DMs and the wrap; as the author: only the DMs', async () => {
    const asBob = await clients.raw(t.url);
    await rawAuth(asBob, bob, t.url);
    const forBob = await rawSync(asBob, 'bob', { kinds: [4, 1059] }, []);
    assert.deepEqual(forBob.need, dmIds());
    const asAlice = await clients.raw(t.url);
    await rawAuth(asAlice, alice, t.url);
    const forAlice = await rawSync(asAlice, 'alice', {}, []);
    for (const ev of restricted) assert.equal(forAlice.need.has(ev.id), ev.kind === 4, `kind ${ev.kind}`);
  });
});
