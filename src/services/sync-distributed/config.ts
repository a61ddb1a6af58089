/**
 * Configuration of orly-sync-distributed from its environment; every error is a ConfigError
 * naming the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_DISTRIBUTED_LISTEN, _DB_TYPE, _DB_SERVER, _LOG_LEVEL, _VERIFY_WORKERS
 *                                         as every sync service (../shared/sync-config.ts); the
 *                                         default port is 50061
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
import { hostPortVar } from '../../config/env.js';
import { type DistributedSyncConfig, loadDistributedSyncConfig } from '../../sync/distributed/config.js';
import { loadSyncServiceBase, type SyncServiceBaseConfig, syncVerifyWorkers } from '../shared/sync-config.js';

const P = 'ORLY_SYNC_DISTRIBUTED';

export interface DistributedServiceConfig extends SyncServiceBaseConfig {
  readonly verifyWorkers: number;
  readonly sync: DistributedSyncConfig;
  /** ORLY_GRPC_ACL_SERVER: orly-acl's address, when replicated events go through it. */
  readonly aclServer: string | undefined;
}

export function loadDistributedServiceConfig(env: Env = process.env): DistributedServiceConfig {
  return {
    ...loadSyncServiceBase(env, P, '127.0.0.1:50061'),
    verifyWorkers: syncVerifyWorkers(env, P),
    sync: loadDistributedSyncConfig(env),
    aclServer: hostPortVar(env, 'ORLY_GRPC_ACL_SERVER'),
  };
}
