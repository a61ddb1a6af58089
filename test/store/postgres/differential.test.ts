/**
 * The differential test (test/store/differential-kit.ts) of the PostgreSQL store, a fresh database
 * per test on the test server (test/helpers/postgres.ts). Saves go one at a time (concurrent ones
 * would run on several connections in any order), and serials are transaction ids: their order is
 * compared, not their values.
 */
import { after } from 'node:test';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../../src/store/postgres/postgres-store.js';
import { startTestPostgres } from '../../helpers/postgres.js';
import { registerDifferentialTests } from '../differential-kit.js';

const server = await startTestPostgres();
after(() => server.stop());

registerDifferentialTests('PostgreSQL store', {
  orderedConcurrentSaves: false,
  denseSerials: false,
  async open() {
    const config = loadPostgresConfig({ ORLY_POSTGRES_URL: await server.createDatabase() });
    let store = await PostgresEventStore.open(config);
    return {
      store,
      async reopen() {
        await store.close();
        store = await PostgresEventStore.open(config);
        return store;
      },
      cleanup: () => store.close(),
    };
  },
});
