/**
 * The orly-db server adapter: serves any EventStore as the orlydb.v1.DatabaseService.
 *
 * This is a trust boundary. Every event that arrives (SaveEvent, SaveEvents, Broadcast, Import)
 * is parsed from its JSON, checked with checkEventShape, and its id recomputed; a bad event is
 * answered with stored=false and a NIP-01 "invalid: ..." reason as a FIELD, never as error
 * text. SIGNATURES ARE THE RELAY'S JOB: the relay verifies them (on its worker pool) before it
 * saves, so SaveEvent/SaveEvents do not verify them again. Import verifies them unless the
 * request sets no_verify. gRPC status errors are reserved for problems with the call itself:
 * malformed filter JSON (INVALID_ARGUMENT, with the NIP-01 reason as details), the store being
 * closed (UNAVAILABLE) or failing (INTERNAL).
 *
 * SaveEvents is the hot path: one long-lived bidi stream per relay, many saves in flight,
 * answered by request_id as they complete. Saves are issued to the store concurrently (never
 * one after another), so the LMDB store groups them into shared commits. A stream with more
 * than MAX_SAVES_IN_FLIGHT unanswered saves stops reading until half of them are answered.
 *
 * QueryEvents / QueryAllVersions / GetSerials stream EventBatch messages of up to 128 events or
 * about 256 KB, wait for 'drain' whenever the stream's buffer is full, and stop the store
 * iteration as soon as the client cancels. SubscribeEvents is served by an EventHub: every event
 * newly stored through this service (not duplicates) and every Broadcast is fanned out to the
 * other relays' streams.
 */
import { Readable, Writable } from 'node:stream';
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerDuplexStream,
  type ServerWritableStream,
  status,
} from '@grpc/grpc-js';
import type { SignatureVerifier } from '../../crypto/signature-verifier.js';
import { Reasons } from '../../errors.js';
import type {
  DatabaseServiceServer,
  EventBatch,
  ExportChunk,
  ExportRequest,
  ImportChunk,
  ImportResponse,
  NegentropyItemsResponse,
  QueryEventsRequest,
  SaveEventBatch,
  SaveEventRequest,
  SaveEventResponse,
  SaveEventResultBatch,
} from '../../gen/orlydb/v1/db.js';
import type { Logger } from '../../logger.js';
import { isHex64, nowSeconds, serializeEvent } from '../../protocol/event.js';
import { isEphemeral } from '../../protocol/kinds.js';
import type { EventStore, SaveResult, StoredEvent } from '../../store/event-store.js';
import { runExport } from '../../store/export-events.js';
import {
  BatchBuilder,
  encodeNegentropyItems,
  InvalidArgumentError,
  parseEventJson,
  parseFilterJson,
  saveResultToResponse,
  statusError,
  storedBytes,
} from '../../store/grpc/codec.js';
import { runImport } from '../../store/import-events.js';
import { EventHub } from './event-hub.js';

export interface DatabaseServiceOptions {
  readonly logger: Logger;
  /** Unflushed characters one SubscribeEvents stream may accumulate (default 8 MiB). */
  readonly maxSubscriberBufferedChars?: number;
  /** Verifier for Import (default: runImport's own VerifierPool, created per import). */
  readonly importVerifier?: SignatureVerifier;
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

/** Unanswered saves per SaveEvents stream before it stops reading. */
export const MAX_SAVES_IN_FLIGHT = 4096;
/** "line N: ..." problems returned by Import. */
const MAX_IMPORT_PROBLEMS = 100;

const SHUTTING_DOWN = Reasons.storeFailed('orly-db is shutting down');

/** Writes one message; when the buffer is full waits for 'drain'. False once the call is gone. */
function send<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<boolean> {
  if (call.cancelled || call.destroyed || call.writableEnded) return Promise.resolve(false);
  if (call.write(message)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => () => {
      call.off('drain', onDrain);
      call.off('cancelled', onGone);
      call.off('close', onGone);
      call.off('error', onGone);
      resolve(ok);
    };
    const onDrain = done(true);
    const onGone = done(false);
    call.on('drain', onDrain);
    call.on('cancelled', onGone);
    call.on('close', onGone);
    call.on('error', onGone);
  });
}

export function createDatabaseService(store: EventStore, options: DatabaseServiceOptions): DatabaseService {
  const logger = options.logger;
  const hub = new EventHub({ logger, maxBufferedChars: options.maxSubscriberBufferedChars });
  const saveStreams = new Set<() => void>();
  let closing = false;

  /** Maps a failure to the status the client sees. */
  const toStatus = (error: unknown) => {
    if (error instanceof InvalidArgumentError) return statusError(status.INVALID_ARGUMENT, error.message);
    const message = error instanceof Error ? error.message : String(error);
    if (!store.isOpen()) return statusError(status.UNAVAILABLE, `the event store is closed: ${message}`);
    logger.error({ err: message }, 'orly-db call failed');
    return statusError(status.INTERNAL, message);
  };

  const unary =
    <Req, Res>(work: (request: Req) => Promise<Res>): handleUnaryCall<Req, Res> =>
    (call, callback) => {
      let promise: Promise<Res>;
      try {
        promise = work(call.request);
      } catch (error) {
        callback(toStatus(error));
        return;
      }
      promise.then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error)),
      );
    };

  /** Streams stored events as EventBatch messages; stops the iteration when the client leaves. */
  const streamEvents = async (
    call: ServerWritableStream<unknown, EventBatch>,
    source: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  ): Promise<void> => {
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    call.on('cancelled', onCancel);
    try {
      const batches = new BatchBuilder();
      for await (const stored of source(abort.signal)) {
        const full = batches.add(stored.serial, storedBytes(stored), stored.kind);
        if (full !== undefined && !(await send(call, full))) return;
        if (abort.signal.aborted) return;
      }
      const rest = batches.take();
      if (rest !== undefined && !(await send(call, rest))) return;
      call.end();
    } catch (error) {
      if (!abort.signal.aborted) call.emit('error', toStatus(error));
    } finally {
      call.off('cancelled', onCancel);
    }
  };

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

  /** Saves one event received over gRPC (shape and id checked here; signature by the relay). */
  const save = async (request: SaveEventRequest): Promise<SaveEventResponse> => {
    const parsed = parseEventJson(request.eventJson);
    if (!parsed.ok) return saveResultToResponse(request.requestId, { stored: false, reason: parsed.reason });
    if (isEphemeral(parsed.event.kind)) {
      return saveResultToResponse(request.requestId, {
        stored: false,
        reason: Reasons.ephemeralNotStored(parsed.event.kind),
      });
    }
    if (closing) return saveResultToResponse(request.requestId, { stored: false, reason: SHUTTING_DOWN });
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

  /** The store as Import sees it: newly stored events are also fanned out. */
  const publishingStore: EventStore = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'save') {
        return async (event: Parameters<EventStore['save']>[0]) => {
          const result = await target.save(event);
          if (result.stored && !result.duplicate)
            hub.publish(result.serial, Buffer.from(serializeEvent(event)), '');
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });

  const implementation: DatabaseServiceServer = {
    ready: unary(async () => ({ ready: store.isOpen() && !closing })),

    saveEvent: unary(save),

    saveEvents: (call: ServerDuplexStream<SaveEventBatch, SaveEventResultBatch>) => {
      let inFlight = 0;
      let inputEnded = false;
      let finished = false;
      let paused = false;
      // Answers completed in the same tick leave in one message.
      let outgoing: SaveEventResponse[] = [];
      const flush = (): void => {
        const responses = outgoing;
        outgoing = [];
        if (responses.length > 0 && !finished && !call.cancelled && !call.destroyed)
          call.write({ responses });
        if (inFlight === 0 && (inputEnded || closing)) finish();
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
    },

    queryEvents: queryHandler,
    queryAllVersions: queryHandler,

    countEvents: unary(async (request) => {
      const filters = request.filterJson.map((json, i) => parseFilterJson(json, `filter_json[${i}]`));
      const now = request.now > 0 ? request.now : undefined;
      const max = request.max > 0 ? request.max : undefined;
      return { count: await store.count(filters, { now, max }) };
    }),

    getEvent: unary(async (request) => {
      const stored = await store.getById(request.id);
      return stored === undefined
        ? { found: false, event: undefined }
        : { found: true, event: { serial: stored.serial, json: storedBytes(stored) } };
    }),

    deleteEvent: unary(async (request) => ({ deleted: await store.deleteByIds(request.ids) })),

    getSerials: (call) => {
      const { after, limit } = call.request;
      void streamEvents(call, () => store.eventsSince(after, limit));
    },

    getLastSerial: unary(async () => ({ serial: await store.lastSerial() })),

    // EventStore has no tombstone lookup: a NIP-09 `e` tombstone exists exactly when a stored
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

    negentropyItems: unary(async (request): Promise<NegentropyItemsResponse> => {
      const filter = parseFilterJson(request.filterJson);
      const items = await store.negentropyItems(filter, request.max);
      if (items === undefined) {
        return { tooMany: true, count: 0, timestamps: Buffer.alloc(0), ids: Buffer.alloc(0) };
      }
      return { tooMany: false, count: items.count, ...encodeNegentropyItems(items) };
    }),

    purgeExpired: unary(async (request) => ({
      purged: await store.purgeExpired(request.now > 0 ? request.now : nowSeconds()),
    })),

    stats: unary(async () => {
      const stats = await store.stats();
      return { events: stats.events, bytes: stats.bytes, lastSerial: stats.lastSerial };
    }),

    export: (call: ServerWritableStream<ExportRequest, ExportChunk>) => {
      let filter: ReturnType<typeof parseFilterJson> | undefined;
      try {
        filter = call.request.filterJson.trim() === '' ? undefined : parseFilterJson(call.request.filterJson);
      } catch (error) {
        call.emit('error', toStatus(error));
        return;
      }
      const out = new Writable({
        highWaterMark: 256 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          send(call, { data: chunk }).then(
            (ok) => callback(ok ? null : new Error('export cancelled by the client')),
            callback,
          );
        },
      });
      out.on('error', () => {});
      call.on('cancelled', () => out.destroy());
      void (async () => {
        try {
          const count = await runExport(store, filter, out);
          await new Promise<void>((resolve, reject) =>
            out.end((error?: Error | null) => (error ? reject(error) : resolve())),
          );
          logger.info({ events: count }, 'export done');
          call.end();
        } catch (error) {
          if (!call.cancelled) call.emit('error', toStatus(error));
        }
      })();
    },

    import: (call, callback) => {
      void (async (): Promise<ImportResponse> => {
        const chunks = call[Symbol.asyncIterator]() as AsyncIterator<ImportChunk>;
        const first = await chunks.next();
        const noVerify = first.done ? false : first.value.noVerify;
        async function* bytes(): AsyncGenerator<Buffer> {
          if (first.done) return;
          yield Buffer.from(first.value.data);
          for (;;) {
            const next = await chunks.next();
            if (next.done) return;
            yield Buffer.from(next.value.data);
          }
        }
        const input = Readable.from(bytes(), { objectMode: false });
        call.on('cancelled', () => input.destroy());
        const problems: string[] = [];
        const summary = await runImport(publishingStore, input, {
          verify: !noVerify,
          verifier: options.importVerifier,
          verifyWorkers: options.importVerifyWorkers,
          log: (line) => {
            if (/^line \d+: /.test(line)) {
              if (problems.length < MAX_IMPORT_PROBLEMS) problems.push(line);
            } else {
              logger.info({ import: line }, 'import');
            }
          },
        });
        return { ...summary, problems };
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    subscribeEvents: (call) => hub.subscribe(call),

    broadcast: unary(async (request) => {
      const parsed = parseEventJson(request.eventJson);
      if (!parsed.ok) throw new InvalidArgumentError(`event_json: ${parsed.reason}`);
      hub.publish(0, Buffer.from(parsed.raw), request.origin);
      return {};
    }),
  };

  return {
    implementation,
    hub,
    close(): void {
      closing = true;
      hub.close();
      for (const shutdown of [...saveStreams]) shutdown();
    },
  };
}
