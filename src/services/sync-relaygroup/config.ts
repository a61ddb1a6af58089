/**
 * Configuration of orly-sync-relaygroup from its environment; every error is a ConfigError
 * naming the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_RELAYGROUP_LISTEN, _DB_TYPE, _DB_SERVER, _LOG_LEVEL
 *                                            as every sync service (../shared/sync-config.ts);
 *                                            the default port is 50063
 *   ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER  orly-sync-distributed's address (optional): each new
 *                                            configuration in force is pushed there (UpdatePeers
 *                                            with keep_configured); without it the service only
 *                                            answers questions
 *   ORLY_RELAY_GROUP_ADMINS                  who may publish the configuration (hex or npub), as
 *                                            in process
 */
import type { Env } from '../../config/env.js';
import { hostPortVar } from '../../config/env.js';
import { loadRelayGroupAdmins } from '../../sync/relaygroup/relay-group-sync.js';
import { loadSyncServiceBase, type SyncServiceBaseConfig } from '../shared/sync-config.js';

const P = 'ORLY_SYNC_RELAYGROUP';

export interface RelayGroupServiceConfig extends SyncServiceBaseConfig {
  /** Lowercase hex. */
  readonly admins: readonly string[];
  /** orly-sync-distributed's address, when configurations are pushed there. */
  readonly distributedServer: string | undefined;
}

export function loadRelayGroupServiceConfig(env: Env = process.env): RelayGroupServiceConfig {
  return {
    ...loadSyncServiceBase(env, P, '127.0.0.1:50063'),
    admins: loadRelayGroupAdmins(env),
    distributedServer: hostPortVar(env, `${P}_DISTRIBUTED_SERVER`),
  };
}
