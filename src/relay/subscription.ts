/**
 * A REQ subscription: its filters, the frame prefix for its EVENTs, and the live events
 * held back while its stored results are still being sent (flushed, de-duplicated, after EOSE).
 */
import type { NormalizedFilter } from '../protocol/filter.js';
import { eventFramePrefix } from '../protocol/messages.js';
import type { StoredEvent } from '../store/event-store.js';
import type { Connection } from './connection.js';
import type { Indexable } from './subscription-index.js';

export interface PendingEvent {
  readonly id: string;
  readonly raw: string;
}

export class Subscription implements Indexable {
  readonly framePrefix: string;
  private prefixBytes: Buffer | undefined;
  readonly abort = new AbortController();
  lastMatchEpoch = 0;
  /** Live events that arrived before EOSE; undefined once the subscription is live. */
  pending: PendingEvent[] | undefined = [];
  /** Ids sent before EOSE, kept only while held-back events still need de-duplicating. */
  sentBeforeEose: Set<string> | undefined;

  constructor(
    readonly conn: Connection,
    readonly id: string,
    readonly filters: readonly NormalizedFilter[],
  ) {
    this.framePrefix = eventFramePrefix(id);
  }

  sendEvent(raw: string): boolean {
    return this.conn.send(this.framePrefix + raw + ']');
  }

  /** Sends a stored event, from its bytes when the store has them (no decode and re-encode). */
  sendStored(stored: StoredEvent): boolean {
    const bytes = stored.bytes;
    if (bytes === undefined) return this.sendEvent(stored.raw);
    this.prefixBytes ??= Buffer.from(this.framePrefix);
    const prefix = this.prefixBytes;
    const frame = Buffer.allocUnsafe(prefix.length + bytes.length + 1);
    prefix.copy(frame, 0);
    frame.set(bytes, prefix.length);
    frame[frame.length - 1] = 0x5d; // ]
    return this.conn.send(frame);
  }
}
