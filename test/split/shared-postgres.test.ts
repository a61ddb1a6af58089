/**
 * Relays on PostgreSQL (ORLY_DB_TYPE=postgres; a real server, test/helpers/postgres.ts): two relays
 * sharing one database deliver each other's new events (stored and ephemeral) to their live
 * subscriptions, once; a relay whose PostgreSQL goes away keeps its clients, answers EVENT with
 * OK false "error: ..." and REQ with CLOSED "error: ...", reports 503 on /health, and recovers by
 * itself when the server returns — never OK true without a committed save; and its live
 * subscribers get what other writers stored while its LISTEN connection was down, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { loadPostgresConfig } from '../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../src/store/postgres/postgres-store.js';
import { newKeys, nowSec, sign, sleep } from '../helpers/nostr.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { RawClient } from '../helpers/relay-harness.js';

const logger = createLogger('silent');
const server = await startTestPostgres();
after(() => server.stop());
const restartable = server.pause !== undefined && server.resume !== undefined;

async function relayOn(url: string): Promise<{ relay: Relay; url: string }> {
  const env = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: '0',
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ORLY_DB_TYPE: 'postgres',
    ORLY_POSTGRES_URL: url,
  };
  const relay = await createRelay(loadRelayConfig(env), logger, env);
  const port = await relay.start();
  return { relay, url: `ws://127.0.0.1:${port}` };
}

const writerOn = (url: string) => PostgresEventStore.open(loadPostgresConfig({ ORLY_POSTGRES_URL: url }));

describe('two relays sharing one PostgreSQL database', () => {
  let database: string;
  let a: { relay: Relay; url: string };
  let b: { relay: Relay; url: string };

  before(async () => {
    database = await server.createDatabase();
    a = await relayOn(database);
    b = await relayOn(database);
  });
  after(async () => {
    await a.relay.stop();
    await b.relay.stop();
  });

  it('delivers an event published on one relay to live subscribers of the other, once', async () => {
    const keys = newKeys();
    const subscriber = await RawClient.connect(a.url);
    const local = await RawClient.connect(b.url);
    subscriber.send(['REQ', 'live', { authors: [keys.pk] }]);
    local.send(['REQ', 'live-b', { authors: [keys.pk] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'live');
    await local.next((f) => f[0] === 'EOSE' && f[1] === 'live-b');
    const publisher = await RawClient.connect(b.url);
    const ev = sign(keys, { kind: 1, content: 'from relay b' });
    assert.deepEqual(await publisher.publish(ev), ['OK', ev.id, true, '']);
    assert.equal((await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live'))[2].id, ev.id);
    assert.equal((await local.next((f) => f[0] === 'EVENT' && f[1] === 'live-b'))[2].id, ev.id);
    // Sentinel from a third writer: once it has arrived at both, a second copy of ev would have too.
    const writer = await writerOn(database);
    const sentinel = sign(keys, { kind: 1, content: 'sentinel' });
    assert.equal((await writer.save(sentinel)).stored, true);
    await writer.close();
    await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live' && f[2].id === sentinel.id);
    await local.next((f) => f[0] === 'EVENT' && f[1] === 'live-b' && f[2].id === sentinel.id);
    assert.equal(subscriber.frames.filter((f) => f[0] === 'EVENT').length, 0, 'delivered once on relay a');
    assert.equal(local.frames.filter((f) => f[0] === 'EVENT').length, 0, 'delivered once on relay b');
    assert.equal(
      (await subscriber.query('q', { ids: [ev.id] })).length,
      1,
      'relay a serves it from the database',
    );
    await Promise.all([subscriber.close(), local.close(), publisher.close()]);
  });

  it('delivers ephemeral events across relays without storing them', async () => {
    const keys = newKeys();
    const subscriber = await RawClient.connect(a.url);
    subscriber.send(['REQ', 'eph', { kinds: [20001], authors: [keys.pk] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'eph');
    const publisher = await RawClient.connect(b.url);
    for (const content of ['ephemeral across relays', 'x'.repeat(20_000)]) {
      const ev = sign(keys, { kind: 20001, content });
      assert.deepEqual(await publisher.publish(ev), ['OK', ev.id, true, '']);
      const got = await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'eph');
      assert.equal(got[2].id, ev.id, `${content.length} characters`);
      assert.equal((await subscriber.query('q2', { ids: [ev.id] })).length, 0);
    }
    await Promise.all([subscriber.close(), publisher.close()]);
  });
});

describe('a relay whose PostgreSQL goes away', { skip: !restartable && 'needs the embedded server' }, () => {
  let database: string;
  let r: { relay: Relay; url: string };

  before(async () => {
    database = await server.createDatabase();
    r = await relayOn(database);
  });
  after(() => r.relay.stop());

  it('answers with error: while down, keeps the connection, and recovers', async () => {
    const keys = newKeys();
    const client = await RawClient.connect(r.url);
    const before = sign(keys, { kind: 1, content: 'before outage', created_at: nowSec() - 2 });
    assert.deepEqual(await client.publish(before), ['OK', before.id, true, '']);

    await server.pause!();
    try {
      const during = sign(keys, { kind: 1, content: 'during outage', created_at: nowSec() - 1 });
      const ok = await client.publish(during);
      assert.equal(ok[2], false, 'no OK true without a committed save');
      assert.match(ok[3], /^error: /);
      client.send(['REQ', 'down', { authors: [keys.pk] }]);
      const closed = await client.next((f) => f[0] === 'CLOSED' && f[1] === 'down');
      assert.match(closed[2], /^error: /);
      assert.equal(client.closed, false, 'the client connection stays open');
      assert.equal((await fetch(`http://127.0.0.1:${r.relay.port}/health`)).status, 503);
    } finally {
      await server.resume!();
    }
    const after = sign(keys, { kind: 1, content: 'after outage' });
    const answer = await client.publishUntilAccepted(after);
    assert.deepEqual(answer, ['OK', after.id, true, '']);
    const events = await client.query('up', { authors: [keys.pk] });
    assert.deepEqual(
      events.map((e) => e.id),
      [after.id, before.id],
      'the acknowledged events are there, the refused one is not',
    );
    for (let i = 0; i < 30 && (await fetch(`http://127.0.0.1:${r.relay.port}/health`)).status !== 200; i++)
      await sleep(100);
    assert.equal((await fetch(`http://127.0.0.1:${r.relay.port}/health`)).status, 200);
    await client.close();
  });

  it('a server restart under load: every acknowledged event is kept, the clients stay', async () => {
    const keys = newKeys();
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(r.url)));
    const acked: string[] = [];
    const refused: string[] = [];
    let publishing = true;
    const publishers = clients.map(async (client, c) => {
      for (let i = 0; publishing; i++) {
        const ev = sign(keys, { kind: 1, content: `load ${c}.${i}` });
        const ok = await client.publish(ev);
        if (ok[2] === true) acked.push(ev.id);
        else {
          assert.match(ok[3], /^error: /);
          refused.push(ev.id);
          await sleep(20);
        }
      }
    });
    await sleep(300);
    await server.pause!();
    await sleep(500);
    await server.resume!();
    // Until the relay stores again, then a little longer.
    const resumedAt = acked.length;
    for (let i = 0; i < 100 && acked.length < resumedAt + 20; i++) await sleep(50);
    publishing = false;
    await Promise.all(publishers);
    assert.ok(refused.length > 0, 'the outage was seen');
    assert.ok(acked.length > resumedAt, 'the relay stores again after the restart');
    for (const client of clients) assert.equal(client.closed, false, 'the clients stay connected');
    const stored = new Set(
      (await clients[0]!.query('all', { authors: [keys.pk], limit: 5000 })).map((e) => e.id as string),
    );
    for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} is kept`);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('live subscribers get what other writers stored while LISTEN was down, once', async () => {
    const keys = newKeys();
    const subscriber = await RawClient.connect(r.url);
    const publisher = await RawClient.connect(r.url);
    subscriber.send(['REQ', 'live', { authors: [keys.pk] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'live');

    await server.pause!();
    await sleep(300);
    await server.resume!();
    // Another writer stores an event at once, before the relay's LISTEN connection is back.
    const other = await writerOn(database);
    const missed = sign(keys, { kind: 1, content: 'stored during the LISTEN outage' });
    assert.equal((await other.save(missed)).stored, true);
    const got = await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000);
    assert.equal(got[2].id, missed.id, 'caught up after the reconnection');

    let own = sign(keys, { kind: 1, content: 'own, after the outage' });
    for (let i = 0; i < 50 && (await publisher.publish(own))[2] !== true; i++) {
      await sleep(100);
      own = sign(keys, { kind: 1, content: `own, after the outage ${i}` });
    }
    const later = sign(keys, { kind: 1, content: 'later, from the other writer' });
    assert.equal((await other.save(later)).stored, true);
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++)
      ids.add((await subscriber.next((x) => x[0] === 'EVENT' && x[1] === 'live', 10_000))[2].id);
    assert.deepEqual(ids, new Set([own.id, later.id]));
    const sentinel = sign(keys, { kind: 1, content: 'sentinel' });
    assert.equal((await other.save(sentinel)).stored, true);
    await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live' && f[2].id === sentinel.id, 10_000);
    // The relay's catch-up runs every second: give it one round to deliver a copy it should not.
    await sleep(1500);
    assert.equal(subscriber.frames.filter((f) => f[0] === 'EVENT').length, 0, 'nothing delivered twice');
    await other.close();
    await subscriber.close();
    await publisher.close();
  });
});
