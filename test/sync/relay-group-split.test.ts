/**
 * Relay groups in split mode: relay A with its own orly-db (and orly-acl), orly-sync-distributed
 * and orly-sync-relaygroup (all in this process, real gRPC with ORLY_GRPC_TOKEN; the relay group
 * service pushes to the distributed one), the relay pointed at both (ORLY_SYNC_TYPE=grpc,
 * ORLY_GRPC_SYNC_DISTRIBUTED, ORLY_GRPC_SYNC_RELAYGROUP); relays B and C in process, each naming A
 * as its peer (so they answer A's signed requests). An admin's kind-39105 configuration
 * published on A reaches orly-sync-relaygroup through orly-db's change feed and makes B A's peer
 * (events on B reach A); a newer one re-points A to C at once (events on C reach A, B is no
 * longer a peer).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import {
  type DistributedServer,
  startDistributedSyncServer,
} from '../../src/services/sync-distributed/server.js';
import { type RelayGroupServer, startRelayGroupServer } from '../../src/services/sync-relaygroup/server.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { PeerDirectory } from '../../src/sync/identity/peer-directory.js';
import { type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { SPLIT_TOKEN, type SplitServices, startSplitServices } from '../helpers/relay-harness.js';
import {
  makeSyncNode,
  publishTo,
  relayNodeEnv,
  type SyncNode,
  startNodeRelay,
  startSyncNode,
  stopSyncNodes,
  storedOn,
} from '../helpers/sync-nodes.js';
import { waitFor } from '../helpers/wait.js';

const logger = createLogger('silent');
const security = { token: SPLIT_TOKEN };
const admin = newKeys();

const group = (relays: string[], createdAt: number, by: Keys = admin) =>
  sign(by, {
    kind: 39105,
    created_at: createdAt,
    tags: [['d', 'group']],
    content: JSON.stringify({ relays }),
  });

describe('relay groups in split mode: orly-sync-relaygroup re-points orly-sync-distributed', () => {
  let a: SyncNode;
  let b: SyncNode;
  let c: SyncNode;
  let split: SplitServices | undefined;
  let distributed: DistributedServer | undefined;
  let relayGroup: RelayGroupServer | undefined;
  /** A's data (its orly-db's). */
  let dir: string | undefined;
  const author = newKeys();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orly-group-split-a-'));
    // The services on ports of their own first; the relays' ports are taken just before they listen.
    split = await startSplitServices({}, dir, logger);
    distributed = await startDistributedSyncServer({
      listen: '127.0.0.1:0',
      store: await GrpcEventStore.connect(split.dbAddress, { security, logger }),
      ownsStore: true,
      // No ORLY_RELAY_URL: A's port is not known yet (its own URL in a peer list is found by identity).
      sync: { peers: [], intervalMs: 3_600_000, live: true, relayUrl: undefined },
      logger,
      security,
      env: {},
      verifyWorkers: 0,
      directory: new PeerDirectory({ retryMs: 200, timeoutMs: 2000 }),
    });
    relayGroup = await startRelayGroupServer({
      listen: '127.0.0.1:0',
      store: await GrpcEventStore.connect(split.dbAddress, { security, logger }),
      ownsStore: true,
      admins: [admin.pk],
      logger,
      security,
      distributedServer: distributed.address,
    });
    [a, b, c] = [await makeSyncNode(), await makeSyncNode(), await makeSyncNode()];
    rmSync(a.dir, { recursive: true, force: true });
    a = { ...a, dir: dir };
    await startNodeRelay(a, {
      ...relayNodeEnv(a),
      ...split.relayEnv,
      ORLY_SYNC_TYPE: 'grpc',
      ORLY_GRPC_SYNC_DISTRIBUTED: distributed.address,
      ORLY_GRPC_SYNC_RELAYGROUP: relayGroup.address,
    });
    for (const node of [b, c])
      await startSyncNode(node, {
        ORLY_SYNC_DISTRIBUTED_PEERS: a.http,
        ORLY_SYNC_DISTRIBUTED_INTERVAL: '1h',
      });
  });
  after(async () => {
    await stopSyncNodes([b, c]);
    await a?.relay?.stop();
    if (a) a.relay = undefined;
    await relayGroup?.stop();
    await distributed?.stop();
    await split?.stop();
    await stopSyncNodes([a]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const peersOfA = () => distributed!.sync.peers;

  it("an admin's configuration published on A makes B A's peer; B's events reach A", async () => {
    assert.deepEqual(peersOfA(), [], 'no configuration yet');
    assert.equal(await publishTo(a, group([b.url], nowSec() - 10)), 'ok');
    await waitFor(
      () => JSON.stringify(peersOfA()) === JSON.stringify([b.http]),
      10_000,
      () => `B as A's peer: ${JSON.stringify(peersOfA())}`,
    );
    assert.deepEqual((await relayGroup!.sync.authoritative())?.relays, [b.url]);
    const fromB = sign(author, { content: 'from b' });
    assert.equal(await publishTo(b, fromB), 'ok');
    await waitFor(() => storedOn(a, fromB.id), 15_000, 'B → A', 200);
  });

  it("a newer configuration re-points A to C at once; C's events reach A", async () => {
    assert.equal(await publishTo(a, group([c.url], nowSec())), 'ok');
    await waitFor(
      () => JSON.stringify(peersOfA()) === JSON.stringify([c.http]),
      10_000,
      () => `C replaces B: ${JSON.stringify(peersOfA())}`,
    );
    const fromC = sign(author, { content: 'from c' });
    assert.equal(await publishTo(c, fromC), 'ok');
    await waitFor(() => storedOn(a, fromC.id), 15_000, 'C → A', 200);
    // A configuration from someone else changes nothing.
    assert.equal(await publishTo(a, group([b.url], nowSec() + 5, newKeys())), 'ok');
    const sentinel = sign(author, { content: 'after the stranger' });
    assert.equal(await publishTo(c, sentinel), 'ok');
    await waitFor(() => storedOn(a, sentinel.id), 15_000, 'C → A again', 200);
    assert.deepEqual(peersOfA(), [c.http]);
  });
});
