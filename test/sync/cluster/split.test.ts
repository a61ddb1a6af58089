/**
 * Cluster replication in split mode: three relays on loopback, each with its own orly-db and
 * orly-acl (in this process, real gRPC with ORLY_GRPC_TOKEN) and its own orly-sync-cluster (in
 * this process, over a GrpcEventStore of that orly-db and orly-acl's access control). None has
 * ORLY_RELAY_SECRET_KEY: each service creates the identity in its orly-db and the relay reads the
 * same one (NIP-11 `self`). The relays forward /cluster/* to their service (ORLY_SYNC_TYPE=grpc,
 * ORLY_GRPC_SYNC_CLUSTER) and trust the members the service names to read DMs.
 *
 * The admin publishes the membership to each relay; each service learns it from orly-db's change
 * feed. Writes on every member converge; a DM replicates (privileged events propagate); one
 * member's service stopped (its relay answers 503 and keeps taking events) and restarted resumes
 * from its progress in orly-db and catches up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { type ClusterServer, startClusterSyncServer } from '../../../src/services/sync-cluster/server.js';
import type { ClusterReplication } from '../../../src/sync/cluster/cluster-replication.js';
import { newKeys, sign } from '../../helpers/nostr.js';
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

const admin = newKeys();

type Node = SplitNode<ClusterServer>;

/** orly-sync-cluster for `node` over its orly-db and orly-acl, as its main builds it. */
function startService(node: Node): Promise<ClusterServer> {
  return startSplitService(node, (options) =>
    startClusterSyncServer({
      ...options,
      cluster: {
        enabled: true,
        admins: [admin.pk],
        propagatePrivileged: true,
        intervalMs: 3000,
        live: true,
        relayUrl: node.url,
      },
      restrictedKinds: [4, 1059],
      verifyWorkers: 0,
    }),
  );
}

/** The relay's cluster replication (its gRPC client). */
const clusterOf = (node: Node) => forwardingReplication<ClusterReplication>(node, '/cluster/latest');

async function publish(node: Node, event: NostrEvent): Promise<void> {
  const client = await RawClient.connect(node.url);
  try {
    const ok = await client.publish(event);
    assert.equal(ok[2], true, `${node.name}: ${String(ok[3])}`);
  } finally {
    await client.close();
  }
}

function membership(nodes: readonly Node[]): NostrEvent {
  return sign(admin, {
    kind: 39108,
    tags: [['d', 'membership'], ['version', '1'], ...nodes.map((n) => ['relay', n.http, n.url])],
    content: '{"name":"split cluster"}',
  });
}

describe('cluster in split mode: three relays, each with orly-db and orly-sync-cluster', () => {
  const nodes: Node[] = [];
  const alice = newKeys();
  const bob = newKeys();

  before(async () => {
    for (const name of ['a', 'b', 'c']) nodes.push(await makeSplitNode(name, 'orly-cluster-split'));
    for (const node of nodes) {
      await startService(node);
      await startSplitRelay(node, 'ORLY_GRPC_SYNC_CLUSTER');
    }
    const members = membership(nodes);
    for (const node of nodes) await publish(node, members);
    for (const node of nodes)
      await waitFor(
        () => node.service!.sync.current?.eventId === members.id && node.service!.sync.peerUrls.length === 2,
        10_000,
        `${node.name}'s service to apply the membership from orly-db's change feed`,
        50,
      );
  });
  after(() => stopSplitNodes(nodes));

  it("each relay's NIP-11 self is its service's identity; members only at the forwarded endpoints", async () => {
    for (const node of nodes) {
      const res = await fetch(node.http, { headers: { Accept: 'application/nostr+json' } });
      const self = ((await res.json()) as { self?: string }).self;
      assert.match(self ?? '', /^[0-9a-f]{64}$/);
      assert.equal((await clusterOf(node).status()).nodeId, self);
    }
    const res = await fetch(`${nodes[0]!.http}/cluster/latest`);
    assert.equal(res.status, 401);
  });

  it('writes on every member converge; a DM replicates and its members may read it', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const onA = sign(alice, { content: 'written on a' });
    const onC = sign(alice, { content: 'written on c' });
    const dm = sign(alice, { kind: 4, tags: [['p', bob.pk]], content: 'secret' });
    await publish(a, onA);
    await publish(c, onC);
    await publish(b, dm);
    for (const node of nodes)
      await waitFor(
        async () =>
          (await storedIds(node, [onA.id, onC.id])) === 2 && (await storedIds(node, [dm.id], bob)) === 1,
        15_000,
        `convergence on ${node.name}`,
        200,
      );
    // The relays' copy of the trusted readers: the other members' identities.
    const ids = await Promise.all(nodes.map(async (n) => (await clusterOf(n).status()).nodeId));
    await waitFor(() => clusterOf(a).trustedReaders?.().size === 2, 10_000, "a's trusted readers");
    assert.deepEqual([...clusterOf(a).trustedReaders!()].sort(), [ids[1], ids[2]].sort());
    assert.equal(await storedIds(a, [dm.id]), 0, 'not to an unauthenticated reader');
  });

  it("one member's service stopped and restarted resumes from its progress and catches up", async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const progressWith = async (url: string) =>
      (await c.service!.sync.listMembers()).find((m) => m.url === url)?.lastSerial ?? 0;
    await waitFor(async () => (await progressWith(a.http)) > 0, 10_000, 'c to have progress with a', 100);
    const before = await progressWith(a.http);
    await c.service!.stop();
    const down = await fetch(`${c.http}/cluster/latest`);
    assert.equal(down.status, 503);
    const onA = Array.from({ length: 10 }, (_, i) => sign(alice, { content: `a while c is down ${i}` }));
    const onB = Array.from({ length: 10 }, (_, i) => sign(alice, { content: `b while c is down ${i}` }));
    const onC = Array.from({ length: 5 }, (_, i) =>
      sign(alice, { content: `c while its service is down ${i}` }),
    );
    for (const event of onA) await publish(a, event);
    for (const event of onB) await publish(b, event);
    for (const event of onC) await publish(c, event);
    const service = await startService(c);
    const resumed = (await service.sync.listMembers()).find((m) => m.url === a.http)?.lastSerial ?? 0;
    assert.ok(resumed >= before, `progress kept across the restart (${before} → ${resumed})`);
    const want = [...onA, ...onB].map((e) => e.id);
    await waitFor(async () => (await storedIds(c, want)) === want.length, 20_000, 'c caught up', 200);
    for (const node of [a, b])
      await waitFor(
        async () =>
          (await storedIds(
            node,
            onC.map((e) => e.id),
          )) === onC.length,
        20_000,
        `${node.name} has c's events`,
        200,
      );
    await waitFor(
      async () => {
        try {
          return (await clusterOf(c).status()).peers.every((p) => p.status === 'active');
        } catch {
          return false;
        }
      },
      10_000,
      "c's relay to reach its restarted service",
      200,
    );
  });
});
