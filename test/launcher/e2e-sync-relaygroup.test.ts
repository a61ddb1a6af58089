/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-distributed,
 * orly-sync-relaygroup (this package's CLIs) and orly on free ports, with a token. The relay
 * group service starts after the distributed one and is pointed at it. An admin's kind-39105
 * configuration published on the relay reaches orly-sync-relaygroup through orly-db's change
 * feed, and orly-sync-distributed's peers become its configured peer plus the group's relay;
 * SIGTERM stops the four in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcDistributedSync } from '../../src/sync/distributed/grpc-distributed-sync.js';
import { GrpcRelayGroupSync } from '../../src/sync/relaygroup/grpc-relay-group-sync.js';
import { newKeys, nowSec, sign } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from './fake-service.js';
import { assertCleanStop, launcherForFile, startedPids } from './launcher-process.js';
import { syncLauncherEnv } from './sync-e2e.js';

const TOKEN = 'e2e-relaygroup-token-0123456789abcdef';
const launcher = launcherForFile('orly-launcher-group-');

test('launcher + orly-db + orly-sync-distributed + orly-sync-relaygroup + orly: a group re-points the peers', {
  timeout: 90_000,
}, async () => {
  const admin = newKeys();
  const relayPort = await freePort();
  const distributedListen = `127.0.0.1:${await freePort()}`;
  const groupListen = `127.0.0.1:${await freePort()}`;
  const running = await launcher.start({
    ...(await syncLauncherEnv(relayPort, TOKEN)),
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: distributedListen,
    ORLY_LAUNCHER_SYNC_RELAYGROUP_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_RELAYGROUP_LISTEN: groupListen,
    ORLY_SYNC_DISTRIBUTED_PEERS: 'http://127.0.0.1:9',
    ORLY_RELAY_GROUP_ADMINS: admin.pk,
  });
  const started = running.started().map((e) => e.child);
  assert.deepEqual(started, ['orly-db', 'orly-sync-distributed', 'orly-sync-relaygroup', 'orly']);
  const pids = startedPids(running);

  const distributed = new GrpcDistributedSync({ address: distributedListen, security: { token: TOKEN } });
  const group = new GrpcRelayGroupSync({ address: groupListen, security: { token: TOKEN } });
  try {
    await distributed.start();
    await group.start();
    assert.equal(await group.authoritative(), undefined);
    assert.deepEqual(await distributed.listPeers(), ['http://127.0.0.1:9']);
    const client = await RawClient.connect(`ws://127.0.0.1:${relayPort}`);
    try {
      const config = sign(admin, {
        kind: 39105,
        created_at: nowSec(),
        tags: [['d', 'group']],
        content: JSON.stringify({ relays: ['wss://peer.example'] }),
      });
      assert.equal((await client.publish(config))[2], true);
    } finally {
      await client.close();
    }
    let last: string[] = [];
    await waitFor(
      async () => {
        last = await distributed.listPeers();
        return last.length === 2;
      },
      15_000,
      () => `the group's relay among the peers: ${JSON.stringify(last)}`,
      100,
    );
    assert.deepEqual(last, ['http://127.0.0.1:9', 'https://peer.example']);
    assert.deepEqual((await group.authoritative())?.relays, ['wss://peer.example']);
  } finally {
    await distributed.stop();
    await group.stop();
  }

  await assertCleanStop(running, pids, ['orly', 'orly-sync-relaygroup', 'orly-sync-distributed', 'orly-db']);
});
