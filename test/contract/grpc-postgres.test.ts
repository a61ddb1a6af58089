/**
 * The EventStore contract against GrpcEventStore -> a real orly-db server (in process, on
 * 127.0.0.1 port 0) -> PostgresEventStore on a real PostgreSQL (ORLY_DB_BACKEND=postgres; a fresh
 * database per test). The ChangeFeed role twice: two clients of one orly-db, and two clients of
 * two orly-db servers sharing one database (each orly-db delivers what the other stored and
 * broadcast). The StateStore's durability: orly-db stopped and started again over the database.
 */
import { after } from 'node:test';
import { startDatabaseServer } from '../../src/services/db/server.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { loadPostgresConfig } from '../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { registerChangeFeedContract, registerEventStoreContract } from './event-store-contract.js';
import { silentLogger, TRUSTED } from './grpc-harness.js';

const server = await startTestPostgres();
after(() => server.stop());

/** An orly-db over the database at `url`, and a client of it. */
async function orlyDbOn(
  url: string,
): Promise<{ client: GrpcEventStore; address: string; stop(): Promise<void> }> {
  const store = await PostgresEventStore.open(loadPostgresConfig({ ORLY_POSTGRES_URL: url }), {
    name: 'orly-db',
  });
  const db = await startDatabaseServer({
    listen: '127.0.0.1:0',
    store,
    ownsStore: true,
    security: TRUSTED,
    logger: silentLogger,
  });
  const client = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED });
  return {
    client,
    address: db.address,
    async stop() {
      await client.close();
      await db.stop(1000);
    },
  };
}

registerEventStoreContract(
  'GrpcEventStore via orly-db on PostgreSQL',
  async () => {
    const db = await orlyDbOn(await server.createDatabase());
    return { store: db.client, cleanup: () => db.stop() };
  },
  {
    changeFeed: async () => {
      const db = await orlyDbOn(await server.createDatabase());
      const peer = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED });
      return {
        store: db.client,
        peer,
        async cleanup() {
          await peer.close();
          await db.stop();
        },
      };
    },
    reopen: async () => {
      const url = await server.createDatabase();
      let db = await orlyDbOn(url);
      return {
        store: db.client,
        async reopen() {
          await db.stop();
          db = await orlyDbOn(url);
          return db.client;
        },
        cleanup: () => db.stop(),
      };
    },
  },
);

registerChangeFeedContract('two orly-db on one PostgreSQL database', async () => {
  const url = await server.createDatabase();
  const [one, two] = await Promise.all([orlyDbOn(url), orlyDbOn(url)]);
  return {
    store: one.client,
    peer: two.client,
    async cleanup() {
      await one.stop();
      await two.stop();
    },
  };
});
