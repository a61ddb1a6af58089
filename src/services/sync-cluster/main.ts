/**
 * `orly-sync-cluster`: cluster replication between the members a cluster admin names (kind 39108)
 * as a gRPC service (split mode, port 50062). Reads and writes events, progress, the operator's
 * override and the relay identity through orly-db (ORLY_SYNC_CLUSTER_DB_SERVER), whose change
 * feed tells it of new membership events; follows every member (live subscription plus serial
 * poll) and answers their /cluster/* requests, which the relay forwards (HandleLatestSerial,
 * HandleEventsRange). With ORLY_GRPC_ACL_SERVER, replicated events are asked of orly-acl (access
 * control, and its write policy when it runs one); without it only signatures and the store's
 * rules apply (logged at start). Variables: ./config.ts; transport security from ORLY_GRPC_*.
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2; an unreachable orly-db or orly-acl at start exits 1.
 * SIGTERM/SIGINT stop the peer links and the server, close the connections and exit 0; a second
 * signal exits 1 at once. The start-up the sync services share: ../shared/sync-main.ts.
 */
import { VERSION } from '../../version.js';
import { runSyncService } from '../shared/sync-main.js';
import { loadClusterServiceConfig } from './config.js';
import { startClusterSyncServer } from './server.js';

const USAGE = `orly-sync-cluster ${VERSION} — ORLY cluster replication service (gRPC)

Usage:
  orly-sync-cluster            run the service (configured by ORLY_SYNC_CLUSTER_* and ORLY_CLUSTER_* variables)
  orly-sync-cluster --version | --help
`;

/** Runs orly-sync-cluster with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runSyncService({
    name: 'orly-sync-cluster',
    usage: USAGE,
    listenVariable: 'ORLY_SYNC_CLUSTER_LISTEN',
    load: () => loadClusterServiceConfig(),
    describe: (config) => ({
      admins: config.cluster.admins.length,
      propagatePrivileged: config.cluster.propagatePrivileged,
      acl: config.aclServer ?? null,
    }),
    warnings: (config) =>
      config.cluster.admins.length === 0
        ? [
            'no ORLY_CLUSTER_ADMINS (nor ORLY_ADMINS): no membership event counts; only UpdateMembership names members',
          ]
        : [],
    aclServer: (config) => config.aclServer,
    serve: ({ config, store, security, logger, acl }) =>
      startClusterSyncServer({
        listen: config.listen,
        store,
        ownsStore: true,
        cluster: config.cluster,
        restrictedKinds: config.restrictedKinds,
        logger,
        security,
        verifyWorkers: config.verifyWorkers,
        ...acl,
      }),
  });
}
