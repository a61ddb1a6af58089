/**
 * Configuration of orly-sync-relaygroup from its environment; every error is a ConfigError
 * naming the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_RELAYGROUP_LISTEN              host:port (default 127.0.0.1:50063; port 0 = any)
 *   ORLY_SYNC_RELAYGROUP_DB_TYPE             grpc (the only backend)
 *   ORLY_SYNC_RELAYGROUP_DB_SERVER           orly-db address (default 127.0.0.1:50051)
 *   ORLY_SYNC_RELAYGROUP_LOG_LEVEL           log level (default ORLY_LOG_LEVEL, else info)
 *   ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER  orly-sync-distributed's address (optional): each new
 *                                            configuration in force is pushed there (UpdatePeers
 *                                            with keep_configured); without it the service only
 *                                            answers questions
 *   ORLY_RELAY_GROUP_ADMINS                  who may publish the configuration (hex or npub), as
 *                                            in process
 */
import type { Env } from '../../config/env.js';
import {
  ConfigError,
  hostPortVar,
  type LogLevel,
  listenVar,
  logLevelVar,
  readVar,
} from '../../config/env.js';
import { loadRelayGroupAdmins } from '../../sync/relaygroup/relay-group-sync.js';

const P = 'ORLY_SYNC_RELAYGROUP';

export interface RelayGroupServiceConfig {
  readonly listen: string;
  readonly dbServer: string;
  readonly logLevel: LogLevel;
  /** Lowercase hex. */
  readonly admins: readonly string[];
  /** orly-sync-distributed's address, when configurations are pushed there. */
  readonly distributedServer: string | undefined;
}

export function loadRelayGroupServiceConfig(env: Env = process.env): RelayGroupServiceConfig {
  const listen = listenVar(env, `${P}_LISTEN`, '127.0.0.1:50063');
  const dbType = (readVar(env, `${P}_DB_TYPE`) ?? 'grpc').trim().toLowerCase();
  if (dbType !== 'grpc')
    throw new ConfigError(`${P}_DB_TYPE`, `only "grpc" is supported, got ${JSON.stringify(dbType)}`);
  return {
    listen,
    dbServer: listenVar(env, `${P}_DB_SERVER`, '127.0.0.1:50051'),
    logLevel: logLevelVar(env, [`${P}_LOG_LEVEL`, 'ORLY_LOG_LEVEL']),
    admins: loadRelayGroupAdmins(env),
    distributedServer: hostPortVar(env, `${P}_DISTRIBUTED_SERVER`),
  };
}
