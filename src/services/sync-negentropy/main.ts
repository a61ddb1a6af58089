/**
 * `orly-sync-negentropy`: NIP-77 negentropy relay-to-relay sync as a gRPC service (split mode,
 * port 50064). Reads and writes events through orly-db (ORLY_SYNC_NEGENTROPY_DB_SERVER), syncs
 * a configured peer list in the background and serves SyncWithPeer for `orly sync --server`.
 * Variables: ./config.ts; transport security from ORLY_GRPC_*.
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2. SIGTERM/SIGINT cancel running syncs, stop the server,
 * close the orly-db connection and exit 0; a second signal exits 1 at once.
 */
import { loadWritePolicyConfig, startWritePolicy } from '../../acl/policy/write-policy-config.js';
import { checkServerExposure, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger } from '../../logger.js';
import { GrpcEventStore } from '../../store/grpc/grpc-event-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from '../shared/run-service.js';
import { stopOnSignal } from '../shared/stop-on-signal.js';
import { idSizeWarning, loadNegentropyServiceConfig } from './config.js';
import { startNegentropyServer } from './server.js';

const USAGE = `orly-sync-negentropy ${VERSION} — ORLY negentropy (NIP-77) sync service (gRPC)

Usage:
  orly-sync-negentropy            run the service (configured by ORLY_SYNC_NEGENTROPY_* variables)
  orly-sync-negentropy --version | --help
`;

async function start(): Promise<void> {
  const config = loadNegentropyServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-sync-negentropy', config.listen, security, 'ORLY_SYNC_NEGENTROPY_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-sync-negentropy');
  logger.info(
    { version: VERSION, db: config.dbServer, peers: config.sync.peers.length },
    'orly-sync-negentropy starting',
  );
  const warning = idSizeWarning(config);
  if (warning !== undefined) logger.warn({ idSize: config.idSize }, warning);
  const policyConfig = loadWritePolicyConfig(process.env);
  const store = await GrpcEventStore.connect(config.dbServer, { security, logger });
  // The plugin is a process of its own: stopped whatever happens next.
  const writePolicy = await startWritePolicy(policyConfig, logger).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const server = await startNegentropyServer({
    ...(writePolicy === undefined ? {} : { writePolicy }),
    listen: config.listen,
    store,
    sync: config.sync,
    logger,
    security,
    ownsStore: true,
    negSessionTimeoutMs: config.negSessionTimeoutMs,
    negMaxSessions: config.negMaxSessions,
  }).catch(async (err: unknown) => {
    await writePolicy?.stop();
    throw err;
  });
  stopOnSignal(logger, () => server.stop());
}

/** Runs orly-sync-negentropy with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-sync-negentropy', USAGE, start);
}
