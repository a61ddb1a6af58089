/**
 * The real orly-sync-distributed binary as a child process: configuration errors exit 2 naming
 * the variable; over a real orly-db (and orly-acl when given, ORLY_GRPC_ACL_SERVER) it serves
 * health and Ready, signs as the relay identity kept in orly-db (created there on first start,
 * the same on the next), says at start when replicated events have no orly-acl to pass, and
 * exits 0 on SIGTERM.
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
import type { SyncInfo } from '../../../src/gen/orlysync/common/v1/common.js';
import { DistributedSyncServiceClient } from '../../../src/gen/orlysync/distributed/v1/distributed.js';
import { createLogger } from '../../../src/logger.js';
import { type DatabaseServer, startDatabaseServer } from '../../../src/services/db/server.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { SPLIT_TOKEN, startTestAclService, type TestAclService } from '../../helpers/relay-harness.js';
import { runNode } from '../../helpers/run-node.js';

const CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-distributed.js', import.meta.url));
const logger = createLogger('silent');

interface Running {
  readonly port: number;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function startBinary(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [CLI], {
    env: { ...process.env, ORLY_SYNC_DISTRIBUTED_LOG_LEVEL: 'info', ...env },
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

function getInfo(port: number): Promise<SyncInfo> {
  const client = new DistributedSyncServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${SPLIT_TOKEN}`);
  return new Promise<SyncInfo>((resolve, reject) =>
    client.getInfo({}, metadata, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

function health(port: number): Promise<number> {
  const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise<number>((resolve, reject) =>
    client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
  ).finally(() => client.close());
}

describe('orly-sync-distributed: the binary', () => {
  let dir: string;
  let db: DatabaseServer;
  let acl: TestAclService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orly-sync-dist-bin-'));
    db = await startDatabaseServer({
      listen: '127.0.0.1:0',
      dataDir: dir,
      security: { token: SPLIT_TOKEN },
      logger,
    });
    acl = await startTestAclService({}, db.address, logger);
  });
  after(async () => {
    await acl?.stop();
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('configuration errors exit 2 naming the variable', async () => {
    for (const [variable, value] of [
      ['ORLY_SYNC_DISTRIBUTED_DB_TYPE', 'badger'],
      ['ORLY_SYNC_DISTRIBUTED_PEERS', 'gopher://old.example'],
      ['ORLY_SYNC_DISTRIBUTED_INTERVAL', 'sometimes'],
      ['ORLY_GRPC_ACL_SERVER', 'no-port'],
    ] as const) {
      const res = await runNode(CLI, [], { env: { [variable]: value } });
      assert.equal(res.code, 2, `${variable}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`orly-sync-distributed: invalid configuration: ${variable}`));
    }
    // Beyond loopback without a token: refused before anything is opened.
    const open = await runNode(CLI, [], {
      env: { ORLY_SYNC_DISTRIBUTED_LISTEN: '0.0.0.0:0', ORLY_GRPC_TOKEN: '', ORLY_GRPC_INSECURE: '' },
    });
    assert.equal(open.code, 2, open.stderr);
  });

  it('with orly-acl: health, Ready, the identity kept in orly-db, SIGTERM exits 0', async () => {
    const running = await startBinary({
      ORLY_SYNC_DISTRIBUTED_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_DISTRIBUTED_DB_SERVER: db.address,
      ORLY_GRPC_ACL_SERVER: acl.address,
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_URL: 'wss://relay.example',
      ORLY_RELAY_SECRET_KEY: '',
    });
    let info: SyncInfo;
    try {
      assert.equal(await health(running.port), 1); // SERVING
      info = await getInfo(running.port);
    } finally {
      assert.equal(await running.stop(), 0, running.output());
    }
    assert.equal(info.relayUrl, 'wss://relay.example');
    assert.equal(info.status, 'running');
    const store = await GrpcEventStore.connect(db.address, { security: { token: SPLIT_TOKEN }, logger });
    try {
      assert.equal((await loadRelayIdentity(store, {})).pubkey, info.nodeId, 'the identity is in orly-db');
    } finally {
      await store.close();
    }
    assert.doesNotMatch(running.output(), /no ORLY_GRPC_ACL_SERVER/);
    assert.match(running.output(), /"msg":"orly-sync-distributed stopped"/);
  });

  it('without orly-acl: the same identity, and a warning that only signatures and the store decide', async () => {
    const running = await startBinary({
      ORLY_SYNC_DISTRIBUTED_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_DISTRIBUTED_DB_SERVER: db.address,
      ORLY_GRPC_ACL_SERVER: '',
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_SECRET_KEY: '',
    });
    try {
      const store = await GrpcEventStore.connect(db.address, { security: { token: SPLIT_TOKEN }, logger });
      try {
        assert.equal((await getInfo(running.port)).nodeId, (await loadRelayIdentity(store, {})).pubkey);
      } finally {
        await store.close();
      }
    } finally {
      assert.equal(await running.stop(), 0, running.output());
    }
    const warning = running
      .output()
      .split('\n')
      .find((l) => l.includes('no ORLY_GRPC_ACL_SERVER'));
    assert.ok(warning, running.output());
    assert.match(warning, /"level":"warn"/);
    assert.match(warning, /signatures and the store's rules only/);
  });
});
