/**
 * Cluster replication in process (ORLY_SYNC_TYPE=local): real relays on loopback with their own
 * LMDB and identity; an admin's membership event (kind 39108) makes them a cluster. Events
 * published on any member reach the others; privileged events (kind 4) replicate only while
 * ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS is on; the cluster endpoints answer members only;
 * a membership from a non-admin changes nothing; a member removed from the membership stops
 * replicating and its progress is forgotten.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import type { ClusterSync } from '../../src/sync/cluster/cluster-sync.js';
import { type Keys, newKeys, sign } from '../helpers/nostr.js';
import {
  storedOn as has,
  makeSyncNode as makeNode,
  type SyncNode as Node,
  publishTo,
  startSyncNode,
  stopSyncNodes as stopAll,
} from '../helpers/sync-nodes.js';
import { waitFor } from '../helpers/wait.js';

const admin = newKeys();

const startNode = (node: Node, extra: Record<string, string> = {}) =>
  startSyncNode(node, { ORLY_CLUSTER_ADMINS: admin.pk, ORLY_CLUSTER_POLL_INTERVAL: '1h', ...extra });

function clusterOf(node: Node): ClusterSync {
  return node.relay!.replication.serviceFor('/cluster/latest') as ClusterSync;
}

function membership(nodes: readonly Node[], by: Keys = admin, createdAt?: number) {
  return sign(by, {
    kind: 39108,
    ...(createdAt === undefined ? {} : { created_at: createdAt }),
    tags: [['d', 'membership'], ['version', '1'], ...nodes.map((n) => ['relay', n.http, n.url])],
    content: '{"name":"test cluster"}',
  });
}

async function publish(node: Node, event: { id: string }): Promise<void> {
  assert.equal(await publishTo(node, event), 'ok');
}

describe('cluster of three relays, privileged events propagated', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  const alice = newKeys();
  const bob = newKeys();

  before(async () => {
    [a, b, c] = [await makeNode(), await makeNode(), await makeNode()];
    for (const node of [a, b, c]) await startNode(node);
    // The admin publishes the membership to every member.
    const members = membership([a, b, c]);
    for (const node of [a, b, c]) await publish(node, members);
    for (const node of [a, b, c]) await waitFor(() => clusterOf(node).current?.members.length === 3);
  });
  after(() => stopAll([a, b, c]));

  it('a membership from someone who is not a cluster admin changes nothing', async () => {
    await publish(a, membership([a], newKeys()));
    assert.equal(clusterOf(a).current?.members.length, 3);
  });

  it('events written on every member converge; a DM reaches the other members too', async () => {
    const onA = sign(alice, { content: 'written on a' });
    const onC = sign(alice, { content: 'written on c' });
    const dm = sign(alice, { kind: 4, tags: [['p', bob.pk]], content: 'secret' });
    await publish(a, onA);
    await publish(c, onC);
    await publish(b, dm);
    for (const node of [a, b, c])
      await waitFor(
        async () =>
          (await has(node, onA.id, alice)) &&
          (await has(node, onC.id, alice)) &&
          (await has(node, dm.id, bob)),
        10_000,
        `convergence on ${node.http}`,
        200,
      );
  });

  it('the cluster endpoints answer members only', async () => {
    const url = `${a.http}/cluster/latest`;
    const token = (keys: Keys) => getToken(url, 'GET', (e) => finalizeEvent(e, keys.sk), true);
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: { Authorization: await token(newKeys()) } })).status, 403);
    const member = await fetch(url, { headers: { Authorization: await token(b.keys) } });
    assert.equal(member.status, 200);
    assert.equal(typeof ((await member.json()) as { serial: unknown }).serial, 'number');
    const events = `${a.http}/cluster/events?from=1&limit=0`;
    const bad = await fetch(events, {
      headers: { Authorization: await getToken(events, 'GET', (e) => finalizeEvent(e, b.keys.sk), true) },
    });
    assert.equal(bad.status, 400);
  });

  it('a member removed from the membership stops replicating with the others', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a newer created_at than the first membership
    const smaller = membership([a, b]);
    for (const node of [a, b, c]) await publish(node, smaller);
    await waitFor(() => clusterOf(a).current?.members.length === 2);
    await waitFor(() => !clusterOf(a).peerUrls.some((u) => u.startsWith(c.http)), 5000, 'c unlinked from a');
    const onC = sign(alice, { content: 'c is out' });
    const onB = sign(alice, { content: 'b is in' });
    await publish(c, onC);
    await publish(b, onB);
    await waitFor(async () => has(a, onB.id, alice), 10_000, 'sentinel from b', 200);
    assert.equal(await has(a, onC.id, alice), false, 'nothing from the removed member');
  });
});

describe('cluster with privileged propagation off', () => {
  let a: Node;
  let b: Node;
  const alice = newKeys();
  const bob = newKeys();

  before(async () => {
    [a, b] = [await makeNode(), await makeNode()];
    for (const node of [a, b]) await startNode(node, { ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS: 'false' });
    const members = membership([a, b]);
    for (const node of [a, b]) await publish(node, members);
    for (const node of [a, b]) await waitFor(() => clusterOf(node).current?.members.length === 2);
  });
  after(() => stopAll([a, b]));

  it('DMs stay on the relay that received them; public events replicate', async () => {
    const dm = sign(alice, { kind: 4, tags: [['p', bob.pk]], content: 'stays home' });
    const note = sign(alice, { content: 'public' });
    await publish(a, dm);
    await publish(a, note);
    await waitFor(async () => has(b, note.id, alice), 10_000, 'the public note on b', 200);
    await clusterOf(b).pollAll();
    assert.equal(await has(b, dm.id, bob), false);
    assert.equal(await has(a, dm.id, bob), true);
  });
});

describe("cluster members' WebSocket URLs come from the membership's relay tags", () => {
  let a: Node;
  let b: Node;
  const alice = newKeys();

  before(async () => {
    [a, b] = [await makeNode(), await makeNode()];
    for (const node of [a, b]) await startNode(node);
  });
  after(() => stopAll([a, b]));

  it('a member reached only at the WebSocket URL its tag names', async () => {
    const now = Math.floor(Date.now() / 1000);
    // b's tag names a WebSocket URL where nothing listens: a must not guess b's real one.
    const wrong = sign(admin, {
      kind: 39108,
      created_at: now - 10,
      tags: [
        ['d', 'membership'],
        ['relay', a.http, a.url],
        ['relay', b.http, 'ws://127.0.0.1:1/'],
      ],
    });
    for (const node of [a, b]) await publish(node, wrong);
    await waitFor(() => clusterOf(a).current?.eventId === wrong.id);
    const members = await clusterOf(a).listMembers();
    assert.deepEqual(
      members.map((m) => [m.url, m.wsUrl]),
      [[b.http.replace(/\/$/, ''), 'ws://127.0.0.1:1']],
    );
    const before = sign(alice, { content: 'written on b before the fix' });
    await publish(b, before);
    await clusterOf(a).pollAll();
    assert.equal(await has(a, before.id, alice), false, 'not fetched from a URL that is not b');

    const right = membership([a, b], admin, now);
    for (const node of [a, b]) await publish(node, right);
    await waitFor(() => clusterOf(a).current?.eventId === right.id);
    await waitFor(async () => has(a, before.id, alice), 10_000, 'the catch-up from b at its real URL', 200);
    assert.deepEqual(
      (await clusterOf(a).listMembers()).map((m) => m.wsUrl),
      [b.url.replace(/\/$/, '')],
    );
  });
});
