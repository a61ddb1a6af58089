/**
 * Configuration of the orly-db service, from the environment. An invalid value throws a
 * ConfigError naming the variable.
 *
 *   ORLY_DB_LISTEN                   127.0.0.1:50051   host:port to listen on (port 0 = any)
 *   ORLY_DATA_DIR                    ~/.local/share/ORLY   store directory
 *   ORLY_DB_LOG_LEVEL                ORLY_LOG_LEVEL, else info
 *   ORLY_EXPIRATION_SWEEP_INTERVAL   60                seconds between NIP-40 purges
 *   ORLY_MAX_INDEXED_TAGS            2000              tag index entries per event (store/lmdb/config.ts)
 *   ORLY_LMDB_WRITER_THREAD          true              LMDB: saves on a writer thread (store/lmdb/config.ts)
 *   ORLY_DB_QUERY_WORKERS            min(4, cores)     LMDB: worker threads that answer QueryFrames (the
 *                                                      relay's REQs) beside the event loop; 0 = none
 *   ORLY_DB_BACKEND                  lmdb              `lmdb` (the store in ORLY_DATA_DIR) or `postgres`
 *                                                      (ORLY_POSTGRES_URL and the other ORLY_POSTGRES_*
 *                                                      variables, store/postgres/config.ts)
 * Transport security: ORLY_GRPC_TLS_*, ORLY_GRPC_TOKEN, ORLY_GRPC_INSECURE,
 * ORLY_GRPC_MAX_MESSAGE_SIZE (src/grpc/security.ts).
 */
import { availableParallelism } from 'node:os';
import {
  choiceVar,
  dataDirVar,
  type Env,
  intVar,
  type LogLevel,
  listenVar,
  logLevelVar,
} from '../../config/env.js';
import { loadLmdbStoreConfig } from '../../store/lmdb/config.js';
import { loadPostgresConfig, type PostgresStoreConfig } from '../../store/postgres/config.js';

export interface DatabaseServiceConfig {
  readonly listen: string;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly expirationSweepSeconds: number;
  readonly maxIndexedTags: number | undefined;
  /** LMDB: saves on a writer thread (ORLY_LMDB_WRITER_THREAD). */
  readonly writerThread: boolean;
  /** LMDB query worker threads (QueryFrames); 0 = frames are built in the event loop. */
  readonly queryWorkers: number;
  readonly backend: 'lmdb' | 'postgres';
  /** With backend postgres. */
  readonly postgres?: PostgresStoreConfig;
}

export function loadDatabaseServiceConfig(env: Env = process.env): DatabaseServiceConfig {
  const backend = choiceVar(env, 'ORLY_DB_BACKEND', 'lmdb', { lmdb: 'lmdb', postgres: 'postgres' } as const);
  return {
    backend,
    ...(backend === 'postgres' ? { postgres: loadPostgresConfig(env) } : {}),
    listen: listenVar(env, 'ORLY_DB_LISTEN', '127.0.0.1:50051'),
    dataDir: dataDirVar(env),
    logLevel: logLevelVar(env, ['ORLY_DB_LOG_LEVEL', 'ORLY_LOG_LEVEL']),
    expirationSweepSeconds: intVar(env, 'ORLY_EXPIRATION_SWEEP_INTERVAL', 60, 1, 86_400),
    ...loadLmdbStoreConfig(env),
    queryWorkers: intVar(env, 'ORLY_DB_QUERY_WORKERS', Math.min(4, availableParallelism()), 0, 64),
  };
}
