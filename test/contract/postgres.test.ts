/**
 * The EventStore contract against PostgresEventStore on a real PostgreSQL (test/helpers/postgres.ts:
 * one server for this file, a fresh database per test). The ChangeFeed role with two stores (two
 * relays) over one database; the StateStore's durability by closing the store and opening the
 * same database again.
 */
import { after } from 'node:test';
import { loadPostgresConfig } from '../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../src/store/postgres/postgres-store.js';
import { startTestPostgres } from '../helpers/postgres.js';
import { registerEventStoreContract } from './event-store-contract.js';

const server = await startTestPostgres();
after(() => server.stop());

const open = (url: string) => PostgresEventStore.open(loadPostgresConfig({ ORLY_POSTGRES_URL: url }));

registerEventStoreContract(
  'PostgresEventStore',
  async () => {
    const store = await open(await server.createDatabase());
    return { store, cleanup: () => store.close() };
  },
  {
    changeFeed: async () => {
      const url = await server.createDatabase();
      const store = await open(url);
      const peer = await open(url);
      return {
        store,
        peer,
        async cleanup() {
          await store.close();
          await peer.close();
        },
      };
    },
    reopen: async () => {
      const url = await server.createDatabase();
      let store = await open(url);
      return {
        store,
        async reopen() {
          await store.close();
          store = await open(url);
          return store;
        },
        cleanup: () => store.close(),
      };
    },
  },
);
