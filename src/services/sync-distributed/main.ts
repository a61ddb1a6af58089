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
import { loadDistributedServiceConfig } from './config.js';
import { startDistributedSyncServer } from './server.js';

const USAGE = `orly-sync-distributed ${VERSION} — ORLY distributed sync service (gRPC)

Usage:
  orly-sync-distributed            run the service (configured by ORLY_SYNC_DISTRIBUTED_* variables)
  orly-sync-distributed --version | --help
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
  const config = loadDistributedServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-sync-distributed', config.listen, security, 'ORLY_SYNC_DISTRIBUTED_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-sync-distributed');
  logger.info(
    { version: VERSION, db: config.dbServer, peers: config.sync.peers.length, acl: config.aclServer ?? null },
    'orly-sync-distributed starting',
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
  const server = await startDistributedSyncServer({
    listen: config.listen,
    store,
    ownsStore: true,
    sync: config.sync,
    logger,
    security,
    verifyWorkers: config.verifyWorkers,
    ...(acl === undefined ? {} : { access: acl.access }),
    ...(acl?.policy === undefined ? {} : { policy: acl.policy }),
  });
  stopOnSignal(logger, () => server.stop());
}

/** Runs orly-sync-distributed with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-sync-distributed', USAGE, start);
}
