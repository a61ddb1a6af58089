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
 * signal exits 1 at once.
 */
import type { AccessControl } from '../../acl/access-control.js';
import { GrpcAccessControl } from '../../acl/grpc-access-control.js';
import { GrpcWritePolicy } from '../../acl/policy/grpc-write-policy.js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import { checkServerExposure, type GrpcSecurity, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger, type Logger } from '../../logger.js';
import { GrpcEventStore } from '../../store/grpc/grpc-event-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from '../shared/run-service.js';
import { stopOnSignal } from '../shared/stop-on-signal.js';
import { loadClusterServiceConfig } from './config.js';
import { startClusterSyncServer } from './server.js';

const USAGE = `orly-sync-cluster ${VERSION} — ORLY cluster replication service (gRPC)

Usage:
  orly-sync-cluster            run the service (configured by ORLY_SYNC_CLUSTER_* and ORLY_CLUSTER_* variables)
  orly-sync-cluster --version | --help
`;

const CONNECT_TIMEOUT_MS = 30_000;

/** orly-acl's access control and write policy (undefined when it runs none). */
async function connectAcl(
  address: string,
  security: GrpcSecurity,
  logger: Logger,
): Promise<{ access: AccessControl; policy: WritePolicy | undefined }> {
  const options = { security, logger, connectTimeoutMs: CONNECT_TIMEOUT_MS };
  const access = await GrpcAccessControl.connect(address, options);
  try {
    return { access, policy: await GrpcWritePolicy.connect(address, options) };
  } catch (err) {
    await access.close();
    throw err;
  }
}

async function start(): Promise<void> {
  const config = loadClusterServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-sync-cluster', config.listen, security, 'ORLY_SYNC_CLUSTER_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-sync-cluster');
  logger.info(
    {
      version: VERSION,
      db: config.dbServer,
      admins: config.cluster.admins.length,
      propagatePrivileged: config.cluster.propagatePrivileged,
      acl: config.aclServer ?? null,
    },
    'orly-sync-cluster starting',
  );
  if (config.cluster.admins.length === 0)
    logger.warn(
      'no ORLY_CLUSTER_ADMINS (nor ORLY_ADMINS): no membership event counts; only UpdateMembership names members',
    );
  if (config.aclServer === undefined)
    logger.warn(
      "no ORLY_GRPC_ACL_SERVER: replicated events are checked for their signatures and the store's rules only (no access control, no write policy)",
    );
  const store = await GrpcEventStore.connect(config.dbServer, {
    security,
    logger: logger.child({ component: 'db-client' }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  let acl: { access: AccessControl; policy: WritePolicy | undefined } | undefined;
  try {
    if (config.aclServer !== undefined) acl = await connectAcl(config.aclServer, security, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  const server = await startClusterSyncServer({
    listen: config.listen,
    store,
    ownsStore: true,
    cluster: config.cluster,
    restrictedKinds: config.restrictedKinds,
    logger,
    security,
    verifyWorkers: config.verifyWorkers,
    ...(acl === undefined ? {} : { access: acl.access }),
    ...(acl?.policy === undefined ? {} : { policy: acl.policy }),
  });
  stopOnSignal(logger, () => server.stop());
}

/** Runs orly-sync-cluster with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-sync-cluster', USAGE, start);
}
