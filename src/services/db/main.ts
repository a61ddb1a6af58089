/**
 * `orly-db`: the event store as a separate gRPC service (split mode). Serves the LMDB store in
 * ORLY_DATA_DIR, or with ORLY_DB_BACKEND=postgres the PostgreSQL database at ORLY_POSTGRES_URL
 * (several orly-db may share it: each delivers the others' events to its subscribers), as
 * orlydb.v1.DatabaseService (plus grpc.health.v1) to one or more relays.
 * Variables: ./config.ts; transport security from ORLY_GRPC_* (src/grpc/security.ts).
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2. SIGTERM/SIGINT stop the server gracefully (running calls
 * may finish), close the store and exit 0; a second signal exits 1 at once.
 */
import { checkServerExposure, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger } from '../../logger.js';
import { MemoryReclaimer } from '../../memory-reclaimer.js';
import { PostgresEventStore } from '../../store/postgres/postgres-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from '../shared/run-service.js';
import { stopOnSignal } from '../shared/stop-on-signal.js';
import { loadDatabaseServiceConfig } from './config.js';
import { startDatabaseServer } from './server.js';

const USAGE = `orly-db ${VERSION} — ORLY event store service (gRPC)

Usage:
  orly-db                 run the service (configured by ORLY_DB_* / ORLY_* variables; see README)
  orly-db --version | --help
`;

async function start(): Promise<void> {
  const config = loadDatabaseServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-db', config.listen, security, 'ORLY_DB_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-db');
  logger.info(
    { version: VERSION, backend: config.backend, ...(config.postgres ? {} : { dataDir: config.dataDir }) },
    'orly-db starting',
  );
  const postgres =
    config.postgres === undefined
      ? undefined
      : await PostgresEventStore.open(config.postgres, { logger, name: 'orly-db' });
  const server = await startDatabaseServer({
    listen: config.listen,
    ...(postgres === undefined ? { dataDir: config.dataDir } : { store: postgres, ownsStore: true }),
    security,
    logger,
    expirationSweepSeconds: config.expirationSweepSeconds,
    maxIndexedTags: config.maxIndexedTags,
    queryWorkers: config.queryWorkers,
    writerThread: config.writerThread,
  });
  // Gives back what a burst of large queries left behind (the service has no query scheduler to
  // say when it is idle: it collects at most every 2 s while well above its post-collection level).
  const stopReclaiming = new MemoryReclaimer().every(500, () => true);
  stopOnSignal(logger, () => {
    stopReclaiming();
    return server.stop();
  });
}

/** Runs orly-db with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-db', USAGE, start);
}
