/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-cluster (this package's CLI,
 * ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED) and orly on free ports. The relay forwards /cluster/* to the
 * service (a NIP-98-less GET is answered 401 by the service, where a relay without a cluster has
 * no such path), its NIP-11 `self` is the identity the service reports (both read it from
 * orly-db), a membership published to the relay reaches the service through orly-db's change
 * feed, and SIGTERM stops the three in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcClusterSync } from '../../src/sync/cluster/grpc-cluster-sync.js';
import { newKeys, sign } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from './fake-service.js';
import { assertCleanStop, launcherForFile, startedPids } from './launcher-process.js';
import { forwardedAndSelf, syncLauncherEnv } from './sync-e2e.js';

const TOKEN = 'e2e-cluster-token-0123456789abcdef';
const launcher = launcherForFile('orly-launcher-cluster-');

test('launcher + orly-db + orly-sync-cluster + orly: forwarded endpoints, one identity, membership, SIGTERM', {
  timeout: 90_000,
}, async () => {
  const admin = newKeys();
  const relayPort = await freePort();
  const syncListen = `127.0.0.1:${await freePort()}`;
  const running = await launcher.start({
    ...(await syncLauncherEnv(relayPort, TOKEN)),
    ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_CLUSTER_LISTEN: syncListen,
    ORLY_CLUSTER_ADMINS: admin.pk,
  });
  const pids = startedPids(running);
  assert.deepEqual(Object.keys(pids).sort(), ['orly', 'orly-db', 'orly-sync-cluster']);

  const http = `http://127.0.0.1:${relayPort}`;
  const self = await forwardedAndSelf(`${http}/cluster/latest`);
  const client = new GrpcClusterSync({ address: syncListen, security: { token: TOKEN } });
  try {
    await client.start();
    assert.equal((await client.status()).nodeId, self);
    const ws = await RawClient.connect(`ws://127.0.0.1:${relayPort}`);
    try {
      const members = sign(admin, {
        kind: 39108,
        tags: [
          ['d', 'membership'],
          ['relay', http],
          ['relay', 'http://127.0.0.1:9'],
        ],
      });
      assert.equal((await ws.publish(members))[2], true);
    } finally {
      await ws.close();
    }
    await waitFor(
      async () => (await client.listMembers()).map((m) => m.url).join() === 'http://127.0.0.1:9',
      10_000,
      'the membership applied by the service (the relay itself left out)',
      100,
    );
  } finally {
    await client.stop();
  }

  await assertCleanStop(running, pids, ['orly', 'orly-sync-cluster', 'orly-db']);
});
