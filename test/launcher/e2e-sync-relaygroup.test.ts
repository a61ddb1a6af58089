/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-distributed,
 * orly-sync-relaygroup (this package's CLIs) and orly on free ports, with a token. The relay
 * group service starts after the distributed one and is pointed at it. An admin's kind-39105
 * configuration published on the relay reaches orly-sync-relaygroup through orly-db's change
 * feed, and orly-sync-distributed's peers become its configured peer plus the group's relay;
 * SIGTERM stops the four in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GrpcDistributedSync } from '../../src/sync/distributed/grpc-distributed-sync.js';
import { GrpcRelayGroupSync } from '../../src/sync/relaygroup/grpc-relay-group-sync.js';
import { newKeys, nowSec, sign } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, isAlive } from './fake-service.js';
import { LauncherProcess } from './launcher-process.js';

const TOKEN = 'e2e-relaygroup-token-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-group-'));
let launcher: LauncherProcess | undefined;

after(async () => {
  await launcher?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

test('launcher + orly-db + orly-sync-distributed + orly-sync-relaygroup + orly: a group re-points the peers', {
  timeout: 90_000,
}, async () => {
  const admin = newKeys();
  const relayPort = await freePort();
  const distributedListen = `127.0.0.1:${await freePort()}`;
  const groupListen = `127.0.0.1:${await freePort()}`;
  launcher = await LauncherProcess.start({
    ORLY_DATA_DIR: dataDir,
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: distributedListen,
    ORLY_LAUNCHER_SYNC_RELAYGROUP_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_RELAYGROUP_LISTEN: groupListen,
    ORLY_SYNC_DISTRIBUTED_PEERS: 'http://127.0.0.1:9',
    ORLY_RELAY_GROUP_ADMINS: admin.pk,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_RELAY_URL: `ws://127.0.0.1:${relayPort}`,
    ORLY_GRPC_TOKEN: TOKEN,
    ORLY_VERIFY_WORKERS: '1',
    ORLY_QUERY_WORKERS: '0',
    ORLY_LOG_LEVEL: 'info',
  });
  const started = launcher.started().map((e) => e.child);
  assert.deepEqual(started, ['orly-db', 'orly-sync-distributed', 'orly-sync-relaygroup', 'orly']);
  const pids = Object.fromEntries(launcher.started().map((e) => [e.child, e.pid]));

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

  const code = await launcher.stop();
  const out = launcher.output;
  assert.equal(code, 0, `launcher exit code; output tail:\n${out.slice(-3000)}`);
  for (const [name, pid] of Object.entries(pids))
    assert.equal(isAlive(pid), false, `${name} (${pid}) is gone`);
  const stopped = out
    .split('\n')
    .filter((l) => l.includes('"msg":"service stopped"'))
    .map((l) => (JSON.parse(l) as { child: string }).child);
  assert.deepEqual(stopped, ['orly', 'orly-sync-relaygroup', 'orly-sync-distributed', 'orly-db']);
});
