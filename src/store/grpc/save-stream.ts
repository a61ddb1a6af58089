/**
 * GrpcEventStore's saves (ClientStore.save): ONE long-lived SaveEvents stream (opened lazily,
 * re-opened by the next save after a failure), many saves in flight, the saves of one tick sent
 * together as one SaveEventBatch, answers matched by request id. A save resolves stored=true
 * only with the server's durable answer: when the stream fails, every save pending on it
 * resolves {stored:false, reason:"error: database unavailable (...)"}, and so does a save
 * unanswered after `saveTimeoutMs` (the event may still have been stored; a retry then reports
 * a duplicate). Every save carries the store's origin, so its watch skips our own events.
 * A tick's saves are split into messages below the connection's max message size; an event too
 * large for one message is refused here (`invalid: event is N bytes, ...`), never sent.
 */
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { Reasons } from '../../errors.js';
import type { SaveEventBatch, SaveEventRequest, SaveEventResultBatch } from '../../gen/orlydb/v1/db.js';
import { type NostrEvent, serializeEvent } from '../../protocol/event.js';
import type { SaveResult } from '../event-store.js';
import { describeStatus, responseToSaveResult } from './codec.js';
import type { DatabaseConnection } from './connection.js';

/** Bytes reserved in each message for the protobuf framing of its requests. */
const MESSAGE_OVERHEAD = 64 * 1024;
const REQUEST_OVERHEAD = 64;

interface PendingSave {
  readonly resolve: (result: SaveResult) => void;
  readonly startedAt: number;
}

interface SaveStream {
  readonly call: ClientDuplexStream<SaveEventBatch, SaveEventResultBatch>;
  readonly pending: Map<number, PendingSave>;
  /** Saves of the current tick, sent together as one SaveEventBatch. */
  outgoing: SaveEventRequest[];
  done: boolean;
}

export function unavailable(detail: string): SaveResult {
  return { stored: false, reason: Reasons.databaseUnavailable(detail) };
}

export interface SaveStreamOptions {
  /** Sent with every save. */
  readonly origin: string;
  /** A save unanswered for this long resolves stored=false. */
  readonly saveTimeoutMs: number;
  /** Called with the serial of every event newly stored by this client (for the change feed). */
  readonly onStored: (serial: number) => void;
}

export class SaveStreamClient {
  private saveStream: SaveStream | undefined;
  private nextRequestId = 0;
  private readonly inFlight = new Set<Promise<SaveResult>>();
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly options: SaveStreamOptions,
  ) {}

  save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    if (this.connection.closed) return Promise.resolve(unavailable('client closed'));
    const eventJson = raw ?? serializeEvent(event);
    const max = this.connection.maxMessageBytes - MESSAGE_OVERHEAD;
    if (eventJson.length * 3 > max) {
      const bytes = Buffer.byteLength(eventJson);
      if (bytes > max) return Promise.resolve({ stored: false, reason: Reasons.eventTooLarge(bytes, max) });
    }
    const stream = this.openSaveStream();
    const requestId = ++this.nextRequestId;
    const promise = new Promise<SaveResult>((resolve) => {
      stream.pending.set(requestId, { resolve, startedAt: Date.now() });
    });
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
    this.armSaveTimeouts();
    if (stream.outgoing.length === 0) process.nextTick(() => this.flushSaves(stream));
    stream.outgoing.push({ eventJson, requestId, origin: this.options.origin });
    return promise;
  }

  /** Resolves once every save issued so far has its answer (bounded by saveTimeoutMs). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops the timeout timer and ends the stream (after `drain`). */
  close(): void {
    if (this.timeoutTimer !== undefined) clearInterval(this.timeoutTimer);
    this.timeoutTimer = undefined;
    const stream = this.saveStream;
    this.saveStream = undefined;
    if (stream !== undefined && !stream.done) {
      stream.done = true;
      stream.call.end();
    }
  }

  /** Sends the saves queued during this tick, in as few messages as the size limit allows. */
  private flushSaves(stream: SaveStream): void {
    const requests = stream.outgoing;
    stream.outgoing = [];
    if (stream.done || requests.length === 0) return;
    const budget = this.connection.maxMessageBytes - MESSAGE_OVERHEAD;
    let batch: SaveEventRequest[] = [];
    let size = 0;
    for (const request of requests) {
      // UTF-16 length x 3 bounds the UTF-8 size without encoding it twice.
      const cost = request.eventJson.length * 3 + request.origin.length + REQUEST_OVERHEAD;
      if (batch.length > 0 && size + cost > budget) {
        stream.call.write({ requests: batch });
        batch = [];
        size = 0;
      }
      batch.push(request);
      size += cost;
    }
    stream.call.write({ requests: batch });
  }

  private openSaveStream(): SaveStream {
    const current = this.saveStream;
    if (current !== undefined && !current.done) return current;
    const connection = this.connection;
    const call = connection.client.saveEvents(connection.callMetadata());
    const stream: SaveStream = { call, pending: new Map(), outgoing: [], done: false };
    const fail = (detail: string): void => {
      if (stream.done) return;
      stream.done = true;
      if (this.saveStream === stream) this.saveStream = undefined;
      const answer = unavailable(detail);
      for (const pending of stream.pending.values()) pending.resolve(answer);
      stream.pending.clear();
    };
    call.on('data', (batch: SaveEventResultBatch) => {
      for (const response of batch.responses) {
        const pending = stream.pending.get(response.requestId);
        if (pending === undefined) continue;
        stream.pending.delete(response.requestId);
        connection.markReachable();
        const result = responseToSaveResult(response);
        if (result.stored && !result.duplicate) this.options.onStored(result.serial);
        pending.resolve(result);
      }
    });
    call.on('error', (error: ServiceError) => {
      connection.noteError(error);
      if (stream.pending.size > 0) {
        connection.logger?.warn(
          { err: describeStatus(error), pending: stream.pending.size },
          'orly-db save stream failed',
        );
      }
      fail(describeStatus(error));
    });
    call.on('end', () => fail('save stream ended by the server'));
    call.on('close', () => fail('save stream closed'));
    this.saveStream = stream;
    return stream;
  }

  /** One timer checks the oldest pending saves of the current stream once a second. */
  private armSaveTimeouts(): void {
    if (this.timeoutTimer !== undefined) return;
    const timeoutMs = this.options.saveTimeoutMs;
    this.timeoutTimer = setInterval(() => {
      const stream = this.saveStream;
      const now = Date.now();
      if (stream !== undefined) {
        for (const [id, pending] of stream.pending) {
          if (now - pending.startedAt < timeoutMs) break; // insertion order = age order
          stream.pending.delete(id);
          pending.resolve(unavailable(`no answer within ${timeoutMs} ms`));
        }
      }
      if (stream === undefined || stream.pending.size === 0) {
        clearInterval(this.timeoutTimer);
        this.timeoutTimer = undefined;
      }
    }, 1000);
    this.timeoutTimer.unref();
  }
}
