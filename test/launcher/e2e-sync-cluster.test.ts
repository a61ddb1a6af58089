/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-cluster (this package's CLI,
 * ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED) and orly on free ports. The relay forwards /cluster/* to the
 * service (a NIP-98-less GET is answered 401 by the service, where a relay without a cluster has
 * no such path), its NIP-11 `self` is the identity the service reports (both read it from
 * orly-db), a membership published to the relay reaches the service through orly-db's change
 * feed, and SIGTERM stops the three in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GrpcClusterSync } from '../../src/sync/cluster/grpc-cluster-sync.js';
import { newKeys, sign } from '../helpers/nostr.js';
import { RawClient } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, isAlive } from './fake-service.js';
import { LauncherProcess } from './launcher-process.js';

const TOKEN = 'e2e-cluster-token-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-cluster-'));
let launcher: LauncherProcess | undefined;

after(async () => {
  await launcher?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

test('launcher + orly-db + orly-sync-cluster + orly: forwarded endpoints, one identity, membership, SIGTERM', {
  timeout: 90_000,
}, async () => {
  const admin = newKeys();
  const relayPort = await freePort();
  const syncListen = `127.0.0.1:${await freePort()}`;
  launcher = await LauncherProcess.start({
    ORLY_DATA_DIR: dataDir,
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_CLUSTER_LISTEN: syncListen,
    ORLY_CLUSTER_ADMINS: admin.pk,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_RELAY_URL: `ws://127.0.0.1:${relayPort}`,
    ORLY_GRPC_TOKEN: TOKEN,
    ORLY_VERIFY_WORKERS: '1',
    ORLY_QUERY_WORKERS: '0',
    ORLY_LOG_LEVEL: 'info',
  });
  const pids = Object.fromEntries(launcher.started().map((e) => [e.child, e.pid]));
  assert.deepEqual(Object.keys(pids).sort(), ['orly', 'orly-db', 'orly-sync-cluster']);

  const http = `http://127.0.0.1:${relayPort}`;
  const res = await fetch(`${http}/cluster/latest`);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Nostr');
  const nip11 = await fetch(http, { headers: { Accept: 'application/nostr+json' } });
  const self = ((await nip11.json()) as { self?: string }).self;
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

  const code = await launcher.stop();
  const out = launcher.output;
  assert.equal(code, 0, `launcher exit code; output tail:\n${out.slice(-3000)}`);
  for (const [name, pid] of Object.entries(pids))
    assert.equal(isAlive(pid), false, `${name} (${pid}) is gone`);
  const stopped = out
    .split('\n')
    .filter((l) => l.includes('"msg":"service stopped"'))
    .map((l) => (JSON.parse(l) as { child: string }).child);
  assert.deepEqual(stopped, ['orly', 'orly-sync-cluster', 'orly-db']);
});
