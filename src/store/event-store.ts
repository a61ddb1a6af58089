/**
 * The event-store capability. The embedded LMDB store implements it today; the gRPC
 * client (split mode) and a PostgreSQL store implement it later. The relay only ever
 * holds an `EventStore`, and one contract test suite runs against every implementation.
 */
import type { NostrEvent } from '../protocol/event.js';
import type { NormalizedFilter } from '../protocol/filter.js';

/** An event as stored: its monotonic serial and its canonical JSON. */
export interface StoredEvent {
  readonly serial: number;
  /** Canonical JSON of the event, spliced verbatim into outbound frames. */
  readonly raw: string;
  readonly event: NostrEvent;
}

/**
 * The outcome of a save. `stored: true` means the event is committed to disk (durable) or,
 * for `duplicate`, was already. Rejections carry the full NIP-01 reason ("prefix: text").
 */
export type SaveResult =
  | {
      readonly stored: true;
      readonly duplicate: boolean;
      readonly serial: number;
      /** Ids removed by this save: an older replaceable/addressable version, or NIP-09 targets. */
      readonly removed: readonly string[];
    }
  | { readonly stored: false; readonly reason: string };

export interface QueryOptions {
  /** Stops the stream early. Breaking out of the iteration does the same. */
  readonly signal?: AbortSignal;
  /** Unix seconds used to hide expired events (defaults to now). */
  readonly now?: number;
}

/** Sorted (created_at, id) items for negentropy: ascending by created_at, then id bytes. */
export interface NegentropyItems {
  readonly count: number;
  /** created_at of item i. */
  readonly timestamps: Float64Array;
  /** 32 bytes per item: id of item i at offset i * 32. */
  readonly ids: Uint8Array;
}

export interface StoreStats {
  readonly events: number;
  readonly bytes: number;
  readonly lastSerial: number;
}

export interface EventStore {
  /**
   * Stores one validated, signature-checked event, applying atomically: duplicate detection,
   * NIP-09 tombstones (a deleted id is never stored again), replaceable/addressable replacement
   * (latest wins; equal created_at: lowest id wins), and, for kind 5, the deletions it requests.
   * Resolves only after the write is durable. Ephemeral kinds must not be passed here.
   */
  save(event: NostrEvent): Promise<SaveResult>;

  /**
   * Stored events matching one filter, newest first (ties: lowest id first), at most
   * `filter.limit` of them when set, never expired ones.
   */
  query(filter: NormalizedFilter, options?: QueryOptions): AsyncIterable<StoredEvent>;

  /** Number of stored, unexpired events matching any of the filters (each event counted once). */
  count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<number>;

  getById(id: string): Promise<StoredEvent | undefined>;

  /** Administrative removal by id (no tombstone). Returns how many were removed. */
  deleteByIds(ids: readonly string[]): Promise<number>;

  /** Events with serial > `after`, ascending by serial, at most `limit` (for sync services). */
  eventsSince(after: number, limit: number): AsyncIterable<StoredEvent>;

  lastSerial(): Promise<number>;

  /** (created_at, id) of every stored event matching the filter, at most `max` (else `undefined`). */
  negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined>;

  /** Physically removes events whose NIP-40 expiration is <= now. Returns how many. */
  purgeExpired(now: number): Promise<number>;

  stats(): Promise<StoreStats>;

  /** True while the store can serve requests (used by /health and readiness). */
  isOpen(): boolean;

  /** Flushes pending writes and closes. */
  close(): Promise<void>;
}
