/**
 * orly-sync-negentropy's SyncWithPeer stream against a relay with NIP-77 enabled, over real
 * signed events: down, up and both with partial overlap (identical sets afterwards, real
 * progress counts), failures and bad arguments; include_ids ("ids" messages after
 * reconciliation, before any transfer).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyncDirection } from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import {
  assertSameIds,
  closedPort,
  idsOf,
  makeEvents,
  saveAll,
  setOf,
  syncServiceForSuite,
  syncStream,
} from './service-fixtures.js';

describe('orly-sync-negentropy: SyncWithPeer', () => {
  const service = syncServiceForSuite();

  it('SyncWithPeer down / up / both with partial overlap: identical sets, real counts', async () => {
    const { client, db, negRelay, store } = service;
    // down
    const remote = makeEvents(120, 1001);
    const r1 = await negRelay(remote);
    const down = await syncStream(client, { peerUrl: r1.url, filterJson: '{"kinds":[1001]}' });
    const d = down.at(-1)!;
    assert.equal(d.error, '');
    assert.equal(d.complete, true);
    assert.deepEqual([d.haveCount, d.needCount, d.fetchedCount, d.sentCount], [0, 120, 120, 0]);
    assert.ok(down.some((p) => p.phase === 'download' && !p.complete));
    assertSameIds(await idsOf(db.store, 1001), setOf(remote));

    // up
    const local = makeEvents(110, 1002);
    await saveAll(store, local);
    const r2 = await negRelay([]);
    const up = (
      await syncStream(client, {
        peerUrl: r2.url,
        filterJson: '{"kinds":[1002]}',
        direction: SyncDirection.SYNC_DIRECTION_UP,
      })
    ).at(-1)!;
    assert.equal(up.complete, true, up.error);
    assert.deepEqual([up.haveCount, up.needCount, up.sentCount, up.acceptedCount], [110, 0, 110, 110]);
    assertSameIds(await idsOf(r2.relay.store, 1002), setOf(local));

    // both, partial overlap, small frames (several rounds)
    const common = makeEvents(100, 1003);
    const onlyRemote = makeEvents(150, 1003);
    const onlyLocal = makeEvents(150, 1003);
    const r3 = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    const both = (
      await syncStream(client, {
        peerUrl: r3.url,
        filterJson: '{"kinds":[1003]}',
        direction: SyncDirection.SYNC_DIRECTION_BOTH,
        frameSizeLimit: 4096,
      })
    ).at(-1)!;
    assert.equal(both.complete, true, both.error);
    assert.deepEqual(
      [
        both.localCount,
        both.haveCount,
        both.needCount,
        both.fetchedCount,
        both.sentCount,
        both.acceptedCount,
      ],
      [250, 150, 150, 150, 150, 150],
    );
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1003), all);
    assertSameIds(await idsOf(r3.relay.store, 1003), all);

    // A failure ends the stream with the error; bad arguments are INVALID_ARGUMENT.
    const port = await closedPort();
    const failed = (await syncStream(client, { peerUrl: `ws://127.0.0.1:${port}` })).at(-1)!;
    assert.equal(failed.complete, false);
    assert.match(failed.error, /cannot connect/);
    await assert.rejects(syncStream(client, { peerUrl: r3.url, filterJson: '{"limit":1}' }), /limit/);
    await assert.rejects(syncStream(client, { peerUrl: 'http://x' }), /ws:\/\//);
  });

  it('SyncWithPeer include_ids: phase "ids" messages after reconciliation, before any transfer', async () => {
    const { client, negRelay, store } = service;
    const onlyRemote = makeEvents(30, 1008);
    const onlyLocal = makeEvents(20, 1008);
    const relay = await negRelay(onlyRemote);
    await saveAll(store, onlyLocal);
    const stream = await syncStream(client, {
      peerUrl: relay.url,
      filterJson: '{"kinds":[1008]}',
      direction: SyncDirection.SYNC_DIRECTION_BOTH,
      includeIds: true,
    });
    const phases = stream.map((p) => p.phase);
    const first = phases.indexOf('ids');
    assert.ok(first > 0, phases.join(','));
    assert.ok(
      phases.slice(0, first).every((p) => p === 'connect' || p === 'reconcile'),
      phases.join(','),
    );
    const ids = stream.filter((p) => p.phase === 'ids' && !p.complete);
    assert.equal(ids.length, 1);
    assertSameIds(new Set(ids[0]!.haveIds), setOf(onlyLocal));
    assertSameIds(new Set(ids[0]!.needIds), setOf(onlyRemote));
    assert.deepEqual([ids[0]!.haveCount, ids[0]!.needCount], [20, 30]);
    // Other messages carry no ids; without include_ids there are no id messages at all.
    for (const p of stream) if (p !== ids[0]) assert.deepEqual([p.haveIds, p.needIds], [[], []]);
    const last = stream.at(-1)!;
    assert.equal(last.complete, true, last.error);
    assert.deepEqual([last.fetchedCount, last.acceptedCount], [30, 20]);
    const plain = await syncStream(client, { peerUrl: relay.url, filterJson: '{"kinds":[1008]}' });
    assert.ok(plain.every((p) => p.phase !== 'ids' && p.haveIds.length === 0 && p.needIds.length === 0));
  });
});
