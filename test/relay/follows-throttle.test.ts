/**
 * Follows mode's progressive throttle over real sockets (ORLY_FOLLOWS_THROTTLE, increment
 * 200 ms, max 1 s): an unfollowed author's burst is accepted, each OK later than the last and
 * no sooner than its accumulated delay (measured by the client); a followed author on the same
 * address is not delayed (its OK overtakes the burst); EVENTs whose connection closes while
 * they wait are not stored. In split mode (ORLY_TEST_MODE=split) the throttle runs in orly-acl
 * and its delay comes back in CheckAccess's answer.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const INCREMENT = 200;
/** Timers may fire a little early relative to the client's clock. */
const SLACK = 10;

const admin = newKeys();
const friend = newKeys();

/** Records when each OK arrives (performance.now()), by event id. */
function okTimes(client: RawClient): Map<string, number> {
  const times = new Map<string, number>();
  client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as unknown[];
    if (frame[0] === 'OK') times.set(frame[1] as string, performance.now());
  });
  return times;
}

function notes(keys: Keys, n: number, tag: string): NostrEvent[] {
  return Array.from({ length: n }, (_, i) => sign(keys, { content: `${tag} ${i}`, created_at: nowSec() }));
}

describe('follows throttle', () => {
  let relay: TestRelay;
  let clients: RawClient[];

  beforeEach(async () => {
    relay = await startTestRelay({
      ORLY_ACL_MODE: 'follows',
      ORLY_ADMINS: admin.pk,
      ORLY_FOLLOWS_THROTTLE: 'true',
      ORLY_FOLLOWS_THROTTLE_INCREMENT: `${INCREMENT}ms`,
      ORLY_FOLLOWS_THROTTLE_MAX: '1s',
    });
    clients = [];
    const c = await connect();
    const ok = await c.publish(sign(admin, { kind: 3, tags: [['p', friend.pk]], created_at: nowSec() }));
    assert.equal(ok[2], true, String(ok[3]));
  });

  afterEach(async () => {
    for (const c of clients) await c.close();
    await relay.stop();
  });

  async function connect(): Promise<RawClient> {
    const c = await RawClient.connect(relay.url);
    clients.push(c);
    return c;
  }

  test("an unfollowed author's burst is accepted with growing delays; a followed author is not delayed", async () => {
    const stranger = newKeys();
    const burst = notes(stranger, 6, 'burst');
    const a = await connect();
    const b = await connect();
    const timesA = okTimes(a);
    const timesB = okTimes(b);
    const friendNote = sign(friend, { content: 'not throttled', created_at: nowSec() });

    const t0 = performance.now();
    for (const ev of burst) a.send(['EVENT', ev]);
    b.send(['EVENT', friendNote]);
    const oks = [];
    for (const ev of burst) oks.push(await a.next((f) => f[0] === 'OK' && f[1] === ev.id, 10_000));
    const friendOk = await b.next((f) => f[0] === 'OK' && f[1] === friendNote.id);

    for (const ok of oks) assert.deepEqual(ok.slice(2), [true, ''], 'accepted, not blocked');
    assert.deepEqual(friendOk.slice(2), [true, '']);
    const elapsed = burst.map((ev) => timesA.get(ev.id)! - t0);
    // The k-th EVENT (1-based) waits its accumulator: k increments, capped at 1 s.
    elapsed.forEach((ms, i) => {
      const bound = Math.min((i + 1) * INCREMENT, 1000) - SLACK;
      assert.ok(ms >= bound, `EVENT ${i + 1}: OK after ${ms.toFixed(0)} ms, expected at least ${bound} ms`);
      if (i > 0) assert.ok(ms >= elapsed[i - 1]!, `EVENT ${i + 1} answered before EVENT ${i}`);
    });
    // The followed author shares the address (127.0.0.1) but is never charged nor delayed.
    assert.ok(
      timesB.get(friendNote.id)! < timesA.get(burst[0]!.id)!,
      "the followed author's OK overtakes the first throttled OK",
    );
    const stored = await b.query('stored', { authors: [stranger.pk] });
    assert.equal(stored.length, burst.length, 'every delayed EVENT was stored');
  });

  test('EVENTs whose connection closes while they wait are not stored', async () => {
    const stranger = newKeys();
    const [e1, e2, e3] = notes(stranger, 3, 'closing');
    const c = await connect();
    c.send(['EVENT', e1]);
    c.send(['EVENT', e2]);
    // A round trip: both EVENTs were received (and are waiting) before the close.
    await c.roundTrip();
    await c.close();
    // A later EVENT of the same author: charged after them, so stored after they would have been.
    const d = await connect();
    const ok = await d.publish(e3!);
    assert.deepEqual(ok.slice(2), [true, '']);
    const stored = await d.query('closing', { authors: [stranger.pk] });
    assert.deepEqual(
      stored.map((ev) => ev.id),
      [e3!.id],
      'the waiting EVENTs of the closed connection were dropped',
    );
  });
});
