/**
 * Configuration of orly-sync-distributed from its environment; every error is a ConfigError
 * naming the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_DISTRIBUTED_LISTEN          host:port (default 127.0.0.1:50061; port 0 = any)
 *   ORLY_SYNC_DISTRIBUTED_DB_TYPE         grpc (the only backend)
 *   ORLY_SYNC_DISTRIBUTED_DB_SERVER       orly-db address (default 127.0.0.1:50051)
 *   ORLY_SYNC_DISTRIBUTED_LOG_LEVEL       log level (default ORLY_LOG_LEVEL, else info)
 *   ORLY_SYNC_DISTRIBUTED_VERIFY_WORKERS  signature-verification threads for replicated events
 *                                         (default 1, 0 = on the main thread)
 *   ORLY_SYNC_DISTRIBUTED_PEERS, _INTERVAL, _LIVE, ORLY_RELAY_URL
 *                                         the peers and how they are followed, as in process
 *                                         (src/sync/distributed/config.ts)
 *   ORLY_GRPC_ACL_SERVER                  orly-acl (optional): replicated events are asked of its
 *                                         access control and of its write policy (sourceType
 *                                         "Sync"); without it only signatures and the store's
 *                                         rules apply
 *   ORLY_RELAY_SECRET_KEY                 the relay's identity (else the one kept in orly-db)
 */
import type { Env } from '../../config/env.js';
import {
  ConfigError,
  hostPortVar,
  intVar,
  type LogLevel,
  listenVar,
  logLevelVar,
  readVar,
} from '../../config/env.js';
import { type DistributedSyncConfig, loadDistributedSyncConfig } from '../../sync/distributed/config.js';

const P = 'ORLY_SYNC_DISTRIBUTED';

export interface DistributedServiceConfig {
  readonly listen: string;
  readonly dbServer: string;
  readonly logLevel: LogLevel;
  readonly verifyWorkers: number;
  readonly sync: DistributedSyncConfig;
  /** ORLY_GRPC_ACL_SERVER: orly-acl's address, when replicated events go through it. */
  readonly aclServer: string | undefined;
}

export function loadDistributedServiceConfig(env: Env = process.env): DistributedServiceConfig {
  const listen = listenVar(env, `${P}_LISTEN`, '127.0.0.1:50061');
  const dbType = (readVar(env, `${P}_DB_TYPE`) ?? 'grpc').trim().toLowerCase();
  if (dbType !== 'grpc')
    throw new ConfigError(`${P}_DB_TYPE`, `only "grpc" is supported, got ${JSON.stringify(dbType)}`);
  return {
    listen,
    dbServer: listenVar(env, `${P}_DB_SERVER`, '127.0.0.1:50051'),
    logLevel: logLevelVar(env, [`${P}_LOG_LEVEL`, 'ORLY_LOG_LEVEL']),
    verifyWorkers: intVar(env, `${P}_VERIFY_WORKERS`, 1, 0, 64),
    sync: loadDistributedSyncConfig(env),
    aclServer: hostPortVar(env, 'ORLY_GRPC_ACL_SERVER'),
  };
}
