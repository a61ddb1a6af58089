/**
 * The relay's configuration: every ORLY_* variable of `orly` (the relay), parsed once from the
 * environment into a typed, validated object with the parsers of src/config/env.ts.
 */
import { availableParallelism } from 'node:os';
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
  readVar as read,
  stringVar,
  urlVar,
} from '../config/env.js';
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
}

/** Where the relay's capabilities live: in this process, or behind gRPC services (split mode). */
export interface BackendConfig {
  /** ORLY_DB_TYPE: `local` (embedded LMDB; also accepts `lmdb`/`badger`) or `grpc` (orly-db). */
  dbType: 'local' | 'grpc';
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
  /** ORLY_SYNC_TYPE: `local` (default) or `grpc` (the orly-sync-* services). */
  syncType: 'local' | 'grpc';
  /**
   * ORLY_GRPC_SYNC_NEGENTROPY: orly-sync-negentropy address (host:port). With syncType grpc, NIP-77
   * NEG-* messages are answered by that service (ORLY_NEGENTROPY_ENABLED still gates NIP-77).
   */
  grpcSyncNegentropy?: string;
  /** ORLY_GRPC_SYNC_TIMEOUT: deadline of one call to a sync service (default 10s). */
  grpcSyncTimeoutMs: number;
}

export interface RelayConfig {
  listen: string;
  port: number;
  dataDir: string;
  logLevel: LogLevel;
  /** Canonical public URL for NIP-42 `relay` tags; derived from the Host header when unset. */
  relayUrl?: string;
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
  backend: BackendConfig;
  negentropy: NegentropyConfig;
}

export function loadBackendConfig(env: Env): BackendConfig {
  return {
    dbType: choiceVar(env, 'ORLY_DB_TYPE', 'local', {
      local: 'local',
      lmdb: 'local',
      badger: 'local',
      grpc: 'grpc',
    }),
    grpcDbServer: stringVar(env, 'ORLY_GRPC_SERVER', '127.0.0.1:50051'),
    aclType: choiceVar(env, 'ORLY_ACL_TYPE', 'local', { local: 'local', grpc: 'grpc' }),
    grpcAclServer: stringVar(env, 'ORLY_GRPC_ACL_SERVER', '127.0.0.1:50052'),
    aclMode: stringVar(env, 'ORLY_ACL_MODE', 'none').toLowerCase(),
    grpcConnectTimeoutSeconds: intVar(env, 'ORLY_GRPC_CONNECT_TIMEOUT', 10, 1, 3600),
    syncType: choiceVar(env, 'ORLY_SYNC_TYPE', 'local', { local: 'local', grpc: 'grpc' }),
    grpcSyncNegentropy: hostPortVar(env, 'ORLY_GRPC_SYNC_NEGENTROPY'),
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
    dataDir: dataDirVar(env),
    logLevel: logLevelVar(env, 'ORLY_LOG_LEVEL'),
    relayUrl: urlVar(env, 'ORLY_RELAY_URL'),
    trustedProxies: trustedProxiesVar(env, 'ORLY_TRUSTED_PROXIES'),
    info: {
      name: stringVar(env, 'ORLY_APP_NAME', 'ORLY'),
      description: stringVar(env, 'ORLY_RELAY_DESCRIPTION', 'ORLY relay (TypeScript), on embedded LMDB'),
      pubkey,
      contact: read(env, 'ORLY_RELAY_CONTACT'),
      icon: read(env, 'ORLY_RELAY_ICON'),
    },
    limits,
    authRestrictedKinds: kindListVar(env, 'ORLY_AUTH_RESTRICTED_KINDS', [4, 1059]),
    expirationSweepSeconds: intVar(env, 'ORLY_EXPIRATION_SWEEP_INTERVAL', 60, 1, 86_400),
    verifyWorkers: intVar(env, 'ORLY_VERIFY_WORKERS', Math.max(1, availableParallelism()), 0, 64),
    queryWorkers: intVar(env, 'ORLY_QUERY_WORKERS', Math.min(4, availableParallelism()), 0, 64),
    backend: loadBackendConfig(env),
    negentropy: loadNegentropyConfig(env),
  };
}
