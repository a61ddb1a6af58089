/**
 * GrpcEventStore: the EventStore of a relay in split mode, a client of the orly-db service.
 * A facade over one DatabaseConnection (connection.ts) and one part per role:
 *
 * - ClientStore: save() over the batched SaveEvents stream (save-stream.ts); query(), count(),
 *   getById() (client-reads.ts); queryFrames() (client-frames.ts); close().
 * - SyncSource: eventsSince(), lastSerial(), negentropyItems() (sync-calls.ts).
 * - StoreAdmin: deleteByIds(), purgeExpired(), stats(), isOpen() (admin-calls.ts).
 * - StateStore: getState(), putState(), listState() (state-calls.ts).
 * - ChangeFeed: watch(), broadcast(), with the resume-after-outage replay (change-feed.ts).
 *
 * Saves go over ONE long-lived SaveEvents stream (opened lazily, re-opened after a failure),
 * many in flight, matched to answers by request id. A save resolves stored=true only with the
 * server's durable answer: when the stream fails, every save pending on it resolves
 * {stored:false, reason:"error: database unavailable (...)"}, and so does a save unanswered
 * after `saveTimeoutMs` (the event may still have been stored; a retry then reports a duplicate).
 *
 * Every call fails fast while orly-db is down (waitForReady false: an error, not a hang); unary
 * calls also carry a deadline. The channel reconnects by itself (backoff capped at 2 s), the save
 * stream is re-opened by the next save, and the watch stream re-subscribes with exponential
 * backoff (100 ms doubling, capped at 2 s), so the client recovers without being recreated.
 * isOpen() is the last known reachability: channel READY, or any successful answer, makes it
 * true; TRANSIENT_FAILURE or an UNAVAILABLE answer makes it false.
 *
 * query()/eventsSince() are async iterables over server streams with backpressure (the stream
 * is paused while the consumer is busy); breaking out of the loop or aborting the signal cancels
 * the call. watch() subscribes with this instance's random origin, which is also sent with every
 * save, so a relay never gets its own events back (only serial markers for them). When the watch
 * stream is lost (orly-db restarted, or cut us off as a slow reader), the resubscription first
 * replays what was stored meanwhile (EventsSince from the last serial seen, at most
 * WATCH_REPLAY_MAX events, our own skipped), buffering the new live stream until the replay is
 * done: listeners miss nothing across an outage, and get nothing twice.
 */

import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import type {
  ChangeFeed,
  CountResult,
  EventStore,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StoredEvent,
  StoreStats,
  Timeslice,
} from '../event-store.js';
import type { FrameChunk, FrameQuery } from '../query-frames.js';
import { GrpcStoreAdmin } from './admin-calls.js';
import { GrpcChangeFeed } from './change-feed.js';
import { queryFrames } from './client-frames.js';
import { GrpcClientReads } from './client-reads.js';
import { describeStatus } from './codec.js';
import { DatabaseCallError, DatabaseConnection } from './connection.js';
import { SaveStreamClient } from './save-stream.js';
import { GrpcStateStore } from './state-calls.js';
import { GrpcSyncSource } from './sync-calls.js';

export { DatabaseCallError } from './connection.js';

export interface GrpcEventStoreOptions {
  /** TLS / mutual TLS / token (default: plaintext, no token). */
  readonly security?: GrpcSecurity;
  /** This relay's origin id (default: random per instance). */
  readonly origin?: string;
  readonly logger?: Logger;
  /** Deadline of unary calls (default 10 s; count, negentropy and purge get 10x). */
  readonly deadlineMs?: number;
  /** A save unanswered for this long resolves stored=false (default 30 s). */
  readonly saveTimeoutMs?: number;
  /**
   * connect() waits up to this long for the server to answer Ready (default 10 s; 0 = do not
   * wait). Transport failures are retried until then; other refusals (a wrong token) fail at once.
   */
  readonly connectTimeoutMs?: number;
}

export class GrpcEventStore implements EventStore, ChangeFeed {
  readonly origin: string;
  readonly address: string;
  private readonly connection: DatabaseConnection;
  private readonly saves: SaveStreamClient;
  private readonly reads: GrpcClientReads;
  private readonly sync: GrpcSyncSource;
  private readonly admin: GrpcStoreAdmin;
  private readonly state: GrpcStateStore;
  private readonly feed: GrpcChangeFeed;
  private closing: Promise<void> | undefined;

  private constructor(address: string, options: GrpcEventStoreOptions) {
    this.address = address;
    this.origin = options.origin ?? randomBytes(12).toString('hex');
    this.connection = new DatabaseConnection(address, options);
    this.reads = new GrpcClientReads(this.connection);
    this.sync = new GrpcSyncSource(this.connection);
    this.admin = new GrpcStoreAdmin(this.connection);
    this.state = new GrpcStateStore(this.connection);
    this.feed = new GrpcChangeFeed(this.connection, this.origin, this.sync);
    this.saves = new SaveStreamClient(this.connection, {
      origin: this.origin,
      saveTimeoutMs: options.saveTimeoutMs ?? 30_000,
      onStored: (serial) => this.feed.noteOwnSave(serial),
    });
  }

  /**
   * Creates the client. Unless `connectTimeoutMs` is 0, waits for the server to answer Ready, so
   * that a wrong address, certificate or token fails here, with its gRPC status code.
   */
  static async connect(address: string, options: GrpcEventStoreOptions = {}): Promise<GrpcEventStore> {
    const store = new GrpcEventStore(address, options);
    const wait = options.connectTimeoutMs ?? 10_000;
    if (wait <= 0) return store;
    const deadline = Date.now() + wait;
    let last = 'no answer';
    for (;;) {
      const remaining = deadline - Date.now();
      try {
        if (await store.ready(Math.max(1, remaining))) return store;
        last = 'its store is not open';
      } catch (error) {
        const code = (error as DatabaseCallError).status;
        if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) {
          await store.close();
          throw error; // wrong token, wrong service...: retrying will not help
        }
        last = describeStatus(error);
      }
      if (Date.now() + 100 >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await store.close();
    throw new DatabaseCallError(status.UNAVAILABLE, `orly-db at ${address} is not reachable: ${last}`);
  }

  // ---------------------------------------------------------------- ClientStore

  save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    return this.saves.save(event, raw);
  }

  query(filter: NormalizedFilter, options?: QueryOptions): AsyncGenerator<StoredEvent, void, undefined> {
    return this.reads.query(filter, options);
  }

  /** One REQ filter as ready frames built by orly-db (client-frames.ts). */
  queryFrames(request: FrameQuery, timeslice?: Timeslice): AsyncIterableIterator<FrameChunk> | undefined {
    return queryFrames(this.connection, request, timeslice);
  }

  count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult> {
    return this.reads.count(filters, options);
  }

  getById(id: string): Promise<StoredEvent | undefined> {
    return this.reads.getById(id);
  }

  /** Lets pending saves get their answers (bounded by saveTimeoutMs), then closes streams and channel. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.connection.markClosed();
      await this.saves.drain();
      this.saves.close();
      this.feed.close();
      this.connection.close();
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- SyncSource

  eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    return this.sync.eventsSince(after, limit);
  }

  lastSerial(): Promise<number> {
    return this.sync.lastSerial();
  }

  negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    return this.sync.negentropyItems(filter, max);
  }

  // ---------------------------------------------------------------- StoreAdmin

  deleteByIds(ids: readonly string[]): Promise<number> {
    return this.admin.deleteByIds(ids);
  }

  purgeExpired(now: number): Promise<number> {
    return this.admin.purgeExpired(now);
  }

  stats(): Promise<StoreStats> {
    return this.admin.stats();
  }

  isOpen(): boolean {
    return this.admin.isOpen();
  }

  /** Ready: the server is up and its store is open. */
  ready(deadlineMs?: number): Promise<boolean> {
    return this.connection.ready(deadlineMs);
  }

  // ---------------------------------------------------------------- StateStore

  getState(key: string): Promise<string | undefined> {
    return this.state.getState(key);
  }

  putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    return this.state.putState(entries);
  }

  listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    return this.state.listState(prefix, limit, after);
  }

  // ---------------------------------------------------------------- ChangeFeed

  watch(listener: (event: StoredEvent) => void): () => void {
    return this.feed.watch(listener);
  }

  broadcast(event: NostrEvent): Promise<void> {
    return this.feed.broadcast(event);
  }
}
