/**
 * Cluster replication in process (ORLY_SYNC_TYPE=local): real relays on loopback with their own
 * LMDB and identity; an admin's membership event (kind 39108) makes them a cluster. Events
 * published on any member reach the others; privileged events (kind 4) replicate only while
 * ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS is on; the cluster endpoints answer members only;
 * a membership from a non-admin changes nothing; a member removed from the membership stops
 * replicating and its progress is forgotten.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import { createLogger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay } from '../../src/relay/create-relay.js';
import type { Relay } from '../../src/relay/relay.js';
import type { ClusterSync } from '../../src/sync/cluster/cluster-sync.js';
import { type Keys, newKeys, rawAuth, sign } from '../helpers/nostr.js';
import { NO_ADDRESS_LIMITS, RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../launcher/fake-service.js';

const logger = createLogger('silent');
const admin = newKeys();

interface Node {
  readonly port: number;
  readonly dir: string;
  readonly keys: Keys;
  readonly url: string;
  readonly http: string;
  relay?: Relay;
}

async function makeNode(): Promise<Node> {
  const port = await freePort();
  return {
    port,
    dir: mkdtempSync(join(tmpdir(), 'orly-cluster-')),
    keys: newKeys(),
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
  };
}

async function startNode(node: Node, extra: Record<string, string> = {}): Promise<void> {
  const env = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(node.port),
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ...NO_ADDRESS_LIMITS,
    ORLY_DATA_DIR: node.dir,
    ORLY_RELAY_URL: node.url,
    ORLY_RELAY_SECRET_KEY: Buffer.from(node.keys.sk).toString('hex'),
    ORLY_CLUSTER_ADMINS: admin.pk,
    ORLY_CLUSTER_POLL_INTERVAL: '1h',
    ...extra,
  };
  node.relay = await createRelay(loadRelayConfig(env), logger, env);
  await node.relay.start();
}

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

async function publish(node: Node, event: { id: string }, as?: Keys): Promise<void> {
  const c = await RawClient.connect(node.url);
  try {
    if (as !== undefined) assert.equal((await rawAuth(c, as, node.url))[2], true);
    const ok = await c.publish(event);
    assert.equal(ok[2], true, String(ok[3]));
  } finally {
    await c.close();
  }
}

/** Is the event stored on `node`, as `reader` (authenticated) sees it? */
async function has(node: Node, id: string, reader: Keys): Promise<boolean> {
  const c = await RawClient.connect(node.url);
  try {
    assert.equal((await rawAuth(c, reader, node.url))[2], true);
    return (await c.query(`q${Date.now()}`, { ids: [id] })).length === 1;
  } finally {
    await c.close();
  }
}

async function stopAll(nodes: readonly (Node | undefined)[]): Promise<void> {
  for (const node of nodes) {
    await node?.relay?.stop();
    if (node) rmSync(node.dir, { recursive: true, force: true });
  }
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
