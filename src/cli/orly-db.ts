#!/usr/bin/env node
/**
 * `orly-db`: the event store as a separate gRPC service (split mode). Serves the LMDB store in
 * ORLY_DATA_DIR as orlydb.v1.DatabaseService (plus grpc.health.v1) to one or more relays.
 *
 *   ORLY_DB_LISTEN                   host:port to listen on (default 127.0.0.1:50051; port 0 = any)
 *   ORLY_DATA_DIR                    store directory (default ~/.local/share/ORLY)
 *   ORLY_DB_LOG_LEVEL                log level (default: ORLY_LOG_LEVEL, else info)
 *   ORLY_EXPIRATION_SWEEP_INTERVAL   seconds between NIP-40 purges (default 60)
 *   ORLY_GRPC_TLS_CERT/_KEY/_CA, ORLY_GRPC_TOKEN   transport security (src/grpc/security.ts)
 *
 * Logs JSON lines on stdout; `"msg":"grpc listening"` carries the bound port. Configuration
 * errors name the variable and exit 2. SIGTERM/SIGINT stop the server gracefully (running calls
 * may finish), close the store and exit 0; a second signal exits 1 at once.
 */
import { dataDirVar, intVar, type LogLevel, listenVar, logLevelVar } from '../config/env.js';
import { loadGrpcSecurity } from '../grpc/security.js';
import { createLogger } from '../logger.js';
import { startDatabaseServer } from '../services/db/server.js';
import { runServiceMain } from '../services/shared/run-service.js';
import { stopOnSignal } from '../services/shared/stop-on-signal.js';
import { VERSION } from '../version.js';

const USAGE = `orly-db ${VERSION} — ORLY event store service (gRPC)

Usage:
  orly-db                 run the service (configured by ORLY_DB_* / ORLY_* variables; see README)
  orly-db --version | --help
`;

type Env = Record<string, string | undefined>;

interface OrlyDbConfig {
  readonly listen: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly expirationSweepSeconds: number;
}

function loadOrlyDbConfig(env: Env = process.env): OrlyDbConfig {
  return {
    listen: listenVar(env, 'ORLY_DB_LISTEN', '127.0.0.1:50051'),
    dataDir: dataDirVar(env),
    logLevel: logLevelVar(env, ['ORLY_DB_LOG_LEVEL', 'ORLY_LOG_LEVEL']),
    expirationSweepSeconds: intVar(env, 'ORLY_EXPIRATION_SWEEP_INTERVAL', 60, 1, 86_400),
  };
}

async function start(): Promise<void> {
  const config = loadOrlyDbConfig();
  const security = loadGrpcSecurity();
  const logger = createLogger(config.logLevel, 'orly-db');
  logger.info({ version: VERSION, dataDir: config.dataDir }, 'orly-db starting');
  const server = await startDatabaseServer({
    listen: config.listen,
    dataDir: config.dataDir,
    security,
    logger,
    expirationSweepSeconds: config.expirationSweepSeconds,
  });

  stopOnSignal(logger, () => server.stop());
}

runServiceMain('orly-db', USAGE, start);
