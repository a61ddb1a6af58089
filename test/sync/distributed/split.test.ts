/**
 * Distributed sync in split mode: two relays on loopback, each with its own orly-db and orly-acl
 * (in this process, real gRPC with a token) and its own orly-sync-distributed (in this process,
 * over a GrpcEventStore of that orly-db and orly-acl's access control), naming each other's relay
 * URL as peers. Neither has ORLY_RELAY_SECRET_KEY: each service creates the identity in its
 * orly-db and the relay reads the same one (NIP-11 `self`). The relays forward /api/sync/* to
 * their service (ORLY_SYNC_TYPE=grpc, ORLY_GRPC_SYNC_DISTRIBUTED).
 *
 * An event published on one relay reaches the other's store and a live subscriber there (the
 * service stores it in orly-db; the relay hears of it from orly-db's change feed). Replicated
 * events pass the receiving side's orly-acl (b runs follows mode: an author its admin does not
 * follow stays out). While a
 * service is down its relay answers the sync endpoints 503 and keeps accepting events; the
 * service restarted finds its progress in orly-db and catches up both ways.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DistributedServer,
  startDistributedSyncServer,
} from '../../../src/services/sync-distributed/server.js';
import type { DistributedReplication } from '../../../src/sync/distributed/distributed-replication.js';
import { type Keys, newKeys, sign } from '../../helpers/nostr.js';
import { RawClient } from '../../helpers/relay-harness.js';
import {
  forwardingReplication,
  makeSplitNode,
  type SplitNode,
  startSplitRelay,
  startSplitService,
  stopSplitNodes,
} from '../../helpers/split-nodes.js';
import { storedIds } from '../../helpers/sync-nodes.js';
import { waitFor } from '../../helpers/wait.js';

type Node = SplitNode<DistributedServer>;

/** orly-sync-distributed for `node` over its orly-db and orly-acl, as its main builds it. */
function startService(node: Node, peer: Node): Promise<DistributedServer> {
  return startSplitService(node, (options) =>
    startDistributedSyncServer({
      ...options,
      sync: { peers: [peer.http], intervalMs: 3000, live: true, relayUrl: node.url },
    }),
  );
}

/** The relay's distributed sync (its gRPC client). */
const syncOf = (node: Node) => forwardingReplication<DistributedReplication>(node, '/api/sync/current');

async function publish(node: Node, author: Keys, count: number, label: string): Promise<string[]> {
  const client = await RawClient.connect(node.url);
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const event = sign(author, { content: `${label} ${i}` });
      assert.equal((await client.publish(event))[2], true);
      ids.push(event.id);
    }
    return ids;
  } finally {
    await client.close();
  }
}

describe('distributed sync in split mode: two relays, each with orly-db and orly-sync-distributed', () => {
  let a: Node;
  let b: Node;
  const author = newKeys();
  const admin = newKeys();

  before(async () => {
    a = await makeSplitNode('a', 'orly-dist-split');
    b = await makeSplitNode('b', 'orly-dist-split', { ORLY_ACL_MODE: 'follows', ORLY_ADMINS: admin.pk });
    await startService(a, b);
    await startService(b, a);
    await startSplitRelay(a, 'ORLY_GRPC_SYNC_DISTRIBUTED');
    await startSplitRelay(b, 'ORLY_GRPC_SYNC_DISTRIBUTED');
    // b's admin follows `author`; orly-acl learns it from orly-db's change feed.
    const client = await RawClient.connect(b.url);
    try {
      const follows = sign(admin, { kind: 3, tags: [['p', author.pk]] });
      assert.equal((await client.publish(follows))[2], true);
      await waitFor(
        async () => (await client.publish(sign(author, { content: 'may i?' })))[2] === true,
        10_000,
        "b's orly-acl to know the follow list",
        100,
      );
    } finally {
      await client.close();
    }
  });
  after(() => stopSplitNodes([a, b]));

  it("the relay's NIP-11 self is the identity its service signs with (one orly-db state key)", async () => {
    for (const node of [a, b]) {
      const res = await fetch(node.http, { headers: { Accept: 'application/nostr+json' } });
      const self = ((await res.json()) as { self?: string }).self;
      assert.match(self ?? '', /^[0-9a-f]{64}$/);
      assert.equal((await syncOf(node).status()).nodeId, self);
      assert.equal(node.service!.sync.nodeId, self);
    }
    assert.notEqual(a.service!.sync.nodeId, b.service!.sync.nodeId);
  });

  it('each service polls the other relay through its forwarded endpoints, authenticated', async () => {
    for (const [node, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      let last = '';
      await waitFor(
        async () => {
          await syncOf(node).triggerSync();
          const status = await syncOf(node).status();
          last = JSON.stringify(status.peers);
          const link = status.peers[0];
          return link?.status === 'active' && link.live;
        },
        20_000,
        () => `${node.name} to have polled ${peer.name} and be live: ${last}`,
        250,
      );
      const [link] = (await syncOf(node).status()).peers;
      assert.equal(link?.url, peer.http);
      assert.equal(link?.pubkey, peer.service!.sync.nodeId);
      assert.equal(link?.lastError, '');
    }
    // Strangers get nothing from the forwarded endpoints.
    const res = await fetch(`${a.http}/api/sync/current`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Nostr');
  });

  it("an event published on one relay reaches the other's store and live subscribers", async () => {
    const watcher = await RawClient.connect(b.url);
    try {
      watcher.send(['REQ', 'live', { authors: [author.pk], limit: 0 }]);
      await watcher.next((f) => f[0] === 'EOSE' && f[1] === 'live');
      const [id] = await publish(a, author, 1, 'split hello');
      const delivered = await watcher.next((f) => f[0] === 'EVENT' && f[1] === 'live', 10_000);
      assert.equal(delivered[2].id, id, JSON.stringify(delivered));
      assert.equal(await storedIds(b, [id!]), 1);
    } finally {
      await watcher.close();
    }
    const [back] = await publish(b, author, 1, 'split reply');
    await waitFor(async () => (await storedIds(a, [back!])) === 1, 10_000, 'b → a', 100);
  });

  it("replicated events pass the receiving side's orly-acl: an author b does not admit stays out", async () => {
    const stranger = newKeys();
    const [refused] = await publish(a, stranger, 1, 'not followed on b');
    const [sentinel] = await publish(a, author, 1, 'followed on b');
    await waitFor(async () => (await storedIds(b, [sentinel!])) === 1, 10_000, 'the sentinel on b', 100);
    // Everything a had by then has been decided on b.
    const aSerial = (await syncOf(a).status()).currentSerial;
    await waitFor(
      async () => {
        await b.service!.sync.pollPeer(a.http);
        return (await b.service!.sync.status()).peers[0]!.lastSerial >= aSerial;
      },
      10_000,
      "b's progress with a past the stranger's event",
      100,
    );
    assert.equal(await storedIds(b, [refused!]), 0);
    assert.equal(await storedIds(a, [refused!]), 1);
  });

  it('a service restarted resumes from its progress in orly-db and catches up both ways', async () => {
    const fromA = async () => (await b.service!.sync.status()).peers.find((p) => p.url === a.http)!;
    await waitFor(async () => (await fromA()).lastSerial > 0, 10_000, 'b to have progress with a', 100);
    const before = (await fromA()).lastSerial;
    await b.service!.stop();
    // Meanwhile: b's relay answers its peers 503 and keeps taking events.
    const down = await fetch(`${b.http}/api/sync/current`, { method: 'POST', body: '{}' });
    assert.equal(down.status, 503);
    const onB = await publish(b, author, 5, 'on b while its service is down');
    const onA = await publish(a, author, 20, 'on a while b service is down');
    const service = await startService(b, a);
    const resumed = (await service.sync.status()).peers.find((p) => p.url === a.http)!.lastSerial;
    assert.ok(resumed >= before && before > 0, `progress kept across the restart (${before} → ${resumed})`);
    await waitFor(async () => (await storedIds(b, onA)) === onA.length, 20_000, 'b caught up with a', 200);
    await waitFor(async () => (await storedIds(a, onB)) === onB.length, 20_000, 'a caught up with b', 200);
    // The relay's client talks to the new service on the same address.
    await waitFor(
      async () => {
        try {
          return (await syncOf(b).status()).peers[0]?.status === 'active';
        } catch {
          return false;
        }
      },
      10_000,
      "b's relay to reach its restarted service",
      200,
    );
  });
});
