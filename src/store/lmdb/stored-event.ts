/**
 * The StoredEvent handed out by the LMDB store. `raw` is the canonical JSON read from disk;
 * `event` is parsed from it on first access only, since the relay usually splices `raw`
 * into outbound frames and never needs the object.
 */
import type { NostrEvent } from '../../protocol/event.js';
import type { StoredEvent } from '../event-store.js';

export class LazyStoredEvent implements StoredEvent {
  private parsed: NostrEvent | undefined;

  constructor(
    readonly serial: number,
    readonly raw: string,
    event?: NostrEvent,
  ) {
    this.parsed = event;
  }

  get event(): NostrEvent {
    let event = this.parsed;
    if (event === undefined) {
      event = JSON.parse(this.raw) as NostrEvent;
      this.parsed = event;
    }
    return event;
  }

  /** Plain-object form, so that logging or JSON.stringify shows the event. */
  toJSON(): { serial: number; raw: string; event: NostrEvent } {
    return { serial: this.serial, raw: this.raw, event: this.event };
  }
}
