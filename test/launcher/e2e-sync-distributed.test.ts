/**
 * End to end: the real `orly-launcher` running orly-db, orly-sync-distributed (this package's
 * CLI, ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED) and orly on free ports. The relay forwards
 * /api/sync/* to the service (a NIP-98-less POST is answered 401 by the service, where a relay
 * without distributed sync has no such path), its NIP-11 `self` is the identity the service
 * reports (both read it from orly-db), and SIGTERM stops the three in reverse order, exit 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GrpcDistributedSync } from '../../src/sync/distributed/grpc-distributed-sync.js';
import { freePort, isAlive } from './fake-service.js';
import { LauncherProcess } from './launcher-process.js';

const TOKEN = 'e2e-distributed-token-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'orly-launcher-dist-'));
let launcher: LauncherProcess | undefined;

after(async () => {
  await launcher?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

test('launcher + orly-db + orly-sync-distributed + orly: forwarded endpoints, one identity, SIGTERM', {
  timeout: 90_000,
}, async () => {
  const relayPort = await freePort();
  const syncListen = `127.0.0.1:${await freePort()}`;
  launcher = await LauncherProcess.start({
    ORLY_DATA_DIR: dataDir,
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
    ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: syncListen,
    ORLY_SYNC_DISTRIBUTED_PEERS: 'http://127.0.0.1:9',
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_RELAY_URL: `ws://127.0.0.1:${relayPort}`,
    ORLY_GRPC_TOKEN: TOKEN,
    ORLY_VERIFY_WORKERS: '1',
    ORLY_QUERY_WORKERS: '0',
    ORLY_LOG_LEVEL: 'info',
  });
  const pids = Object.fromEntries(launcher.started().map((e) => [e.child, e.pid]));
  assert.deepEqual(Object.keys(pids).sort(), ['orly', 'orly-db', 'orly-sync-distributed']);

  const http = `http://127.0.0.1:${relayPort}`;
  const res = await fetch(`${http}/api/sync/current`, { method: 'POST', body: '{}' });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Nostr');
  const nip11 = await fetch(http, { headers: { Accept: 'application/nostr+json' } });
  const self = ((await nip11.json()) as { self?: string }).self;
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

  const code = await launcher.stop();
  const out = launcher.output;
  assert.equal(code, 0, `launcher exit code; output tail:\n${out.slice(-3000)}`);
  for (const [name, pid] of Object.entries(pids))
    assert.equal(isAlive(pid), false, `${name} (${pid}) is gone`);
  const stopped = out
    .split('\n')
    .filter((l) => l.includes('"msg":"service stopped"'))
    .map((l) => (JSON.parse(l) as { child: string }).child);
  assert.deepEqual(stopped, ['orly', 'orly-sync-distributed', 'orly-db']);
});
