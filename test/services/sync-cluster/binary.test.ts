/**
 * The real orly-sync-cluster binary as a child process: configuration errors exit 2 naming the
 * variable; over a real orly-db it serves health and Ready, signs as the relay identity kept in
 * orly-db, applies a membership event another client stores in orly-db (its change feed), says at
 * start what it runs without (admins, orly-acl), and exits 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata } from '@grpc/grpc-js';
import { HealthClient } from '../../../src/gen/grpc/health/v1/health.js';
import {
  type ClusterStatusResponse,
  ClusterSyncServiceClient,
} from '../../../src/gen/orlysync/cluster/v1/cluster.js';
import { createLogger } from '../../../src/logger.js';
import { type DatabaseServer, startDatabaseServer } from '../../../src/services/db/server.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { newKeys, sign } from '../../helpers/nostr.js';
import { SPLIT_TOKEN } from '../../helpers/relay-harness.js';
import { runNode } from '../../helpers/run-node.js';
import { waitFor } from '../../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-cluster.js', import.meta.url));
const logger = createLogger('silent');

interface Running {
  readonly port: number;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function startBinary(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [CLI], {
    env: { ...process.env, ORLY_SYNC_CLUSTER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no grpc listening line:\n${out}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening:\n${out}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"grpc listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          output: () => out,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

function clusterStatus(port: number): Promise<ClusterStatusResponse> {
  const client = new ClusterSyncServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${SPLIT_TOKEN}`);
  return new Promise<ClusterStatusResponse>((resolve, reject) =>
    client.getClusterStatus({}, metadata, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

function health(port: number): Promise<number> {
  const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise<number>((resolve, reject) =>
    client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
  ).finally(() => client.close());
}

describe('orly-sync-cluster: the binary', () => {
  let dir: string;
  let db: DatabaseServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orly-sync-cluster-bin-'));
    db = await startDatabaseServer({
      listen: '127.0.0.1:0',
      dataDir: dir,
      security: { token: SPLIT_TOKEN },
      logger,
    });
  });
  after(async () => {
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('configuration errors exit 2 naming the variable', async () => {
    for (const [variable, value] of [
      ['ORLY_SYNC_CLUSTER_DB_TYPE', 'badger'],
      ['ORLY_CLUSTER_ADMINS', 'nobody'],
      ['ORLY_CLUSTER_POLL_INTERVAL', 'sometimes'],
      ['ORLY_AUTH_RESTRICTED_KINDS', 'dm'],
    ] as const) {
      const res = await runNode(CLI, [], { env: { [variable]: value } });
      assert.equal(res.code, 2, `${variable}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`orly-sync-cluster: invalid configuration: ${variable}`));
    }
    // Beyond loopback without a token: refused before anything is opened.
    const open = await runNode(CLI, [], {
      env: { ORLY_SYNC_CLUSTER_LISTEN: '0.0.0.0:0', ORLY_GRPC_TOKEN: '', ORLY_GRPC_INSECURE: '' },
    });
    assert.equal(open.code, 2, open.stderr);
  });

  it("health, Ready, orly-db's identity, a membership stored by another client applied; SIGTERM exits 0", async () => {
    const admin = newKeys();
    const running = await startBinary({
      ORLY_SYNC_CLUSTER_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_CLUSTER_DB_SERVER: db.address,
      ORLY_CLUSTER_ADMINS: admin.pk,
      ORLY_GRPC_ACL_SERVER: '',
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_URL: 'wss://relay.example',
      ORLY_RELAY_SECRET_KEY: '',
    });
    const store = await GrpcEventStore.connect(db.address, { security: { token: SPLIT_TOKEN }, logger });
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
    const warning = running
      .output()
      .split('\n')
      .find((l) => l.includes('no ORLY_GRPC_ACL_SERVER'));
    assert.ok(warning, running.output());
    assert.match(warning, /"level":"warn"/);
    assert.doesNotMatch(running.output(), /no ORLY_CLUSTER_ADMINS/);
    assert.match(running.output(), /"msg":"orly-sync-cluster stopped"/);
  });
});
