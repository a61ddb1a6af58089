/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-distributed (this package's
 * CLI, ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED) and orly on free ports. The relay forwards
 * /api/sync/* to the service (a NIP-98-less POST is answered 401 by the service, where a relay
 * without distributed sync has no such path), its NIP-11 `self` is the identity the service
 * reports (both read it from orly-db), and SIGTERM stops the three in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcDistributedSync } from '../../src/sync/distributed/grpc-distributed-sync.js';
import { freePort } from './fake-service.js';
import { assertCleanStop, launcherForFile, startedPids } from './launcher-process.js';
import { forwardedAndSelf, syncLauncherEnv } from './sync-e2e.js';

const TOKEN = 'e2e-distributed-token-0123456789abcdef';
const launcher = launcherForFile('orly-launcher-dist-');

test('launcher + orly-db + orly-sync-distributed + orly: forwarded endpoints, one identity, SIGTERM', {
  timeout: 90_000,
}, async () => {
  const relayPort = await freePort();
  const syncListen = `127.0.0.1:${await freePort()}`;
  const running = await launcher.start({
    ...(await syncLauncherEnv(relayPort, TOKEN)),
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: syncListen,
    ORLY_SYNC_DISTRIBUTED_PEERS: 'http://127.0.0.1:9',
  });
  const pids = startedPids(running);
  assert.deepEqual(Object.keys(pids).sort(), ['orly', 'orly-db', 'orly-sync-distributed']);

  const self = await forwardedAndSelf(`http://127.0.0.1:${relayPort}/api/sync/current`, {
    method: 'POST',
    body: '{}',
  });
  const client = new GrpcDistributedSync({ address: syncListen, security: { token: TOKEN } });
  try {
    await client.start();
    const status = await client.status();
    assert.equal(status.nodeId, self);
    assert.deepEqual(
      status.peers.map((p) => p.url),
      ['http://127.0.0.1:9'],
    );
  } finally {
    await client.stop();
  }

  await assertCleanStop(running, pids, ['orly', 'orly-sync-distributed', 'orly-db']);
});
