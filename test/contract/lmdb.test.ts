/**
 * The EventStore contract against the embedded LmdbEventStore (fresh temp directory per test);
 * the StateStore's durability by closing the store and opening its directory again.
 */
import { rmSync } from 'node:fs';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { registerEventStoreContract } from './event-store-contract.js';
import { tempDir } from './grpc-harness.js';

registerEventStoreContract(
  'LmdbEventStore',
  async () => {
    const dir = tempDir('orly-contract-lmdb-');
    const store = LmdbEventStore.open(dir);
    return {
      store,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  {
    changeFeed: {
      skip: 'the local LMDB store has no change feed: its relay is the only writer and broadcasts everything itself',
    },
    reopen: async () => {
      const dir = tempDir('orly-contract-lmdb-');
      let store = LmdbEventStore.open(dir);
      return {
        store,
        async reopen() {
          await store.close();
          store = LmdbEventStore.open(dir);
          return store;
        },
        async cleanup() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
);
