/**
 * The orly-db handlers of the client-facing role (ClientStore): SaveEvent, SaveEvents,
 * QueryEvents / QueryAllVersions, CountEvents, GetEvent and CheckForDeleted.
 *
 * Every event that arrives is parsed from its JSON, checked with checkEventShape, and its id
 * recomputed; a bad event is answered with stored=false and a NIP-01 "invalid: ..." reason as a
 * FIELD, never as error text. SIGNATURES ARE THE RELAY'S JOB when callers are authenticated
 * (token or mutual TLS): the relay verifies them (on its worker pool) before it saves, so
 * SaveEvent/SaveEvents do not verify them again. From unauthenticated callers (loopback without
 * a token, or ORLY_GRPC_INSECURE) they are verified here (`invalid: signature verification
 * failed`). Every event newly stored (not a duplicate) is published to the hub with the saver's
 * origin.
 *
 * SaveEvents is the hot path: one long-lived bidi stream per relay, many saves in flight,
 * answered by request_id as they complete. Saves are issued to the store concurrently (never
 * one after another), so the LMDB store groups them into shared commits. A stream with more
 * than MAX_SAVES_IN_FLIGHT unanswered saves stops reading until half of them are answered.
 */
import type { handleServerStreamingCall, ServerDuplexStream } from '@grpc/grpc-js';
import { Reasons } from '../../../errors.js';
import type {
  DatabaseServiceServer,
  EventBatch,
  QueryEventsRequest,
  SaveEventBatch,
  SaveEventRequest,
  SaveEventResponse,
  SaveEventResultBatch,
} from '../../../gen/orlydb/v1/db.js';
import { isHex64 } from '../../../protocol/event.js';
import { isEphemeral } from '../../../protocol/kinds.js';
import type { ClientStore, SaveResult } from '../../../store/event-store.js';
import {
  InvalidArgumentError,
  parseEventJson,
  parseFilterJson,
  saveResultToResponse,
  storedBytes,
} from '../../../store/grpc/codec.js';
import type { HandlerContext } from './context.js';

/** Unanswered saves per SaveEvents stream before it stops reading. */
export const MAX_SAVES_IN_FLIGHT = 4096;

const SHUTTING_DOWN = Reasons.storeFailed('orly-db is shutting down');

export type ClientStoreHandlers = Pick<
  DatabaseServiceServer,
  | 'saveEvent'
  | 'saveEvents'
  | 'queryEvents'
  | 'queryAllVersions'
  | 'countEvents'
  | 'getEvent'
  | 'checkForDeleted'
>;

export interface ClientStoreService {
  readonly handlers: ClientStoreHandlers;
  /** Ends every SaveEvents stream once its in-flight saves are answered (call after closing). */
  endSaveStreams(): void;
}

export function clientStoreHandlers(store: ClientStore, ctx: HandlerContext): ClientStoreService {
  const { unary, toStatus, streamEvents, hub } = ctx;
  const saveStreams = new Set<() => void>();

  /** Parses the request's filter first, so a bad one fails with INVALID_ARGUMENT before streaming. */
  const queryHandler: handleServerStreamingCall<QueryEventsRequest, EventBatch> = (call) => {
    let filter: ReturnType<typeof parseFilterJson>;
    try {
      filter = parseFilterJson(call.request.filterJson);
    } catch (error) {
      call.emit('error', toStatus(error));
      return;
    }
    const now = call.request.now > 0 ? call.request.now : undefined;
    void streamEvents(call, (signal) => store.query(filter, { signal, now }));
  };

  /**
   * Saves one event received over gRPC (shape and id checked here; the signature by the relay,
   * or here for unauthenticated callers).
   */
  const save = async (request: SaveEventRequest): Promise<SaveEventResponse> => {
    const parsed = parseEventJson(request.eventJson);
    if (!parsed.ok) return saveResultToResponse(request.requestId, { stored: false, reason: parsed.reason });
    if (isEphemeral(parsed.event.kind)) {
      return saveResultToResponse(request.requestId, {
        stored: false,
        reason: Reasons.ephemeralNotStored(parsed.event.kind),
      });
    }
    const badSignature = await ctx.signatureProblem(parsed.event);
    if (badSignature !== undefined)
      return saveResultToResponse(request.requestId, { stored: false, reason: badSignature });
    if (ctx.isClosing())
      return saveResultToResponse(request.requestId, { stored: false, reason: SHUTTING_DOWN });
    let result: SaveResult;
    try {
      result = await store.save(parsed.event, parsed.raw);
    } catch (error) {
      result = {
        stored: false,
        reason: Reasons.storeFailed(error instanceof Error ? error.message : String(error)),
      };
    }
    if (result.stored && !result.duplicate)
      hub.publish(result.serial, Buffer.from(parsed.raw), request.origin);
    return saveResultToResponse(request.requestId, result);
  };

  const saveEvents = (call: ServerDuplexStream<SaveEventBatch, SaveEventResultBatch>): void => {
    let inFlight = 0;
    let inputEnded = false;
    let finished = false;
    let paused = false;
    // Answers completed in the same tick leave in one message.
    let outgoing: SaveEventResponse[] = [];
    const flush = (): void => {
      const responses = outgoing;
      outgoing = [];
      if (responses.length > 0 && !finished && !call.cancelled && !call.destroyed) call.write({ responses });
      if (inFlight === 0 && (inputEnded || ctx.isClosing())) finish();
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      saveStreams.delete(shutdown);
      if (!call.cancelled && !call.destroyed) call.end();
    };
    const shutdown = (): void => {
      if (inFlight === 0) finish();
    };
    saveStreams.add(shutdown);
    call.on('data', (batch: SaveEventBatch) => {
      for (const request of batch.requests) {
        inFlight++;
        void save(request).then((response) => {
          inFlight--;
          if (outgoing.length === 0) process.nextTick(flush);
          outgoing.push(response);
          if (paused && inFlight <= MAX_SAVES_IN_FLIGHT / 2) {
            paused = false;
            call.resume();
          }
        });
      }
      if (inFlight >= MAX_SAVES_IN_FLIGHT && !paused) {
        paused = true;
        call.pause();
      }
    });
    call.on('end', () => {
      inputEnded = true;
      if (inFlight === 0 && outgoing.length === 0) finish();
    });
    const gone = (): void => {
      finished = true;
      saveStreams.delete(shutdown);
    };
    call.on('cancelled', gone);
    call.on('error', gone);
  };

  const handlers: ClientStoreHandlers = {
    saveEvent: unary(save),

    saveEvents,

    queryEvents: queryHandler,
    queryAllVersions: queryHandler,

    countEvents: unary(async (request) => {
      const filters = request.filterJson.map((json, i) => parseFilterJson(json, `filter_json[${i}]`));
      const now = request.now > 0 ? request.now : undefined;
      const max = request.max > 0 ? request.max : undefined;
      const maxScan = request.maxScan > 0 ? request.maxScan : undefined;
      const excludeKinds = request.excludeKinds.length > 0 ? new Set(request.excludeKinds) : undefined;
      return await store.count(filters, { now, max, maxScan, excludeKinds });
    }),

    getEvent: unary(async (request) => {
      const stored = await store.getById(request.id);
      return stored === undefined
        ? { found: false, event: undefined }
        : { found: true, event: { serial: stored.serial, json: storedBytes(stored) } };
    }),

    // The store has no tombstone lookup: a NIP-09 `e` tombstone exists exactly when a stored
    // kind-5 event by this author names the id (deletion requests are never deleted by others).
    checkForDeleted: unary(async (request) => {
      if (!isHex64(request.id)) throw new InvalidArgumentError('id must be 64 lowercase hex characters');
      if (!isHex64(request.pubkey))
        throw new InvalidArgumentError('pubkey must be 64 lowercase hex characters');
      const filter = {
        kinds: [5],
        authors: [request.pubkey],
        tags: new Map([['e', [request.id]]]),
        limit: 1,
      };
      for await (const _ of store.query(filter)) return { deleted: true };
      return { deleted: false };
    }),
  };

  return {
    handlers,
    endSaveStreams(): void {
      for (const shutdown of [...saveStreams]) shutdown();
    },
  };
}
