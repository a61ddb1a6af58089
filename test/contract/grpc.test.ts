/**
 * The EventStore contract against GrpcEventStore -> a real orly-db server (in process, on
 * 127.0.0.1 port 0) -> LmdbEventStore in a fresh temp directory, one server per test. The
 * ChangeFeed role runs with two clients (two relays) of one server.
 */
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { registerEventStoreContract } from './event-store-contract.js';
import { startInProcessDb } from './grpc-harness.js';

registerEventStoreContract(
  'GrpcEventStore via orly-db',
  async () => {
    const db = await startInProcessDb();
    const store = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000 });
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
      const db = await startInProcessDb();
      const store = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000 });
      const peer = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 5000 });
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
  },
);
