/**
 * Configuration of orly-sync-cluster from its environment; every error is a ConfigError naming
 * the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_CLUSTER_LISTEN, _DB_TYPE, _DB_SERVER, _LOG_LEVEL, _VERIFY_WORKERS
 *                                     as every sync service (../shared/sync-config.ts); the
 *                                     default port is 50062
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
import { hostPortVar, kindListVar } from '../../config/env.js';
import { DEFAULT_RESTRICTED_KINDS } from '../../protocol/kinds.js';
import { type ClusterConfig, loadClusterConfig } from '../../sync/cluster/cluster-config.js';
import { loadSyncServiceBase, type SyncServiceBaseConfig, syncVerifyWorkers } from '../shared/sync-config.js';

const P = 'ORLY_SYNC_CLUSTER';

export interface ClusterServiceConfig extends SyncServiceBaseConfig {
  readonly verifyWorkers: number;
  readonly cluster: ClusterConfig;
  /** ORLY_AUTH_RESTRICTED_KINDS, parsed as the relay's config does. */
  readonly restrictedKinds: readonly number[];
  /** ORLY_GRPC_ACL_SERVER: orly-acl's address, when replicated events go through it. */
  readonly aclServer: string | undefined;
}

export function loadClusterServiceConfig(env: Env = process.env): ClusterServiceConfig {
  return {
    ...loadSyncServiceBase(env, P, '127.0.0.1:50062'),
    verifyWorkers: syncVerifyWorkers(env, P),
    cluster: loadClusterConfig(env),
    restrictedKinds: kindListVar(env, 'ORLY_AUTH_RESTRICTED_KINDS', DEFAULT_RESTRICTED_KINDS),
    aclServer: hostPortVar(env, 'ORLY_GRPC_ACL_SERVER'),
  };
}
