/**
 * The EventStore contract against the embedded LmdbEventStore (fresh temp directory per test),
 * saving in the event loop and on its writer thread (ORLY_LMDB_WRITER_THREAD, the relay's and
 * orly-db's default); the StateStore's durability by closing the store and opening its directory
 * again.
 */
import { rmSync } from 'node:fs';
import { createLogger } from '../../src/logger.js';
import { LmdbEventStore, type LmdbStoreOptions } from '../../src/store/lmdb/lmdb-store.js';
import { registerEventStoreContract } from './event-store-contract.js';
import { tempDir } from './grpc-harness.js';

const WRITER_THREAD: LmdbStoreOptions = { writerThread: true, logger: createLogger('silent') };

for (const [name, options] of [
  ['LmdbEventStore', {}],
  ['LmdbEventStore on its writer thread', WRITER_THREAD],
] as const) {
  registerEventStoreContract(
    name,
    async () => {
      const dir = tempDir('orly-contract-lmdb-');
      const store = LmdbEventStore.open(dir, options);
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
        let store = LmdbEventStore.open(dir, options);
        return {
          store,
          async reopen() {
            await store.close();
            store = LmdbEventStore.open(dir, options);
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
}
