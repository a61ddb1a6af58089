/**
 * `orly-sync-distributed`: serial-based peer-to-peer replication between relays as a gRPC
 * service (split mode, port 50061). Reads and writes events, progress and the relay identity
 * through orly-db (ORLY_SYNC_DISTRIBUTED_DB_SERVER); follows the peers named in
 * ORLY_SYNC_DISTRIBUTED_PEERS (live subscription plus serial poll) and answers their
 * /api/sync/* requests, which the relay forwards (HandleCurrentRequest, HandleEventIDsRequest).
 * With ORLY_GRPC_ACL_SERVER, replicated events are asked of orly-acl (access control, and its
 * write policy when it runs one); without it only signatures and the store's rules apply (logged
 * at start). Variables: ./config.ts; transport security from ORLY_GRPC_*.
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2; an unreachable orly-db or orly-acl at start exits 1.
 * SIGTERM/SIGINT stop the peer links and the server, close the connections and exit 0; a second
 * signal exits 1 at once. The start-up the sync services share: ../shared/sync-main.ts.
 */
import { VERSION } from '../../version.js';
import { runSyncService } from '../shared/sync-main.js';
import { loadDistributedServiceConfig } from './config.js';
import { startDistributedSyncServer } from './server.js';

const USAGE = `orly-sync-distributed ${VERSION} — ORLY distributed sync service (gRPC)

Usage:
  orly-sync-distributed            run the service (configured by ORLY_SYNC_DISTRIBUTED_* variables)
  orly-sync-distributed --version | --help
`;

/** Runs orly-sync-distributed with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runSyncService({
    name: 'orly-sync-distributed',
    usage: USAGE,
    listenVariable: 'ORLY_SYNC_DISTRIBUTED_LISTEN',
    load: () => loadDistributedServiceConfig(),
    describe: (config) => ({ peers: config.sync.peers.length, acl: config.aclServer ?? null }),
    aclServer: (config) => config.aclServer,
    serve: ({ config, store, security, logger, acl }) =>
      startDistributedSyncServer({
        listen: config.listen,
        store,
        ownsStore: true,
        sync: config.sync,
        logger,
        security,
        verifyWorkers: config.verifyWorkers,
        ...acl,
      }),
  });
}
