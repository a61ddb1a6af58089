/**
 * The real orly-sync-cluster binary as a child process: configuration errors exit 2 naming the
 * variable; over a real orly-db it serves health and Ready, signs as the relay identity kept in
 * orly-db, applies a membership event another client stores in orly-db (its change feed), says at
 * start what it runs without (admins, orly-acl), and exits 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type ClusterStatusResponse,
  ClusterSyncServiceClient,
} from '../../../src/gen/orlysync/cluster/v1/cluster.js';
import { createLogger } from '../../../src/logger.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { newKeys, sign } from '../../helpers/nostr.js';
import { SPLIT_TOKEN } from '../../helpers/relay-harness.js';
import { health, serviceBinary, splitServicesForSuite, warningLine } from '../../helpers/service-binary.js';
import { waitFor } from '../../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-cluster.js', import.meta.url));
const logger = createLogger('silent');
const binary = serviceBinary(CLI, 'orly-sync-cluster', 'ORLY_SYNC_CLUSTER');

const clusterStatus = (port: number) =>
  binary.call<ClusterStatusResponse>(ClusterSyncServiceClient, port, 'getClusterStatus');

describe('orly-sync-cluster: the binary', () => {
  const split = splitServicesForSuite('orly-sync-cluster-bin-', logger);

  it('configuration errors exit 2 naming the variable', async () => {
    await binary.assertConfigErrors([
      ['ORLY_SYNC_CLUSTER_DB_TYPE', 'badger'],
      ['ORLY_CLUSTER_ADMINS', 'nobody'],
      ['ORLY_CLUSTER_POLL_INTERVAL', 'sometimes'],
      ['ORLY_AUTH_RESTRICTED_KINDS', 'dm'],
    ]);
  });

  it("health, Ready, orly-db's identity, a membership stored by another client applied; SIGTERM exits 0", async () => {
    const admin = newKeys();
    const running = await binary.start({
      ORLY_SYNC_CLUSTER_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_CLUSTER_DB_SERVER: split().dbAddress,
      ORLY_CLUSTER_ADMINS: admin.pk,
      ORLY_GRPC_ACL_SERVER: '',
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_URL: 'wss://relay.example',
      ORLY_RELAY_SECRET_KEY: '',
    });
    const store = await GrpcEventStore.connect(split().dbAddress, {
      security: { token: SPLIT_TOKEN },
      logger,
    });
    try {
      assert.equal(await health(running.port), 1); // SERVING
      const status = await clusterStatus(running.port);
      assert.equal(status.nodeId, (await loadRelayIdentity(store, {})).pubkey, 'the identity is in orly-db');
      assert.equal(status.totalMembers, 0);
      // A relay on the same orly-db stores the admin's membership: the service reads the change feed.
      const members = sign(admin, {
        kind: 39108,
        tags: [
          ['d', 'membership'],
          ['relay', 'https://relay.example'],
          ['relay', 'http://127.0.0.1:9'],
        ],
      });
      assert.ok((await store.save(members)).stored);
      await waitFor(
        async () =>
          (await clusterStatus(running.port)).members.map((m) => m.httpUrl).join() === 'http://127.0.0.1:9',
        10_000,
        'the membership applied from the change feed',
        100,
      );
    } finally {
      await store.close();
      assert.equal(await running.stop(), 0, running.output());
    }
    warningLine(running.output(), 'no ORLY_GRPC_ACL_SERVER');
    assert.doesNotMatch(running.output(), /no ORLY_CLUSTER_ADMINS/);
    assert.match(running.output(), /"msg":"orly-sync-cluster stopped"/);
  });
});
