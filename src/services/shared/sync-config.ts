/**
 * The variables every sync service (orly-sync-distributed, -cluster, -relaygroup) reads under its
 * own prefix P (ORLY_SYNC_CLUSTER, ...), in this order; each error is a ConfigError naming the
 * variable:
 *
 *   P_LISTEN          host:port (the service's default port; port 0 = any)
 *   P_DB_TYPE         grpc (the only backend)
 *   P_DB_SERVER       orly-db address (default 127.0.0.1:50051)
 *   P_LOG_LEVEL       log level (default ORLY_LOG_LEVEL, else info)
 *
 * and, for the services that replicate events (syncVerifyWorkers):
 *
 *   P_VERIFY_WORKERS  signature-verification threads for replicated events (default 1, 0 = on
 *                     the main thread)
 */
import type { Env } from '../../config/env.js';
import { ConfigError, intVar, type LogLevel, listenVar, logLevelVar, readVar } from '../../config/env.js';

export interface SyncServiceBaseConfig {
  readonly listen: string;
  readonly dbServer: string;
  readonly logLevel: LogLevel;
}

export function loadSyncServiceBase(env: Env, prefix: string, defaultListen: string): SyncServiceBaseConfig {
  const listen = listenVar(env, `${prefix}_LISTEN`, defaultListen);
  const dbType = (readVar(env, `${prefix}_DB_TYPE`) ?? 'grpc').trim().toLowerCase();
  if (dbType !== 'grpc')
    throw new ConfigError(`${prefix}_DB_TYPE`, `only "grpc" is supported, got ${JSON.stringify(dbType)}`);
  return {
    listen,
    dbServer: listenVar(env, `${prefix}_DB_SERVER`, '127.0.0.1:50051'),
    logLevel: logLevelVar(env, [`${prefix}_LOG_LEVEL`, 'ORLY_LOG_LEVEL']),
  };
}

export function syncVerifyWorkers(env: Env, prefix: string): number {
  return intVar(env, `${prefix}_VERIFY_WORKERS`, 1, 0, 64);
}
