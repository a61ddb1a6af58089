/**
 * The store of `orly import` / `orly export`: LMDB in --data-dir when it is given, else as the
 * relay's configuration says — PostgreSQL with ORLY_DB_TYPE=postgres (ORLY_POSTGRES_URL), else
 * LMDB in ORLY_DATA_DIR.
 */
import { dataDirVar, type Env } from '../config/env.js';
import { loadBackendConfig } from '../relay/config.js';
import type { EventStore } from '../store/event-store.js';
import { loadLmdbStoreConfig } from '../store/lmdb/config.js';
import { LmdbEventStore } from '../store/lmdb/lmdb-store.js';
import { PostgresEventStore } from '../store/postgres/postgres-store.js';

export async function openCommandStore(dataDir: string | undefined, env: Env): Promise<EventStore> {
  if (dataDir === undefined) {
    const backend = loadBackendConfig(env);
    if (backend.dbType === 'postgres')
      return PostgresEventStore.open(backend.postgres!, { name: 'orly-cli' });
  }
  return LmdbEventStore.open(dataDir ?? dataDirVar(env), loadLmdbStoreConfig(env));
}
