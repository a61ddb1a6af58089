/**
 * `orly-sync-relaygroup`: relay-group configuration as a gRPC service (split mode, port 50063).
 * Reads the admins' kind-39105 configurations through orly-db (ORLY_SYNC_RELAYGROUP_DB_SERVER)
 * and follows its change feed, so an admin's configuration stored through any relay takes effect
 * at once; with ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER, every new configuration in force is
 * pushed to orly-sync-distributed as the group's part of its peer list. Variables: ./config.ts;
 * transport security from ORLY_GRPC_* (the push needs ORLY_GRPC_TOKEN or mutual TLS: UpdatePeers
 * refuses unauthenticated callers).
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2; an unreachable orly-db at start exits 1 (an unreachable
 * orly-sync-distributed does not: the push is retried). SIGTERM/SIGINT stop the service and exit
 * 0; a second signal exits 1 at once. The start-up the sync services share:
 * ../shared/sync-main.ts.
 */
import type { GrpcSecurity } from '../../grpc/security.js';
import { VERSION } from '../../version.js';
import { runSyncService } from '../shared/sync-main.js';
import { loadRelayGroupServiceConfig, type RelayGroupServiceConfig } from './config.js';
import { startRelayGroupServer } from './server.js';

const USAGE = `orly-sync-relaygroup ${VERSION} — ORLY relay-group service (gRPC)

Usage:
  orly-sync-relaygroup            run the service (configured by ORLY_SYNC_RELAYGROUP_* variables)
  orly-sync-relaygroup --version | --help
`;

function warnings(config: RelayGroupServiceConfig, security: GrpcSecurity): string[] {
  if (config.distributedServer === undefined)
    return [
      'no ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER: the configuration in force is served, but no distributed sync follows it',
    ];
  if (security.token === undefined && security.cert === undefined)
    return [
      'no ORLY_GRPC_TOKEN (or mutual TLS): orly-sync-distributed refuses UpdatePeers from unauthenticated callers, so the push will fail',
    ];
  return [];
}

/** Runs orly-sync-relaygroup with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runSyncService({
    name: 'orly-sync-relaygroup',
    usage: USAGE,
    listenVariable: 'ORLY_SYNC_RELAYGROUP_LISTEN',
    load: () => loadRelayGroupServiceConfig(),
    describe: (config) => ({ admins: config.admins.length, distributed: config.distributedServer ?? null }),
    warnings,
    serve: ({ config, store, security, logger }) =>
      startRelayGroupServer({
        listen: config.listen,
        store,
        ownsStore: true,
        admins: config.admins,
        logger,
        security,
        ...(config.distributedServer === undefined ? {} : { distributedServer: config.distributedServer }),
      }),
  });
}
