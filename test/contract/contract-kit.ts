/**
 * What the per-role store contracts share: the factory types (each test gets a fresh, empty
 * store; `cleanup` closes it and releases everything the factory made) and small assertions.
 */
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { NormalizedFilter } from '../../src/protocol/filter.js';
import type { ClientStore, SaveResult } from '../../src/store/event-store.js';
import { signedEvent, type TestKey } from '../helpers/events.js';

export interface ContractStore<S> {
  readonly store: S;
  /** Closes the store (again, if the test closed it) and releases everything the factory made. */
  cleanup(): Promise<void>;
}

export type ContractFactory<S> = () => Promise<ContractStore<S>>;

export type Stored = Extract<SaveResult, { stored: true }>;

export function stored(result: SaveResult): Stored {
  assert.equal(result.stored, true, result.stored ? '' : result.reason);
  return result as Stored;
}

export function tags(entries: Record<string, string[]>): Map<string, string[]> {
  return new Map(Object.entries(entries));
}

/** Two events of one template differing only in content, returned as [lower id, higher id]. */
export function tiedPair(
  key: TestKey,
  template: Parameters<typeof signedEvent>[1],
): [NostrEvent, NostrEvent] {
  const a = signedEvent(key, { ...template, content: 'a' });
  const b = signedEvent(key, { ...template, content: 'b' });
  return a.id < b.id ? [a, b] : [b, a];
}

/** Ids of a query's results, in order. */
export async function ids(store: ClientStore, filter: NormalizedFilter, now?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const s of store.query(filter, now === undefined ? {} : { now })) out.push(s.event.id);
  return out;
}

/** A test body run against a fresh store from `factory`, always cleaned up. */
export function withStore<S>(factory: ContractFactory<S>, body: (store: S) => Promise<void>) {
  return async (): Promise<void> => {
    const { store, cleanup } = await factory();
    try {
      await body(store);
    } finally {
      await cleanup();
    }
  };
}
