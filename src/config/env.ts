/**
 * Configuration, parsed once from the environment into a typed, validated object.
 * An invalid value stops start-up with a message naming the variable.
 */
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TRUSTED_PROXIES, trustedProxyList } from '../relay/trusted-proxies.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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

function choiceVar<T extends string>(env: Env, name: string, fallback: T, choices: Record<string, T>): T {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const value = choices[raw];
  if (value === undefined) {
    throw new ConfigError(
      name,
      `must be one of ${Object.keys(choices).join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
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

/** An optional host:port (IPv6 hosts in brackets), port 1-65535. */
function hostPortVar(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ConfigError(name, `expected host:port, got ${JSON.stringify(raw)}`);
  return raw;
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function intVar(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

export function readVar(env: Env, name: string): string | undefined {
  return read(env, name);
}

export function stringVar(env: Env, name: string, fallback: string): string {
  return read(env, name) ?? fallback;
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

function kindListVar(env: Env, name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const s = part.trim();
    if (!/^\d+$/.test(s) || Number(s) > 65535)
      throw new ConfigError(name, `invalid kind ${JSON.stringify(s)}`);
    return Number(s);
  });
}

/** A duration: "500ms", "30s", "5m", "1h", or plain seconds. Returns milliseconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "2m", "1h", "1m30s", or plain (possibly fractional) seconds. */
export function parseDuration(raw: string, variable: string): number {
  const s = raw.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) {
      throw new ConfigError(
        variable,
        `expected a duration like "500ms", "30s", "2m" or plain seconds, got ${JSON.stringify(raw)}`,
      );
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (pos === 0) throw new ConfigError(variable, `expected a duration, got ${JSON.stringify(raw)}`);
  return Math.round(total);
}

export function durationVar(env: Env, name: string, fallbackMs: number, minMs = 0, maxMs = Infinity): number {
  const raw = read(env, name);
  if (raw === undefined) return fallbackMs;
  const ms = parseDuration(raw, name);
  if (ms < minMs || ms > maxMs) {
    const range = maxMs === Infinity ? `at least ${minMs} ms` : `between ${minMs} ms and ${maxMs} ms`;
    throw new ConfigError(name, `must be ${range}, got ${JSON.stringify(raw)}`);
  }
  return ms;
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

/**
 * The log level from the first of `names` that is set (a service's own variable, then the
 * shared ORLY_LOG_LEVEL), else info.
 */
export function logLevelVar(env: Env, names: string | readonly string[]): LogLevel {
  for (const name of typeof names === 'string' ? [names] : names) {
    const raw = read(env, name)?.toLowerCase();
    if (raw === undefined) continue;
    if (!LOG_LEVELS.includes(raw as LogLevel)) {
      throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return raw as LogLevel;
  }
  return 'info';
}

/** Parses "host:port" (port required); the error names `variable`. */
export function parseListen(value: string, variable: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new ConfigError(variable, `expected host:port, got ${JSON.stringify(value)}`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The address to dial for a listen host: wildcard binds are reached over loopback. */
export function probeHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === '' || h === '0.0.0.0') return '127.0.0.1';
  if (h === '::') return '[::1]';
  return h.includes(':') ? `[${h}]` : h;
}

/** host:port to dial for a listen address (wildcards mapped to loopback). */
export function dialAddress(listen: string): string {
  const { host, port } = parseListen(listen, 'address');
  return `${probeHost(host)}:${port}`;
}

/** A validated "host:port" address variable. */
export function listenVar(env: Env, name: string, fallback: string): string {
  const value = read(env, name) ?? fallback;
  parseListen(value, name);
  return value;
}

function urlVar(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new ConfigError(name, 'must be a ws:// or wss:// URL');
  return raw;
}

export function defaultDataDir(env: Env = process.env): string {
  return join(env.HOME ?? homedir(), '.local', 'share', 'ORLY');
}

export function dataDirVar(env: Env): string {
  return read(env, 'ORLY_DATA_DIR') ?? defaultDataDir(env);
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
    maxEventTags: intVar(env, 'ORLY_MAX_EVENT_TAGS', 10_000, 1, 1_000_000),
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
