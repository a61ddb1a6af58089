/**
 * A REQ subscription: its filters, the frame prefix for its EVENTs, and the live events
 * held back while its stored results are still being sent (flushed, de-duplicated, after EOSE).
 */
import type { NormalizedFilter } from '../protocol/filter.js';
import { eventFramePrefix } from '../protocol/messages.js';
import type { EventWrap, StoredEvent } from '../store/event-store.js';
import type { Indexable } from './subscription-index.js';

export interface PendingEvent {
  readonly id: string;
  readonly raw: string;
}

/** The connection a subscription belongs to, as the subscription sees it (Connection is one). */
export interface SubscriptionOwner {
  readonly id: number;
  /** NIP-42: every pubkey that authenticated on this connection. */
  readonly authed: ReadonlySet<string>;
  readonly closed: boolean;
  readonly subscriptions: Map<string, Subscription>;
  /** The weight (filterWeight) of its live subscriptions together. */
  subscriptionBytes: number;
  send(frame: string | Uint8Array): boolean;
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): boolean;
  /** Undefined, or a promise to await before sending more query results (slow reader). */
  backpressure(): Promise<void> | undefined;
}

export class Subscription implements Indexable {
  readonly framePrefix: string;
  private prefixBytes: Buffer | undefined;
  private frameWrap: EventWrap | undefined;
  /**
   * Cancels the initial query; created only for it and released once it settles (an AbortSignal
   * costs ~0.7 KB, held by every idle subscription otherwise).
   */
  private controller: AbortController | undefined;
  private endedFlag = false;
  lastMatchEpoch = 0;
  /** Live events that arrived before EOSE; undefined once the subscription is live. */
  pending: PendingEvent[] | undefined = [];
  /** Ids sent before EOSE, kept only while held-back events still need de-duplicating. */
  sentBeforeEose: Set<string> | undefined;

  constructor(
    readonly conn: SubscriptionOwner,
    readonly id: string,
    readonly filters: readonly NormalizedFilter[],
    /** Roughly the bytes its filters hold (protocol/filter.ts filterWeight), counted against the connection. */
    readonly weight = 0,
  ) {
    this.framePrefix = eventFramePrefix(id);
  }

  /** The initial query's cancellation signal (aborted once the subscription ends). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.endedFlag) this.controller.abort(ENDED);
    }
    return this.controller.signal;
  }

  /** True once closed, replaced or gone with its connection. */
  get ended(): boolean {
    return this.endedFlag;
  }

  /** Ends the subscription: its initial query, if still running, is cancelled with `reason`. */
  end(reason: unknown = ENDED): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    this.controller?.abort(reason);
  }

  /** The initial query is over (EOSE sent, refused or failed): its cancellation signal is no longer needed. */
  settled(): void {
    this.controller = undefined;
  }

  /** The bytes around an event's JSON in this subscription's EVENT frames (for QueryOptions.wrap). */
  get wrap(): EventWrap {
    this.frameWrap ??= { prefix: this.prefix(), suffix: CLOSE_BRACKET };
    return this.frameWrap;
  }

  /** Undefined, or a promise to await before sending more query results (Connection.backpressure). */
  backpressure(): Promise<void> | undefined {
    return this.conn.backpressure();
  }

  /** Sends ready EVENT frames of this subscription (from a query worker) [ends[i-1] (or `start`), ends[i]) of `data` for i in [from, to). */
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): boolean {
    return this.conn.sendFrames(data, ends, from, to, start);
  }

  sendEvent(raw: string): boolean {
    return this.conn.send(this.framePrefix + raw + ']');
  }

  /**
   * Sends a stored event: its wrapped frame when the query was run with this subscription's
   * wrap, else from its bytes when the store has them (no decode and re-encode).
   */
  sendStored(stored: StoredEvent): boolean {
    if (stored.wrapped !== undefined && this.frameWrap !== undefined) return this.conn.send(stored.wrapped);
    const bytes = stored.bytes;
    if (bytes === undefined) return this.sendEvent(stored.raw);
    const prefix = this.prefix();
    const frame = Buffer.allocUnsafe(prefix.length + bytes.length + 1);
    prefix.copy(frame, 0);
    frame.set(bytes, prefix.length);
    frame[frame.length - 1] = 0x5d; // ]
    return this.conn.send(frame);
  }

  private prefix(): Buffer {
    this.prefixBytes ??= Buffer.from(this.framePrefix);
    return this.prefixBytes;
  }
}

const CLOSE_BRACKET = Buffer.from(']');
/** The abort reason when none is given (abort() without one builds a DOMException with a stack each time). */
const ENDED = new Error('subscription ended');
