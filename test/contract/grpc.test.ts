/**
 * The EventStore contract against GrpcEventStore -> a real orly-db server (in process, on
 * 127.0.0.1 port 0) -> LmdbEventStore in a fresh temp directory, one server per test. The
 * ChangeFeed role runs with two clients (two relays) of one server. The server has a token
 * (authenticated callers, as under the launcher): the admin calls are allowed. The StateStore's
 * durability: orly-db stopped and started again over the same data directory, a new client.
 */
import { rmSync } from 'node:fs';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { registerEventStoreContract } from './event-store-contract.js';
import { type InProcessDb, startInProcessDb, TRUSTED, tempDir } from './grpc-harness.js';

registerEventStoreContract(
  'GrpcEventStore via orly-db',
  async () => {
    const db = await startInProcessDb({ security: TRUSTED });
    const store = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED });
    return {
      store,
      async cleanup() {
        await store.close();
        await db.stop();
      },
    };
  },
  {
    changeFeed: async () => {
      const db = await startInProcessDb({ security: TRUSTED });
      const store = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED });
      const peer = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED });
      return {
        store,
        peer,
        async cleanup() {
          await store.close();
          await peer.close();
          await db.stop();
        },
      };
    },
    reopen: async () => {
      const dir = tempDir();
      const start = async (): Promise<[InProcessDb, GrpcEventStore]> => {
        const db = await startInProcessDb({ security: TRUSTED, dir });
        return [db, await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000, security: TRUSTED })];
      };
      let [db, store] = await start();
      return {
        store,
        async reopen() {
          await store.close();
          await db.stop();
          [db, store] = await start();
          return store;
        },
        async cleanup() {
          await store.close();
          await db.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
);
