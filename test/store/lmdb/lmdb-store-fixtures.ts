/**
 * Shared by the lmdb-store-*.test.ts files: a fresh LmdbEventStore in a temp directory for each
 * test (removed afterwards), and assertions on what save() answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import type { SaveResult } from '../../../src/store/event-store.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { signedEvent, type TestKey } from '../../helpers/events.js';

/** The store of the running test. */
class TempStore {
  dir = '';
  /** A test that closes the store may assign a reopened one; afterEach closes whichever is here. */
  store!: LmdbEventStore;

  /** The ids query() returns for `filter`, in order. */
  readonly ids = async (filter: NormalizedFilter, now?: number): Promise<string[]> => {
    const out: string[] = [];
    for await (const stored of this.store.query(filter, now === undefined ? {} : { now }))
      out.push(stored.event.id);
    return out;
  };
}

/** Registers beforeEach/afterEach hooks that open a fresh store for each test, then remove it. */
export function useTempStore(): TempStore {
  const db = new TempStore();
  beforeEach(() => {
    db.dir = mkdtempSync(join(tmpdir(), 'orly-lmdb-test-'));
    db.store = LmdbEventStore.open(db.dir);
  });
  afterEach(async () => {
    await db.store.close();
    rmSync(db.dir, { recursive: true, force: true });
  });
  return db;
}

/** A filter's tag conditions, from letter -> values. */
export function tags(entries: Record<string, string[]>): Map<string, string[]> {
  return new Map(Object.entries(entries));
}

/** Asserts that save() stored the event (or had it already); returns the result. */
export function stored(result: SaveResult): Extract<SaveResult, { stored: true }> {
  assert.equal(result.stored, true, result.stored ? '' : result.reason);
  return result as Extract<SaveResult, { stored: true }>;
}

/** Asserts that save() refused the event with exactly `reason`. */
export function rejected(result: SaveResult, reason: string): void {
  assert.deepEqual(result, { stored: false, reason });
}

/** Two events of the same template that differ only in content, ordered by id. */
export function tiedPair(
  key: TestKey,
  template: Parameters<typeof signedEvent>[1],
): [NostrEvent, NostrEvent] {
  const a = signedEvent(key, { ...template, content: 'a' });
  const b = signedEvent(key, { ...template, content: 'b' });
  return a.id < b.id ? [a, b] : [b, a];
}
