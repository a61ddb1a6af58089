/**
 * SubscribeEvents fan-out through GrpcEventStore.watch/broadcast: two relays (clients) on one
 * orly-db server. Events saved by A reach B's watch and never A's; duplicates and rejected
 * saves are not fanned out; a broadcast reaches the other client only (serial 0); unsubscribe
 * stops delivery; a subscriber that reads too slowly is cut off instead of growing memory.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { credentials, Metadata } from '@grpc/grpc-js';
import { DatabaseServiceClient, type EventBatch } from '../../../src/gen/orlydb/v1/db.js';
import { serializeEvent } from '../../../src/protocol/event.js';
import type { StoredEvent } from '../../../src/store/event-store.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { eventually, type InProcessDb, startInProcessDb } from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';

let db: InProcessDb;
let a: GrpcEventStore;
let b: GrpcEventStore;

before(async () => {
  db = await startInProcessDb({ maxSubscriberBufferedChars: 64 * 1024 });
  a = await GrpcEventStore.connect(db.address);
  b = await GrpcEventStore.connect(db.address);
});

after(async () => {
  await a.close();
  await b.close();
  await db.stop();
});

function collect(store: GrpcEventStore): { events: StoredEvent[]; stop: () => void } {
  const events: StoredEvent[] = [];
  const stop = store.watch((event) => events.push(event));
  return { events, stop };
}

test('events saved by A reach B, not A; duplicates and rejections are not fanned out', async () => {
  assert.notEqual(a.origin, b.origin);
  const seenByA = collect(a);
  const seenByB = collect(b);
  await eventually(() => db.server.service.hub.size === 2, 5000, 'both subscriptions');
  const alice = newKey();
  const events = Array.from({ length: 20 }, (_, i) =>
    signedEvent(alice, { content: `w${i}`, created_at: BASE_TIME + i }),
  );
  const results = await Promise.all(events.map((e) => a.save(e)));
  assert.ok(results.every((r) => r.stored));
  await a.save(events[0]!); // duplicate: not delivered again
  const bad = { ...events[1]!, content: 'tampered' };
  assert.equal((await a.save(bad)).stored, false);
  // Sentinel for B: an event A saves after those; B's stream is in save order, so a fanned-out
  // duplicate or rejection would reach B before it.
  const sentinelForB = signedEvent(alice, { content: 'sentinel for B', created_at: BASE_TIME + 99 });
  assert.equal((await a.save(sentinelForB)).stored, true);
  // An event saved through B does reach A; it is also A's sentinel: any of A's own events
  // fanned back to A would have come before it.
  const fromB = signedEvent(alice, { content: 'from B', created_at: BASE_TIME + 100 });
  assert.equal((await b.save(fromB)).stored, true);
  const seen = (list: StoredEvent[], id: string) => list.some((s) => s.event.id === id);
  await eventually(() => seen(seenByB.events, sentinelForB.id), 5000, 'B to receive A’s sentinel');
  await eventually(() => seen(seenByA.events, fromB.id), 5000, 'A to receive B’s event');
  assert.deepEqual(
    seenByB.events.map((s) => s.event.id).sort(),
    [...events, sentinelForB].map((e) => e.id).sort(),
    'B got each of A’s events once',
  );
  for (const s of seenByB.events) {
    assert.ok(s.serial > 0);
    assert.equal(s.raw, serializeEvent(s.event));
  }
  assert.deepEqual(
    seenByA.events.map((s) => s.event.id),
    [fromB.id],
    'A never gets its own events back',
  );
  seenByA.stop();
  seenByB.stop();
  await eventually(() => db.server.service.hub.size === 0, 5000, 'subscriptions to end');
});

test('broadcast reaches the other client only, with serial 0, and is not stored', async () => {
  const seenByA = collect(a);
  const seenByB = collect(b);
  await eventually(() => db.server.service.hub.size === 2, 5000, 'both subscriptions');
  const ephemeral = signedEvent(newKey(), { kind: 20001, content: 'typing…' });
  await a.broadcast(ephemeral);
  await eventually(() => seenByB.events.length === 1, 5000, 'B to receive the broadcast');
  assert.equal(seenByB.events[0]!.serial, 0);
  assert.deepEqual(seenByB.events[0]!.event, ephemeral);
  // Sentinel for A: a broadcast by B after A's; A's own broadcast, if echoed, would come before it.
  const sentinel = signedEvent(newKey(), { kind: 20001, content: 'sentinel from B' });
  await b.broadcast(sentinel);
  await eventually(
    () => seenByA.events.some((s) => s.event.id === sentinel.id),
    5000,
    'A to receive B’s broadcast',
  );
  assert.deepEqual(
    seenByA.events.map((s) => s.event.id),
    [sentinel.id],
    'A never gets its own broadcast back',
  );
  assert.equal(await a.getById(ephemeral.id), undefined);
  await assert.rejects(a.broadcast({ ...ephemeral, content: 'tampered' }), /INVALID_ARGUMENT/);
  // Ephemeral events are never stored, whoever asks.
  const saved = await a.save(ephemeral);
  assert.equal(saved.stored, false);
  assert.match(saved.stored ? '' : saved.reason, /^invalid: ephemeral/);
  seenByA.stop();
  seenByB.stop();
  await eventually(() => db.server.service.hub.size === 0, 5000, 'subscriptions to end');
});

test('a subscriber that does not read is cut off with RESOURCE_EXHAUSTED', async () => {
  // A raw client that subscribes and never reads: its stream is paused from the start.
  const raw = new DatabaseServiceClient(db.address, credentials.createInsecure());
  const call = raw.subscribeEvents({ origin: 'stalled', ownSerials: false }, new Metadata());
  call.pause();
  let failure: { code?: number } | undefined;
  call.on('error', (e: { code?: number }) => {
    failure = e;
  });
  call.on('data', (_: EventBatch) => {});
  try {
    await eventually(() => db.server.service.hub.size === 1, 5000, 'the subscription');
    const alice = newKey();
    const big = 'x'.repeat(20_000);
    for (let round = 0; round < 200 && db.server.service.hub.size > 0; round++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          b.save(signedEvent(alice, { content: `${big}${round}-${i}`, created_at: BASE_TIME + round })),
        ),
      );
    }
    assert.equal(db.server.service.hub.size, 0, 'the stalled subscriber was dropped');
    call.resume(); // read what was buffered: the stream then ends with the error
    await eventually(() => failure !== undefined, 10_000, 'the stream error');
    assert.equal(failure!.code, 8 /* RESOURCE_EXHAUSTED */);
  } finally {
    call.cancel();
    raw.close();
  }
});
