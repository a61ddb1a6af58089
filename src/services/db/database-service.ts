/**
 * The orly-db server adapter: serves any EventStore as the orlydb.v1.DatabaseService, composed
 * of one handler module per role (src/services/db/handlers):
 *
 * - client-store.ts (ClientStore): SaveEvent, SaveEvents, QueryEvents, QueryAllVersions,
 *   CountEvents, GetEvent, CheckForDeleted;
 * - query-frames.ts (ClientStore.queryFrames): QueryFrames, a REQ filter as ready EVENT frames;
 * - sync-source.ts (SyncSource): GetSerials, GetLastSerial, NegentropyItems;
 * - admin.ts (StoreAdmin): Ready, DeleteEvent, PurgeExpired, Stats;
 * - state.ts (StateStore): GetState, PutState, ListState;
 * - change-feed.ts (ChangeFeed, from the EventHub): SubscribeEvents, Broadcast;
 * - import-export.ts: Import, Export;
 * - context.ts: what they share (status mapping, unary wrapper, event streaming).
 *
 * This is a trust boundary. Every event that arrives (SaveEvent, SaveEvents, Broadcast, Import)
 * is parsed from its JSON, checked with checkEventShape, and its id recomputed; a bad event is
 * answered with stored=false and a NIP-01 "invalid: ..." reason as a FIELD, never as error
 * text. SIGNATURES ARE THE RELAY'S JOB when callers are authenticated (`verifier` unset: the
 * server has a token or mutual TLS): the relay verifies them (on its worker pool) before it
 * saves, so SaveEvent/SaveEvents do not verify them again. Unauthenticated callers' events are
 * verified with `verifier` (and their DeleteEvent/PurgeExpired/PutState are refused by the server,
 * see server.ts). Import verifies them unless an authenticated request sets no_verify. gRPC status
 * errors are reserved for problems with the call itself:
 * malformed filter JSON (INVALID_ARGUMENT, with the NIP-01 reason as details), bad state keys,
 * values or limits (INVALID_ARGUMENT naming the field), the store being closed (UNAVAILABLE) or
 * failing (INTERNAL).
 *
 * SaveEvents is the hot path: one long-lived bidi stream per relay, many saves in flight,
 * answered by request_id as they complete (see client-store.ts).
 *
 * QueryEvents / QueryAllVersions / GetSerials stream EventBatch messages of up to 128 events or
 * about 256 KB, wait for 'drain' whenever the stream's buffer is full, and stop the store
 * iteration as soon as the client cancels. SubscribeEvents is served by an EventHub: every event
 * newly stored through this service (not duplicates) and every Broadcast is fanned out to the
 * other relays' streams.
 */
import type { SignatureVerifier } from '../../crypto/signature-verifier.js';
import type { DatabaseServiceServer } from '../../gen/orlydb/v1/db.js';
import type { Logger } from '../../logger.js';
import type { EventStore } from '../../store/event-store.js';
import { EventHub } from './event-hub.js';
import { adminHandlers } from './handlers/admin.js';
import { changeFeedHandlers } from './handlers/change-feed.js';
import { clientStoreHandlers } from './handlers/client-store.js';
import { createHandlerContext } from './handlers/context.js';
import { importExportHandlers } from './handlers/import-export.js';
import { queryFramesHandlers } from './handlers/query-frames.js';
import { stateHandlers } from './handlers/state.js';
import { syncSourceHandlers } from './handlers/sync-source.js';

export interface DatabaseServiceOptions {
  readonly logger: Logger;
  /** Unflushed characters one SubscribeEvents stream may accumulate (default 8 MiB). */
  readonly maxSubscriberBufferedChars?: number;
  /** Verifier for Import (default: `verifier`, else runImport's own VerifierPool per import). */
  readonly importVerifier?: SignatureVerifier;
  /**
   * Set when callers are NOT authenticated: the signatures of their events (saves, broadcasts,
   * imports) are verified with it. Unset: callers are trusted to have verified them.
   */
  readonly verifier?: SignatureVerifier;
  /** Workers of that default pool. */
  readonly importVerifyWorkers?: number;
}

export interface DatabaseService {
  /** The handlers, for GrpcServer / grpc.Server addService. */
  readonly implementation: DatabaseServiceServer;
  readonly hub: EventHub;
  /**
   * Ends the long-lived streams (subscriptions; save streams once their in-flight saves are
   * answered) so that a graceful server stop completes. New saves are answered stored=false.
   */
  close(): void;
}

export function createDatabaseService(store: EventStore, options: DatabaseServiceOptions): DatabaseService {
  const logger = options.logger;
  const hub = new EventHub({ logger, maxBufferedChars: options.maxSubscriberBufferedChars });
  let closing = false;
  const ctx = createHandlerContext(store, logger, hub, () => closing, options.verifier);
  const clientStore = clientStoreHandlers(store, ctx);

  // A store shared with other writers (PostgreSQL behind several orly-db): what they store and
  // broadcast reaches this server's subscribers too, as from no relay of this server.
  const unwatch = store.watch?.((stored) => hub.publish(stored.serial, Buffer.from(stored.raw), ''));

  const implementation: DatabaseServiceServer = {
    ...clientStore.handlers,
    ...queryFramesHandlers(store, ctx),
    ...syncSourceHandlers(store, ctx),
    ...adminHandlers(store, ctx),
    ...stateHandlers(store, ctx),
    ...changeFeedHandlers(ctx, store),
    ...importExportHandlers(store, ctx, options),
  };

  return {
    implementation,
    hub,
    close(): void {
      closing = true;
      unwatch?.();
      hub.close();
      clientStore.endSaveStreams();
    },
  };
}
