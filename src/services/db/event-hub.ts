/**
 * The in-process fan-out behind SubscribeEvents: every event newly stored through this orly-db
 * server (and every broadcast ephemeral event) is pushed to every open SubscribeEvents stream,
 * except the stream whose origin equals the saver's origin (a relay never gets its own events
 * back; with own_serials it gets a marker instead, the serial with empty json, so that it can
 * resume from the last serial it saw after an outage). Events published in one turn of the event loop go out together, as one EventBatch per
 * subscriber.
 *
 * Memory is bounded per subscriber: characters handed to a stream but not yet flushed to its
 * socket are counted, and a subscriber that lets them grow past `maxBufferedChars` (it reads
 * too slowly) is ended with RESOURCE_EXHAUSTED and dropped; nothing more is written to it. Its
 * relay reconnects and carries on (missing the events it was too slow for).
 */
import { Metadata, type ServerWritableStream, status } from '@grpc/grpc-js';
import type {
  EventBatch,
  StoredEvent as StoredEventMessage,
  SubscribeEventsRequest,
} from '../../gen/orlydb/v1/db.js';
import type { Logger } from '../../logger.js';
import { BATCH_CHARS, BATCH_EVENTS, statusError } from '../../store/grpc/codec.js';

export interface EventHubOptions {
  /** Unflushed characters one subscriber may accumulate before it is cut off (default 8 MiB). */
  readonly maxBufferedChars?: number;
  readonly logger?: Logger;
}

type SubscriberCall = ServerWritableStream<SubscribeEventsRequest, EventBatch>;

interface Subscriber {
  readonly call: SubscriberCall;
  readonly origin: string;
  /** Send serial-only markers for this origin's own stored events. */
  readonly ownSerials: boolean;
  /** Characters written to the call whose write callback has not fired yet. */
  buffered: number;
  /** Events waiting for this turn's flush. */
  queue: StoredEventMessage[];
  queuedChars: number;
  done: boolean;
}

const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;
const NO_JSON = Buffer.alloc(0);

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxBuffered: number;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly options: EventHubOptions = {}) {
    this.maxBuffered = options.maxBufferedChars ?? DEFAULT_MAX_BUFFERED;
  }

  /** Open SubscribeEvents streams. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Serves one SubscribeEvents call until the client cancels, it is cut off, or the hub closes. */
  subscribe(call: SubscriberCall): void {
    if (this.closed) {
      call.emit('error', statusError(status.UNAVAILABLE, 'orly-db is shutting down'));
      return;
    }
    const sub: Subscriber = {
      call,
      origin: call.request.origin,
      ownSerials: call.request.ownSerials,
      buffered: 0,
      queue: [],
      queuedChars: 0,
      done: false,
    };
    this.subscribers.add(sub);
    const drop = (): void => {
      sub.done = true;
      this.subscribers.delete(sub);
    };
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
    // Response headers now, so the client knows the subscription is established.
    call.sendMetadata(new Metadata());
    this.options.logger?.debug(
      { origin: sub.origin, subscribers: this.subscribers.size },
      'subscriber added',
    );
  }

  /** Queues one event for every subscriber whose origin differs from `origin` ("" = everyone). */
  publish(serial: number, json: Buffer, origin: string): void {
    if (this.closed || this.subscribers.size === 0) return;
    const message: StoredEventMessage = { serial, json };
    for (const sub of this.subscribers) {
      if (sub.done) continue;
      if (origin !== '' && sub.origin === origin) {
        if (sub.ownSerials && serial > 0) sub.queue.push({ serial, json: NO_JSON });
        continue;
      }
      sub.queue.push(message);
      sub.queuedChars += json.length;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Ends every subscription (status OK) so that a graceful server stop can complete. */
  close(): void {
    this.closed = true;
    for (const sub of this.subscribers) {
      sub.done = true;
      sub.call.end();
    }
    this.subscribers.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const sub of this.subscribers) {
      if (sub.done || sub.queue.length === 0) continue;
      if (sub.buffered + sub.queuedChars > this.maxBuffered) {
        this.cutOff(sub);
        continue;
      }
      const queue = sub.queue;
      sub.queue = [];
      sub.queuedChars = 0;
      let start = 0;
      let chars = 0;
      for (let i = 0; i < queue.length; i++) {
        chars += queue[i]!.json.length;
        if (i + 1 - start >= BATCH_EVENTS || chars >= BATCH_CHARS || i === queue.length - 1) {
          this.write(sub, queue.slice(start, i + 1), chars);
          start = i + 1;
          chars = 0;
        }
      }
    }
  }

  private write(sub: Subscriber, events: StoredEventMessage[], chars: number): void {
    sub.buffered += chars;
    sub.call.write({ events }, () => {
      sub.buffered -= chars;
    });
  }

  private cutOff(sub: Subscriber): void {
    sub.done = true;
    sub.queue = [];
    this.subscribers.delete(sub);
    this.options.logger?.warn(
      { origin: sub.origin, buffered: sub.buffered, limit: this.maxBuffered },
      'subscriber reads too slowly: ending its stream',
    );
    sub.call.emit(
      'error',
      statusError(
        status.RESOURCE_EXHAUSTED,
        `subscriber reads too slowly: more than ${this.maxBuffered} characters of events buffered`,
      ),
    );
  }
}
