/**
 * The EventStore contract against the in-memory MemoryEventStore, the reference store of the
 * differential tests (test/store/differential-kit.ts): checked here so that the reference
 * itself honours the contract. It implements ClientStore, SyncSource, StoreAdmin and StateStore.
 */
import { MemoryEventStore } from '../helpers/memory-store.js';
import { registerEventStoreContract } from './event-store-contract.js';

registerEventStoreContract(
  'MemoryEventStore',
  async () => {
    const store = new MemoryEventStore();
    return { store, cleanup: () => store.close() };
  },
  {
    // One store object is one database with one writer: there are no other writers whose
    // events a watch could deliver, so a change feed here would be empty by construction.
    changeFeed: { skip: 'a MemoryEventStore has a single writer: nothing for a change feed to deliver' },
    reopen: { skip: 'a MemoryEventStore keeps nothing on disk: there is nothing to reopen' },
  },
);
