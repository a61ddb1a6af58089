/**
 * NIP-01 subscription lifecycle: a REQ reusing an open subscription id replaces it, CLOSE stops
 * live delivery (unknown ids quietly ignored, bad ids get a NOTICE), the same id on two
 * connections is two subscriptions, and disconnecting removes a connection's subscriptions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clients, hasPrefix, newKeys, sign } from '../helpers/nostr.js';
import { useTestRelay } from '../helpers/use-test-relay.js';
import { waitFor } from '../helpers/wait.js';
import { publishAll } from './nip01-req-fixtures.js';

const clients = new Clients();
const t = useTestRelay(clients);

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
