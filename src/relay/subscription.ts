/**
 * A REQ subscription: its filters, the frame prefix for its EVENTs, and the live events
 * held back while its stored results are still being sent (flushed, de-duplicated, after EOSE).
 */
import type { NormalizedFilter } from '../protocol/filter.js';
import { eventFramePrefix } from '../protocol/messages.js';
import type { Connection } from './connection.js';
import type { Indexable } from './subscription-index.js';

export interface PendingEvent {
  readonly id: string;
  readonly raw: string;
}

export class Subscription implements Indexable {
  readonly framePrefix: string;
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

  get live(): boolean {
    return this.pending === undefined;
  }

  sendEvent(raw: string): boolean {
    return this.conn.send(this.framePrefix + raw + ']');
  }
}
