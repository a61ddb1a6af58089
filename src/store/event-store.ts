/**
 * The event-store capability, in roles: `ClientStore` (save, query, count, getById, close),
 * `SyncSource` (eventsSince, lastSerial, negentropyItems), `StoreAdmin` (deleteByIds,
 * purgeExpired, stats, isOpen), `StateStore` (getState, putState, listState: a small key-value
 * space beside the events) and `ChangeFeed` (watch, broadcast). `EventStore` is all of them
 * (the change feed optional): the embedded LMDB store, the PostgreSQL store (src/store/postgres)
 * and the gRPC client of the orly-db service (split mode, src/store/grpc) implement it. The relay holds an
 * `EventStore`; every other consumer depends on the roles it uses. One contract test suite per
 * role runs against every implementation.
 */
import type { NostrEvent } from '../protocol/event.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import type { FrameChunk, FrameQuery } from './query-frames.js';

/** An event as stored: its monotonic serial and its canonical JSON. */
export interface StoredEvent {
  readonly serial: number;
  /** Canonical JSON of the event, spliced verbatim into outbound frames. */
  readonly raw: string;
  /** The same canonical JSON as UTF-8 bytes, when the implementation has them (sent without re-encoding). */
  readonly bytes?: Uint8Array;
  /** The event id (cheap: read from `raw` without parsing it). */
  readonly id: string;
  /** The event kind (cheap where the store has it at hand, e.g. from its index keys). */
  readonly kind: number;
  /** prefix + canonical JSON + suffix in one buffer, when the query asked for a wrap and the store supports it. */
  readonly wrapped?: Uint8Array;
  /** The parsed event; implementations may parse lazily, so prefer `id` and `raw` on hot paths. */
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
  /** count(): stop at this many matches (the answer is then this many, approximate). */
  readonly max?: number;
  /** count(): events of these kinds are not counted. */
  readonly excludeKinds?: ReadonlySet<number>;
  /**
   * Where the store can, each result's JSON is placed between these bytes in one buffer
   * (`StoredEvent.wrapped`), so a caller sending the event inside a larger message (the
   * relay's `["EVENT","<sub>",` … `]`) needs no second copy. Others ignore it.
   */
  readonly wrap?: EventWrap;
  /** count(): examine at most this many candidates of countable kinds; beyond, answer approximately. */
  readonly maxScan?: number;
  /** Long work shares the caller's query slots in timeslices (see Timeslice); stores may ignore it. */
  readonly timeslice?: Timeslice;
}

/**
 * A query's share of the relay's query slots (strfry's timeslices): long work checks
 * expired() now and then and, when it is true, awaits pause(), which hands the slot to other
 * requesters and resolves at this query's next turn (it rejects when the query was cancelled
 * meanwhile: the work then stops). `ms` is the slice length, for executors that time
 * themselves (a worker thread).
 */
export interface Timeslice {
  readonly ms: number;
  expired(): boolean;
  /** With `until`: gives the slot up until it settles (the client's socket drained), then waits for a turn. */
  pause(until?: Promise<void>): Promise<void>;
}

/** count()'s answer: `approximate` when it stopped at `max` or at `maxScan` (count is then a lower bound). */
export interface CountResult {
  readonly count: number;
  readonly approximate: boolean;
}

export interface EventWrap {
  readonly prefix: Uint8Array;
  readonly suffix: Uint8Array;
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

/**
 * The client-facing role: what a relay (or any other client of the store) needs to accept and
 * serve events. Every store implements it.
 */
export interface ClientStore {
  /**
   * Stores one validated, signature-checked event, applying atomically: duplicate detection,
   * NIP-09 tombstones (a deleted id is never stored again), replaceable/addressable replacement
   * (latest wins; equal created_at: lowest id wins), and, for kind 5, the deletions it requests.
   * Resolves only after the write is durable. Ephemeral kinds must not be passed here.
   */
  /** `raw`, when given, is the event's canonical JSON (serializeEvent) already computed by the caller. */
  save(event: NostrEvent, raw?: string): Promise<SaveResult>;

  /**
   * Stored events matching one filter, newest first (ties: lowest id first), at most
   * `filter.limit` of them when set, never expired ones.
   */
  query(filter: NormalizedFilter, options?: QueryOptions): AsyncIterable<StoredEvent>;

  /** Number of stored, unexpired events matching any of the filters (each event counted once). */
  count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult>;

  getById(id: string): Promise<StoredEvent | undefined>;

  /**
   * Optional: called after a bulk load (`orly import`, orly-db's Import) so that the store
   * refreshes what its query planning relies on (PostgreSQL: ANALYZE; without it, a freshly
   * loaded table is planned blind and a `{"kinds":[1]}` REQ sorts every kind-1 row).
   */
  afterBulkLoad?(): Promise<void>;

  /**
   * Optional store-side executor (LMDB's query worker threads): one REQ filter answered as
   * ready EVENT frames (src/store/query-frames.ts); undefined when unavailable right now.
   */
  queryFrames?(request: FrameQuery, timeslice?: Timeslice): AsyncIterableIterator<FrameChunk> | undefined;

  /** Flushes pending writes and closes. */
  close(): Promise<void>;
}

/** The sync-source role: what sync services and export read (serial order, negentropy items). */
export interface SyncSource {
  /** Events with serial > `after`, ascending by serial, at most `limit` (for sync services). */
  eventsSince(after: number, limit: number): AsyncIterable<StoredEvent>;

  lastSerial(): Promise<number>;

  /** (created_at, id) of every stored event matching the filter, at most `max` (else `undefined`). */
  negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined>;
}

/** The administration role: removal, NIP-40 purging, statistics and readiness. */
export interface StoreAdmin {
  /** Administrative removal by id (no tombstone). Returns how many were removed. */
  deleteByIds(ids: readonly string[]): Promise<number>;

  /** Physically removes events whose NIP-40 expiration is <= now. Returns how many. */
  purgeExpired(now: number): Promise<number>;

  stats(): Promise<StoreStats>;

  /** True while the store can serve requests (used by /health and readiness). */
  isOpen(): boolean;
}

/**
 * The state role: a small durable key-value space beside the events (access-control lists,
 * counters, settings), in the store's own database (LMDB's `state` table; orly-db's in split
 * mode), never a second one. Keys are UTF-8 strings of 1 to 512 bytes, values strings of up to
 * 64 KiB, both well-formed Unicode (state-limits.ts); a call with bad input rejects with an
 * Error naming the argument, and changes nothing.
 */
export interface StateStore {
  /** The value of `key`, or undefined. */
  getState(key: string): Promise<string | undefined>;

  /**
   * Sets (value a string) or deletes (undefined) each key, all in one durable transaction
   * (a key given twice: the last wins); resolves once committed.
   */
  putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void>;

  /**
   * Entries whose key starts with `prefix` (empty: every entry), in key order (UTF-8 byte order),
   * after `after` (exclusive) when given, at most `limit` (required, 1 to 10,000). Page with
   * `after` = the last key of the previous page.
   */
  listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>>;
}

/**
 * The change-feed role, offered by stores shared by several relays (the orly-db gRPC client, the
 * PostgreSQL store).
 * Optional in `EventStore`: the local LMDB store does not implement it, since a single relay is
 * the only writer and broadcasts everything itself.
 */
export interface ChangeFeed {
  /**
   * Events stored by OTHER writers (another relay sharing this database), delivered as they are
   * committed, so that this relay can feed them to its live subscriptions. Events this store's
   * own `save` stored are not delivered (the relay broadcasts those itself). Ephemeral events
   * handed over by another relay's `broadcast` arrive too, with serial 0 (they are never
   * stored). Events committed while the store is disconnected from its database are not
   * replayed. Returns an unsubscribe function.
   */
  watch(listener: (event: StoredEvent) => void): () => void;

  /**
   * Paired with `watch`: hands an ephemeral event (never stored) to the other relays sharing
   * this database, which receive it through their `watch` listeners. Resolves once the database
   * has accepted it for delivery; rejects when the database is unreachable.
   */
  broadcast(event: NostrEvent): Promise<void>;
}

/**
 * A complete store, as the relay and the orly-db server hold it: every role, the change feed
 * optionally (`watch`/`broadcast` present only on stores shared by several relays).
 */
export interface EventStore extends ClientStore, SyncSource, StoreAdmin, StateStore, Partial<ChangeFeed> {}
