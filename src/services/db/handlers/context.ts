/**
 * What the orly-db handler modules share: the failure -> gRPC status mapping, the unary call
 * wrapper, writing to a server stream with backpressure (`send`), and streaming stored events
 * as EventBatch messages (`streamEvents`), plus the hub, the service's closing flag and the
 * signature check applied to events from unauthenticated callers (`signatureProblem`).
 */
import type { handleUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { SignatureVerifier } from '../../../crypto/signature-verifier.js';
import { Reasons } from '../../../errors.js';
import type { EventBatch } from '../../../gen/orlydb/v1/db.js';
import type { Logger } from '../../../logger.js';
import type { NostrEvent } from '../../../protocol/event.js';
import type { StoreAdmin, StoredEvent } from '../../../store/event-store.js';
import { BatchBuilder, InvalidArgumentError, statusError, storedBytes } from '../../../store/grpc/codec.js';
import type { EventHub } from '../event-hub.js';

export interface HandlerContext {
  readonly logger: Logger;
  /** The SubscribeEvents fan-out: newly stored events and broadcasts are published to it. */
  readonly hub: EventHub;
  /** True once the service is closing (new saves are refused, Ready answers false). */
  isClosing(): boolean;
  /**
   * True when every caller is authenticated (token or mutual TLS): the relay verified the
   * signatures, so they are not checked again.
   */
  readonly callersAuthenticated: boolean;
  /** The verifier for unauthenticated callers' events (undefined when callers are authenticated). */
  readonly verifier: SignatureVerifier | undefined;
  /**
   * For unauthenticated callers: the `invalid:` reason when the event's signature does not
   * verify (`error:` when the verifier failed); undefined when it verifies or callers are
   * authenticated. The id was already checked by parseEventJson.
   */
  signatureProblem(event: NostrEvent): Promise<string | undefined>;
  /** Maps a failure to the status the client sees. */
  toStatus(error: unknown): Partial<ServiceError>;
  /** A unary handler running `work`; its failures become statuses. */
  unary<Req, Res>(work: (request: Req) => Promise<Res>): handleUnaryCall<Req, Res>;
  /** Streams stored events as EventBatch messages; stops the iteration when the client leaves. */
  streamEvents(
    call: ServerWritableStream<unknown, EventBatch>,
    source: (signal: AbortSignal) => AsyncIterable<StoredEvent>,
  ): Promise<void>;
}

/** Writes one message; when the buffer is full waits for 'drain'. False once the call is gone. */
export function send<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<boolean> {
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

export function createHandlerContext(
  /** Asked whether a failure comes from a closed store (UNAVAILABLE) or not (INTERNAL). */
  store: Pick<StoreAdmin, 'isOpen'>,
  logger: Logger,
  hub: EventHub,
  isClosing: () => boolean,
  /** Undefined when every caller is authenticated; else verifies their events' signatures. */
  verifier: SignatureVerifier | undefined,
): HandlerContext {
  const signatureProblem = async (event: NostrEvent): Promise<string | undefined> => {
    if (verifier === undefined) return undefined;
    try {
      return (await verifier.verify(event.id, event.pubkey, event.sig)) ? undefined : Reasons.badSignature;
    } catch (error) {
      return Reasons.verifyFailed(error instanceof Error ? error.message : String(error));
    }
  };

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

  return {
    logger,
    hub,
    isClosing,
    callersAuthenticated: verifier === undefined,
    verifier,
    signatureProblem,
    toStatus,
    unary,
    streamEvents,
  };
}
