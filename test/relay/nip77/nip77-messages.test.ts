/**
 * NIP-77 NEG-OPEN / NEG-MSG / NEG-CLOSE on a real relay: an unsupported protocol version, NEG-ERR
 * reasons for bad hex, malformed messages and bad filters (the same as REQ's), unknown and broken
 * sessions (closed:, invalid:), NEG-CLOSE vs CLOSE, session replacement on a reused id, and every
 * session of a connection freed when it disconnects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Initiator } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { fromHex, toHex } from '../../../src/negentropy/codec/types.js';
import { Clients } from '../../helpers/nostr.js';
import { waitFor } from '../../helpers/wait.js';
import { itemsOf, negReply, rawSync, useNip77Relay } from './nip77-fixtures.js';

const clients = new Clients();

describe('NEG-* messages and errors', () => {
  const { t, shared, relayOnly } = useNip77Relay(clients);

  it('unsupported version: the reply is the single byte 61', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-OPEN', 'v2', {}, '6200000200']);
    assert.deepEqual(await negReply(c, 'v2'), ['NEG-MSG', 'v2', '61']);
  });

  it('bad hex, malformed messages and bad filters get NEG-ERR invalid:/unsupported:, like REQ', async () => {
    const c = await clients.raw(t.url);
    const expectErr = async (subId: string, frame: unknown[], pattern: RegExp) => {
      c.send(frame);
      const f = await negReply(c, subId);
      assert.equal(f[0], 'NEG-ERR', JSON.stringify(f));
      assert.match(f[2], pattern);
      return f[2] as string;
    };
    await expectErr('h1', ['NEG-OPEN', 'h1', {}, 'zz'], /^invalid: /);
    await expectErr('h2', ['NEG-OPEN', 'h2', {}, '610'], /^invalid: /);
    await expectErr(
      'h3',
      ['NEG-OPEN', 'h3', {}, '61000003'],
      /^invalid: negentropy message: unexpected mode/,
    );
    await expectErr('h4', ['NEG-OPEN', 'h4', {}, 42], /^invalid: /);
    await expectErr('h5', ['NEG-OPEN', 'h5', {}], /^invalid: /);
    await expectErr('h6', ['NEG-OPEN', 'h6', {}, '70'], /^invalid: .*version/);
    await expectErr('f1', ['NEG-OPEN', 'f1', 'x', '6100000200'], /^invalid: /);
    await expectErr('f2', ['NEG-OPEN', 'f2', [{}, {}], '6100000200'], /^invalid: /);
    for (const [subId, filter] of [
      ['f3', { ids: ['xyz'] }],
      ['f4', { foo: 1 }],
      ['f5', { kinds: 'x' }],
    ] as const) {
      c.send(['NEG-OPEN', subId, filter, '6100000200']);
      const neg = await negReply(c, subId);
      c.send(['REQ', `${subId}-req`, filter]);
      const closed = await c.next((f) => f[0] === 'CLOSED' && f[1] === `${subId}-req`);
      assert.equal(neg[0], 'NEG-ERR');
      assert.equal(neg[2], closed[2], 'the same reason as REQ');
      assert.match(neg[2], /^(invalid|unsupported): /);
    }
    c.send(['NEG-OPEN', 'x'.repeat(65), {}, '6100000200']);
    assert.match((await c.nextOfType('NEG-ERR'))[2], /^invalid: /);
  });

  it('NEG-MSG: unknown id -> closed:, malformed -> invalid: and the session is gone', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-MSG', 'nope', '6100000200']);
    assert.deepEqual(await negReply(c, 'nope'), ['NEG-ERR', 'nope', 'closed: unknown subscription handle']);
    // Open a session that needs more rounds, then send garbage.
    const ini = new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 });
    c.send(['NEG-OPEN', 's', {}, toHex(ini.initiate())]);
    assert.equal((await negReply(c, 's'))[0], 'NEG-MSG');
    c.send(['NEG-MSG', 's', 'not hex']);
    assert.match((await negReply(c, 's'))[2], /^invalid: /);
    c.send(['NEG-MSG', 's', '6100000200']);
    assert.match((await negReply(c, 's'))[2], /^closed: /);
  });

  it('NEG-CLOSE frees the session; a CLOSE for a NEG id is ignored quietly', async () => {
    const c = await clients.raw(t.url);
    const ini = new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 });
    c.send(['NEG-OPEN', 'n', {}, toHex(ini.initiate())]);
    const first = await negReply(c, 'n');
    assert.equal(first[0], 'NEG-MSG');
    c.send(['CLOSE', 'n']); // REQ namespace: nothing to close, no reply
    const next = ini.reconcile(fromHex(first[2])).next!;
    c.send(['NEG-MSG', 'n', toHex(next)]);
    assert.equal((await negReply(c, 'n'))[0], 'NEG-MSG', 'the NEG session survived the CLOSE');
    c.send(['NEG-CLOSE', 'n']);
    c.send(['NEG-MSG', 'n', toHex(next)]);
    assert.match((await negReply(c, 'n'))[2], /^closed: /);
    // Sentinel: a round trip sent after both; an answer to the CLOSE or the NEG-CLOSE would precede it.
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[0] !== 'AUTH'),
      [],
      'no other frame (no CLOSED, no NOTICE)',
    );
  });

  it('a NEG-OPEN on an open id replaces the session', async () => {
    const c = await clients.raw(t.url);
    const first = await rawSync(c, 'same', { kinds: [30023] }, []);
    assert.equal(first.need.size, [...shared, ...relayOnly].filter((e) => e.kind === 30023).length);
    // Open twice without closing: the second filter wins.
    c.send(['NEG-OPEN', 'r', { kinds: [30023] }, '6100000200']);
    c.send(['NEG-OPEN', 'r', { kinds: [999] }, '6100000200']);
    // The first NEG-OPEN's reply is dropped if the second one arrived before its query finished;
    // if it is sent, it comes first. Wait for the second one's (kinds 999 matches nothing).
    const replies = [await negReply(c, 'r')];
    if (replies[0]![2] !== '6100000200') replies.push(await negReply(c, 'r'));
    assert.equal(replies.at(-1)![2], '6100000200', 'kinds 999 matches nothing');
    // Sentinel: the first NEG-OPEN's work again, on another id and started after it. A late reply
    // to the replaced session would have come before this one's.
    c.send(['NEG-OPEN', 'r-sentinel', { kinds: [30023] }, '6100000200']);
    assert.equal((await negReply(c, 'r-sentinel'))[0], 'NEG-MSG');
    c.send(['NEG-CLOSE', 'r-sentinel']);
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[1] === 'r'),
      [],
      'no reply to the replaced session after the replacement',
    );
    assert.ok(t.relay.negentropy!.total <= 1);
  });

  it('disconnecting frees every session of the connection', async () => {
    const c = await clients.raw(t.url);
    const before = t.relay.negentropy!.total;
    const msg = toHex(
      new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 }).initiate(),
    );
    for (const id of ['d1', 'd2', 'd3']) {
      c.send(['NEG-OPEN', id, {}, msg]);
      await negReply(c, id);
    }
    assert.equal(t.relay.negentropy!.total, before + 3);
    await c.close();
    await waitFor(
      () => t.relay.negentropy!.total === before,
      5000,
      () => `${before} sessions (${t.relay.negentropy!.total})`,
    );
  });
});
