/**
 * Distributed sync in process (ORLY_SYNC_TYPE=local): real relays on loopback, each with its own
 * LMDB and identity, naming each other in ORLY_SYNC_DISTRIBUTED_PEERS. Events published on one
 * reach the others' stores and live subscriptions (the live link); a relay that was down catches
 * up by the serial poll and keeps its progress across restarts; the endpoints answer only NIP-98
 * tokens from the named peers (401 without, 403 from anyone else, 400 for bad input); a relay
 * naming itself skips itself (by its URL here; by its identity in test/sync/distributed/); NIP-11
 * shows each relay's identity as `self`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getPublicKey } from 'nostr-tools/pure';
import type { DistributedSync } from '../../src/sync/distributed/distributed-sync.js';
import { nip98Header } from '../helpers/nip86.js';
import { newKeys, sign } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';
import {
  makeSyncNode,
  type SyncNode as Node,
  startSyncNode,
  stopSyncNodes,
  storedOn as stored,
} from '../helpers/sync-nodes.js';
import { waitFor } from '../helpers/wait.js';

const startNode = (node: Node, peers: readonly Node[]) =>
  startSyncNode(node, {
    ORLY_SYNC_DISTRIBUTED_PEERS: peers.map((p) => p.http).join(','),
    ORLY_SYNC_DISTRIBUTED_INTERVAL: '1h',
  });

function syncOf(node: Node): DistributedSync {
  const service = node.relay!.replication.serviceFor('/api/sync/current');
  assert.ok(service, `${node.http} runs distributed sync`);
  return service as DistributedSync;
}

describe('distributed sync between three relays', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  const author = newKeys();

  before(async () => {
    [a, b, c] = [await makeSyncNode(), await makeSyncNode(), await makeSyncNode()];
    await startNode(a, [b, c, a]);
    await startNode(b, [a, c]);
    await startNode(c, [a, b]);
  });
  after(() => stopSyncNodes([a, b, c]));

  it('NIP-11 names each relay by its identity (self)', async () => {
    const res = await fetch(a.http, { headers: { Accept: 'application/nostr+json' } });
    assert.equal(((await res.json()) as { self?: string }).self, getPublicKey(a.keys.sk));
  });

  it('an event published on one relay reaches the others, stores and live subscriptions', async () => {
    const watcher = await RawClient.connect(c.url);
    try {
      watcher.send(['REQ', 'live', { authors: [author.pk] }]);
      await watcher.next((f) => f[0] === 'EOSE' && f[1] === 'live');
      const publisher = await RawClient.connect(a.url);
      const event = sign(author, { content: 'hello cluster' });
      assert.equal((await publisher.publish(event))[2], true);
      await publisher.close();
      const delivered = await watcher.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000);
      assert.equal(delivered[2].id, event.id);
      await waitFor(
        async () => (await stored(b, event.id)) && (await stored(c, event.id)),
        10_000,
        'replicated',
        100,
      );
    } finally {
      await watcher.close();
    }
  });

  it('a relay naming itself among its peers (its ORLY_RELAY_URL) skips itself', async () => {
    const status = await syncOf(a).status();
    assert.deepEqual(status.peers.map((p) => p.url).sort(), [b.http, c.http].sort());
  });

  it('a relay that was down catches up by the serial poll, resuming from its saved progress', async () => {
    const fromA = async () => (await syncOf(c).status()).peers.find((p) => p.url.startsWith(a.http))!;
    await waitFor(
      async () => {
        await syncOf(c).pollAll();
        return (await fromA()).lastSerial > 0;
      },
      10_000,
      'c to have polled a',
      300,
    );
    const before = (await fromA()).lastSerial;
    await c.relay!.stop();
    const publisher = await RawClient.connect(a.url);
    const missed: { id: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const event = sign(author, { content: `while c was down ${i}` });
      assert.equal((await publisher.publish(event))[2], true);
      missed.push(event);
    }
    await publisher.close();
    await startNode(c, [a, b]);
    const resumed = (await syncOf(c).status()).peers.find((p) => p.url.startsWith(a.http))!.lastSerial;
    assert.ok(resumed >= before && before > 0, `progress kept across the restart (${before} → ${resumed})`);
    await waitFor(
      async () => {
        const client = await RawClient.connect(c.url);
        try {
          return (
            (await client.query(`m${Date.now()}`, { ids: missed.map((e) => e.id) })).length === missed.length
          );
        } finally {
          await client.close();
        }
      },
      15_000,
      'c caught up',
      200,
    );
    await syncOf(c).pollAll();
    assert.equal((await fromA()).status, 'active', (await fromA()).lastError);
    assert.equal((await fromA()).lag, 0);
  });

  it('the sync endpoints answer only NIP-98 tokens from named peers; bad input is a 4xx', async () => {
    // a knows b's identity once it has read b's NIP-11 (its links do at start, retried each second).
    await waitFor(async () =>
      (await syncOf(a).status()).peers.some((p) => p.pubkey === getPublicKey(b.keys.sk)),
    );
    const url = `${a.http}/api/sync/current`;
    const body = { node_id: 'x', relay_url: 'y' };
    const post = async (authorization: string | undefined, payload: unknown = body, target = url) =>
      fetch(target, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(authorization ? { Authorization: authorization } : {}),
        },
        body: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const none = await post(undefined);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Nostr');
    const stranger = await post(await nip98Header(newKeys(), url, body));
    assert.equal(stranger.status, 403);
    const peer = await post(await nip98Header(b.keys, url, body));
    assert.equal(peer.status, 200);
    assert.equal(typeof ((await peer.json()) as { serial: unknown }).serial, 'number');
    const idsUrl = `${a.http}/api/sync/event-ids`;
    const absurd = { node_id: 'x', relay_url: 'y', from: 1, to: 10_000_000 };
    assert.equal((await post(await nip98Header(b.keys, idsUrl, absurd), absurd, idsUrl)).status, 400);
    const inverted = { node_id: 'x', relay_url: 'y', from: 10, to: 2 };
    assert.equal((await post(await nip98Header(b.keys, idsUrl, inverted), inverted, idsUrl)).status, 400);
    const selfCall = { node_id: getPublicKey(a.keys.sk), relay_url: a.http };
    const self = await post(await nip98Header(b.keys, url, selfCall), selfCall);
    assert.equal(self.status, 400);
    const get = await fetch(url);
    assert.equal(get.status, 405);
  });

  it('replication shows on /metrics: per peer up, live, lag, events stored from it, bytes received', async () => {
    await syncOf(b).pollAll();
    const text = await (await fetch(`${b.http}/metrics`)).text();
    const value = (name: string, peer: string) => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{service="distributed",peer="${peer}"}`));
      return line === undefined ? undefined : Number(line.split(' ').pop());
    };
    assert.equal(value('orly_replication_peer_up', a.http), 1);
    assert.equal(value('orly_replication_peer_live', a.http), 1);
    assert.equal(value('orly_replication_peer_lag', a.http), 0);
    assert.ok((value('orly_replication_peer_events', a.http) ?? 0) > 0, 'events from a were stored on b');
    assert.ok((value('orly_replication_peer_bytes_received', a.http) ?? 0) > 0);
  });
});
