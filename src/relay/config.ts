/**
 * The relay's configuration: every ORLY_* variable of `orly` (the relay), parsed once from the
 * environment into a typed, validated object with the parsers of src/config/env.ts.
 */
import { availableParallelism, totalmem } from 'node:os';
import { loadWritePolicyConfig, type WritePolicyConfig } from '../acl/policy/write-policy-config.js';
import {
  boolVar,
  ConfigError,
  choiceVar,
  dataDirVar,
  durationVar,
  type Env,
  hostPortVar,
  intVar,
  kindListVar,
  type LogLevel,
  logLevelVar,
  parseListen,
  readVar as read,
  stringVar,
  urlVar,
} from '../config/env.js';
import { DEFAULT_RESTRICTED_KINDS } from '../protocol/kinds.js';
import { loadPostgresConfig, type PostgresStoreConfig } from '../store/postgres/config.js';
import { type ClusterConfig, loadClusterConfig } from '../sync/cluster/cluster-config.js';
import { type DistributedSyncConfig, loadDistributedSyncConfig } from '../sync/distributed/config.js';
import { type EdgeLimitsConfig, loadEdgeLimitsConfig } from './edge-config.js';
import { parseRelayAddress } from './relay-address.js';
import { TRANSPORTS, type TransportKind } from './transport/create-transport.js';
import { DEFAULT_TRUSTED_PROXIES, trustedProxyList } from './trusted-proxies.js';

export interface RelayInfoConfig {
  name: string;
  description: string;
  /** Admin contact pubkey (NIP-11 `pubkey`), 64-hex, optional. */
  pubkey?: string;
  contact?: string;
  icon?: string;
}

export interface LimitsConfig {
  /** Max bytes of one incoming WebSocket message. */
  maxMessageSize: number;
  /** Max bytes of one serialized event. */
  maxEventSize: number;
  maxEventTags: number;
  /** Max unicode characters of `content`. */
  maxContentLength: number;
  maxSubscriptionsPerConnection: number;
  maxFiltersPerReq: number;
  /** Clamp for a filter's `limit`. */
  maxLimit: number;
  /** Used when a filter has no `limit`. */
  defaultLimit: number;
  /** Reject events whose created_at is more than this many seconds in the future (0 = off). */
  createdAtUpperLimit: number;
  /** Reject events whose created_at is more than this many seconds in the past (0 = off). */
  createdAtLowerLimit: number;
  /** Bytes queued to one slow client before it is disconnected. */
  maxOutboundBuffer: number;
  /** COUNT stops at this many matches and answers it with "approximate": true. */
  maxCount: number;
}

/** What one client's REQs, COUNTs and NEG-OPENs may hold and queue. */
export interface QueryGuardConfig {
  /** ORLY_MAX_FILTER_VALUES: values in one filter field (ids, authors, kinds, one #tag). */
  maxFilterValues: number;
  /** ORLY_MAX_REQ_VALUES: values across all filters of one REQ, COUNT or NEG-OPEN. */
  maxReqValues: number;
  /** ORLY_MAX_SUBSCRIPTION_BYTES: the filters of one connection's live subscriptions, in bytes. */
  maxSubscriptionBytes: number;
  /** ORLY_MAX_QUERIES_PER_CONNECTION: REQs and COUNTs of one connection waiting or running. */
  maxQueriesPerConnection: number;
  /** ORLY_QUERY_CONCURRENCY: REQs and COUNTs running at once, all connections together. */
  concurrency: number;
  /** ORLY_QUERY_SLICE_MS: how long a query holds its slot before waiting queries get a turn. */
  sliceMs: number;
  /** ORLY_MAX_COUNT_SCAN: candidates one COUNT examines before it answers approximately. */
  maxCountScan: number;
  /** ORLY_MEMORY_LIMIT_MB (in bytes): above it new REQs, COUNTs and NEG-OPENs are refused. */
  memoryLimitBytes: number;
}

/** Who may read and write at all (gates.ts); owners and admins pass them like anyone else. */
export interface GatesConfig {
  /** ORLY_AUTH_REQUIRED: every REQ, COUNT, NEG-OPEN and EVENT needs NIP-42 AUTH on the connection. */
  authRequired: boolean;
  /** ORLY_AUTH_TO_WRITE: every EVENT needs NIP-42 AUTH on the connection (reads stay open). */
  authToWrite: boolean;
  /** ORLY_MIN_POW_DIFFICULTY: NIP-13 leading zero bits an EVENT's id needs (0 = off, at most 64). */
  minPowDifficulty: number;
}

/** Where /metrics is served and to whom (metrics-endpoint.ts). */
export interface MetricsConfig {
  /** ORLY_METRICS_TOKEN: /metrics requires `Authorization: Bearer <token>`. */
  token?: string;
  /** ORLY_METRICS_LISTEN: serve /metrics on this host:port, not on the relay's port. */
  listen?: { host: string; port: number };
}

/** NIP-77 negentropy syncing (NEG-OPEN / NEG-MSG / NEG-CLOSE), relay side. */
export interface NegentropyConfig {
  /** ORLY_NEGENTROPY_ENABLED: handle NEG-* and list 77 in NIP-11 (default false). */
  enabled: boolean;
  /** ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: idle sessions are closed after this long (default 5m). */
  sessionTimeoutMs: number;
  /** ORLY_NEGENTROPY_MAX_SESSIONS: open sessions per connection (default 8). */
  maxSessions: number;
  /** ORLY_NEGENTROPY_MAX_RECORDS: a NEG-OPEN matching more events is refused (default 1,000,000). */
  maxRecords: number;
  /** ORLY_NEGENTROPY_FRAME_SIZE: max bytes of one binary NEG-MSG the relay sends (0 = none, else >= 4096; default 500,000). */
  frameSizeLimit: number;
  /** ORLY_NEGENTROPY_MAX_ITEMS_TOTAL: items all open sessions' sets may hold (default 2,000,000, ~85 MB). */
  maxItemsTotal: number;
  /** ORLY_NEGENTROPY_MAX_ITEMS_PER_IP: items the sessions of one client address may hold (default 1,000,000). */
  maxItemsPerIp: number;
}

/** Where the relay's capabilities live: in this process, or behind gRPC services (split mode). */
export interface BackendConfig {
  /**
   * ORLY_DB_TYPE: `local` (embedded LMDB; also accepts `lmdb`/`badger`), `grpc` (orly-db) or
   * `postgres` (PostgreSQL, `postgres` below).
   */
  dbType: 'local' | 'grpc' | 'postgres';
  /** With dbType postgres: ORLY_POSTGRES_URL (required) and the other ORLY_POSTGRES_* settings. */
  postgres?: PostgresStoreConfig;
  /** ORLY_GRPC_SERVER: orly-db address when dbType is grpc. */
  grpcDbServer: string;
  /** ORLY_ACL_TYPE: `local` or `grpc` (orly-acl). */
  aclType: 'local' | 'grpc';
  /** ORLY_GRPC_ACL_SERVER: orly-acl address when aclType is grpc. */
  grpcAclServer: string;
  /** ORLY_ACL_MODE for the in-process ACL (`none` by default; orly-acl has its own default). */
  aclMode: string;
  /** ORLY_GRPC_CONNECT_TIMEOUT: seconds to wait for the services at start-up. */
  grpcConnectTimeoutSeconds: number;
  /** ORLY_GRPC_ACL_REFRESH_SECONDS: how often the copy of orly-acl's read restrictions is refreshed. */
  grpcAclRefreshSeconds: number;
  /** ORLY_SYNC_TYPE: `local` (default) or `grpc` (the orly-sync-* services). */
  syncType: 'local' | 'grpc';
  /**
   * ORLY_GRPC_SYNC_NEGENTROPY: orly-sync-negentropy address (host:port). With syncType grpc, NIP-77
   * NEG-* messages are answered by that service (ORLY_NEGENTROPY_ENABLED still gates NIP-77).
   */
  grpcSyncNegentropy?: string;
  /**
   * ORLY_GRPC_SYNC_DISTRIBUTED: orly-sync-distributed address (host:port). With syncType grpc,
   * distributed sync runs there and the relay forwards /api/sync/* to it.
   */
  grpcSyncDistributed?: string;
  /**
   * ORLY_GRPC_SYNC_CLUSTER: orly-sync-cluster address (host:port). With syncType grpc, cluster
   * replication runs there and the relay forwards /cluster/* to it.
   */
  grpcSyncCluster?: string;
  /**
   * ORLY_GRPC_SYNC_RELAYGROUP: orly-sync-relaygroup address (host:port). With syncType grpc, the
   * relay checks at start that it answers and logs the relay group in force (it runs there).
   */
  grpcSyncRelayGroup?: string;
  /** ORLY_GRPC_SYNC_TIMEOUT: deadline of one call to a sync service (default 10s). */
  grpcSyncTimeoutMs: number;
}

export interface RelayConfig {
  listen: string;
  port: number;
  /** ORLY_WS_TRANSPORT: the library carrying HTTP and WebSockets on the port (transport/transport.ts). */
  transport: TransportKind;
  dataDir: string;
  logLevel: LogLevel;
  /** ORLY_RELAY_URL: the public URL, one of the names a NIP-42 `relay` tag may give. */
  relayUrl?: string;
  /** ORLY_RELAY_ADDRESSES: further public names (ws:// or wss:// URLs), as parsed by relay-address.ts. */
  relayAddresses: readonly string[];
  /** ORLY_TRUSTED_PROXIES: peers whose X-Forwarded-* headers are believed (addresses / CIDR ranges). */
  trustedProxies: readonly string[];
  info: RelayInfoConfig;
  limits: LimitsConfig;
  /** Kinds served only to their author or a p-tagged recipient, after NIP-42 AUTH. */
  authRestrictedKinds: readonly number[];
  /** Seconds between NIP-40 purges of expired events. */
  expirationSweepSeconds: number;
  /** Signature-verification worker threads (0 = verify on the main thread). */
  verifyWorkers: number;
  /** REQ query worker threads over the local LMDB store (0 = query in the event loop). */
  queryWorkers: number;
  gates: GatesConfig;
  writePolicy: WritePolicyConfig;
  backend: BackendConfig;
  negentropy: NegentropyConfig;
  /**
   * Distributed sync in process (ORLY_SYNC_DISTRIBUTED_*; runs when peers are named and
   * ORLY_SYNC_TYPE=local; with grpc, orly-sync-distributed reads them).
   */
  distributed: DistributedSyncConfig;
  /**
   * Cluster replication in process (ORLY_CLUSTER_*; runs when cluster admins are named and
   * ORLY_SYNC_TYPE=local; with grpc, orly-sync-cluster reads them).
   */
  cluster: ClusterConfig;
  queries: QueryGuardConfig;
  edge: EdgeLimitsConfig;
  metrics: MetricsConfig;
}

export function loadBackendConfig(env: Env): BackendConfig {
  const dbType = choiceVar(env, 'ORLY_DB_TYPE', 'local', {
    local: 'local',
    lmdb: 'local',
    badger: 'local',
    grpc: 'grpc',
    postgres: 'postgres',
  } as const);
  return {
    dbType,
    ...(dbType === 'postgres' ? { postgres: loadPostgresConfig(env) } : {}),
    grpcDbServer: stringVar(env, 'ORLY_GRPC_SERVER', '127.0.0.1:50051'),
    aclType: choiceVar(env, 'ORLY_ACL_TYPE', 'local', { local: 'local', grpc: 'grpc' }),
    grpcAclServer: stringVar(env, 'ORLY_GRPC_ACL_SERVER', '127.0.0.1:50052'),
    aclMode: stringVar(env, 'ORLY_ACL_MODE', 'none').toLowerCase(),
    grpcConnectTimeoutSeconds: intVar(env, 'ORLY_GRPC_CONNECT_TIMEOUT', 10, 1, 3600),
    grpcAclRefreshSeconds: intVar(env, 'ORLY_GRPC_ACL_REFRESH_SECONDS', 5, 1, 3600),
    syncType: choiceVar(env, 'ORLY_SYNC_TYPE', 'local', { local: 'local', grpc: 'grpc' }),
    grpcSyncNegentropy: hostPortVar(env, 'ORLY_GRPC_SYNC_NEGENTROPY'),
    grpcSyncDistributed: hostPortVar(env, 'ORLY_GRPC_SYNC_DISTRIBUTED'),
    grpcSyncCluster: hostPortVar(env, 'ORLY_GRPC_SYNC_CLUSTER'),
    grpcSyncRelayGroup: hostPortVar(env, 'ORLY_GRPC_SYNC_RELAYGROUP'),
    grpcSyncTimeoutMs: durationVar(env, 'ORLY_GRPC_SYNC_TIMEOUT', 10_000, 100, 600_000),
  };
}

function trustedProxiesVar(env: Env, name: string): readonly string[] {
  const raw = env[name];
  if (raw === undefined) return DEFAULT_TRUSTED_PROXIES;
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  try {
    trustedProxyList(entries);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
  return entries;
}

/** Comma-separated ws:// / wss:// URLs or host[:port], each checked by parseRelayAddress. */
function relayAddressesVar(env: Env, name: string): readonly string[] {
  const entries = (read(env, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  try {
    return entries.map(parseRelayAddress);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

function loadMetricsConfig(env: Env): MetricsConfig {
  const token = read(env, 'ORLY_METRICS_TOKEN');
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token))
    throw new ConfigError(
      'ORLY_METRICS_TOKEN',
      'must be at least 16 printable ASCII characters without spaces',
    );
  const listen = read(env, 'ORLY_METRICS_LISTEN');
  return {
    ...(token === undefined ? {} : { token }),
    ...(listen === undefined ? {} : { listen: parseListen(listen, 'ORLY_METRICS_LISTEN') }),
  };
}

export function loadNegentropyConfig(env: Env): NegentropyConfig {
  const frameVar =
    read(env, 'ORLY_NEGENTROPY_FRAME_SIZE') !== undefined
      ? 'ORLY_NEGENTROPY_FRAME_SIZE'
      : 'ORLY_SYNC_NEGENTROPY_FRAME_SIZE';
  const frameSizeLimit = intVar(env, frameVar, 500_000, 0, 64 * 1_048_576);
  if (frameSizeLimit !== 0 && frameSizeLimit < 4096)
    throw new ConfigError(frameVar, 'must be 0 (no limit) or at least 4096');
  return {
    enabled: boolVar(env, 'ORLY_NEGENTROPY_ENABLED', false),
    sessionTimeoutMs: durationVar(env, 'ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT', 300_000, 100, 86_400_000),
    maxSessions: intVar(env, 'ORLY_NEGENTROPY_MAX_SESSIONS', 8, 1, 1000),
    maxRecords: intVar(env, 'ORLY_NEGENTROPY_MAX_RECORDS', 1_000_000, 1, 10_000_000),
    frameSizeLimit,
    maxItemsTotal: intVar(env, 'ORLY_NEGENTROPY_MAX_ITEMS_TOTAL', 2_000_000, 1, 1_000_000_000),
    maxItemsPerIp: intVar(env, 'ORLY_NEGENTROPY_MAX_ITEMS_PER_IP', 1_000_000, 1, 1_000_000_000),
  };
}

export function loadRelayConfig(env: Env = process.env): RelayConfig {
  const pubkey = read(env, 'ORLY_RELAY_PUBKEY');
  if (pubkey !== undefined && !/^[0-9a-f]{64}$/.test(pubkey)) {
    throw new ConfigError('ORLY_RELAY_PUBKEY', 'must be 64 lowercase hex characters');
  }
  const maxLimit = intVar(env, 'ORLY_MAX_LIMIT', 500, 1, 1_000_000);
  const limits: LimitsConfig = {
    maxMessageSize: intVar(env, 'ORLY_MAX_MESSAGE_SIZE', 1_048_576, 1024, 64 * 1_048_576),
    maxEventSize: intVar(env, 'ORLY_MAX_EVENT_SIZE', 1_048_576, 512, 64 * 1_048_576),
    maxEventTags: intVar(env, 'ORLY_MAX_EVENT_TAGS', 2_000, 1, 1_000_000),
    maxContentLength: intVar(env, 'ORLY_MAX_CONTENT_LENGTH', 524_288, 1, 64 * 1_048_576),
    maxSubscriptionsPerConnection: intVar(env, 'ORLY_MAX_SUBSCRIPTIONS', 50, 1, 100_000),
    maxFiltersPerReq: intVar(env, 'ORLY_MAX_FILTERS', 20, 1, 1000),
    maxLimit,
    defaultLimit: intVar(env, 'ORLY_DEFAULT_LIMIT', Math.min(500, maxLimit), 1, maxLimit),
    createdAtUpperLimit: intVar(env, 'ORLY_CREATED_AT_UPPER_LIMIT', 900),
    createdAtLowerLimit: intVar(env, 'ORLY_CREATED_AT_LOWER_LIMIT', 94_608_000),
    maxOutboundBuffer: intVar(env, 'ORLY_MAX_OUTBOUND_BUFFER', 8 * 1_048_576, 65_536),
    maxCount: intVar(env, 'ORLY_MAX_COUNT', 100_000, 1, 1_000_000_000),
  };
  return {
    listen: stringVar(env, 'ORLY_LISTEN', '0.0.0.0'),
    port: intVar(env, 'ORLY_PORT', 3334, 0, 65535),
    transport: choiceVar(env, 'ORLY_WS_TRANSPORT', 'ws', TRANSPORTS),
    dataDir: dataDirVar(env),
    logLevel: logLevelVar(env, 'ORLY_LOG_LEVEL'),
    relayUrl: urlVar(env, 'ORLY_RELAY_URL'),
    relayAddresses: relayAddressesVar(env, 'ORLY_RELAY_ADDRESSES'),
    trustedProxies: trustedProxiesVar(env, 'ORLY_TRUSTED_PROXIES'),
    info: {
      name: stringVar(env, 'ORLY_APP_NAME', 'ORLY'),
      description: stringVar(env, 'ORLY_RELAY_DESCRIPTION', 'ORLY relay (TypeScript), on embedded LMDB'),
      pubkey,
      contact: read(env, 'ORLY_RELAY_CONTACT'),
      icon: read(env, 'ORLY_RELAY_ICON'),
    },
    limits,
    authRestrictedKinds: kindListVar(env, 'ORLY_AUTH_RESTRICTED_KINDS', DEFAULT_RESTRICTED_KINDS),
    expirationSweepSeconds: intVar(env, 'ORLY_EXPIRATION_SWEEP_INTERVAL', 60, 1, 86_400),
    verifyWorkers: intVar(env, 'ORLY_VERIFY_WORKERS', Math.max(1, availableParallelism()), 0, 64),
    queryWorkers: intVar(env, 'ORLY_QUERY_WORKERS', Math.min(4, availableParallelism()), 0, 64),
    gates: {
      authRequired: boolVar(env, 'ORLY_AUTH_REQUIRED', false),
      authToWrite: boolVar(env, 'ORLY_AUTH_TO_WRITE', false),
      minPowDifficulty: intVar(env, 'ORLY_MIN_POW_DIFFICULTY', 0, 0, 64),
    },
    writePolicy: loadWritePolicyConfig(env),
    backend: loadBackendConfig(env),
    negentropy: loadNegentropyConfig(env),
    distributed: loadDistributedSyncConfig(env),
    cluster: loadClusterConfig(env),
    queries: loadQueryGuardConfig(env),
    edge: loadEdgeLimitsConfig(env),
    metrics: loadMetricsConfig(env),
  };
}

function loadQueryGuardConfig(env: Env): QueryGuardConfig {
  const maxFilterValues = intVar(env, 'ORLY_MAX_FILTER_VALUES', 1000, 1, 1_000_000);
  return {
    maxFilterValues,
    maxReqValues: intVar(
      env,
      'ORLY_MAX_REQ_VALUES',
      Math.max(4000, maxFilterValues),
      maxFilterValues,
      10_000_000,
    ),
    maxSubscriptionBytes: intVar(env, 'ORLY_MAX_SUBSCRIPTION_BYTES', 1_048_576, 1024, 1_073_741_824),
    maxQueriesPerConnection: intVar(env, 'ORLY_MAX_QUERIES_PER_CONNECTION', 64, 1, 10_000),
    concurrency: intVar(env, 'ORLY_QUERY_CONCURRENCY', 8, 1, 1024),
    sliceMs: intVar(env, 'ORLY_QUERY_SLICE_MS', 10, 1, 10_000),
    maxCountScan: intVar(env, 'ORLY_MAX_COUNT_SCAN', 2_000_000, 1000, 1_000_000_000_000),
    // Default: 60% of the memory this process may use.
    memoryLimitBytes:
      intVar(env, 'ORLY_MEMORY_LIMIT_MB', Math.floor((machineMemory() * 0.6) / 1_048_576), 1, 16_777_216) *
      1_048_576,
  };
}

/** The memory this process may use: the cgroup limit when one is set (containers), else the machine's. */
function machineMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = totalmem();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}
