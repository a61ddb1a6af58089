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
 * 0; a second signal exits 1 at once.
 */
import { checkServerExposure, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger } from '../../logger.js';
import { GrpcEventStore } from '../../store/grpc/grpc-event-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from '../shared/run-service.js';
import { stopOnSignal } from '../shared/stop-on-signal.js';
import { loadRelayGroupServiceConfig } from './config.js';
import { startRelayGroupServer } from './server.js';

const USAGE = `orly-sync-relaygroup ${VERSION} — ORLY relay-group service (gRPC)

Usage:
  orly-sync-relaygroup            run the service (configured by ORLY_SYNC_RELAYGROUP_* variables)
  orly-sync-relaygroup --version | --help
`;

const CONNECT_TIMEOUT_MS = 30_000;

async function start(): Promise<void> {
  const config = loadRelayGroupServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-sync-relaygroup', config.listen, security, 'ORLY_SYNC_RELAYGROUP_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-sync-relaygroup');
  logger.info(
    {
      version: VERSION,
      db: config.dbServer,
      admins: config.admins.length,
      distributed: config.distributedServer ?? null,
    },
    'orly-sync-relaygroup starting',
  );
  if (config.distributedServer === undefined)
    logger.warn(
      'no ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER: the configuration in force is served, but no distributed sync follows it',
    );
  else if (security.token === undefined && security.cert === undefined)
    logger.warn(
      'no ORLY_GRPC_TOKEN (or mutual TLS): orly-sync-distributed refuses UpdatePeers from unauthenticated callers, so the push will fail',
    );
  const store = await GrpcEventStore.connect(config.dbServer, {
    security,
    logger: logger.child({ component: 'db-client' }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  const server = await startRelayGroupServer({
    listen: config.listen,
    store,
    ownsStore: true,
    admins: config.admins,
    logger,
    security,
    ...(config.distributedServer === undefined ? {} : { distributedServer: config.distributedServer }),
  });
  stopOnSignal(logger, () => server.stop());
}

/** Runs orly-sync-relaygroup with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-sync-relaygroup', USAGE, start);
}
