/**
 * Configuration of orly-sync-cluster from its environment; every error is a ConfigError naming
 * the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_CLUSTER_LISTEN          host:port (default 127.0.0.1:50062; port 0 = any)
 *   ORLY_SYNC_CLUSTER_DB_TYPE         grpc (the only backend)
 *   ORLY_SYNC_CLUSTER_DB_SERVER       orly-db address (default 127.0.0.1:50051)
 *   ORLY_SYNC_CLUSTER_LOG_LEVEL       log level (default ORLY_LOG_LEVEL, else info)
 *   ORLY_SYNC_CLUSTER_VERIFY_WORKERS  signature-verification threads for replicated events
 *                                     (default 1, 0 = on the main thread)
 *   ORLY_CLUSTER_ADMINS, _PROPAGATE_PRIVILEGED_EVENTS, _POLL_INTERVAL, _LIVE, ORLY_RELAY_URL
 *                                     the cluster, as in process (src/sync/cluster/cluster-config.ts;
 *                                     ORLY_CLUSTER_ENABLED is the relay's switch: the service runs
 *                                     the cluster when it runs)
 *   ORLY_AUTH_RESTRICTED_KINDS        the relay's restricted kinds (default 4,1059; "" = none),
 *                                     left out of the listing when privileged events do not propagate
 *   ORLY_GRPC_ACL_SERVER              orly-acl (optional): replicated events are asked of its
 *                                     access control and of its write policy (sourceType "Sync")
 *   ORLY_RELAY_SECRET_KEY             the relay's identity (else the one kept in orly-db)
 */
import type { Env } from '../../config/env.js';
import {
  ConfigError,
  hostPortVar,
  intVar,
  kindListVar,
  type LogLevel,
  listenVar,
  logLevelVar,
  readVar,
} from '../../config/env.js';
import { DEFAULT_RESTRICTED_KINDS } from '../../protocol/kinds.js';
import { type ClusterConfig, loadClusterConfig } from '../../sync/cluster/cluster-config.js';

const P = 'ORLY_SYNC_CLUSTER';

export interface ClusterServiceConfig {
  readonly listen: string;
  readonly dbServer: string;
  readonly logLevel: LogLevel;
  readonly verifyWorkers: number;
  readonly cluster: ClusterConfig;
  /** ORLY_AUTH_RESTRICTED_KINDS, parsed as the relay's config does. */
  readonly restrictedKinds: readonly number[];
  /** ORLY_GRPC_ACL_SERVER: orly-acl's address, when replicated events go through it. */
  readonly aclServer: string | undefined;
}

export function loadClusterServiceConfig(env: Env = process.env): ClusterServiceConfig {
  const listen = listenVar(env, `${P}_LISTEN`, '127.0.0.1:50062');
  const dbType = (readVar(env, `${P}_DB_TYPE`) ?? 'grpc').trim().toLowerCase();
  if (dbType !== 'grpc')
    throw new ConfigError(`${P}_DB_TYPE`, `only "grpc" is supported, got ${JSON.stringify(dbType)}`);
  return {
    listen,
    dbServer: listenVar(env, `${P}_DB_SERVER`, '127.0.0.1:50051'),
    logLevel: logLevelVar(env, [`${P}_LOG_LEVEL`, 'ORLY_LOG_LEVEL']),
    verifyWorkers: intVar(env, `${P}_VERIFY_WORKERS`, 1, 0, 64),
    cluster: loadClusterConfig(env),
    restrictedKinds: kindListVar(env, 'ORLY_AUTH_RESTRICTED_KINDS', DEFAULT_RESTRICTED_KINDS),
    aclServer: hostPortVar(env, 'ORLY_GRPC_ACL_SERVER'),
  };
}
