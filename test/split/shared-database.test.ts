/**
 * Split mode: two relays sharing one orly-db deliver each other's new events (stored and
 * ephemeral) to their live subscriptions; and a relay whose orly-db goes away keeps its
 * clients, answers EVENT with OK false "error: ..." and REQ with CLOSED "error: ...", and
 * recovers by itself when the database returns — never OK true without a durable save.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import { type DatabaseServer, startDatabaseServer } from '../../src/services/db/server.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { newKeys, nowSec, sign, sleep } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';

const logger = createLogger('silent');

async function relayOn(dbAddress: string): Promise<{ relay: Relay; url: string }> {
  const env = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: '0',
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ORLY_DB_TYPE: 'grpc',
    ORLY_GRPC_SERVER: dbAddress,
    ORLY_GRPC_CONNECT_TIMEOUT: '5',
  };
  const relay = await createRelay(loadRelayConfig(env), logger, env);
  const port = await relay.start();
  return { relay, url: `ws://127.0.0.1:${port}` };
}

describe('two relays sharing one orly-db', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-shared-'));
  let db: DatabaseServer;
  let a: { relay: Relay; url: string };
  let b: { relay: Relay; url: string };

  before(async () => {
    db = await startDatabaseServer({ listen: '127.0.0.1:0', dataDir, logger });
    a = await relayOn(db.address);
    b = await relayOn(db.address);
  });
  after(async () => {
    await a.relay.stop();
    await b.relay.stop();
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
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
    const got = await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live');
    assert.equal(got[2].id, ev.id);
    const gotLocal = await local.next((f) => f[0] === 'EVENT' && f[1] === 'live-b');
    assert.equal(gotLocal[2].id, ev.id);
    // Sentinel: a matching event stored afterwards by a third writer reaches both relays through
    // orly-db's change feed, in order, so a second copy of ev (from the feed) would come before it.
    const writer = await GrpcEventStore.connect(db.address, { logger });
    const sentinel = sign(keys, { kind: 1, content: 'sentinel' });
    assert.equal((await writer.save(sentinel)).stored, true);
    await writer.close();
    await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live' && f[2].id === sentinel.id);
    await local.next((f) => f[0] === 'EVENT' && f[1] === 'live-b' && f[2].id === sentinel.id);
    assert.equal(subscriber.frames.filter((f) => f[0] === 'EVENT').length, 0, 'delivered once on relay a');
    assert.equal(local.frames.filter((f) => f[0] === 'EVENT').length, 0, 'delivered once on relay b');
    // And it is stored: relay a serves it from the shared database.
    const stored = await subscriber.query('q', { ids: [ev.id] });
    assert.equal(stored.length, 1);
    await Promise.all([subscriber.close(), local.close(), publisher.close()]);
  });

  it('delivers ephemeral events across relays without storing them', async () => {
    const keys = newKeys();
    const subscriber = await RawClient.connect(a.url);
    subscriber.send(['REQ', 'eph', { kinds: [20001], authors: [keys.pk] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'eph');
    const publisher = await RawClient.connect(b.url);
    const ev = sign(keys, { kind: 20001, content: 'ephemeral across relays' });
    assert.deepEqual(await publisher.publish(ev), ['OK', ev.id, true, '']);
    const got = await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'eph');
    assert.equal(got[2].id, ev.id);
    assert.equal((await subscriber.query('q2', { ids: [ev.id] })).length, 0);
    await Promise.all([subscriber.close(), publisher.close()]);
  });
});

describe('a relay whose orly-db goes away', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-dbdown-'));
  let db: DatabaseServer;
  let r: { relay: Relay; url: string };

  before(async () => {
    db = await startDatabaseServer({ listen: '127.0.0.1:0', dataDir, logger });
    r = await relayOn(db.address);
  });
  after(async () => {
    await r.relay.stop();
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers with error: while down, keeps the connection, and recovers', async () => {
    const keys = newKeys();
    const client = await RawClient.connect(r.url);
    const before = sign(keys, { kind: 1, content: 'before outage', created_at: nowSec() - 2 });
    assert.deepEqual(await client.publish(before), ['OK', before.id, true, '']);

    const port = db.port;
    await db.stop(0);
    const during = sign(keys, { kind: 1, content: 'during outage', created_at: nowSec() - 1 });
    const ok = await client.publish(during);
    assert.equal(ok[2], false, 'no OK true without a durable save');
    assert.match(ok[3], /^error: /);
    client.send(['REQ', 'down', { authors: [keys.pk] }]);
    const closed = await client.next((f) => f[0] === 'CLOSED' && f[1] === 'down');
    assert.match(closed[2], /^error: /);
    assert.equal(client.closed, false, 'the client connection stays open');
    const health = await fetch(`http://127.0.0.1:${r.relay.port}/health`);
    assert.equal(health.status, 503);

    db = await startDatabaseServer({ listen: `127.0.0.1:${port}`, dataDir, logger });
    const after = sign(keys, { kind: 1, content: 'after outage' });
    const answer = await client.publishUntilAccepted(after);
    assert.deepEqual(answer, ['OK', after.id, true, '']);
    const events = await client.query('up', { authors: [keys.pk] });
    assert.deepEqual(
      events.map((e) => e.id),
      [after.id, before.id],
      'the acknowledged events are there, the refused one is not',
    );
    await client.close();
  });

  it('live subscribers get what other writers stored while the watch was down, once', async () => {
    const keys = newKeys();
    const subscriber = await RawClient.connect(r.url);
    const publisher = await RawClient.connect(r.url);
    subscriber.send(['REQ', 'live', { authors: [keys.pk] }]);
    await subscriber.next((f) => f[0] === 'EOSE' && f[1] === 'live');

    const port = db.port;
    await db.stop(0);
    await sleep(1200); // the relay's watch is now retrying with a backoff of a second or more
    db = await startDatabaseServer({ listen: `127.0.0.1:${port}`, dataDir, logger });
    // Another writer stores an event at once, before the relay has resubscribed.
    const other = await GrpcEventStore.connect(`127.0.0.1:${port}`, { logger });
    const missed = sign(keys, { kind: 1, content: 'stored during the watch outage' });
    assert.equal((await other.save(missed)).stored, true);
    const got = await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000);
    assert.equal(got[2].id, missed.id, 'replayed after the resubscription');

    // The relay's own events and the other writer's later ones arrive once each.
    let own = sign(keys, { kind: 1, content: 'own, after the outage' });
    for (let i = 0; i < 50 && (await publisher.publish(own))[2] !== true; i++) {
      await sleep(100);
      own = sign(keys, { kind: 1, content: `own, after the outage ${i}` });
    }
    const later = sign(keys, { kind: 1, content: 'later, from the other writer' });
    assert.equal((await other.save(later)).stored, true);
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const f = await subscriber.next((x) => x[0] === 'EVENT' && x[1] === 'live', 10_000);
      ids.add(f[2].id);
    }
    assert.deepEqual(ids, new Set([own.id, later.id]));
    // Sentinel: the other writer stores one more; the change feed delivers in order, so a second
    // copy of anything above would come before it.
    const sentinel = sign(keys, { kind: 1, content: 'sentinel' });
    assert.equal((await other.save(sentinel)).stored, true);
    await subscriber.next((f) => f[0] === 'EVENT' && f[1] === 'live' && f[2].id === sentinel.id, 10_000);
    assert.equal(subscriber.frames.filter((f) => f[0] === 'EVENT').length, 0, 'nothing delivered twice');
    await other.close();
    await subscriber.close();
    await publisher.close();
  });
});
