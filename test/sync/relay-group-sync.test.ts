/**
 * Relay groups in process: a relay with ORLY_RELAY_GROUP_ADMINS takes its distributed-sync peers
 * from the authoritative kind-39105 configuration, and follows a newer one at once; a
 * configuration from someone else, or an invalid one, changes nothing; the admin's deletion of the
 * one in force takes it back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DistributedSync } from '../../src/sync/distributed/distributed-sync.js';
import { type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
import {
  makeSyncNode as makeNode,
  type SyncNode as Node,
  publishTo as publish,
  startSyncNode,
  stopSyncNodes,
  storedOn,
} from '../helpers/sync-nodes.js';
import { waitFor } from '../helpers/wait.js';

const admin = newKeys();

const startNode = (node: Node, extra: Record<string, string>) =>
  startSyncNode(node, { ORLY_SYNC_DISTRIBUTED_INTERVAL: '1h', ...extra });
const has = (node: Node, id: string) => storedOn(node, id);

function peersOf(node: Node): string[] {
  return (node.relay!.replication.serviceFor('/api/sync/current') as DistributedSync).peers;
}

const group = (relays: unknown, by: Keys = admin, createdAt = nowSec(), d = 'group') =>
  sign(by, {
    kind: 39105,
    created_at: createdAt,
    tags: [['d', d]],
    content: JSON.stringify({ relays }),
  });

describe('a relay group re-points distributed sync', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  const author = newKeys();

  before(async () => {
    [a, b, c] = [await makeNode(), await makeNode(), await makeNode()];
    await startNode(a, { ORLY_RELAY_GROUP_ADMINS: admin.pk });
    await startNode(b, { ORLY_SYNC_DISTRIBUTED_PEERS: a.http });
    await startNode(c, { ORLY_SYNC_DISTRIBUTED_PEERS: a.http });
  });
  after(() => stopSyncNodes([a, b, c]));

  it('no configuration: no peers; a configuration from a non-admin or an invalid one changes nothing', async () => {
    assert.deepEqual(peersOf(a), []);
    assert.equal(await publish(a, group([b.url], newKeys())), 'ok');
    assert.equal(await publish(a, group(['not a url'], admin, nowSec(), 'broken')), 'ok');
    assert.deepEqual(peersOf(a), []);
  });

  it('the authoritative configuration makes its relays the peers, and a newer one replaces them at once', async () => {
    const now = nowSec();
    assert.equal(await publish(a, group([b.url], admin, now - 10)), 'ok');
    await waitFor(() => peersOf(a).length === 1 && peersOf(a)[0]!.startsWith(b.http), 5000, 'b as a peer');
    const fromB = sign(author, { content: 'from b' });
    assert.equal(await publish(b, fromB), 'ok');
    await waitFor(() => has(a, fromB.id), 10_000, 'b replicated to a', 200);

    const toC = group([c.url], admin, now);
    assert.equal(await publish(a, toC), 'ok');
    await waitFor(() => peersOf(a).length === 1 && peersOf(a)[0]!.startsWith(c.http), 5000, 'c replaces b');
    const fromC = sign(author, { content: 'from c' });
    assert.equal(await publish(c, fromC), 'ok');
    await waitFor(() => has(a, fromC.id), 10_000, 'c replicated to a', 200);

    // The admin deletes it (NIP-09): no configuration in force, the configured peers only (none).
    assert.equal(await publish(a, sign(admin, { kind: 5, tags: [['e', toC.id]] })), 'ok');
    await waitFor(() => peersOf(a).length === 0, 5000, 'no group peers after the deletion');
  });
});
