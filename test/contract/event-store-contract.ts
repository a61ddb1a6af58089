/**
 * The EventStore contract, one suite per role, that every implementation must pass (the
 * embedded LMDB store, the gRPC client through a real orly-db server, the in-memory reference
 * store of the differential tests, later others). Real signed events throughout. Each test gets
 * a fresh, empty store from the factory.
 *
 *   registerEventStoreContract('LmdbEventStore', async () => ({ store, cleanup }), {
 *     changeFeed: { skip: 'why this store has no change feed' },
 *     reopen: async () => ({ store, reopen, cleanup }),
 *   });
 *
 * The roles can also be registered one by one (register<Role>Contract), for a store that
 * implements only some of them.
 */
import { describe, test } from 'node:test';
import type { EventStore } from '../../src/store/event-store.js';
import { type ChangeFeedFactory, registerChangeFeedContract } from './change-feed-contract.js';
import { registerClientStoreContract } from './client-store-contract.js';
import type { ContractFactory } from './contract-kit.js';
import { type ReopenFactory, registerStateStoreContract } from './state-store-contract.js';
import { registerStoreAdminContract } from './store-admin-contract.js';
import { registerSyncSourceContract } from './sync-source-contract.js';

export type { ChangeFeedFactory, ChangeFeedPair } from './change-feed-contract.js';
export { registerChangeFeedContract } from './change-feed-contract.js';
export { registerClientStoreContract } from './client-store-contract.js';
export type { ContractFactory, ContractStore } from './contract-kit.js';
export type { ReopenableStore, ReopenFactory } from './state-store-contract.js';
export { registerStateStoreContract } from './state-store-contract.js';
export { registerStoreAdminContract } from './store-admin-contract.js';
export { registerSyncSourceContract } from './sync-source-contract.js';

export interface EventStoreContractOptions {
  /**
   * The ChangeFeed role (optional in EventStore): two stores over one database, or, for a store
   * without a change feed, why the role is skipped (reported as a skipped test).
   */
  readonly changeFeed: ChangeFeedFactory | { readonly skip: string };
  /**
   * The StateStore's durability test: a store that can be closed and reopened over the same data
   * or, for a store without a database on disk, why it is skipped.
   */
  readonly reopen: ReopenFactory<EventStore> | { readonly skip: string };
}

/** Registers a role that this store does not implement as one skipped test, with the reason. */
export function skipRoleContract(role: string, name: string, reason: string): void {
  describe(`${role} contract: ${name}`, () => {
    test(`${role} is not implemented`, { skip: reason }, () => {});
  });
}

export function registerEventStoreContract(
  name: string,
  factory: ContractFactory<EventStore>,
  options: EventStoreContractOptions,
): void {
  registerClientStoreContract(name, factory);
  registerSyncSourceContract(name, factory);
  registerStoreAdminContract(name, factory);
  registerStateStoreContract(name, factory, options.reopen);
  const changeFeed = options.changeFeed;
  if (typeof changeFeed === 'function') registerChangeFeedContract(name, changeFeed);
  else skipRoleContract('ChangeFeed', name, changeFeed.skip);
}
