/**
 * orly-launcher configuration, from the environment (ORLY's ORLY_LAUNCHER_* variables plus a
 * restart policy of our own). Everything is validated up front; an invalid value throws a
 * ConfigError naming the variable (the CLI exits 2). Unlike ORLY, an unparsable duration or
 * boolean is an error, not a silent fallback to the default.
 *
 * Durations accept "500ms", "30s", "2m", "1h", compounds like "1m30s", or plain seconds ("30").
 * Binaries: a path ending in .js/.mjs/.cjs is run with this Node (process.execPath); anything
 * else is executed directly (a bare name is looked up in PATH). See plan.ts for resolution.
 */

import type { Env } from '../config/env.js';
import {
  boolVar,
  ConfigError,
  dialAddress,
  durationVar,
  intVar,
  type LogLevel,
  logLevelVar,
  parseListen,
  probeHost,
} from '../config/env.js';
import { loadPostgresConfig } from '../store/postgres/config.js';

export { dialAddress, parseDuration } from '../config/env.js';

export const SYNC_SERVICES = [
  { key: 'DISTRIBUTED', name: 'orly-sync-distributed', port: 50061 },
  { key: 'CLUSTER', name: 'orly-sync-cluster', port: 50062 },
  { key: 'RELAYGROUP', name: 'orly-sync-relaygroup', port: 50063 },
  { key: 'NEGENTROPY', name: 'orly-sync-negentropy', port: 50064 },
] as const;

export type SyncKey = (typeof SYNC_SERVICES)[number]['key'];

export interface SyncServiceConfig {
  readonly key: SyncKey;
  readonly name: string;
  readonly enabled: boolean;
  /** As configured (ORLY_LAUNCHER_SYNC_<X>_BINARY), default the service name (looked up in PATH). */
  readonly binary: string;
  /** True when ORLY_LAUNCHER_SYNC_<X>_BINARY was set (else every sync service runs this package's CLI). */
  readonly binaryConfigured: boolean;
  readonly listen: string;
}

export interface RestartPolicy {
  /** First restart delay; doubles with each restart inside the window. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** More than this many restarts of one service within `windowMs` stops the launcher. */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export interface LauncherConfig {
  /** ORLY_LAUNCHER_DB_BACKEND, passed to orly-db as ORLY_DB_BACKEND. */
  readonly dbBackend: 'lmdb' | 'postgres';
  /** undefined = this package's dist/src/cli/orly-db.js. */
  readonly dbBinary: string | undefined;
  readonly dbListen: string;
  readonly aclEnabled: boolean;
  /** undefined = this package's dist/src/cli/orly-acl.js. */
  readonly aclBinary: string | undefined;
  readonly aclListen: string;
  /** undefined = this package's dist/src/cli/orly.js. */
  readonly relayBinary: string | undefined;
  /** http://host:port/health of the relay, from ORLY_LISTEN / ORLY_PORT. */
  readonly relayHealthUrl: string;
  readonly dbReadyTimeoutMs: number;
  readonly aclReadyTimeoutMs: number;
  readonly syncReadyTimeoutMs: number;
  readonly relayReadyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly sync: readonly SyncServiceConfig[];
  readonly restart: RestartPolicy;
  readonly logLevel: LogLevel;
  /** Generate a random ORLY_GRPC_TOKEN for this launch when none is configured. */
  readonly generateToken: boolean;
}

function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** A host:port with a fixed (non-zero) port: the launcher must know where to probe. */
function fixedListenVar(env: Env, name: string, fallback: string): string {
  const value = read(env, name) ?? fallback;
  const { port } = parseListen(value, name);
  if (port === 0)
    throw new ConfigError(name, 'port 0 is not allowed: the launcher must know the port to probe');
  return value;
}

function relayHealthUrl(env: Env): string {
  const port = intVar(env, 'ORLY_PORT', 3334, 0, 65535);
  if (port === 0) {
    throw new ConfigError(
      'ORLY_PORT',
      "port 0 is not allowed under the launcher: it probes the relay's /health",
    );
  }
  const host = read(env, 'ORLY_LISTEN') ?? '0.0.0.0';
  return `http://${probeHost(host)}:${port}/health`;
}

export function loadLauncherConfig(env: Env = process.env): LauncherConfig {
  const backend = (read(env, 'ORLY_LAUNCHER_DB_BACKEND') ?? 'lmdb').toLowerCase();
  if (backend !== 'lmdb' && backend !== 'postgres') {
    throw new ConfigError(
      'ORLY_LAUNCHER_DB_BACKEND',
      `only "lmdb" and "postgres" exist in this implementation (ORLY's badger/neo4j backends do not), got ${JSON.stringify(backend)}`,
    );
  }
  // orly-db would refuse to start without its database: say so before anything is started.
  if (backend === 'postgres') loadPostgresConfig(env);
  const sync = SYNC_SERVICES.map(({ key, name, port }): SyncServiceConfig => {
    const prefix = `ORLY_LAUNCHER_SYNC_${key}`;
    return {
      key,
      name,
      enabled: boolVar(env, `${prefix}_ENABLED`, false),
      binary: read(env, `${prefix}_BINARY`) ?? name,
      binaryConfigured: read(env, `${prefix}_BINARY`) !== undefined,
      listen: fixedListenVar(env, `${prefix}_LISTEN`, `127.0.0.1:${port}`),
    };
  });
  const dbListen = fixedListenVar(env, 'ORLY_LAUNCHER_DB_LISTEN', '127.0.0.1:50051');
  const aclListen = fixedListenVar(env, 'ORLY_LAUNCHER_ACL_LISTEN', '127.0.0.1:50052');
  const listens = new Map<string, string>();
  for (const [name, value, used] of [
    ['ORLY_LAUNCHER_DB_LISTEN', dbListen, true],
    ['ORLY_LAUNCHER_ACL_LISTEN', aclListen, boolVar(env, 'ORLY_LAUNCHER_ACL_ENABLED', false)],
    ...sync.map((s) => [`ORLY_LAUNCHER_SYNC_${s.key}_LISTEN`, s.listen, s.enabled] as const),
  ] as const) {
    if (!used) continue;
    const key = dialAddress(value);
    const clash = listens.get(key);
    if (clash) throw new ConfigError(name, `${value} is also used by ${clash}`);
    listens.set(key, name);
  }
  const initialBackoffMs = durationVar(env, 'ORLY_LAUNCHER_RESTART_BACKOFF_INITIAL', 250, 10);
  return {
    dbBackend: backend,
    dbBinary: read(env, 'ORLY_LAUNCHER_DB_BINARY'),
    dbListen,
    aclEnabled: boolVar(env, 'ORLY_LAUNCHER_ACL_ENABLED', false),
    aclBinary: read(env, 'ORLY_LAUNCHER_ACL_BINARY'),
    aclListen,
    relayBinary: read(env, 'ORLY_LAUNCHER_RELAY_BINARY'),
    relayHealthUrl: relayHealthUrl(env),
    dbReadyTimeoutMs: durationVar(env, 'ORLY_LAUNCHER_DB_READY_TIMEOUT', 30_000, 100),
    aclReadyTimeoutMs: durationVar(env, 'ORLY_LAUNCHER_ACL_READY_TIMEOUT', 30_000, 100),
    syncReadyTimeoutMs: durationVar(env, 'ORLY_LAUNCHER_SYNC_READY_TIMEOUT', 30_000, 100),
    relayReadyTimeoutMs: durationVar(env, 'ORLY_LAUNCHER_RELAY_READY_TIMEOUT', 30_000, 100),
    stopTimeoutMs: durationVar(env, 'ORLY_LAUNCHER_STOP_TIMEOUT', 10_000, 100),
    sync,
    restart: {
      initialBackoffMs,
      maxBackoffMs: Math.max(
        initialBackoffMs,
        durationVar(env, 'ORLY_LAUNCHER_RESTART_BACKOFF_MAX', 30_000, 10),
      ),
      maxRestarts: intVar(env, 'ORLY_LAUNCHER_MAX_RESTARTS', 5, 0, 1_000_000),
      windowMs: durationVar(env, 'ORLY_LAUNCHER_RESTART_WINDOW', 300_000, 1000),
    },
    logLevel: logLevelVar(env, ['ORLY_LAUNCHER_LOG_LEVEL', 'ORLY_LOG_LEVEL']),
    generateToken: boolVar(env, 'ORLY_LAUNCHER_GENERATE_TOKEN', true),
  };
}
