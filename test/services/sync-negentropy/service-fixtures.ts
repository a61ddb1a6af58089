/**
 * Shared by the service-*.test.ts files (orly-sync-negentropy end to end): the service in this
 * process over real gRPC (127.0.0.1 port 0) backed by a real orly-db (temp LMDB, GrpcEventStore),
 * peer relays with NIP-77 enabled, real signed events with distinct created_at, id-set
 * comparisons, gRPC call helpers and `orly sync --server` as a child process.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import {
  NegentropyServiceClient,
  SyncDirection,
  type SyncProgress,
  type SyncWithPeerRequest,
} from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { createLogger } from '../../../src/logger.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { type DatabaseServer, startDatabaseServer } from '../../../src/services/db/server.js';
import {
  type NegentropyServer,
  startNegentropyServer,
} from '../../../src/services/sync-negentropy/server.js';
import type { EventStore } from '../../../src/store/event-store.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { newKey, signedEvent } from '../../helpers/events.js';
import { startTestRelay, type TestRelay } from '../../helpers/relay-harness.js';
import { ORLY_CLI } from '../../helpers/relay-process.js';
import { type RunResult, runNode } from '../../helpers/run-node.js';
import { testSyncConfig } from '../../helpers/sync-config.js';

export const SYNC_CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-negentropy.js', import.meta.url));
export const logger = createLogger('silent');
const key = newKey();
const START = Math.floor(Date.now() / 1000) - 100_000;
let counter = 0;
export function makeEvents(n: number, kind: number): NostrEvent[] {
  const out: NostrEvent[] = [];
  for (let i = 0; i < n; i++) {
    counter++;
    out.push(signedEvent(key, { kind, content: `svc ${counter}`, created_at: START + counter }));
  }
  return out;
}

export async function saveAll(store: EventStore, events: readonly NostrEvent[]): Promise<void> {
  const results = await Promise.all(events.map((e) => store.save(e)));
  for (const r of results) assert.ok(r.stored, JSON.stringify(r));
}

export async function idsOf(store: EventStore, kind: number): Promise<Set<string>> {
  const items = await store.negentropyItems({ kinds: [kind] }, Number.MAX_SAFE_INTEGER);
  assert.ok(items);
  const ids = new Set<string>();
  for (let i = 0; i < items.count; i++)
    ids.add(Buffer.from(items.ids.subarray(i * 32, i * 32 + 32)).toString('hex'));
  return ids;
}

export function assertSameIds(actual: Set<string>, expected: Set<string>): void {
  const missing = [...expected].filter((id) => !actual.has(id)).length;
  const extra = [...actual].filter((id) => !expected.has(id)).length;
  assert.deepEqual({ size: actual.size, missing, extra }, { size: expected.size, missing: 0, extra: 0 });
}

export const setOf = (events: readonly NostrEvent[]): Set<string> => new Set(events.map((e) => e.id));

export function unary<Req, Res>(
  client: InstanceType<typeof NegentropyServiceClient>,
  method: string,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, (r: Req, cb: (e: Error | null, v: Res) => void) => void>)[method]!(
      req,
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

export function syncStream(
  client: InstanceType<typeof NegentropyServiceClient>,
  req: Partial<SyncWithPeerRequest> & { peerUrl: string },
): Promise<SyncProgress[]> {
  return new Promise((resolve, reject) => {
    const out: SyncProgress[] = [];
    const call = client.syncWithPeer({
      filterJson: '',
      direction: SyncDirection.SYNC_DIRECTION_DOWN,
      frameSizeLimit: 0,
      timeoutMs: 0,
      includeIds: false,
      ...req,
    });
    call.on('data', (p: SyncProgress) => out.push(p));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function runCli(cli: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runNode(cli, args, { env });
}

type ServiceClient = InstanceType<typeof NegentropyServiceClient>;

/** The service, its orly-db and its gRPC client, started before a suite's tests. */
export class SyncServiceFixture {
  db!: DatabaseServer;
  /** The service's store: a GrpcEventStore on `db`. */
  store!: GrpcEventStore;
  svc!: NegentropyServer;
  client!: ServiceClient;
  private readonly dirs: string[] = [];
  private readonly relays: TestRelay[] = [];

  /** A relay with NIP-77 enabled holding `events`, stopped after the suite. */
  readonly negRelay = async (events: readonly NostrEvent[]): Promise<TestRelay> => {
    const relay = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
    this.relays.push(relay);
    await saveAll(relay.relay.store, events);
    return relay;
  };

  /** `orly sync <url> --server <the service> ...args` as a child process. */
  readonly clientSync = (url: string, ...args: string[]): Promise<RunResult> =>
    runCli(ORLY_CLI, ['sync', url, '--server', this.svc.address, ...args]);

  /** A temporary directory, removed after the suite. */
  readonly tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  };

  async start(): Promise<void> {
    this.db = await startDatabaseServer({
      listen: '127.0.0.1:0',
      dataDir: this.tempDir('orly-syncsvc-'),
      logger,
    });
    this.store = await GrpcEventStore.connect(this.db.address, { logger });
    this.svc = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store: this.store,
      logger,
      sync: testSyncConfig(),
    });
    this.client = new NegentropyServiceClient(this.svc.address, credentials.createInsecure());
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.svc?.stop();
    await this.store?.close();
    await this.db?.stop();
    for (const r of this.relays) await r.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Registers the service's start and stop as the before/after hooks of the calling suite. */
export function syncServiceForSuite(): SyncServiceFixture {
  const fixture = new SyncServiceFixture();
  before(() => fixture.start());
  after(() => fixture.stop());
  return fixture;
}
