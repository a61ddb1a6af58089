/**
 * Limits at the edge over real sockets: connections per address and in total and upgrades per
 * minute are refused before the WebSocket upgrade (429 with Retry-After, 503); EVENT/AUTH and
 * REQ/COUNT/NEG-OPEN floods get `rate-limited:` answers while other clients are unaffected, and
 * buckets refill. Test clients all come from 127.0.0.1, a trusted proxy by default, so other
 * addresses are given with X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { authEvent, Clients, challengeOf, hasPrefix, newKeys, sign } from '../helpers/nostr.js';
import { type Frame, type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { attempt } from '../helpers/upgrade.js';
import { waitFor } from '../helpers/wait.js';

const from = (ip: string) => ({ 'X-Forwarded-For': ip });

/** Sends every event at once, then collects their OKs in order. */
async function flood(c: RawClient, events: NostrEvent[]): Promise<Frame[]> {
  for (const ev of events) c.send(['EVENT', ev]);
  const oks: Frame[] = [];
  for (const ev of events) oks.push(await c.next((f) => f[0] === 'OK' && f[1] === ev.id));
  return oks;
}

function notes(n: number): NostrEvent[] {
  const keys = newKeys();
  return Array.from({ length: n }, (_, i) => sign(keys, { content: `flood ${i}` }));
}

describe('connections per address', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_MAX_CONNECTIONS_PER_IP: '3' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('the 4th connection from one address gets 429 with Retry-After; other addresses are unaffected', async () => {
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await clients.raw(t.url, from('198.51.100.1')));
    const refused = await attempt(t.url, from('198.51.100.1'));
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.retryAfter) >= 1, JSON.stringify(refused));
    assert.match(refused.body ?? '', /too many open connections .*limit is 3/);
    assert.equal((await attempt(t.url, from('198.51.100.2'))).status, 'open');
    // The relay's own address counts on its own too.
    assert.equal((await attempt(t.url)).status, 'open');
    // One closes: a new one is let in.
    await open[0]!.close();
    await waitFor(
      () => [...t.relay.connections].filter((c) => c.ip === '198.51.100.1').length === 2,
      5000,
      'the closed connection to be forgotten',
    );
    assert.equal((await attempt(t.url, from('198.51.100.1'))).status, 'open');
  });

  it('an IPv6 /64 is one address', async () => {
    for (let i = 1; i <= 3; i++) await clients.raw(t.url, from(`2001:db8:7:7::${i}`));
    assert.equal((await attempt(t.url, from('2001:db8:7:7:ffff::1'))).status, 429);
    assert.equal((await attempt(t.url, from('2001:db8:7:8::1'))).status, 'open');
  });
});

describe('connections in total', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_MAX_CONNECTIONS: '2' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('beyond ORLY_MAX_CONNECTIONS an upgrade gets 503 with Retry-After', async () => {
    await clients.raw(t.url, from('198.51.100.1'));
    await clients.raw(t.url, from('198.51.100.2'));
    const refused = await attempt(t.url, from('198.51.100.3'));
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.retryAfter) >= 1);
    assert.match(refused.body ?? '', /connection limit/);
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    assert.match(text, /^orly_rate_limited_total\{limit="connections"\} 1$/m);
  });
});

describe('upgrades per minute', () => {
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP: '3' });
  });
  after(async () => {
    await t.stop();
  });

  it('a reconnecting address is refused with 429 and the seconds until its next upgrade', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await attempt(t.url, from('198.51.100.9'))).status, 'open');
    const refused = await attempt(t.url, from('198.51.100.9'));
    assert.equal(refused.status, 429);
    // 3 a minute: the next token in 20 s at most.
    assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 20, refused.retryAfter);
    assert.match(refused.body ?? '', /too many new connections .*3 a minute/);
    assert.equal((await attempt(t.url, from('198.51.100.10'))).status, 'open');
  });
});

describe('EVENT and AUTH rate per connection', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    // 5 at once, then one per 100 s: nothing refills during the test.
    t = await startTestRelay({ ORLY_EVENT_RATE: '0.01', ORLY_EVENT_BURST: '5' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('a flood gets rate-limited OKs after the burst; a second client is unaffected', async () => {
    const flooder = await clients.raw(t.url);
    const bystander = await clients.raw(t.url);
    const oks = await flood(flooder, notes(30));
    assert.deepEqual(
      oks.slice(0, 5).map((f) => f[2]),
      [true, true, true, true, true],
    );
    for (const ok of oks.slice(5)) {
      assert.equal(ok[2], false);
      assert.match(ok[3], hasPrefix('rate-limited'));
      assert.match(ok[3], /from this connection/);
    }
    // AUTH takes from the same bucket (it costs a signature check too).
    const auth = authEvent(newKeys(), await challengeOf(flooder), t.url);
    flooder.send(['AUTH', auth]);
    const authOk = await flooder.next((f) => f[0] === 'OK' && f[1] === auth.id);
    assert.equal(authOk[2], false);
    assert.match(authOk[3], hasPrefix('rate-limited'));
    // The refused events were not stored; the other connection publishes and reads normally.
    const ev = sign(newKeys(), { content: 'bystander' });
    assert.deepEqual(await bystander.publish(ev), ['OK', ev.id, true, '']);
    const stored = await bystander.query('flood', { ids: oks.map((f) => f[1]) });
    assert.equal(stored.length, 5);
    // Reads are another bucket: the flooder still reads.
    assert.equal((await flooder.query('read', { ids: [ev.id] })).length, 1);
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    assert.match(text, /^orly_rate_limited_total\{limit="event"\} 26$/m);
  });
});

describe('EVENT rate per address', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_EVENT_RATE_PER_IP: '0.01', ORLY_EVENT_BURST_PER_IP: '4' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('connections from one address share its bucket; another address has its own', async () => {
    const a = await clients.raw(t.url, from('198.51.100.40'));
    const b = await clients.raw(t.url, from('198.51.100.40'));
    const other = await clients.raw(t.url, from('198.51.100.41'));
    assert.deepEqual(
      (await flood(a, notes(3))).map((f) => f[2]),
      [true, true, true],
    );
    const fromB = await flood(b, notes(3));
    assert.deepEqual(
      fromB.map((f) => f[2]),
      [true, false, false],
    );
    assert.match(fromB[1]![3], /^rate-limited: .*from this address/);
    assert.deepEqual(
      (await flood(other, notes(4))).map((f) => f[2]),
      [true, true, true, true],
    );
  });
});

describe('buckets refill', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_EVENT_RATE: '5', ORLY_EVENT_BURST: '3' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('a refused client is served again once its bucket has a token', async () => {
    const c = await clients.raw(t.url);
    const oks = await flood(c, notes(40));
    assert.ok(oks.filter((f) => f[2] === false).length >= 20, 'the flood was mostly refused');
    let accepted = false;
    await waitFor(
      async () => {
        const ev = sign(newKeys(), { content: 'after the flood' });
        accepted = (await c.publish(ev))[2] === true;
        return accepted;
      },
      5000,
      'an EVENT to be accepted again',
      100,
    );
    assert.ok(accepted);
  });
});

describe('REQ, COUNT and NEG-OPEN rate', () => {
  const clients = new Clients();
  let t: TestRelay;
  before(async () => {
    t = await startTestRelay({ ORLY_REQ_RATE: '0.01', ORLY_REQ_BURST: '3', ORLY_NEGENTROPY_ENABLED: 'true' });
  });
  after(async () => {
    await clients.closeAll();
    await t.stop();
  });

  it('count as REQs: beyond the burst CLOSED / NEG-ERR rate-limited, and a refused REQ ends the one it replaced', async () => {
    const c = await clients.raw(t.url);
    const bystander = await clients.raw(t.url);
    assert.deepEqual(await c.query('live', { kinds: [1], limit: 0 }), []);
    c.send(['COUNT', 'n', { kinds: [1] }]);
    assert.equal((await c.next((f) => f[1] === 'n'))[0], 'COUNT');
    assert.deepEqual(await c.query('other', { limit: 0 }), []);
    const [conn] = [...t.relay.connections].filter((x) => x.subscriptions.has('live'));
    assert.ok(conn);

    c.send(['REQ', 'live', { kinds: [7] }]);
    const closed = await c.next((f) => f[1] === 'live');
    assert.equal(closed[0], 'CLOSED');
    assert.match(closed[2], /^rate-limited: .*REQ\/COUNT\/NEG-OPEN .*from this connection/);
    assert.ok(!conn.subscriptions.has('live'), 'the replaced subscription is still open');

    c.send(['COUNT', 'n2', { kinds: [1] }]);
    const countRefused = await c.next((f) => f[1] === 'n2');
    assert.deepEqual(countRefused.slice(0, 1), ['CLOSED']);
    assert.match(countRefused[2], hasPrefix('rate-limited'));

    c.send(['NEG-OPEN', 'neg', {}, '6100000200']);
    const negRefused = await c.next((f) => f[1] === 'neg');
    assert.equal(negRefused[0], 'NEG-ERR');
    assert.match(negRefused[2], hasPrefix('rate-limited'));

    // CLOSE and EVENT are not REQs; the other connection has its own bucket.
    const ev = sign(newKeys());
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    assert.equal((await bystander.query('b', { ids: [ev.id] })).length, 1);
  });
});
