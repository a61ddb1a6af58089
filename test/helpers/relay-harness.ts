/**
 * Test harness: a real relay (real LMDB in a temp dir, real verifier workers) listening on
 * 127.0.0.1 port 0 in this process, and a raw WebSocket client that records every frame.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { AccessControl } from '../../src/acl/access-control.js';
import { createAccessControl, parseAclMode } from '../../src/acl/factory.js';
import { loadFollowsSettings } from '../../src/acl/follows-config.js';
import {
  loadWritePolicyConfig,
  type StartedPolicy,
  startEventPolicy,
} from '../../src/acl/policy/write-policy-config.js';
import { parsePubkeyList } from '../../src/acl/pubkeys.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { createRelay, type RelayOverrides } from '../../src/relay/create-relay.js';
import { ADDRESS_LIMITS_OFF } from '../../src/relay/edge-config.js';
import type { Relay } from '../../src/relay/relay.js';
import { startAclServer } from '../../src/services/acl/server.js';
import { startDatabaseServer } from '../../src/services/db/server.js';
import { startNegentropyServer } from '../../src/services/sync-negentropy/server.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { sharedTestPostgres } from './postgres.js';
import { testSyncConfig } from './sync-config.js';

/**
 * `ORLY_TEST_MODE=split` runs the same suites in split mode: the relay talks to an orly-db
 * and an orly-acl started in this process on 127.0.0.1 port 0, over real gRPC, with a token (as
 * the launcher gives them one). The orly-acl runs the relay env's ORLY_ACL_MODE (default none)
 * with its ORLY_OWNERS / ORLY_ADMINS, over a GrpcEventStore of that orly-db (as orly-acl's main
 * does), so its state lives in orly-db's data dir (ORLY_DATA_DIR) and a restart of the three
 * with the same dir finds it again.
 */
/**
 * `ORLY_TEST_MODE=split-negentropy`: split mode plus, for relays with ORLY_NEGENTROPY_ENABLED,
 * an orly-sync-negentropy (over the same orly-db) that NIP-77 is routed to (ORLY_SYNC_TYPE=grpc).
 */
export const NEGENTROPY_GRPC_MODE = process.env.ORLY_TEST_MODE === 'split-negentropy';
export const SPLIT_MODE = process.env.ORLY_TEST_MODE === 'split' || NEGENTROPY_GRPC_MODE;

/**
 * `ORLY_TEST_MODE=postgres`: relays whose test sets no ORLY_DB_TYPE run on PostgreSQL
 * (ORLY_DB_TYPE=postgres), one database per data directory on the process's test server
 * (test/helpers/postgres.ts), so a relay restarted on its data directory finds its events again.
 */
export const POSTGRES_MODE = process.env.ORLY_TEST_MODE === 'postgres';
/**
 * `ORLY_TEST_TRANSPORT=uws` (or `ws`): the relays of the tests run on that WebSocket transport
 * (ORLY_WS_TRANSPORT), unless a test sets ORLY_WS_TRANSPORT itself; unset, the relay's default.
 * Split mode checks access in orly-acl over gRPC, which uws cannot serve (create-transport.ts):
 * `uws` runs there as `auto`, that is on ws.
 */
const TEST_TRANSPORT = process.env.ORLY_TEST_TRANSPORT;
export const TEST_TRANSPORT_ENV: Record<string, string> =
  TEST_TRANSPORT === undefined
    ? {}
    : { ORLY_WS_TRANSPORT: SPLIT_MODE && TEST_TRANSPORT === 'uws' ? 'auto' : TEST_TRANSPORT };
/** The relays of the tests run on a local LMDB store (the default mode): query workers, its gauges. */
export const LMDB_MODE = !SPLIT_MODE && !POSTGRES_MODE;
const postgresDatabases = new Map<string, Promise<string>>();

function postgresDatabaseFor(dataDir: string): Promise<string> {
  let url = postgresDatabases.get(dataDir);
  if (url === undefined) {
    url = sharedTestPostgres().then((server) => server.createDatabase());
    postgresDatabases.set(dataDir, url);
  }
  return url;
}

/**
 * The per-address limits off (0): every test client comes from 127.0.0.1 and many suites open
 * dozens of connections or publish thousands of events in a second. Tests of the limits set them.
 */
export const NO_ADDRESS_LIMITS = ADDRESS_LIMITS_OFF;

/** The token of the split-mode services the harness starts (their clients send it). */
export const SPLIT_TOKEN = 'split-mode-test-token-0123456789';

export interface TestAclService {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * An in-process orly-acl in the env's ACL mode (ORLY_ACL_MODE, default none; ORLY_OWNERS,
 * ORLY_ADMINS; follows mode's ORLY_FOLLOWS_THROTTLE* and ORLY_BOOTSTRAP_RELAYS) over the orly-db at
 * `dbAddress`, as orly-acl's main builds it.
 */
export async function startTestAclService(
  env: Record<string, string>,
  dbAddress: string,
  logger: Logger,
  listen = '127.0.0.1:0',
): Promise<TestAclService> {
  const security = { token: SPLIT_TOKEN };
  const mode = parseAclMode(env.ORLY_ACL_MODE ?? 'none', 'ORLY_ACL_MODE');
  const policyConfig = loadWritePolicyConfig(env);
  const store =
    mode === 'none' && policyConfig.policyFile === undefined
      ? undefined
      : await GrpcEventStore.connect(dbAddress, { logger, security });
  let acl: AccessControl | undefined;
  let policy: StartedPolicy | undefined;
  try {
    acl = await createAccessControl(mode, {
      store,
      owners: parsePubkeyList(env.ORLY_OWNERS, 'ORLY_OWNERS'),
      admins: parsePubkeyList(env.ORLY_ADMINS, 'ORLY_ADMINS'),
      logger,
      reloadIntervalMs: 0,
      follows: loadFollowsSettings(env),
    });
    policy = await startEventPolicy(policyConfig, logger, {
      store,
      owners: parsePubkeyList(env.ORLY_OWNERS, 'ORLY_OWNERS'),
    });
    const server = await startAclServer({ listen, acl, security, logger, ...(policy ? { policy } : {}) });
    const owned = acl;
    const ownedPolicy = policy;
    return {
      address: server.address,
      port: server.port,
      async stop() {
        await server.stop();
        await ownedPolicy?.policy.stop();
        await owned.close();
        await store?.close();
      },
    };
  } catch (err) {
    await policy?.policy.stop();
    await acl?.close();
    await store?.close();
    throw err;
  }
}

/** orly-db (on `dataDir`) and orly-acl (the env's mode) in this process, and the env a relay needs to use them. */
export interface SplitServices {
  readonly dbAddress: string;
  readonly acl: TestAclService;
  readonly relayEnv: Record<string, string>;
  /** Stops orly-acl and starts a new one (its state read again from orly-db) on the same port. */
  restartAcl(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSplitServices(
  env: Record<string, string>,
  dataDir: string,
  logger: Logger,
): Promise<SplitServices> {
  const db = await startDatabaseServer({
    listen: '127.0.0.1:0',
    dataDir,
    security: { token: SPLIT_TOKEN },
    logger,
    expirationSweepSeconds: Number(env.ORLY_EXPIRATION_SWEEP_INTERVAL ?? 60),
  });
  let acl: TestAclService;
  try {
    acl = await startTestAclService(env, db.address, logger);
  } catch (err) {
    await db.stop();
    throw err;
  }
  return {
    dbAddress: db.address,
    get acl() {
      return acl;
    },
    relayEnv: {
      ORLY_DB_TYPE: 'grpc',
      ORLY_GRPC_SERVER: db.address,
      ORLY_ACL_TYPE: 'grpc',
      ORLY_GRPC_ACL_SERVER: acl.address,
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
    },
    async restartAcl() {
      await acl.stop();
      acl = await startTestAclService(env, db.address, logger, `127.0.0.1:${acl.port}`);
    },
    async stop() {
      await acl.stop();
      await db.stop();
    },
  };
}

export interface TestRelay {
  readonly relay: Relay;
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * A relay on 127.0.0.1 port 0. In split mode it starts its own orly-db (on the relay's data dir)
 * and orly-acl, stopped with it; with `shared` it uses those services instead (any test mode) and
 * leaves them running. `overrides` injects capabilities (a write policy object).
 */
export async function startTestRelay(
  env: Record<string, string> = {},
  shared?: Pick<SplitServices, 'relayEnv'>,
  overrides: RelayOverrides = {},
): Promise<TestRelay> {
  const dataDir = env.ORLY_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'orly-test-'));
  const logger = createLogger('silent');
  const services: { stop(): Promise<void> }[] = [];
  const backendEnv: Record<string, string> = { ...shared?.relayEnv };
  if (POSTGRES_MODE && shared === undefined && env.ORLY_DB_TYPE === undefined)
    Object.assign(backendEnv, {
      ORLY_DB_TYPE: 'postgres',
      ORLY_POSTGRES_URL: await postgresDatabaseFor(dataDir),
    });
  if (SPLIT_MODE && shared === undefined) {
    const split = await startSplitServices(env, dataDir, logger);
    services.push(split);
    Object.assign(backendEnv, split.relayEnv);
    if (NEGENTROPY_GRPC_MODE && env.ORLY_NEGENTROPY_ENABLED === 'true' && !env.ORLY_GRPC_SYNC_NEGENTROPY) {
      const security = { token: SPLIT_TOKEN };
      const store = await GrpcEventStore.connect(split.dbAddress, { logger, security });
      const neg = await startNegentropyServer({
        listen: '127.0.0.1:0',
        security,
        store,
        ownsStore: true,
        logger,
        sync: testSyncConfig({ intervalMs: 3_600_000, timeoutMs: 30_000, autoStart: true }),
      });
      services.push(neg);
      Object.assign(backendEnv, { ORLY_SYNC_TYPE: 'grpc', ORLY_GRPC_SYNC_NEGENTROPY: neg.address });
    }
  }
  const fullEnv = {
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: '0',
    ORLY_LOG_LEVEL: 'silent',
    ORLY_VERIFY_WORKERS: '1',
    ...NO_ADDRESS_LIMITS,
    ...TEST_TRANSPORT_ENV,
    ...env,
    ...backendEnv,
    ORLY_DATA_DIR: dataDir,
  };
  let relay: Relay | undefined;
  let port: number;
  try {
    const config = loadRelayConfig(fullEnv);
    relay = await createRelay(config, createLogger(config.logLevel), fullEnv, overrides);
    port = await relay.start();
  } catch (err) {
    // What was started for it would keep the test process alive.
    await relay?.stop();
    for (const service of services.reverse()) await service.stop();
    if (env.ORLY_DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    relay,
    port,
    url: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    dataDir,
    async stop() {
      await relay.stop();
      for (const service of services.reverse()) await service.stop();
      if (env.ORLY_DATA_DIR === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
        // The relay's database goes with its data directory (the shared server outlives the tests).
        const database = postgresDatabases.get(dataDir);
        postgresDatabases.delete(dataDir);
        if (database !== undefined) await (await sharedTestPostgres()).dropDatabase(await database);
      }
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: relay frames are heterogeneous JSON arrays
export type Frame = any[];

let roundTrips = 0;

/** A raw WebSocket client that queues every frame it receives, for exact protocol assertions. */
export class RawClient {
  readonly frames: Frame[] = [];
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  closed = false;
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      const i = this.waiters.findIndex((w) => w.match(frame));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w!.resolve(frame);
      } else this.frames.push(frame);
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  static connect(url: string, headers?: Record<string, string>): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, headers === undefined ? undefined : { headers });
      const client = new RawClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the first frame (queued or future) matching the predicate. */
  next(match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(`timed out waiting for a frame; queued: ${JSON.stringify(this.frames).slice(0, 500)}`),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  nextOfType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f[0] === type, timeoutMs);
  }

  /** Publishes an event and returns its OK frame. */
  async publish(event: { id: string }): Promise<Frame> {
    this.send(['EVENT', event]);
    return this.next((f) => f[0] === 'OK' && f[1] === event.id);
  }

  /**
   * Publishes until the relay answers OK true (its store back after an outage), at most `tries`
   * times 100 ms apart; the last answer.
   */
  async publishUntilAccepted(event: { id: string }, tries = 50): Promise<Frame> {
    let answer = await this.publish(event);
    for (let i = 1; i < tries && answer[2] !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await this.publish(event);
    }
    return answer;
  }

  /** Sends a REQ and collects its EVENT payloads until EOSE (or rejects on CLOSED). */
  async query(subId: string, ...filters: unknown[]): Promise<Record<string, unknown>[]> {
    this.send(['REQ', subId, ...filters]);
    const events: Record<string, unknown>[] = [];
    for (;;) {
      const f = await this.next(
        (x) => (x[0] === 'EVENT' || x[0] === 'EOSE' || x[0] === 'CLOSED') && x[1] === subId,
      );
      if (f[0] === 'EOSE') return events;
      if (f[0] === 'CLOSED') throw new Error(`CLOSED: ${f[2]}`);
      events.push(f[2]);
    }
  }

  /**
   * A round trip on this connection, as the sentinel after a message that must have no answer
   * (or no further one): a COUNT for an id no event has, resolved by its answer. The relay
   * dispatches one connection's frames in order and answers a COUNT only after asking its store,
   * so whatever it sends in reply to the earlier frames without a store round trip of its own
   * (NOTICE, CLOSED, NEG-ERR, ...) is already queued in `frames` when this resolves.
   */
  async roundTrip(): Promise<void> {
    const id = `round-trip-${++roundTrips}`;
    this.send(['COUNT', id, { ids: ['00'.repeat(32)] }]);
    const answer = await this.next((f) => (f[0] === 'COUNT' || f[0] === 'CLOSED') && f[1] === id);
    if (answer[0] !== 'COUNT') throw new Error(`round trip refused: ${JSON.stringify(answer)}`);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
